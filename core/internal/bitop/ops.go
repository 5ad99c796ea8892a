package bitop

import (
	"encoding/binary"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
)

// opDef defines one operation: its arguments, the policy flags it
// accepts, and what it does.
type opDef struct {
	// args lists the arguments in wire order; those after the first min
	// are optional.
	args []argKind
	min  int
	// flags are the policy flags the operation accepts.
	flags uint64
	// creates reports that the operation may create a missing bin.
	creates bool
	// modify returns the new value of blob (nil for a missing bin), or
	// errNoOp; read returns the result's particle type and bytes. Both
	// take the op by value: a pointer passed through a function value
	// escapes, which would cost every Apply an allocation.
	modify func(a *bins.Arena, o op, blob []byte) ([]byte, error)
	read   func(a *bins.Arena, o op, blob []byte) (uint8, []byte, error)
}

// readBase is the code of the first read operation.
const readBase = 50

// Flags of the operations that overwrite a range of bits, and of those
// that write an integer, which may not be cut short.
const (
	rangeFlags = flagUpdateOnly | flagNoFail | flagPartial
	intFlags   = flagUpdateOnly | flagNoFail
)

// modifyOps holds the modify operations by code.
var modifyOps = [...]opDef{
	0: {args: []argKind{argByteSize0, argFlags, argResizeFlags}, min: 1,
		flags: flagCreateOnly | flagUpdateOnly | flagNoFail, creates: true, modify: resize},
	1: {args: []argKind{argByteOffset, argBlob, argFlags}, min: 2,
		flags: flagCreateOnly | flagUpdateOnly | flagNoFail, creates: true, modify: insert},
	2: {args: []argKind{argByteOffset, argByteSize, argFlags}, min: 2,
		flags: rangeFlags, modify: remove},
	3: {args: []argKind{argBitOffset, argBitSize, argBlob, argFlags}, min: 3,
		flags: rangeFlags, modify: overwrite(func(_, s byte) byte { return s })},
	4: {args: []argKind{argBitOffset, argBitSize, argBlob, argFlags}, min: 3,
		flags: rangeFlags, modify: overwrite(func(d, s byte) byte { return d | s })},
	5: {args: []argKind{argBitOffset, argBitSize, argBlob, argFlags}, min: 3,
		flags: rangeFlags, modify: overwrite(func(d, s byte) byte { return d ^ s })},
	6: {args: []argKind{argBitOffset, argBitSize, argBlob, argFlags}, min: 3,
		flags: rangeFlags, modify: overwrite(func(d, s byte) byte { return d & s })},
	7: {args: []argKind{argBitOffset, argBitSize, argFlags}, min: 2,
		flags: rangeFlags, modify: overwrite(func(d, _ byte) byte { return ^d })},
	8: {args: []argKind{argBitOffset, argBitSize, argShift, argFlags}, min: 3,
		flags: rangeFlags, modify: shift(true)},
	9: {args: []argKind{argBitOffset, argBitSize, argShift, argFlags}, min: 3,
		flags: rangeFlags, modify: shift(false)},
	10: {args: []argKind{argBitOffset, argIntSize, argInt, argFlags, argMathFlags}, min: 3,
		flags: intFlags, modify: arith(false)},
	11: {args: []argKind{argBitOffset, argIntSize, argInt, argFlags, argMathFlags}, min: 3,
		flags: intFlags, modify: arith(true)},
	12: {args: []argKind{argBitOffset, argIntSize, argInt, argFlags}, min: 3,
		flags: intFlags, modify: setInt},
}

// readOps holds the read operations by code less readBase.
var readOps = [...]opDef{
	0: {args: []argKind{argBitOffset, argBitSize}, min: 2, read: get},
	1: {args: []argKind{argBitOffset, argBitSize}, min: 2, read: count},
	2: {args: []argKind{argBitOffset, argBitSize, argBool}, min: 3, read: scan(true)},
	3: {args: []argKind{argBitOffset, argBitSize, argBool}, min: 3, read: scan(false)},
	4: {args: []argKind{argBitOffset, argIntSize, argSigned}, min: 2, read: getInt},
}

// start resolves o's offset against a blob of n bytes: a negative offset
// counts back from the end, and may not reach past the start.
func (o *op) start(n int) (int, error) {
	if o.offset >= 0 {
		return o.offset, nil
	}
	if -o.offset > n*8 {
		return 0, errParam
	}
	return n*8 + o.offset, nil
}

// bitRange returns the range of bits o works on in blob, as a start and a
// length: it must start and end in the blob, unless the partial flag cuts
// it short at the blob's end.
func (o *op) bitRange(blob []byte) (int, int, error) {
	start, err := o.start(len(blob))
	if err != nil {
		return 0, 0, err
	}
	end := len(blob) * 8
	switch {
	case start >= end:
		return 0, 0, o.deny(errNotApplic)
	case o.size <= end-start:
		return start, o.size, nil
	case o.flags&flagPartial != 0:
		return start, end - start, nil
	}
	return 0, 0, o.deny(errNotApplic)
}

// newBlob returns n bytes for a new value, refusing one Aerospike would
// not store.
func newBlob(a *bins.Arena, n int) ([]byte, error) {
	if n >= maxBlob {
		return nil, errParam
	}
	return a.Alloc(n), nil
}

// resize makes the blob size bytes long, adding zeros or dropping bytes
// at its end, or its front with the from-front flag.
func resize(a *bins.Arena, o op, blob []byte) ([]byte, error) {
	n := o.size / 8
	fromFront := o.sub&resizeFromFront != 0
	switch {
	case n == len(blob):
		return nil, errNoOp
	case n < len(blob) && o.sub&resizeGrowOnly != 0,
		n > len(blob) && o.sub&resizeShrinkOnly != 0:
		return nil, o.deny(errParam)
	case n < len(blob) && fromFront:
		return blob[len(blob)-n:], nil
	case n < len(blob):
		return blob[:n], nil
	}
	out, err := newBlob(a, n)
	if err != nil {
		return nil, err
	}
	if fromFront {
		clear(out[:n-len(blob)])
		copy(out[n-len(blob):], blob)
	} else {
		copy(out, blob)
		clear(out[len(blob):])
	}
	return out, nil
}

// insert puts the argument's bytes in front of the byte at offset, or,
// past the end, after zeros up to it.
func insert(a *bins.Arena, o op, blob []byte) ([]byte, error) {
	start, err := o.start(len(blob))
	if err != nil {
		return nil, err
	}
	at := start / 8
	out, err := newBlob(a, max(at, len(blob))+len(o.blob))
	if err != nil {
		return nil, err
	}
	head := min(at, len(blob))
	copy(out, blob[:head])
	clear(out[head:at])
	copy(out[at:], o.blob)
	copy(out[at+len(o.blob):], blob[head:])
	return out, nil
}

// remove drops size bytes from offset on, which must lie in the blob; the
// partial flag drops what there is of them.
func remove(a *bins.Arena, o op, blob []byte) ([]byte, error) {
	start, err := o.start(len(blob))
	if err != nil {
		return nil, err
	}
	at, n := start/8, o.size/8
	switch {
	case at >= len(blob):
		return nil, o.deny(errParam)
	case n > len(blob)-at && o.flags&flagPartial != 0:
		n = len(blob) - at
	case n > len(blob)-at:
		return nil, o.deny(errParam)
	}
	out := a.Alloc(len(blob) - n)
	copy(out, blob[:at])
	copy(out[at:], blob[at+n:])
	return out, nil
}

// copyBlob returns a copy of blob in a, to change.
func copyBlob(a *bins.Arena, blob []byte) []byte {
	out := a.Alloc(len(blob))
	copy(out, blob)
	return out
}

// overwrite returns a modify that combines each bit of its range with the
// matching bit of the blob argument (set, or, xor, and; not ignores it).
func overwrite(f combine) func(*bins.Arena, op, []byte) ([]byte, error) {
	return func(a *bins.Arena, o op, blob []byte) ([]byte, error) {
		start, n, err := o.bitRange(blob)
		if err != nil {
			return nil, err
		}
		out := copyBlob(a, blob)
		merge(out, start, o.blob, 0, n, f)
		return out, nil
	}
}

// shift returns a modify that shifts the bits of its range left (towards
// its start) or right, filling with zeros.
func shift(left bool) func(*bins.Arena, op, []byte) ([]byte, error) {
	return func(a *bins.Arena, o op, blob []byte) ([]byte, error) {
		start, n, err := o.bitRange(blob)
		if err != nil {
			return nil, err
		}
		out := copyBlob(a, blob)
		k := int(min(o.value, uint64(n)))
		if left {
			merge(out, start, blob, start+k, n-k, set)
			merge(out, start+n-k, nil, 0, k, set)
		} else {
			merge(out, start+k, blob, start, n-k, set)
			merge(out, start, nil, 0, k, set)
		}
		return out, nil
	}
}

// arith returns a modify that adds its value to, or subtracts it from,
// the integer in its range, truncated to the range's size. An overflow
// fails, saturates or wraps as the math flags say.
func arith(subtract bool) func(*bins.Arena, op, []byte) ([]byte, error) {
	return func(a *bins.Arena, o op, blob []byte) ([]byte, error) {
		start, n, err := o.bitRange(blob)
		if err != nil {
			return nil, err
		}
		mask := ^uint64(0) >> (64 - n)
		old, v := loadInt(blob, start, n), o.value&mask
		var r uint64
		if subtract {
			r = (old - v) & mask
		} else {
			r = (old + v) & mask
		}
		if o.sub&mathWrap == 0 {
			if over, limit := overflow(old, v, r, n, subtract, o.sub&mathSigned != 0); over {
				if o.sub&mathSaturate == 0 {
					return nil, o.deny(errNotApplic)
				}
				r = limit
			}
		}
		out := copyBlob(a, blob)
		storeInt(out, start, n, r)
		return out, nil
	}
}

// overflow reports whether r, the n-bit result of old plus or minus v,
// overflowed, and if so returns the limit it went past, to saturate at.
func overflow(old, v, r uint64, n int, subtract, signed bool) (bool, uint64) {
	mask := ^uint64(0) >> (64 - n)
	if !signed {
		switch {
		case subtract && r > old:
			return true, 0
		case !subtract && r < old:
			return true, mask
		}
		return false, 0
	}
	// In two's complement a sum overflows when its operands share a sign
	// and the result's differs from it; a difference, when its operands'
	// signs differ and the result's differs from the first operand's.
	negOld, negV, negR := signExtend(old, n) < 0, signExtend(v, n) < 0, signExtend(r, n) < 0
	candidate := negOld == negV
	if subtract {
		candidate = !candidate
	}
	switch {
	case !candidate || negR == negOld:
		return false, 0
	case negOld:
		return true, mask>>1 + 1 // the least n-bit value
	}
	return true, mask >> 1 // the greatest
}

// setInt writes its value, truncated to the range's size, into the range.
func setInt(a *bins.Arena, o op, blob []byte) ([]byte, error) {
	start, n, err := o.bitRange(blob)
	if err != nil {
		return nil, err
	}
	out := copyBlob(a, blob)
	storeInt(out, start, n, o.value&(^uint64(0)>>(64-n)))
	return out, nil
}

// get returns the bits of the range as a blob, from the high bit of its
// first byte, padded with zeros.
func get(a *bins.Arena, o op, blob []byte) (uint8, []byte, error) {
	start, n, err := o.bitRange(blob)
	if err != nil {
		return 0, nil, err
	}
	out := a.Alloc((n + 7) / 8)
	clear(out)
	merge(out, 0, blob, start, n, set)
	return proto.ParticleBlob, out, nil
}

// count returns the number of bits set in the range.
func count(a *bins.Arena, o op, blob []byte) (uint8, []byte, error) {
	start, n, err := o.bitRange(blob)
	if err != nil {
		return 0, nil, err
	}
	return integer(a, int64(ones(blob, start, n)))
}

// scan returns a read that finds the first (or last) bit of the range
// equal to its argument, as an offset from the range's start, -1 for
// none.
func scan(first bool) func(*bins.Arena, op, []byte) (uint8, []byte, error) {
	return func(a *bins.Arena, o op, blob []byte) (uint8, []byte, error) {
		start, n, err := o.bitRange(blob)
		if err != nil {
			return 0, nil, err
		}
		at := find(blob, start, n, o.value == 1, first)
		if at >= 0 {
			at -= start
		}
		return integer(a, int64(at))
	}
}

// getInt returns the integer in the range, sign-extended with the signed
// flag.
func getInt(a *bins.Arena, o op, blob []byte) (uint8, []byte, error) {
	start, n, err := o.bitRange(blob)
	if err != nil {
		return 0, nil, err
	}
	v := loadInt(blob, start, n)
	if o.sub&mathSigned != 0 {
		return integer(a, signExtend(v, n))
	}
	return integer(a, int64(v))
}

// integer returns an integer result.
func integer(a *bins.Arena, v int64) (uint8, []byte, error) {
	out := a.Alloc(8)
	binary.BigEndian.PutUint64(out, uint64(v))
	return proto.ParticleInteger, out, nil
}
