//go:build !race

package sindex

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestMemoryPerEntry bounds the heap an index takes per entry, measured
// with runtime.MemStats on 1M entries (BenchmarkMemoryPerEntry does 10M).
// Not under the race detector, which changes allocation sizes.
func TestMemoryPerEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~40 MB")
	}
	for _, random := range []bool{true, false} {
		perEntry, _ := measureMemory(1_000_000, random)
		t.Logf("random order %v: %.1f bytes/entry", random, perEntry)
		if perEntry > 40 {
			t.Errorf("random order %v: %.1f bytes/entry, want ≤ 40", random, perEntry)
		}
	}
}

// TestNodeAllocSizes checks the node sizes Stats counts against the heap.
func TestNodeAllocSizes(t *testing.T) {
	const n = 1000
	measure := func(alloc func() any) uint64 {
		keep := make([]any, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range keep {
			keep[i] = alloc()
		}
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(keep)
		return (after.TotalAlloc - before.TotalAlloc) / n
	}
	// Within 1%: the runtime and the test framework allocate a little too.
	if got := measure(func() any { return &leaf{} }); got < leafAlloc || got > leafAlloc*101/100 {
		t.Errorf("a leaf takes %d bytes, Stats counts %d", got, leafAlloc)
	}
	if got := measure(func() any { return &inner{} }); got < innerAlloc || got > innerAlloc*101/100 {
		t.Errorf("an inner node takes %d bytes, Stats counts %d", got, innerAlloc)
	}
}

// TestTreeFill checks the fill factor the split policies give.
func TestTreeFill(t *testing.T) {
	for _, tc := range []struct {
		name    string
		minFill float64
		key     func(r *rand.Rand, i int) Key
	}{
		{"random", 0.70, func(r *rand.Rand, i int) Key { return Key(r.Uint64()) }},
		{"ascending", 0.95, func(r *rand.Rand, i int) Key { return Key(i) }},
		{"descending", 0.95, func(r *rand.Rand, i int) Key { return Key(-i) }},
		{"few keys", 0.70, func(r *rand.Rand, i int) Key { return Key(r.IntN(10)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			tr := newTree()
			const n = 200000
			for i := range n {
				d := digestN(uint16(r.Uint32()), r.Uint64())
				tr.insert(tc.key(r, i), &d)
			}
			if err := tr.check(); err != nil {
				t.Fatal(err)
			}
			fill := float64(tr.count) / float64(tr.leaves*leafCap)
			t.Logf("%s: %d entries, %d leaves, %d inner nodes, fill %.1f%%, %.1f bytes/entry",
				tc.name, tr.count, tr.leaves, tr.inners, 100*fill, float64(tr.memory())/float64(tr.count))
			if fill < tc.minFill {
				t.Errorf("fill %.2f, want ≥ %.2f", fill, tc.minFill)
			}
		})
	}
}
