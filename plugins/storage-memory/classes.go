package memory

import "slices"

// Size classes, memcached style: slots grow by about 1.25x from minSlotSize
// to maxSlotSize, so a record wastes at most a fifth of its slot. A record
// whose data is larger than maxSlotSize gets a dedicated allocation,
// rounded up to pageSize.
const (
	// minSlotSize holds a free slot's link (4 bytes) and a small record.
	minSlotSize = 16
	// maxSlotSize is the largest class: an eighth of a full slab, so that
	// a slab of the largest class still holds several records.
	maxSlotSize = 128 << 10
	// slabMinBytes and slabMaxBytes bound a slab's size. A shard's first
	// slab of a class is small and each further one twice as large, so a
	// small store does not reserve a megabyte per class and shard.
	slabMinBytes = 64 << 10
	slabMaxBytes = 1 << 20
	// pageSize is the Go heap's page: a large allocation occupies whole
	// pages, so dedicated allocations are rounded up to it and accounted
	// at that size.
	pageSize = 8 << 10
	// osPageSize is the unit in which the system takes back memory.
	osPageSize = 4 << 10
)

// slotSizes lists the size classes in ascending order; a class is an index
// into it.
var slotSizes = buildSlotSizes()

func buildSlotSizes() []uint32 {
	var sizes []uint32
	for n := minSlotSize; n <= maxSlotSize*4/5; n = roundUp(n*5/4, 8) {
		sizes = append(sizes, uint32(n))
	}
	return append(sizes, maxSlotSize)
}

// classFor returns the smallest class whose slots hold n bytes, for
// n <= maxSlotSize.
func classFor(n int) int {
	c, _ := slices.BinarySearch(slotSizes, uint32(n))
	return c
}

// slotSizeFor returns the bytes a record of n bytes of data occupies: its
// class's slot size, or its dedicated allocation's size.
func slotSizeFor(n int) int {
	if n > maxSlotSize {
		return roundUp(n, pageSize)
	}
	return int(slotSizes[classFor(n)])
}

// roundUp rounds n up to a multiple of m, a power of two.
func roundUp(n, m int) int {
	return (n + m - 1) &^ (m - 1)
}
