package nvme

import (
	"slices"
	"sync/atomic"
)

// slotAlloc provides the slots of the index's tables. Each table gets its
// slots from it and gives them back when it resizes; allocations are
// zeroed and may be longer than asked.
type slotAlloc interface {
	alloc(n int) ([]entry, error)
	free(s []entry)
	// bytes is the memory the allocator has handed out and not got back.
	bytes() int64
}

// heapSlots allocates slots on the Go heap, where a cold start builds the
// tables of the shared index before it moves them into place. It takes the
// whole allocation the heap rounds a request up to, so none goes unused.
type heapSlots struct {
	used atomic.Int64
}

func (h *heapSlots) alloc(n int) ([]entry, error) {
	s := slices.Grow([]entry(nil), n)
	s = s[:cap(s)]
	h.used.Add(int64(len(s) * entrySize))
	return s, nil
}

func (h *heapSlots) free(s []entry) { h.used.Add(-int64(len(s) * entrySize)) }

func (h *heapSlots) bytes() int64 { return h.used.Load() }
