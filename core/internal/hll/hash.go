package hll

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"github.com/skiffdb/skiff/core/internal/bins"
)

// canonical returns a value (one well-formed msgpack element, not a list
// or map) in the form Aerospike rewrites it to before hashing it, so that
// a value counts once however a client encodes it: integers in the
// fewest bytes; a str or bin whose length fits a shorter header than its
// own with the shortest str header; an ext likewise with the shortest ext
// header. Other headers (a bin8 of 32 bytes or more, for one) stay as
// they are. The result is elem itself or lives in a.
func canonical(a *bins.Arena, elem []byte) []byte {
	var buf [9]byte
	var hdr []byte // the canonical header of a str, bin or ext to rewrite
	var n int      // the length of its header now
	switch c := elem[0]; c {
	case 0xcc, 0xcd, 0xce, 0xcf:
		return replace(a, elem, appendUint(buf[:0], intAt(elem)))
	case 0xd0, 0xd1, 0xd2, 0xd3:
		return replace(a, elem, appendInt(buf[:0], int64(intAt(elem))))
	case 0xc4, 0xd9, 0xc5, 0xda, 0xc6, 0xdb:
		size, length := lengthHeader(elem)
		if length >= compactBelow(c) {
			return elem
		}
		hdr, n = appendStrHeader(buf[:0], length), size
	case 0xc7, 0xc8, 0xc9:
		size, length := lengthHeader(elem)
		if c == 0xc7 && !fixExt(length) || c != 0xc7 && length >= compactBelow(c) {
			return elem
		}
		hdr, n = appendExtHeader(buf[:0], length), size
	default:
		return elem
	}
	out := a.Alloc(len(hdr) + len(elem) - n)
	copy(out[copy(out, hdr):], elem[n:])
	return out
}

// replace returns elem, or enc in a if it differs.
func replace(a *bins.Arena, elem, enc []byte) []byte {
	if bytes.Equal(elem, enc) {
		return elem
	}
	out := a.Alloc(len(enc))
	copy(out, enc)
	return out
}

// intAt reads the integer of a sized int element, 0xcc to 0xd3 (two's
// complement for a negative one).
func intAt(elem []byte) uint64 {
	size := 1 << ((elem[0] - 0xcc) & 3) // 1, 2, 4 or 8 bytes
	var v uint64
	for _, b := range elem[1 : 1+size] {
		v = v<<8 | uint64(b)
	}
	if elem[0] >= 0xd0 { // signed: extend the sign
		v = uint64(int64(v<<(64-8*size)) >> (64 - 8*size))
	}
	return v
}

// lengthHeader returns the length of a str, bin or ext header (without
// an ext's type byte) and the length it announces.
func lengthHeader(elem []byte) (int, int) {
	switch elem[0] {
	case 0xc4, 0xd9, 0xc7:
		return 2, int(elem[1])
	case 0xc5, 0xda, 0xc8:
		return 3, int(binary.BigEndian.Uint16(elem[1:]))
	}
	return 5, int(binary.BigEndian.Uint32(elem[1:]))
}

// compactBelow returns the least length that needs a header as long as
// header byte c starts (a str, bin, ext16 or ext32 header).
func compactBelow(c byte) int {
	switch c {
	case 0xc4, 0xd9:
		return 1 << 5
	case 0xc5, 0xda, 0xc8:
		return 1 << 8
	}
	return 1 << 16
}

// fixExt reports whether an ext of n data bytes has a one-byte header.
func fixExt(n int) bool { return n == 1 || n == 2 || n == 4 || n == 8 || n == 16 }

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<7:
		return append(b, byte(v))
	case v < 1<<8:
		return append(b, 0xcc, byte(v))
	case v < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v < 1<<32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(b, uint64(v))
	case v >= -1<<5:
		return append(b, byte(v))
	case v >= -1<<7:
		return append(b, 0xd0, byte(v))
	case v >= -1<<15:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= -1<<31:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n < 1<<8:
		return append(b, 0xd9, byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
}

// appendExtHeader appends an ext header for n data bytes, without the
// type byte (which the payload copied after it starts with).
func appendExtHeader(b []byte, n int) []byte {
	switch {
	case fixExt(n):
		return append(b, 0xd4+byte(bits.TrailingZeros(uint(n))))
	case n < 1<<8:
		return append(b, 0xc7, byte(n))
	case n < 1<<16:
		return binary.BigEndian.AppendUint16(append(b, 0xc8), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xc9), uint32(n))
}

// murmur3 is MurmurHash3 x64-128 with seed 0, as Aerospike's
// murmurHash3_x64_128: the two 64-bit halves, the first of which a
// little-endian machine stores first.
func murmur3(b []byte) (uint64, uint64) {
	n := len(b)
	var h1, h2 uint64
	for ; len(b) >= 16; b = b[16:] {
		h1 ^= mixK1(binary.LittleEndian.Uint64(b))
		h1 = (bits.RotateLeft64(h1, 27)+h2)*5 + 0x52dce729
		h2 ^= mixK2(binary.LittleEndian.Uint64(b[8:]))
		h2 = (bits.RotateLeft64(h2, 31)+h1)*5 + 0x38495ab5
	}
	// The tail, up to 15 bytes, read little-endian into two words.
	var k1, k2 uint64
	for i := len(b) - 1; i >= 0; i-- {
		if i >= 8 {
			k2 = k2<<8 | uint64(b[i])
		} else {
			k1 = k1<<8 | uint64(b[i])
		}
	}
	if len(b) > 8 {
		h2 ^= mixK2(k2)
	}
	if len(b) > 0 {
		h1 ^= mixK1(k1)
	}
	h1 ^= uint64(n)
	h2 ^= uint64(n)
	h1 += h2
	h2 += h1
	h1, h2 = fmix64(h1), fmix64(h2)
	h1 += h2
	h2 += h1
	return h1, h2
}

const (
	murmurC1 = 0x87c37b91114253d5
	murmurC2 = 0x4cf5ad432745937f
)

func mixK1(k uint64) uint64 { return bits.RotateLeft64(k*murmurC1, 31) * murmurC2 }
func mixK2(k uint64) uint64 { return bits.RotateLeft64(k*murmurC2, 33) * murmurC1 }

func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}
