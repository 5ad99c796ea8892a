package main

import (
	"math"
	"math/bits"
)

// histogram is a log-linear latency histogram in the spirit of
// HdrHistogram: values below 2*histSub are counted exactly, and above that
// every power-of-two range is split into histSub equal buckets, so a
// recorded value is known to within 1/histSub (0.8%) of itself. Values are
// nanoseconds; anything at or above 2^histMaxBits (about 18 minutes) is
// counted in the last bucket.
//
// A histogram is a plain value with a fixed array: Record never allocates
// and takes no lock. Each benchmark goroutine owns its histograms and they
// are merged once the goroutines have stopped.
//
// Bucket layout, with p = histSubBits and M = histSub = 2^p: a value v with
// bits.Len64(v) <= p+1 is its own index. Otherwise shift = bits.Len64(v)-p-1
// and index = shift*M + v>>shift, where v>>shift lies in [M, 2M); the bucket
// covers [(v>>shift)<<shift, ((v>>shift)+1)<<shift).
type histogram struct {
	counts [histBuckets]uint64
	total  uint64
	sum    uint64 // nanoseconds; wraps after 584 years of latency
	min    int64
	max    int64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histMaxBits = 40
	histMax     = 1<<histMaxBits - 1
	histBuckets = (histMaxBits - histSubBits + 1) * histSub
)

// histIndex returns the bucket of v, which must be in [0, histMax].
func histIndex(v int64) int {
	n := bits.Len64(uint64(v))
	if n <= histSubBits+1 {
		return int(v)
	}
	shift := n - histSubBits - 1
	return shift*histSub + int(v>>shift)
}

// histBounds returns the lowest and the highest value counted in bucket i.
func histBounds(i int) (lo, hi int64) {
	if i < 2*histSub {
		return int64(i), int64(i)
	}
	shift := i/histSub - 1
	top := int64(i%histSub + histSub)
	lo = top << shift
	return lo, lo + 1<<shift - 1
}

// Record counts one value (nanoseconds). Negative values count as 0.
func (h *histogram) Record(v int64) {
	v = min(max(v, 0), histMax)
	h.counts[histIndex(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sum += uint64(v)
}

// Merge adds o's counts to h.
func (h *histogram) Merge(o *histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
	h.sum += o.sum
}

// Count returns the number of recorded values.
func (h *histogram) Count() uint64 { return h.total }

// Min and Max return the smallest and largest recorded values (exact).
func (h *histogram) Min() int64 { return h.min }
func (h *histogram) Max() int64 { return h.max }

// Mean returns the mean of the recorded values (exact), or 0.
func (h *histogram) Mean() float64 {
	if h.total == 0 {
		return 0
	}
	return float64(h.sum) / float64(h.total)
}

// Percentile returns the value at percentile q (0..100): the highest value
// of the bucket holding the ceil(q/100*n)-th smallest recorded value,
// capped at Max. So it is never below the exact percentile and exceeds it
// by at most 1/histSub of it. An empty histogram returns 0.
func (h *histogram) Percentile(q float64) int64 {
	if h.total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q / 100 * float64(h.total)))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := histBounds(i)
			return min(hi, h.max)
		}
	}
	return h.max // unreachable: counts add up to total
}
