// Package latency keeps request latency histograms cheaply enough for every
// request to record into: power-of-two buckets of microseconds, counted
// with atomic adds, read as snapshots for the latencies info command and
// /metrics.
package latency

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Buckets is the number of buckets: bucket 0 counts latencies under 1 µs,
// bucket i those in [2^(i-1), 2^i) µs, and the last everything longer.
const Buckets = 32

// Histogram counts latencies. The zero value is ready; it is safe for
// concurrent use.
type Histogram struct {
	counts [Buckets]atomic.Uint64
}

// Observe counts one latency.
func (h *Histogram) Observe(d time.Duration) {
	h.counts[bucket(d)].Add(1)
}

// Since counts the time elapsed since start.
func (h *Histogram) Since(start time.Time) { h.Observe(time.Since(start)) }

func bucket(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	return min(bits.Len64(us), Buckets-1)
}

// Snapshot is a histogram's counts at one moment.
type Snapshot [Buckets]uint64

// Snapshot reads the counts.
func (h *Histogram) Snapshot() Snapshot {
	var s Snapshot
	for i := range s {
		s[i] = h.counts[i].Load()
	}
	return s
}

// Total is the number of latencies counted.
func (s Snapshot) Total() uint64 {
	var n uint64
	for _, c := range s {
		n += c
	}
	return n
}

// Sub returns the counts added between prev and s.
func (s Snapshot) Sub(prev Snapshot) Snapshot {
	var d Snapshot
	for i := range s {
		d[i] = s[i] - prev[i]
	}
	return d
}

// Over counts the latencies of at least 2^k microseconds (k ≥ 0).
func (s Snapshot) Over(k int) uint64 {
	var n uint64
	for i := k + 1; i < Buckets; i++ {
		n += s[i]
	}
	return n
}

// UpperBound is the exclusive upper bound of bucket i, for exposing the
// histogram with cumulative buckets.
func UpperBound(i int) time.Duration {
	return time.Duration(uint64(1)<<i) * time.Microsecond
}
