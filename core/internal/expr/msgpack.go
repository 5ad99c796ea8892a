package expr

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/skiffdb/skiff/core/proto"
)

// mpType classifies a msgpack element as the Aerospike server does. The
// order of the constants is the order in which values of different types
// compare (nil < false < true < negative integers < ...).
type mpType uint8

const (
	mpError mpType = iota
	mpNil
	mpFalse
	mpTrue
	mpNegInt
	mpInt
	mpString // str/bin whose first byte is the string particle type
	mpList
	mpMap
	mpBytes // str/bin with another first byte, or empty
	mpDouble
	mpGeoJSON // str/bin whose first byte is the GeoJSON particle type
	mpExt
	mpWildcard // ext 0xff [0x00]: equal to anything in comparisons
	mpInf      // ext 0xff [0x01]: greater than anything
)

// Ext type and data of the comparison-only values the clients send.
const (
	extCmp      = 0xff
	extWildcard = 0x00
	extInf      = 0x01
)

// mapKeyOrdered is the map ext flag that says a map's keys are sorted.
const mapKeyOrdered = 0x01

// mpHead is the header of one msgpack element.
type mpHead struct {
	typ mpType
	// size is the length of the whole element for scalars, and of the
	// header only for arrays and maps.
	size int
	// n is the number of elements an array or map header announces (a
	// map's keys and values counted separately).
	n int
	// u holds integers (negative ones two's complement) and float bits.
	u uint64
	// data is a str/bin/ext payload: for str/bin including the particle
	// type byte, for ext excluding the ext type.
	data    []byte
	extType byte
}

// int returns the integer of an mpInt or mpNegInt head.
func (h *mpHead) int() int64 { return int64(h.u) }

// float returns the value of an mpDouble head.
func (h *mpHead) float() float64 { return math.Float64frombits(h.u) }

// mpParse decodes the header of the element at the start of b. It returns
// false when b is too short or does not start with a msgpack element.
func mpParse(b []byte) (h mpHead, ok bool) {
	if len(b) == 0 {
		return h, false
	}
	c := b[0]
	switch {
	case c <= 0x7f:
		return mpHead{typ: mpInt, size: 1, u: uint64(c)}, true
	case c >= 0xe0:
		return mpHead{typ: mpNegInt, size: 1, u: uint64(int64(int8(c)))}, true
	case c&0xe0 == 0xa0:
		return mpBytesHead(b, 1, int(c&0x1f))
	case c&0xf0 == 0x80:
		return mpHead{typ: mpMap, size: 1, n: 2 * int(c&0x0f)}, true
	case c&0xf0 == 0x90:
		return mpHead{typ: mpList, size: 1, n: int(c & 0x0f)}, true
	}
	switch c {
	case 0xc0:
		return mpHead{typ: mpNil, size: 1}, true
	case 0xc2:
		return mpHead{typ: mpFalse, size: 1}, true
	case 0xc3:
		return mpHead{typ: mpTrue, size: 1}, true
	case 0xcc, 0xcd, 0xce, 0xcf:
		w := 1 << (c - 0xcc)
		if len(b) < 1+w {
			return h, false
		}
		return mpHead{typ: mpInt, size: 1 + w, u: beUint(b[1 : 1+w])}, true
	case 0xd0, 0xd1, 0xd2, 0xd3:
		w := 1 << (c - 0xd0)
		if len(b) < 1+w {
			return h, false
		}
		v := beUint(b[1 : 1+w])
		shift := 64 - 8*uint(w)
		v = uint64(int64(v<<shift) >> shift) // sign-extend
		typ := mpInt
		if int64(v) < 0 {
			typ = mpNegInt
		}
		return mpHead{typ: typ, size: 1 + w, u: v}, true
	case 0xca:
		if len(b) < 5 {
			return h, false
		}
		f := float64(math.Float32frombits(binary.BigEndian.Uint32(b[1:])))
		return mpHead{typ: mpDouble, size: 5, u: math.Float64bits(f)}, true
	case 0xcb:
		if len(b) < 9 {
			return h, false
		}
		return mpHead{typ: mpDouble, size: 9, u: binary.BigEndian.Uint64(b[1:])}, true
	case 0xc4, 0xd9:
		if len(b) < 2 {
			return h, false
		}
		return mpBytesHead(b, 2, int(b[1]))
	case 0xc5, 0xda:
		if len(b) < 3 {
			return h, false
		}
		return mpBytesHead(b, 3, int(binary.BigEndian.Uint16(b[1:])))
	case 0xc6, 0xdb:
		if len(b) < 5 {
			return h, false
		}
		return mpBytesHead(b, 5, int(binary.BigEndian.Uint32(b[1:])))
	case 0xdc:
		if len(b) < 3 {
			return h, false
		}
		return mpHead{typ: mpList, size: 3, n: int(binary.BigEndian.Uint16(b[1:]))}, true
	case 0xdd:
		if len(b) < 5 {
			return h, false
		}
		return mpHead{typ: mpList, size: 5, n: int(binary.BigEndian.Uint32(b[1:]))}, true
	case 0xde:
		if len(b) < 3 {
			return h, false
		}
		return mpHead{typ: mpMap, size: 3, n: 2 * int(binary.BigEndian.Uint16(b[1:]))}, true
	case 0xdf:
		if len(b) < 5 {
			return h, false
		}
		return mpHead{typ: mpMap, size: 5, n: 2 * int(binary.BigEndian.Uint32(b[1:]))}, true
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return mpExtHead(b, 1, 1<<(c-0xd4))
	case 0xc7:
		if len(b) < 2 {
			return h, false
		}
		return mpExtHead(b, 2, int(b[1]))
	case 0xc8:
		if len(b) < 3 {
			return h, false
		}
		return mpExtHead(b, 3, int(binary.BigEndian.Uint16(b[1:])))
	case 0xc9:
		if len(b) < 5 {
			return h, false
		}
		return mpExtHead(b, 5, int(binary.BigEndian.Uint32(b[1:])))
	}
	return h, false // 0xc1, never used
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// mpBytesHead finishes a str/bin header of hdr bytes announcing n bytes.
func mpBytesHead(b []byte, hdr, n int) (mpHead, bool) {
	if n > len(b)-hdr {
		return mpHead{}, false
	}
	h := mpHead{typ: mpBytes, size: hdr + n, data: b[hdr : hdr+n]}
	if n > 0 {
		switch b[hdr] {
		case proto.ParticleString:
			h.typ = mpString
		case proto.ParticleGeoJSON:
			h.typ = mpGeoJSON
		}
	}
	return h, true
}

// mpExtHead finishes an ext header of hdr bytes (before the type byte)
// announcing n data bytes.
func mpExtHead(b []byte, hdr, n int) (mpHead, bool) {
	if n > len(b)-hdr-1 {
		return mpHead{}, false
	}
	h := mpHead{typ: mpExt, size: hdr + 1 + n, extType: b[hdr], data: b[hdr+1 : hdr+1+n]}
	if h.extType == extCmp && n == 1 {
		switch h.data[0] {
		case extWildcard:
			h.typ = mpWildcard
		case extInf:
			h.typ = mpInf
		}
	}
	return h, true
}

// mpSkip returns the length of the element at the start of b, nested
// elements included, or false if b does not hold a whole element. It does
// not recurse, so deep nesting cannot exhaust the stack.
func mpSkip(b []byte) (int, bool) {
	return mpSkipN(b, 1)
}

// mpSkipN returns the length of the n elements at the start of b.
func mpSkipN(b []byte, n int) (int, bool) {
	off := 0
	for n > 0 {
		// Every element takes at least one byte: fail early on counts
		// that cannot fit instead of looping over them.
		if n > len(b)-off {
			return 0, false
		}
		h, ok := mpParse(b[off:])
		if !ok {
			return 0, false
		}
		off += h.size
		n += h.n - 1
	}
	return off, true
}

// mpUint reads an integer at the start of b, negative ones as their two's
// complement, as the server reads op codes and flags.
func mpUint(b []byte) (v uint64, n int, ok bool) {
	h, ok := mpParse(b)
	if !ok || (h.typ != mpInt && h.typ != mpNegInt) {
		return 0, 0, false
	}
	return h.u, h.size, true
}

// mpRaw reads a str or bin at the start of b and returns its payload.
func mpRaw(b []byte) (data []byte, n int, ok bool) {
	h, ok := mpParse(b)
	if !ok || (h.typ != mpString && h.typ != mpBytes && h.typ != mpGeoJSON) {
		return nil, 0, false
	}
	return h.data, h.size, true
}

// mpCompare orders two msgpack elements the way the server orders list
// and map items: by type first (see mpType), then by value; lists
// element-wise and then by length, maps by size and then entry by entry in
// their stored order. A wildcard equals anything. unordered reports that
// the comparison had to look inside a map whose keys are not known to be
// sorted, which makes the result meaningless. ok is false when either
// element is malformed.
//
// Like mpSkip it walks both elements iteratively, in lockstep.
func mpCompare(a, b []byte) (cmp int, unordered, ok bool) {
	ca := mpCursor{b: a, remain: 1}
	cb := mpCursor{b: b, remain: 1}
	end := 0   // the result if all compared elements are equal
	count := 1 // elements to compare, in depth-first order
	for i := 0; i < count && cmp == 0; i++ {
		ha, okA := ca.next()
		hb, okB := cb.next()
		if !okA || !okB {
			return 0, false, false
		}
		if ha.typ == mpWildcard || hb.typ == mpWildcard {
			end = 0
			break
		}
		if ha.typ != hb.typ {
			cmp = order(ha.typ, hb.typ)
			break
		}
		switch ha.typ {
		case mpNegInt, mpInt:
			cmp = order(ha.u, hb.u)
		case mpDouble:
			cmp = order(ha.float(), hb.float())
		case mpString, mpBytes, mpGeoJSON, mpExt:
			cmp = bytes.Compare(ha.data, hb.data)
		case mpList:
			if ha.n == hb.n {
				count += ha.n
				break
			}
			// Different lengths: the common prefix decides unless it is
			// equal, and then the shorter list is less. Nothing after
			// this list is compared any more.
			count, end = i+1+min(ha.n, hb.n), order(ha.n, hb.n)
		case mpMap:
			if cmp = order(ha.n, hb.n); cmp == 0 {
				count += ha.n
			}
		}
	}
	if cmp == 0 {
		cmp = end
	}
	// Both elements must still be whole, as the server checks.
	if _, okA := mpSkipN(ca.b, ca.remain); !okA {
		return 0, false, false
	}
	if _, okB := mpSkipN(cb.b, cb.remain); !okB {
		return 0, false, false
	}
	return cmp, ca.unordered || cb.unordered, true
}

// mpCursor walks one side of mpCompare.
type mpCursor struct {
	b         []byte
	remain    int // elements left to read to finish the top element
	unordered bool
}

// next reads the next element's header. For a list or map it also reads
// past the ext element that carries the container's order flags, and
// returns in n the number of remaining items.
func (c *mpCursor) next() (mpHead, bool) {
	h, ok := mpParse(c.b)
	if !ok {
		return h, false
	}
	c.b = c.b[h.size:]
	c.remain += h.n - 1
	if (h.typ == mpList || h.typ == mpMap) && h.n > 0 {
		return c.skipFlags(h)
	}
	return h, true
}

func (c *mpCursor) skipFlags(h mpHead) (mpHead, bool) {
	first, ok := mpParse(c.b)
	if !ok {
		return h, false
	}
	if first.typ != mpExt && first.typ != mpWildcard && first.typ != mpInf {
		if h.typ == mpMap {
			c.unordered = true
		}
		return h, true
	}
	if h.typ == mpMap && first.extType&mapKeyOrdered == 0 {
		c.unordered = true
	}
	if first.extType == extCmp {
		return h, true // a comparison value, not flags
	}
	per := 1 // the flags entry: one element in a list, key and value in a map
	if h.typ == mpMap {
		per = 2
	}
	skip, ok := mpSkipN(c.b, per)
	if !ok {
		return h, false
	}
	c.b = c.b[skip:]
	c.remain -= per
	h.n -= per
	return h, true
}

type ordered interface {
	~int | ~int64 | ~uint8 | ~uint64 | ~float64
}

// order returns -1, 0 or 1 as a is less than, equal to or greater than b.
// NaNs are neither, so they compare equal, as in the server.
func order[T ordered](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
