package hll

import "math"

// Estimates over several sketches. Each takes scratch, room for any one
// of the sketches, to build its union or intersection in; they use it in
// turn, never two at once.

// template returns the bit counts several sketches combine at: the least
// index bits, and the minhash bits if all have the same, else 0.
func template(hs []sketch) (index, minhash int) {
	index, minhash = hs[0].indexBits(), hs[0].minhashBits()
	for _, h := range hs[1:] {
		index = min(index, h.indexBits())
		if h.minhashBits() != minhash {
			minhash = 0
		}
	}
	return index, minhash
}

// union builds the union of hs in buf.
func union(buf []byte, hs []sketch) sketch {
	index, minhash := template(hs)
	u := fresh(buf, index, minhash)
	for _, h := range hs {
		u.merge(h)
	}
	return u
}

// unionCount estimates the count of the union of hs.
func unionCount(scratch []byte, hs []sketch) uint64 {
	return union(scratch, hs).estimate()
}

// intersectCount estimates the count of the intersection of hs: from
// similarity with minhash bits, else by inclusion-exclusion, which
// Apply's checks keep to two or three sketches.
func intersectCount(scratch []byte, hs []sketch) uint64 {
	if _, minhash := template(hs); minhash != 0 {
		j := similarity(scratch, hs)
		if math.IsNaN(j) {
			return 0
		}
		return uint64(math.Round(float64(unionCount(scratch, hs)) * j))
	}
	cu := unionCount(scratch, hs)
	var sum uint64
	for _, h := range hs {
		c := h.estimate()
		if sum+c < sum { // only cached counts a client wrote can be this large
			sum = math.MaxUint64
			break
		}
		sum += c
	}
	if len(hs) == 2 {
		return sum - min(sum, cu)
	}
	pairs := intersectCount(scratch, hs[0:2]) + intersectCount(scratch, hs[1:3]) +
		intersectCount(scratch, []sketch{hs[0], hs[2]})
	// Signed, as Aerospike computes it, so that estimates that do not add
	// up give 0 rather than a huge count.
	n := int64(cu) - (int64(sum) - int64(pairs))
	return uint64(max(n, 0))
}

// similarity estimates the Jaccard index of hs: NaN if all are empty, 0
// if some are.
func similarity(scratch []byte, hs []sketch) float64 {
	index, minhash := template(hs)
	if minhash == 0 {
		return float64(intersectCount(scratch, hs)) / float64(unionCount(scratch, hs))
	}
	empty, full := false, false
	for _, h := range hs {
		if h.hasData() {
			full = true
		} else {
			empty = true
		}
	}
	switch {
	case empty && full:
		return 0
	case empty:
		return math.NaN()
	}
	nUnion := union(scratch, hs).used()
	agg := fresh(scratch, index, minhash)
	agg.merge(hs[0])
	for _, h := range hs[1:] {
		agg.intersect(h)
	}
	nIntersect := agg.used()
	collisions := 0.0
	if len(hs) == 2 {
		collisions = expectedCollisions(index, minhash, hs[0].estimate(), hs[1].estimate())
	}
	return max((float64(nIntersect)-collisions)/float64(nUnion), 0)
}

// expectedCollisions returns the number of registers two sketches of
// disjoint sets with the given counts are expected to share by chance
// (HyperMinHash, the approximation of section 2.3).
func expectedCollisions(index, minhash int, n0, n1 uint64) float64 {
	m := float64(int(1) << index)
	p := 0.0
	for i := 1; i <= 1<<rankBits; i++ {
		// A register holds rank i with the probability that the value's
		// hash bits fall between 2^-i and 2^-(i-1); the last rank takes
		// everything below.
		b1, b2 := math.Pow(2, float64(-i)), math.Pow(2, float64(-i+1))
		if i == 1<<rankBits {
			b1 = 0
		}
		b1, b2 = b1/m, b2/m
		px := math.Pow(1-b1, float64(n0)) - math.Pow(1-b2, float64(n0))
		py := math.Pow(1-b1, float64(n1)) - math.Pow(1-b2, float64(n1))
		p += px * py
	}
	return p * m / math.Pow(2, float64(minhash))
}
