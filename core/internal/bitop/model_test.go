package bitop

import (
	"bytes"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
)

// bitModel is a blob as one bool per bit: a reference that the byte-wise
// code is checked against, written as plainly as possible.
type bitModel []bool

func modelOf(b []byte) bitModel {
	m := make(bitModel, len(b)*8)
	for i := range m {
		m[i] = b[i/8]&(0x80>>(i%8)) != 0
	}
	return m
}

// bytes packs the bits, padding the last byte with zeros.
func (m bitModel) bytes() []byte {
	b := make([]byte, (len(m)+7)/8)
	for i, v := range m {
		if v {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	return b
}

// uint reads n bits from start as an unsigned integer.
func (m bitModel) uint(start, n int) *big.Int {
	v := new(big.Int)
	for i := range n {
		v.Lsh(v, 1)
		if m[start+i] {
			v.SetBit(v, 0, 1)
		}
	}
	return v
}

// putUint writes the low n bits of v at start.
func (m bitModel) putUint(start, n int, v *big.Int) {
	for i := range n {
		m[start+i] = v.Bit(n-1-i) == 1
	}
}

// signed reads u, an n-bit unsigned integer, as two's complement.
func signed(u *big.Int, n int) *big.Int {
	if u.Bit(n-1) == 0 {
		return new(big.Int).Set(u)
	}
	return new(big.Int).Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(n)))
}

// modelMath is add or subtract on the model, in exact arithmetic: ok
// false for an overflow that the action fails on.
func (m bitModel) modelMath(start, n int, value int64, subtract, isSigned bool, action int) bool {
	limit := new(big.Int).Lsh(big.NewInt(1), uint(n))
	v := new(big.Int).Mod(big.NewInt(value), limit)
	old := m.uint(start, n)
	lo, hi := big.NewInt(0), new(big.Int).Sub(limit, big.NewInt(1))
	if isSigned {
		old, v = signed(old, n), signed(v, n)
		half := new(big.Int).Lsh(big.NewInt(1), uint(n-1))
		lo, hi = new(big.Int).Neg(half), new(big.Int).Sub(half, big.NewInt(1))
	}
	r := new(big.Int)
	if subtract {
		r.Sub(old, v)
	} else {
		r.Add(old, v)
	}
	switch {
	case r.Cmp(lo) >= 0 && r.Cmp(hi) <= 0, action == actWrap:
	case action == actSaturate && r.Cmp(lo) < 0:
		r = lo
	case action == actSaturate:
		r = hi
	default:
		return false
	}
	m.putUint(start, n, r.Mod(r, limit))
	return true
}

// TestAgainstModel runs random in-range operations on random blobs and
// compares each result with the bit model's.
func TestAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var a bins.Arena
	for range 2000 {
		a.Reset()
		blob := make([]byte, 1+rng.IntN(12))
		for i := range blob {
			blob[i] = byte(rng.Uint32())
		}
		st := blobBin(blob)
		for range 10 {
			bits := len(st.val) * 8
			start := rng.IntN(bits)
			n := 1 + rng.IntN(bits-start)
			off := start
			if rng.IntN(4) == 0 {
				off = start - bits // the same start, counted from the end
			}
			intN := min(n, 1+rng.IntN(64))
			arg := make([]byte, (n+7)/8+rng.IntN(2))
			for i := range arg {
				arg[i] = byte(rng.Uint32())
			}
			value := int64(rng.Uint64()) >> rng.IntN(64)
			k := rng.IntN(n + 2)
			bit := rng.IntN(2) == 1
			isSigned := rng.IntN(2) == 1
			action := []int{actFail, actSaturate, actWrap}[rng.IntN(3)]

			m := modelOf(st.val)
			src := modelOf(arg)
			want := append(bitModel(nil), m...)
			var op wireOp
			var wantRes any // int64, []byte, or nil for a modify
			ok := true
			switch rng.IntN(15) {
			case 0:
				op = setOp(0, off, n, arg)
				copy(want[start:start+n], src)
			case 1:
				op = orOp(0, off, n, arg)
				for i := range n {
					want[start+i] = m[start+i] || src[i]
				}
			case 2:
				op = xorOp(0, off, n, arg)
				for i := range n {
					want[start+i] = m[start+i] != src[i]
				}
			case 3:
				op = andOp(0, off, n, arg)
				for i := range n {
					want[start+i] = m[start+i] && src[i]
				}
			case 4:
				op = notOp(0, off, n)
				for i := range n {
					want[start+i] = !m[start+i]
				}
			case 5:
				op = lshiftOp(0, off, n, k)
				for i := range n {
					want[start+i] = i+k < n && m[start+i+k]
				}
			case 6:
				op = rshiftOp(0, off, n, k)
				for i := range n {
					want[start+i] = i >= k && m[start+i-k]
				}
			case 7:
				op = addOp(0, off, intN, value, isSigned, action)
				ok = want.modelMath(start, intN, value, false, isSigned, action)
			case 8:
				op = subOp(0, off, intN, value, isSigned, action)
				ok = want.modelMath(start, intN, value, true, isSigned, action)
			case 9:
				op = setIntOp(0, off, intN, value)
				limit := new(big.Int).Lsh(big.NewInt(1), uint(intN))
				want.putUint(start, intN, new(big.Int).Mod(big.NewInt(value), limit))
			case 10:
				op = getOp(off, n)
				wantRes = m[start : start+n].bytes()
			case 11:
				op = countOp(off, n)
				c := int64(0)
				for _, v := range m[start : start+n] {
					if v {
						c++
					}
				}
				wantRes = c
			case 12, 13:
				first := rng.IntN(2) == 0
				if first {
					op = lscanOp(off, n, bit)
				} else {
					op = rscanOp(off, n, bit)
				}
				at := int64(-1)
				for i := range n {
					if m[start+i] == bit && (!first || at < 0) {
						at = int64(i)
					}
				}
				wantRes = at
			case 14:
				op = getIntOp(off, intN, isSigned)
				v := m.uint(start, intN)
				if isSigned {
					v = signed(v, intN)
				}
				wantRes = v.Int64()
			}

			next, out, err := apply(t, &a, st, op)
			switch {
			case !ok:
				if Code(err) != proto.OpNotApplicable {
					t.Fatalf("% x on % x: got %v, want an overflow", op.arg, st.val, err)
				}
				continue
			case err != nil:
				t.Fatalf("% x on % x: %v", op.arg, st.val, err)
			}
			switch w := wantRes.(type) {
			case nil:
				if !bytes.Equal(next.val, want.bytes()) {
					t.Fatalf("% x on % x: got % x, want % x", op.arg, st.val, next.val, want.bytes())
				}
			case int64:
				if got := resultInt(t, out); got != w {
					t.Fatalf("% x on % x: got %d, want %d", op.arg, st.val, got, w)
				}
			case []byte:
				if got := resultBlob(t, out); !bytes.Equal(got, w) {
					t.Fatalf("% x on % x: got % x, want % x", op.arg, st.val, got, w)
				}
			}
			st = next
		}
	}
}
