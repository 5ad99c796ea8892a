package msgpack

import (
	"encoding/binary"
	"math"

	"github.com/skiffdb/skiff/core/proto"
)

// Type classifies an element as the Aerospike server does. The order of the
// constants is the order in which values of different types compare
// (nil < false < true < negative integers < ...): see Compare.
type Type uint8

// The element types. String, Bytes and GeoJSON are all str or bin
// elements, told apart by their first payload byte.
const (
	Invalid Type = iota
	Nil
	False
	True
	NegInt
	Int
	String // str/bin whose first byte is the string particle type
	List
	Map
	Bytes // str/bin with another first byte, or empty
	Double
	GeoJSON // str/bin whose first byte is the GeoJSON particle type
	Ext
	Wildcard // ext 0xff [0x00]: equal to anything in comparisons
	Inf      // ext 0xff [0x01]: greater than anything
)

// Ext type and data of the comparison-only values the clients send.
const (
	extCmp      = 0xff
	extWildcard = 0x00
	extInf      = 0x01
)

// Head is the header of one element.
type Head struct {
	Type Type
	// Size is the length of the whole element for scalars, and of the
	// header only for arrays and maps.
	Size int
	// N is the number of elements an array or map header announces (a
	// map's keys and values counted separately), which follow it.
	N int
	// U holds integers (negative ones two's complement) and float bits.
	U uint64
	// Data is a str/bin/ext payload: for str/bin including the particle
	// type byte, for ext excluding the ext type.
	Data    []byte
	ExtType byte
}

// Int returns the integer of an Int or NegInt head.
func (h *Head) Int() int64 { return int64(h.U) }

// Float returns the value of a Double head.
func (h *Head) Float() float64 { return math.Float64frombits(h.U) }

// IsExt reports whether t is an ext, whatever its meaning.
func (t Type) IsExt() bool { return t == Ext || t == Wildcard || t == Inf }

// Parse decodes into h the header of the element at the start of b. It
// returns false when b is too short or does not start with an element. It
// does not check that the elements an array or map announces follow: Skip
// does.
func (h *Head) Parse(b []byte) bool {
	var payload int
	var ok bool
	h.Type, payload, h.Size, h.N, h.U, ok = Header(b)
	h.Data, h.ExtType = nil, 0
	if payload > 0 {
		h.Data = b[payload:h.Size]
		if h.Type.IsExt() {
			h.ExtType = b[payload-1]
		}
	}
	return ok
}

// Header is Parse without the Head, for loops over every element of a
// value (Skip, an index's keys): its results come back in registers, where
// filling a Head in memory costs such a loop a fifth more. payload is where
// a str/bin/ext payload starts (Head.Data is b[payload:size]; an ext's type
// is the byte before), 0 for other types; the other results are Head's.
func Header(b []byte) (t Type, payload, size, n int, u uint64, ok bool) {
	if len(b) == 0 {
		return
	}
	c := b[0]
	switch {
	case c <= 0x7f:
		return Int, 0, 1, 0, uint64(c), true
	case c >= 0xe0:
		return NegInt, 0, 1, 0, uint64(int64(int8(c))), true
	case c&0xe0 == 0xa0:
		return bytesHead(b, 1, int(c&0x1f))
	case c&0xf0 == 0x80:
		return Map, 0, 1, 2 * int(c&0x0f), 0, true
	case c&0xf0 == 0x90:
		return List, 0, 1, int(c & 0x0f), 0, true
	}
	switch c {
	case 0xc0:
		return Nil, 0, 1, 0, 0, true
	case 0xc2:
		return False, 0, 1, 0, 0, true
	case 0xc3:
		return True, 0, 1, 0, 0, true
	case 0xcc:
		if len(b) >= 2 {
			return Int, 0, 2, 0, uint64(b[1]), true
		}
	case 0xcd:
		if len(b) >= 3 {
			return Int, 0, 3, 0, uint64(binary.BigEndian.Uint16(b[1:])), true
		}
	case 0xce:
		if len(b) >= 5 {
			return Int, 0, 5, 0, uint64(binary.BigEndian.Uint32(b[1:])), true
		}
	case 0xcf:
		if len(b) >= 9 {
			return Int, 0, 9, 0, binary.BigEndian.Uint64(b[1:]), true
		}
	case 0xd0:
		if len(b) >= 2 {
			return signed(int64(int8(b[1])), 2)
		}
	case 0xd1:
		if len(b) >= 3 {
			return signed(int64(int16(binary.BigEndian.Uint16(b[1:]))), 3)
		}
	case 0xd2:
		if len(b) >= 5 {
			return signed(int64(int32(binary.BigEndian.Uint32(b[1:]))), 5)
		}
	case 0xd3:
		if len(b) >= 9 {
			return signed(int64(binary.BigEndian.Uint64(b[1:])), 9)
		}
	case 0xca:
		if len(b) >= 5 {
			f := float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:])))
			return Double, 0, 5, 0, math.Float64bits(f), true
		}
	case 0xcb:
		if len(b) >= 9 {
			return Double, 0, 9, 0, binary.BigEndian.Uint64(b[1:]), true
		}
	case 0xc4, 0xd9:
		if len(b) >= 2 {
			return bytesHead(b, 2, int(b[1]))
		}
	case 0xc5, 0xda:
		if len(b) >= 3 {
			return bytesHead(b, 3, int(binary.BigEndian.Uint16(b[1:])))
		}
	case 0xc6, 0xdb:
		if len(b) >= 5 {
			return bytesHead(b, 5, int(binary.BigEndian.Uint32(b[1:])))
		}
	case 0xdc:
		if len(b) >= 3 {
			return List, 0, 3, int(binary.BigEndian.Uint16(b[1:])), 0, true
		}
	case 0xdd:
		if len(b) >= 5 {
			return List, 0, 5, int(binary.BigEndian.Uint32(b[1:])), 0, true
		}
	case 0xde:
		if len(b) >= 3 {
			return Map, 0, 3, 2 * int(binary.BigEndian.Uint16(b[1:])), 0, true
		}
	case 0xdf:
		if len(b) >= 5 {
			return Map, 0, 5, 2 * int(binary.BigEndian.Uint32(b[1:])), 0, true
		}
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return extHead(b, 1, 1<<(c-0xd4))
	case 0xc7:
		if len(b) >= 2 {
			return extHead(b, 2, int(b[1]))
		}
	case 0xc8:
		if len(b) >= 3 {
			return extHead(b, 3, int(binary.BigEndian.Uint16(b[1:])))
		}
	case 0xc9:
		if len(b) >= 5 {
			return extHead(b, 5, int(binary.BigEndian.Uint32(b[1:])))
		}
	}
	return // truncated, or 0xc1 (never used)
}

// signed finishes the header of a signed integer of size bytes.
func signed(v int64, size int) (Type, int, int, int, uint64, bool) {
	if v < 0 {
		return NegInt, 0, size, 0, uint64(v), true
	}
	return Int, 0, size, 0, uint64(v), true
}

// bytesHead finishes a str/bin header of hdr bytes announcing n bytes,
// typed by the particle type it starts with.
func bytesHead(b []byte, hdr, n int) (Type, int, int, int, uint64, bool) {
	if n > len(b)-hdr {
		return Invalid, 0, 0, 0, 0, false
	}
	t := Bytes
	if n > 0 {
		switch b[hdr] {
		case proto.ParticleString:
			t = String
		case proto.ParticleGeoJSON:
			t = GeoJSON
		}
	}
	return t, hdr, hdr + n, 0, 0, true
}

// extHead finishes an ext header of hdr bytes (before the type byte)
// announcing n data bytes.
func extHead(b []byte, hdr, n int) (Type, int, int, int, uint64, bool) {
	if n > len(b)-hdr-1 {
		return Invalid, 0, 0, 0, 0, false
	}
	t := Ext
	if b[hdr] == extCmp && n == 1 {
		switch b[hdr+1] {
		case extWildcard:
			t = Wildcard
		case extInf:
			t = Inf
		}
	}
	return t, hdr + 1, hdr + 1 + n, 0, 0, true
}

// Skip returns the length of the element at the start of b, nested
// elements included, or false if b does not hold a whole element. It does
// not recurse, so deep nesting cannot exhaust the stack.
func Skip(b []byte) (int, bool) {
	return SkipN(b, 1)
}

// SkipN returns the length of the n elements at the start of b.
func SkipN(b []byte, n int) (int, bool) {
	off := 0
	for n > 0 {
		// Every element takes at least one byte: fail early on counts
		// that cannot fit instead of looping over them.
		if n > len(b)-off {
			return 0, false
		}
		_, _, size, more, _, ok := Header(b[off:])
		if !ok {
			return 0, false
		}
		off += size
		n += more - 1
	}
	return off, true
}

// Uint reads an integer at the start of b, negative ones as their two's
// complement, as the server reads op codes and flags; n is its length.
func Uint(b []byte) (v uint64, n int, ok bool) {
	var h Head
	if !h.Parse(b) || (h.Type != Int && h.Type != NegInt) {
		return 0, 0, false
	}
	return h.U, h.Size, true
}

// Raw reads a str or bin at the start of b and returns its whole payload
// (particle type byte included, if it has one); n is its length.
func Raw(b []byte) (data []byte, n int, ok bool) {
	var h Head
	if !h.Parse(b) || (h.Type != String && h.Type != Bytes && h.Type != GeoJSON) {
		return nil, 0, false
	}
	return h.Data, h.Size, true
}

// Op splits the wire value of a list, map, bit or HLL operation, a whole
// array [code, arg...], into its code and the msgpack of its n arguments.
// ok is false for anything else.
func Op(b []byte) (code uint64, args []byte, n int, ok bool) {
	var h Head
	if !h.Parse(b) || h.Type != List || h.N == 0 {
		return 0, nil, 0, false
	}
	if size, whole := Skip(b); !whole || size != len(b) {
		return 0, nil, 0, false
	}
	code, size, ok := Uint(b[h.Size:])
	if !ok {
		return 0, nil, 0, false
	}
	return code, b[h.Size+size:], h.N - 1, true
}
