//go:build !race

package sindex

import "testing"

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
