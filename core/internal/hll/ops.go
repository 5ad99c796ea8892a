package hll

import (
	"encoding/binary"
	"math"

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
	// modify runs a modify operation on bin (nil for a missing one), read
	// a read operation on an existing bin. Both take the op by value: a
	// pointer passed through a function value escapes, which would cost
	// every Apply an allocation.
	modify func(a *bins.Arena, o op, bin sketch) (bins.Outcome, error)
	read   func(a *bins.Arena, o op, bin sketch) (bins.Outcome, error)
}

// readBase is the code of the first read operation.
const readBase = 50

// modifyOps holds the modify operations by code.
var modifyOps = [...]opDef{
	0: {args: []argKind{argIndexBits, argMinhashBits, argFlags},
		flags: flagCreateOnly | flagUpdateOnly | flagNoFail, modify: initOp},
	1: {args: []argKind{argValues, argIndexBits, argMinhashBits, argFlags}, min: 1,
		flags: flagCreateOnly | flagNoFail, modify: add},
	2: {args: []argKind{argHLLs, argFlags}, min: 1,
		flags: flagCreateOnly | flagUpdateOnly | flagNoFail | flagAllowFold, modify: setUnion},
	3: {modify: setCount},
	4: {args: []argKind{argIndexBits}, min: 1, modify: fold},
}

// readOps holds the read operations by code less readBase.
var readOps = [...]opDef{
	0: {read: count},
	1: {args: []argKind{argHLLs}, min: 1, read: getUnion},
	2: {args: []argKind{argHLLs}, min: 1, read: getUnionCount},
	3: {args: []argKind{argHLLsIntersect}, min: 1, read: getIntersectCount},
	4: {args: []argKind{argHLLsIntersect}, min: 1, read: getSimilarity},
	5: {read: describe},
	6: {args: []argKind{argValues}, min: 1, read: mayContain},
}

// initOp makes the bin an empty sketch, with the bit counts given or,
// for an existing bin, those of the bin in their place.
func initOp(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	if bin == nil {
		index, minhash, err := o.newBits()
		if err != nil {
			return bins.Outcome{}, err
		}
		return changed(newSketch(a, index, minhash)), nil
	}
	index, minhash := or(o.indexBits, bin.indexBits()), or(o.minhashBits, bin.minhashBits())
	if !validBits(index, minhash) {
		return bins.Outcome{}, errNotApplic
	}
	return changed(newSketch(a, index, minhash)), nil
}

// add adds the values to the bin, made with the bit counts given if
// missing, and answers with how many raised a register.
func add(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	var s sketch
	if bin != nil {
		s = clone(a, bin) // the bit counts given, if any, are ignored
	} else {
		index, minhash, err := o.newBits()
		if err != nil {
			return bins.Outcome{}, err
		}
		s = newSketch(a, index, minhash)
	}
	var n uint64
	o.values(a, func(elem []byte) bool {
		if s.add(elem) {
			n++
		}
		return true
	})
	return withInt(a, changed(s), n), nil
}

// newBits returns the bit counts a missing bin is made with: the index
// bits given (there is no default) and the minhash bits given or 0.
func (o *op) newBits() (index, minhash int, err error) {
	if o.indexBits == unset {
		return 0, 0, errNotApplic
	}
	return o.indexBits, or(o.minhashBits, 0), nil
}

// or returns v, or def if v is unset.
func or(v, def int) int {
	if v == unset {
		return def
	}
	return v
}

// setUnion makes the bin the union of the HLLs and itself. Without the
// allow-fold flag an existing bin may not lose index or minhash bits.
func setUnion(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	var buf [4]sketch
	hs := o.sketches(buf[:0], bin)
	if bin != nil && o.flags&flagAllowFold == 0 {
		index, minhash := template(hs[:len(hs)-1])
		if bin.indexBits() > index || bin.minhashBits() != 0 && bin.minhashBits() != minhash {
			return bins.Outcome{}, errNotApplic
		}
	}
	index, minhash := template(hs)
	return changed(union(a.Alloc(sketchSize(index, minhash)), hs)), nil
}

// setCount caches the bin's count in it and answers with the count.
func setCount(a *bins.Arena, _ op, bin sketch) (bins.Outcome, error) {
	if bin == nil {
		return bins.Outcome{}, errBinNotFound
	}
	s := clone(a, bin)
	n := s.estimate()
	s.setCache(n)
	return withInt(a, changed(s), n), nil
}

// fold lowers the index bits of a bin without minhash bits.
func fold(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	switch {
	case bin == nil:
		return bins.Outcome{}, errBinNotFound
	case bin.minhashBits() != 0 || o.indexBits == unset || o.indexBits > bin.indexBits():
		return bins.Outcome{}, errNotApplic
	case o.indexBits == bin.indexBits():
		return changed(clone(a, bin)), nil // the cached count stays good
	}
	s := newSketch(a, o.indexBits, 0)
	s.merge(bin)
	return changed(s), nil
}

// count answers with the bin's count.
func count(a *bins.Arena, _ op, bin sketch) (bins.Outcome, error) {
	return withInt(a, bins.Outcome{}, bin.estimate()), nil
}

// getUnion answers with the union of the HLLs and the bin.
func getUnion(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	var buf [4]sketch
	hs := o.sketches(buf[:0], bin)
	index, minhash := template(hs)
	u := union(a.Alloc(sketchSize(index, minhash)), hs)
	return bins.Outcome{HasResult: true, ResType: proto.ParticleHLL, Res: u}, nil
}

// getUnionCount answers with the count of that union.
func getUnionCount(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	var buf [4]sketch
	hs := o.sketches(buf[:0], bin)
	return withInt(a, bins.Outcome{}, unionCount(scratch(a, hs), hs)), nil
}

// getIntersectCount answers with the count of the intersection of the
// HLLs and the bin.
func getIntersectCount(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	var buf [4]sketch
	hs, err := o.intersecting(buf[:0], bin)
	if err != nil {
		return bins.Outcome{}, err
	}
	return withInt(a, bins.Outcome{}, intersectCount(scratch(a, hs), hs)), nil
}

// getSimilarity answers with their similarity.
func getSimilarity(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	var buf [4]sketch
	hs, err := o.intersecting(buf[:0], bin)
	if err != nil {
		return bins.Outcome{}, err
	}
	res := a.Alloc(8)
	binary.BigEndian.PutUint64(res, math.Float64bits(similarity(scratch(a, hs), hs)))
	return bins.Outcome{HasResult: true, ResType: proto.ParticleFloat, Res: res}, nil
}

// intersecting appends the HLLs and bin to dst, refusing more than two
// HLLs unless the bin has their (non-zero) minhash bits: only HyperMinHash
// intersects more than three sets.
func (o *op) intersecting(dst []sketch, bin sketch) ([]sketch, error) {
	hs := o.sketches(dst, bin)
	if o.n > 2 && (bin.minhashBits() == 0 || bin.minhashBits() != hs[0].minhashBits()) {
		return nil, errNotApplic
	}
	return hs, nil
}

// describe answers with the list [indexBits, minhashBits].
func describe(a *bins.Arena, _ op, bin sketch) (bins.Outcome, error) {
	res := a.Alloc(3)
	res[0], res[1], res[2] = 0x92, byte(bin.indexBits()), byte(bin.minhashBits())
	return bins.Outcome{HasResult: true, ResType: proto.ParticleList, Res: res}, nil
}

// mayContain answers 1 if adding the values would leave the bin as it is,
// else 0.
func mayContain(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	all := uint64(1)
	o.values(a, func(elem []byte) bool {
		if !bin.mayContain(elem) {
			all = 0
		}
		return all == 1
	})
	return withInt(a, bins.Outcome{}, all), nil
}

// scratch returns room for any one of hs in the arena.
func scratch(a *bins.Arena, hs []sketch) []byte {
	n := 0
	for _, h := range hs {
		n = max(n, len(h))
	}
	return a.Alloc(n)
}

// changed returns the outcome of a modify operation that leaves s in the
// bin.
func changed(s sketch) bins.Outcome {
	return bins.Outcome{Changed: true, Type: proto.ParticleHLL, Value: s}
}

// withInt adds the integer result n to out.
func withInt(a *bins.Arena, out bins.Outcome, n uint64) bins.Outcome {
	res := a.Alloc(8)
	binary.BigEndian.PutUint64(res, n)
	out.HasResult, out.ResType, out.Res = true, proto.ParticleInteger, res
	return out
}
