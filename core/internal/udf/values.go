package udf

import (
	"encoding/binary"
	"math"

	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// appendParticle appends the msgpack form of a bin value or key (particle
// type and wire value) to dst, as abi.md describes: the form list and map
// particles already have. It reports false for a value it cannot convert.
func appendParticle(dst []byte, typ uint8, val []byte) ([]byte, bool) {
	switch typ {
	case proto.ParticleNull:
		return append(dst, 0xc0), true
	case proto.ParticleInteger:
		if len(val) != 8 {
			return dst, false
		}
		return appendInt(dst, int64(binary.BigEndian.Uint64(val))), true
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
		return appendTyped(dst, typ, val[skip:]), true
	case proto.ParticleString, proto.ParticleBlob, proto.ParticleHLL:
		return appendTyped(dst, typ, val), true
	}
	return dst, false
}

// appendTyped appends a str element holding the particle type byte, then b.
func appendTyped(dst []byte, typ uint8, b []byte) []byte {
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

func appendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 0x7f:
		return append(dst, byte(v))
	case v < 0 && v >= -32:
		return append(dst, byte(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
}

func appendString(dst []byte, s string) []byte {
	return appendTyped(dst, proto.ParticleString, []byte(s))
}

func appendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n < 1<<16:
		return append(dst, 0xdc, byte(n>>8), byte(n))
	}
	return append(dst, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendMapHeader(dst []byte, n int) []byte {
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
	var h msgpack.Head
	if !h.Parse(b) {
		return 0, nil, false
	}
	switch h.Type {
	case msgpack.List, msgpack.Map:
		n, ok := msgpack.Skip(b)
		if !ok || n != len(b) {
			return 0, nil, false
		}
		if h.Type == msgpack.List {
			return proto.ParticleList, b, true
		}
		return proto.ParticleMap, b, true
	}
	if h.Size != len(b) {
		return 0, nil, false
	}
	switch h.Type {
	case msgpack.Nil:
		return proto.ParticleNull, nil, true
	case msgpack.False, msgpack.True:
		v := byte(0)
		if h.Type == msgpack.True {
			v = 1
		}
		*buf = append((*buf)[:0], v)
		return proto.ParticleBool, *buf, true
	case msgpack.Int, msgpack.NegInt:
		*buf = binary.BigEndian.AppendUint64((*buf)[:0], h.U)
		return proto.ParticleInteger, *buf, true
	case msgpack.Double:
		*buf = binary.BigEndian.AppendUint64((*buf)[:0], h.U)
		return proto.ParticleFloat, *buf, true
	case msgpack.String:
		return proto.ParticleString, h.Data[1:], true
	case msgpack.GeoJSON:
		// flags 0 and no cells, as clients send GeoJSON bins.
		*buf = append(append((*buf)[:0], 0, 0, 0), h.Data[1:]...)
		return proto.ParticleGeoJSON, *buf, true
	case msgpack.Bytes:
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

// truthy reports whether a filter's result keeps its record: true, or a
// non-zero number.
func truthy(b []byte) bool {
	var h msgpack.Head
	if !h.Parse(b) {
		return false
	}
	switch h.Type {
	case msgpack.True:
		return true
	case msgpack.Int, msgpack.NegInt:
		return h.U != 0
	case msgpack.Double:
		return h.Float() != 0 && !math.IsNaN(h.Float())
	}
	return false
}
