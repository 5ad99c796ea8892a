package latency

import (
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {999 * time.Nanosecond, 0}, {time.Microsecond, 1}, {3 * time.Microsecond, 2},
		{1024 * time.Microsecond, 11}, {time.Second, 20}, {time.Hour, Buckets - 1},
	} {
		if got := bucket(tc.d); got != tc.want {
			t.Errorf("bucket(%v) = %d, want %d", tc.d, got, tc.want)
		}
		if tc.want > 0 && tc.want < Buckets-1 && (tc.d < UpperBound(tc.want-1) || tc.d >= UpperBound(tc.want)) {
			t.Errorf("%v is outside bucket %d's bounds", tc.d, tc.want)
		}
	}
}

func TestOverAndSub(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{500 * time.Microsecond, 1500 * time.Microsecond, 3 * time.Millisecond, 20 * time.Millisecond} {
		h.Observe(d)
	}
	s := h.Snapshot()
	// At least 1024 µs (2^10): 1.5, 3 and 20 ms. At least 2^14 µs: 20 ms.
	if s.Total() != 4 || s.Over(10) != 3 || s.Over(14) != 1 {
		t.Fatalf("total %d, over 1 ms %d, over 16 ms %d", s.Total(), s.Over(10), s.Over(14))
	}
	h.Observe(time.Microsecond)
	next := h.Snapshot()
	if d := next.Sub(s); d.Total() != 1 {
		t.Fatalf("delta %v", d)
	}
	if n := testing.AllocsPerRun(100, func() { h.Observe(time.Millisecond) }); n != 0 {
		t.Fatalf("%v allocations per observation", n)
	}
}
