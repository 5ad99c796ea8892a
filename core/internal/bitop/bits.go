package bitop

import (
	"encoding/binary"
	"math/bits"
)

// The helpers here address a blob's bits from 0, the high bit of its first
// byte, and work a byte at a time: a range's bytes are each read or written
// whole under a mask of the range's bits in them.

// combine gives the new value of a destination byte from its old value d
// and the source's bits s lined up with it.
type combine func(d, s byte) byte

// set takes the source's bits.
func set(_, s byte) byte { return s }

// merge writes f(old, src) into the n bits of dst from bit at, where src's
// bits are read from bit from on (nil src reads as zeros). Bits outside
// the range keep their values. dst and src must not overlap.
func merge(dst []byte, at int, src []byte, from int, n int, f combine) {
	end := at + n
	for i := at / 8; i < (end+7)/8; i++ {
		m := mask(i, at, end)
		s := window(src, from+8*i-at)
		dst[i] = dst[i]&^m | f(dst[i], s)&m
	}
}

// window returns the 8 bits of b from bit q on (q may be negative), bits
// outside b reading as zero.
func window(b []byte, q int) byte {
	i, s := q>>3, uint(q&7) // floor division, also for negative q
	return byteAt(b, i)<<s | byteAt(b, i+1)>>(8-s)
}

func byteAt(b []byte, i int) byte {
	if i < 0 || i >= len(b) {
		return 0
	}
	return b[i]
}

// mask returns the bits of byte i that lie in the bit range [start, end).
func mask(i, start, end int) byte {
	lo := uint(max(start-8*i, 0))
	hi := uint(min(end-8*i, 8))
	return byte(0xff) >> lo & (byte(0xff) << (8 - hi))
}

// loadInt reads the n-bit (n <= 64) big-endian integer at bit start of b.
func loadInt(b []byte, start, n int) uint64 {
	var v uint64
	nbytes := (n + 7) / 8
	for k := range nbytes {
		v = v<<8 | uint64(window(b, start+8*k))
	}
	return v >> (8*nbytes - n)
}

// storeInt writes v as an n-bit (n <= 64) big-endian integer at bit start
// of b; v must fit.
func storeInt(b []byte, start, n int, v uint64) {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v<<(64-n))
	merge(b, start, buf[:], 0, n, set)
}

// signExtend reads v's low n bits as a signed integer.
func signExtend(v uint64, n int) int64 {
	return int64(v<<(64-n)) >> (64 - n)
}

// ones counts the bits set in the n bits of b from bit start.
func ones(b []byte, start, n int) int {
	c := 0
	for i := start / 8; i < (start+n+7)/8; i++ {
		c += bits.OnesCount8(b[i] & mask(i, start, start+n))
	}
	return c
}

// find returns the position of the first (or last) bit equal to bit in
// the n bits of b from bit start, -1 if there is none.
func find(b []byte, start, n int, bit, first bool) int {
	end := start + n
	lo, hi := start/8, (end+7)/8
	for k := range hi - lo {
		i := lo + k
		if !first {
			i = hi - 1 - k
		}
		v := b[i]
		if !bit {
			v = ^v
		}
		v &= mask(i, start, end)
		switch {
		case v == 0:
		case first:
			return 8*i + bits.LeadingZeros8(v)
		default:
			return 8*i + 7 - bits.TrailingZeros8(v)
		}
	}
	return -1
}
