package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistBuckets(t *testing.T) {
	// Buckets tile [0, histMax] without gaps or overlaps, in order.
	next := int64(0)
	for i := range histBuckets {
		lo, hi := histBounds(i)
		if lo != next || hi < lo {
			t.Fatalf("bucket %d: [%d, %d], want it to start at %d", i, lo, hi, next)
		}
		if histIndex(lo) != i || histIndex(hi) != i {
			t.Fatalf("bucket %d: [%d, %d] maps back to %d and %d", i, lo, hi, histIndex(lo), histIndex(hi))
		}
		if lo >= 2*histSub && float64(hi-lo+1) > float64(lo)/histSub {
			t.Fatalf("bucket %d: [%d, %d] is wider than 1/%d of its values", i, lo, hi, histSub)
		}
		next = hi + 1
	}
	if next != histMax+1 {
		t.Fatalf("buckets end at %d, want %d", next-1, int64(histMax))
	}
}

// TestHistPercentiles checks Percentile against the exact percentile of the
// sorted values: same rank definition (the ceil(q/100*n)-th smallest), so
// the answer must lie in the same bucket, never below the exact value and at
// most 1/histSub above it.
func TestHistPercentiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dists := []struct {
		name string
		n    int
		gen  func() int64
	}{
		{"one", 1, func() int64 { return 123456 }},
		{"small-exact", 1000, func() int64 { return r.Int64N(2 * histSub) }},
		{"uniform", 100000, func() int64 { return r.Int64N(10_000_000) }},
		{"lognormal", 100000, func() int64 { return int64(math.Exp(12 + 1.5*r.NormFloat64())) }},
		{"exponential", 50000, func() int64 { return int64(200_000 * r.ExpFloat64()) }},
		{"bimodal", 20001, func() int64 {
			if r.IntN(100) == 0 {
				return 50_000_000 + r.Int64N(1000)
			}
			return 150_000 + r.Int64N(100_000)
		}},
		{"huge", 1000, func() int64 { return r.Int64N(histMax) }},
	}
	qs := []float64{0, 0.001, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100}
	for _, d := range dists {
		t.Run(d.name, func(t *testing.T) {
			var h histogram
			vals := make([]int64, d.n)
			for i := range vals {
				vals[i] = d.gen()
				h.Record(vals[i])
			}
			slices.Sort(vals)
			if h.Count() != uint64(d.n) || h.Min() != vals[0] || h.Max() != vals[d.n-1] {
				t.Fatalf("count/min/max %d/%d/%d, want %d/%d/%d", h.Count(), h.Min(), h.Max(), d.n, vals[0], vals[d.n-1])
			}
			for _, q := range qs {
				rank := max(int(math.Ceil(q/100*float64(d.n))), 1)
				want := vals[rank-1]
				got := h.Percentile(q)
				if histIndex(got) != histIndex(want) || got < want || float64(got-want) > float64(want)/histSub {
					t.Errorf("p%v = %d, exact %d", q, got, want)
				}
			}
		})
	}
}

func TestHistMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var parts [8]histogram
	var whole histogram
	for range 100000 {
		v := int64(math.Exp(11 + r.NormFloat64()))
		parts[r.IntN(len(parts))].Record(v)
		whole.Record(v)
	}
	var merged histogram
	merged.Merge(&histogram{}) // an empty histogram changes nothing
	for i := range parts {
		merged.Merge(&parts[i])
	}
	if merged != whole {
		t.Fatalf("merged: count %d min %d max %d mean %v; whole: count %d min %d max %d mean %v",
			merged.Count(), merged.Min(), merged.Max(), merged.Mean(), whole.Count(), whole.Min(), whole.Max(), whole.Mean())
	}
}

func TestHistEdges(t *testing.T) {
	var h histogram
	if h.Percentile(50) != 0 || h.Mean() != 0 {
		t.Fatal("empty histogram: want zeros")
	}
	h.Record(-5)
	h.Record(math.MaxInt64)
	if h.Min() != 0 || h.Max() != histMax {
		t.Fatalf("min %d max %d: want values clamped to [0, %d]", h.Min(), h.Max(), int64(histMax))
	}
	if got := h.Percentile(100); got != histMax {
		t.Fatalf("p100 = %d, want %d", got, int64(histMax))
	}
}

func TestHistRecordDoesNotAllocate(t *testing.T) {
	h := new(histogram)
	v := int64(1)
	if n := testing.AllocsPerRun(1000, func() { h.Record(v); v = v*3 + 7 }); n != 0 {
		t.Fatalf("Record allocates %v times per call", n)
	}
}

func BenchmarkHistRecord(b *testing.B) {
	h := new(histogram)
	v := int64(12345)
	for b.Loop() {
		h.Record(v)
		v = (v*31 + 17) & (1<<30 - 1)
	}
}
