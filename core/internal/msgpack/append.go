package msgpack

import (
	"encoding/binary"

	"github.com/skiffdb/skiff/core/proto"
)

// AppendParticle appends the msgpack form of a bin value or key (particle
// type and wire value) to dst: the form list and map particles already
// have, their items', and WASM UDFs' (sdk/udf/abi.md). It reports false
// for a value it cannot convert.
func AppendParticle(dst []byte, typ uint8, val []byte) ([]byte, bool) {
	switch typ {
	case proto.ParticleNull:
		return append(dst, 0xc0), true
	case proto.ParticleInteger:
		if len(val) != 8 {
			return dst, false
		}
		return AppendInt(dst, int64(binary.BigEndian.Uint64(val))), true
	case proto.ParticleFloat:
		if len(val) != 8 {
			return dst, false
		}
		return append(append(dst, 0xcb), val...), true
	case proto.ParticleBool:
		if len(val) != 1 {
			return dst, false
		}
		if val[0] != 0 {
			return append(dst, 0xc3), true
		}
		return append(dst, 0xc2), true
	case proto.ParticleList, proto.ParticleMap:
		return append(dst, val...), true
	case proto.ParticleGeoJSON:
		// flags(1), cell count(2), cells(8 each), then the JSON text.
		if len(val) < 3 {
			return dst, false
		}
		skip := 3 + 8*int(binary.BigEndian.Uint16(val[1:]))
		if len(val) < skip {
			return dst, false
		}
		return AppendTyped(dst, typ, val[skip:]), true
	case proto.ParticleString, proto.ParticleBlob, proto.ParticleHLL:
		return AppendTyped(dst, typ, val), true
	}
	return dst, false
}

// AppendTyped appends a str element holding the particle type byte, then b.
func AppendTyped(dst []byte, typ uint8, b []byte) []byte {
	n := len(b) + 1
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n < 1<<8:
		dst = append(dst, 0xd9, byte(n))
	case n < 1<<16:
		dst = append(dst, 0xda, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0xdb, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(append(dst, typ), b...)
}

// AppendInt appends an integer element.
func AppendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 0x7f:
		return append(dst, byte(v))
	case v < 0 && v >= -32:
		return append(dst, byte(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
}

// AppendArrayHeader appends the header of an array of n elements.
func AppendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n < 1<<16:
		return append(dst, 0xdc, byte(n>>8), byte(n))
	}
	return append(dst, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// AppendMapHeader appends the header of a map of n pairs.
func AppendMapHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x80|byte(n))
	case n < 1<<16:
		return append(dst, 0xde, byte(n>>8), byte(n))
	}
	return append(dst, 0xdf, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// ToParticle turns one whole msgpack value into a bin value: the particle
// type and wire value, written into *buf (reused) or, for lists, maps,
// strings and blobs, aliasing b. It reports false for malformed msgpack,
// trailing bytes, or a form no bin can hold (ext).
func ToParticle(buf *[]byte, b []byte) (typ uint8, val []byte, ok bool) {
	var h Head
	if !h.Parse(b) {
		return 0, nil, false
	}
	switch h.Type {
	case List, Map:
		n, ok := Skip(b)
		if !ok || n != len(b) {
			return 0, nil, false
		}
		if h.Type == List {
			return proto.ParticleList, b, true
		}
		return proto.ParticleMap, b, true
	}
	if h.Size != len(b) {
		return 0, nil, false
	}
	switch h.Type {
	case Nil:
		return proto.ParticleNull, nil, true
	case False, True:
		v := byte(0)
		if h.Type == True {
			v = 1
		}
		*buf = append((*buf)[:0], v)
		return proto.ParticleBool, *buf, true
	case Int, NegInt:
		*buf = binary.BigEndian.AppendUint64((*buf)[:0], h.U)
		return proto.ParticleInteger, *buf, true
	case Double:
		*buf = binary.BigEndian.AppendUint64((*buf)[:0], h.U)
		return proto.ParticleFloat, *buf, true
	case String:
		return proto.ParticleString, h.Data[1:], true
	case GeoJSON:
		// flags 0 and no cells, as clients send GeoJSON bins.
		*buf = append(append((*buf)[:0], 0, 0, 0), h.Data[1:]...)
		return proto.ParticleGeoJSON, *buf, true
	case Bytes:
		if len(h.Data) == 0 {
			return proto.ParticleBlob, h.Data, true
		}
		switch h.Data[0] {
		case proto.ParticleBlob, proto.ParticleHLL:
			return h.Data[0], h.Data[1:], true
		}
	}
	return 0, nil, false
}
