package nvme

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

func TestEntryLayout(t *testing.T) {
	d := storagetest.DigestIn(77, 5)
	for _, l := range []location{
		{dev: 0, block: 0, off: 64, size: 88},
		{dev: 127, block: 1<<32 - 1, off: 8<<20 - 8, size: 8<<20 - blockHeaderSize},
		{dev: 5, block: 123456, off: 1 << 19, size: 1<<20 - 8},
	} {
		for _, hasKey := range []bool{true, false} {
			e := makeEntry(&d, 4095, hasKey, 1<<32-1, 7, 1<<63+5, l)
			if got := e.loc(); got != l {
				t.Errorf("loc %+v came back %+v", l, got)
			}
			if e.digest() != d || e.setID() != 4095 || e.hasKey() != hasKey || e.generation() != 1<<32-1 || e.voidTime() != 7 || e.lastUpdate() != 1<<63+5 || e.tombstone() || !e.used() {
				t.Errorf("fields did not survive: %x", e)
			}
		}
		ts := makeTombstone(&d, 99, l)
		if !ts.tombstone() || ts.below() != 99 || ts.loc() != l || ts.setID() != 0 || ts.hasKey() {
			t.Errorf("tombstone fields did not survive: %x", ts)
		}
	}
}

// TestTableModel runs random inserts, updates and removes against a map.
func TestTableModel(t *testing.T) {
	var alloc heapSlots
	var tb table
	seed := rand.Uint64()
	model := map[storage.Digest]uint32{}
	rng := rand.New(rand.NewPCG(1, 2))
	ops := 200_000
	if testing.Short() {
		ops = 20_000
	}
	for i := range ops {
		d := storagetest.DigestIn(0, uint64(rng.IntN(3000)))
		slot := tb.find(&d, seed)
		v, present := model[d]
		if (slot >= 0) != present {
			t.Fatalf("op %d: find = %d, present %v", i, slot, present)
		}
		if present && tb.slots[slot].generation() != v {
			t.Fatalf("op %d: generation %d, want %d", i, tb.slots[slot].generation(), v)
		}
		switch {
		case rng.IntN(3) == 0 && present:
			tb.remove(slot, seed, &alloc)
			delete(model, d)
		case present:
			tb.slots[slot] = makeEntry(&d, 0, false, uint32(i), 0, 0, location{size: 8})
			model[d] = uint32(i)
		default:
			if err := tb.insert(makeEntry(&d, 0, false, uint32(i), 0, 0, location{size: 8}), 0, seed, &alloc); err != nil {
				t.Fatal(err)
			}
			model[d] = uint32(i)
		}
		if tb.count != len(model) {
			t.Fatalf("op %d: count %d, model %d", i, tb.count, len(model))
		}
	}
	checkRobinHood(t, &tb, seed)
	if want := int64(len(tb.slots) * entrySize); alloc.bytes() != want {
		t.Fatalf("allocator counts %d bytes, table holds %d", alloc.bytes(), want)
	}
}

// checkRobinHood checks that every entry is reachable from its home slot.
func checkRobinHood(t *testing.T, tb *table, seed uint64) {
	t.Helper()
	n := 0
	for i := range tb.slots {
		if e := &tb.slots[i]; e.used() {
			n++
			d := e.digest()
			if tb.find(&d, seed) != i {
				t.Fatalf("entry in slot %d not found from its home", i)
			}
		}
	}
	if n != tb.count {
		t.Fatalf("%d entries in slots, count %d", n, tb.count)
	}
}

// TestTableColdGrowth fills a table as a cold start does (aux kept): it
// doubles as it grows, keeps each entry's aux value beside it, and fit
// then leaves it as full as growth by 1/8 would, every entry reachable.
func TestTableColdGrowth(t *testing.T) {
	var alloc heapSlots
	seed := rand.Uint64()
	for _, n := range []int{1, 7, 100, 5000} {
		tb := table{aux: []uint64{}}
		var plain table // grown by 1/8 steps, as outside a cold start
		resizes := 0
		for i := range n {
			d := storagetest.DigestIn(1, uint64(i))
			e := makeEntry(&d, 0, false, uint32(i), 0, 0, location{size: 8})
			before := len(tb.slots)
			if err := tb.insert(e, uint64(i), seed, &alloc); err != nil {
				t.Fatal(err)
			}
			if len(tb.slots) != before {
				resizes++
			}
			if err := plain.insert(e, 0, seed, &alloc); err != nil {
				t.Fatal(err)
			}
		}
		// Doubling from 8 slots: about log2(n/8) resizes, where steps of
		// 1/8 take about 6 times as many.
		if n == 5000 && resizes > 11 {
			t.Errorf("%d entries: %d resizes while doubling", n, resizes)
		}
		for i := range tb.slots {
			if e := &tb.slots[i]; e.used() && uint64(e.generation()) != tb.aux[i] {
				t.Fatalf("%d entries: slot %d holds generation %d beside aux %d", n, i, e.generation(), tb.aux[i])
			}
		}
		tb.aux = nil
		tb.fit(seed, &alloc)
		checkRobinHood(t, &tb, seed)
		// The heap rounds small tables up; a large one ends as full as
		// growth by 1/8 leaves tables, and no table much larger.
		if load := float64(tb.count) / float64(len(tb.slots)); n >= 1000 && (load < 0.8 || load > 0.9) {
			t.Errorf("%d entries: load %.2f after fit, want 0.8 to 0.9", n, load)
		}
		if len(tb.slots) > len(plain.slots)*growNum/growDen {
			t.Errorf("%d entries: %d slots after fit, against %d grown by 1/8", n, len(tb.slots), len(plain.slots))
		}
		tb.release(&alloc)
		plain.release(&alloc)
	}
	if alloc.bytes() != 0 {
		t.Errorf("allocator still counts %d bytes", alloc.bytes())
	}
}

// TestEntrySharedLayout checks that entries are laid out as the node's
// readers expect (sharedindex's KindDevice layout): each field written by
// makeEntry is where the shared layout says.
func TestEntrySharedLayout(t *testing.T) {
	d := storage.Digest{1, 2, 3, 19: 4}
	e := makeEntry(&d, 7, true, 0x11223344, 0x55667788, 0x99aabbccddeeff00, location{dev: 2, block: 9, off: 64, size: 808})
	if len(e) != sharedindex.EntrySize {
		t.Fatalf("entries of %d bytes, the shared layout's are %d", len(e), sharedindex.EntrySize)
	}
	for _, f := range []struct {
		name      string
		got, want uint64
	}{
		{"digest", uint64(e[0]), 1},
		{"set and flags", uint64(binary.LittleEndian.Uint16(e[sharedindex.DeviceEntrySet:])), 7 | sharedindex.DeviceHasKey},
		{"generation", uint64(binary.LittleEndian.Uint32(e[sharedindex.DeviceEntryGeneration:])), 0x11223344},
		{"void time", uint64(binary.LittleEndian.Uint32(e[sharedindex.DeviceEntryVoidTime:])), 0x55667788},
		{"last update", binary.LittleEndian.Uint64(e[sharedindex.DeviceEntryLastUpdate:]), 0x99aabbccddeeff00},
		{"location's file", uint64(e[sharedindex.DeviceEntryLoc]), 3},
	} {
		if f.got != f.want {
			t.Errorf("entry's %s reads %#x at the shared layout's offset, want %#x", f.name, f.got, f.want)
		}
	}
	d2 := storage.Digest{5}
	if tomb := makeTombstone(&d2, 1, location{size: 88}); binary.LittleEndian.Uint16(tomb[sharedindex.DeviceEntrySet:])&sharedindex.DeviceTombstone == 0 {
		t.Error("a tombstone is not flagged where the shared layout says")
	}
}
