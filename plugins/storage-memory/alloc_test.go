package memory

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// checkAllocator verifies the allocator's bookkeeping: every slab on a
// partial list is live, of that list's class and shard, not full, and knows
// its position; every live slab not on a list is full.
func checkAllocator(t *testing.T, a *allocator) {
	t.Helper()
	onList := make(map[uint32]bool)
	for shard := range a.shards {
		sh := &a.shards[shard]
		for c, partial := range sh.classes {
			for pos, id := range partial {
				s := a.slabs.get(id)
				switch {
				case s.mem == nil:
					t.Fatalf("shard %d class %d: partial list holds released slab %d", shard, c, id)
				case int(s.class) != c || int(s.shard) != shard:
					t.Fatalf("slab %d of class %d shard %d is on the list of class %d shard %d", id, s.class, s.shard, c, shard)
				case s.used == s.slots:
					t.Fatalf("full slab %d is on a partial list", id)
				case int(s.partialAt) != pos:
					t.Fatalf("slab %d is at %d of its partial list but records %d", id, pos, s.partialAt)
				}
				onList[id] = true
			}
		}
	}
	for id := uint32(1); id < a.slabs.next; id++ {
		s := a.slabs.get(id)
		if s.mem != nil && s.class != dedicated && !onList[id] && s.used != s.slots {
			t.Fatalf("slab %d has %d of %d slots used but is on no partial list", id, s.used, s.slots)
		}
	}
}

// liveSlabs counts the slabs in use.
func liveSlabs(a *allocator) int {
	n := 0
	for id := uint32(1); id < a.slabs.next; id++ {
		if a.slabs.get(id).mem != nil {
			n++
		}
	}
	return n
}

func newTestAllocator(t testing.TB) *allocator {
	size := 16 << 30
	region, err := sharedindex.Create(size, size/slabMinBytes+2, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { region.Close() })
	a := new(allocator)
	a.init(region)
	return a
}

func TestSlotSizes(t *testing.T) {
	if slotSizes[0] != minSlotSize || slotSizes[len(slotSizes)-1] != maxSlotSize {
		t.Fatalf("classes run from %d to %d, want %d to %d", slotSizes[0], slotSizes[len(slotSizes)-1], minSlotSize, maxSlotSize)
	}
	if len(slotSizes) >= dedicated {
		t.Fatalf("%d classes do not fit a uint8 below the dedicated mark", len(slotSizes))
	}
	for c := 1; c < len(slotSizes); c++ {
		prev, size := slotSizes[c-1], slotSizes[c]
		limit := prev*5/4 + 8
		if c == len(slotSizes)-1 {
			limit = prev * 13 / 10 // the last class is maxSlotSize, whatever the step
		}
		if size <= prev || size%8 != 0 || size > limit {
			t.Fatalf("class %d: %d bytes after %d: want growth by 1.25x rounded up to 8 bytes", c, size, prev)
		}
	}
	for _, tc := range []struct{ n, want int }{
		{0, 16}, {1, 16}, {16, 16}, {17, 24}, {100, 120},
		{maxSlotSize, maxSlotSize},
		{maxSlotSize + 1, maxSlotSize + pageSize},
		{MaxRecordSize, MaxRecordSize},
	} {
		if got := slotSizeFor(tc.n); got != tc.want {
			t.Errorf("slotSizeFor(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestAllocatorReusesFreedSlot(t *testing.T) {
	a := newTestAllocator(t)
	first, err := a.alloc(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := a.alloc(0, 100)
	a.free(first)
	again, _ := a.alloc(0, 100)
	if again != first {
		t.Fatalf("after freeing %x, alloc returned %x, want the freed slot", first, again)
	}
	// Another partition of the same shard shares its slabs; one of another
	// shard does not.
	if loc, _ := a.alloc(allocShards, 100); loc.slab() != second.slab() {
		t.Fatalf("partition %d allocated from slab %d, want shard 0's slab %d", allocShards, loc.slab(), second.slab())
	}
	if loc, _ := a.alloc(1, 100); loc.slab() == second.slab() {
		t.Fatalf("partition 1 allocated from shard 0's slab %d", loc.slab())
	}
	checkAllocator(t, a)
}

func TestAllocatorReleasesEmptySlabs(t *testing.T) {
	a := newTestAllocator(t)
	const n = 100_000 // many slabs of the 120-byte class
	locs := make([]location, n)
	for i := range locs {
		locs[i], _ = a.alloc(0, 100)
	}
	grown := liveSlabs(a)
	if grown < 10 {
		t.Fatalf("%d records of 120 bytes took %d slabs", n, grown)
	}
	for _, loc := range locs {
		a.free(loc)
	}
	checkAllocator(t, a)
	if kept := liveSlabs(a); kept != 1 {
		t.Fatalf("after freeing every slot, %d of %d slabs are kept, want 1 (the class's spare)", kept, grown)
	}
}

func TestAllocatorHugeRecords(t *testing.T) {
	a := newTestAllocator(t)
	for _, n := range []int{maxSlotSize + 1, 1 << 20, MaxRecordSize} {
		loc, err := a.alloc(5, n)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := a.slotSize(loc), roundUp(n, pageSize); got != want || len(a.slot(loc)) != want {
			t.Fatalf("alloc(%d): slot of %d bytes, want %d", n, got, want)
		}
		if s := a.slabs.get(loc.slab()); s.class != dedicated {
			t.Fatalf("alloc(%d) used a slab of class %d, want a dedicated one", n, s.class)
		}
		a.free(loc)
		if liveSlabs(a) != 0 {
			t.Fatalf("freeing a record of %d bytes kept its slab", n)
		}
	}
}

func TestAllocatorRandom(t *testing.T) {
	a := newTestAllocator(t)
	rng := rand.New(rand.NewPCG(1, 2))
	type live struct {
		loc  location
		data []byte
	}
	var held []live
	sizes := []int{1, 16, 17, 100, 1000, 5000, 30_000, 70_000, maxSlotSize, maxSlotSize + 1}
	for i := range 10_000 {
		if len(held) > 0 && rng.IntN(2) == 0 {
			j := rng.IntN(len(held))
			h := held[j]
			if !bytes.Equal(a.slot(h.loc)[:len(h.data)], h.data) {
				t.Fatalf("op %d: slot %x of %d bytes lost its contents", i, h.loc, len(h.data))
			}
			a.free(h.loc)
			held[j] = held[len(held)-1]
			held = held[:len(held)-1]
		} else {
			n := sizes[rng.IntN(len(sizes))]
			loc, err := a.alloc(uint16(rng.IntN(4)), n)
			if err != nil {
				t.Fatal(err)
			}
			slot := a.slot(loc)
			if len(slot) != slotSizeFor(n) || a.slotSize(loc) != len(slot) {
				t.Fatalf("alloc(%d) gave a slot of %d bytes, want %d", n, len(slot), slotSizeFor(n))
			}
			data := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, n/2+1)[:n]
			copy(slot, data)
			held = append(held, live{loc, data})
		}
		if i%500 == 0 {
			checkAllocator(t, a)
		}
	}
	checkAllocator(t, a)
}
