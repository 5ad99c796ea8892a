package memory

import (
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

func TestEntrySize(t *testing.T) {
	if entrySize != 48 {
		t.Fatalf("entry is %d bytes; the index's memory figures assume 48", entrySize)
	}
}

// TestEntryLayout checks that entries are laid out as the node's readers
// expect (sharedindex's layout).
func TestEntryLayout(t *testing.T) {
	var e entry
	for _, f := range []struct {
		name      string
		got, want uintptr
	}{
		{"size", unsafe.Sizeof(e), sharedindex.EntrySize},
		{"digest", unsafe.Offsetof(e.digest), sharedindex.EntryDigest},
		{"set", unsafe.Offsetof(e.setID), sharedindex.EntrySet},
		{"key flag", unsafe.Offsetof(e.hasKey), sharedindex.EntryHasKey},
		{"generation", unsafe.Offsetof(e.generation), sharedindex.EntryGeneration},
		{"void time", unsafe.Offsetof(e.voidTime), sharedindex.EntryVoidTime},
		{"last update", unsafe.Offsetof(e.lastUpdate), sharedindex.EntryLastUpdate},
		{"location", unsafe.Offsetof(e.loc), sharedindex.EntryLoc},
	} {
		if f.got != f.want {
			t.Errorf("entry's %s at %d, the shared layout says %d", f.name, f.got, f.want)
		}
	}
}

// newTableMem gives a test's tables memory of their own.
func newTableMem(t *testing.T, seed uint64) tableMem {
	a := newTestAllocator(t)
	return tableMem{alloc: a, region: a.slabs.region, seed: seed}
}

// checkTable verifies that every entry is reachable from its home slot
// without crossing an empty slot, and that count is right.
func checkTable(t *testing.T, tb *table, seed uint64) {
	t.Helper()
	n := 0
	for i := range tb.slots {
		if tb.slots[i].loc == 0 {
			continue
		}
		n++
		if j, ok := tb.find(&tb.slots[i].digest, seed); !ok || j != i {
			t.Fatalf("entry at %d is not found from its home (find gives %d, %v)", i, j, ok)
		}
	}
	if n != tb.count {
		t.Fatalf("table holds %d entries, count says %d", n, tb.count)
	}
	if len(tb.slots) > 0 && tb.count*maxLoadDen > len(tb.slots)*maxLoadNum {
		t.Fatalf("table of %d slots holds %d entries, over its load limit", len(tb.slots), tb.count)
	}
}

// TestTableRandom checks the table against a map under random inserts,
// updates and removes. A seed of 0 and a tiny digest range make long probe
// runs that wrap around the end of the table, which backward shifts must
// handle.
func TestTableRandom(t *testing.T) {
	for _, seed := range []uint64{0, 12345} {
		var tb table
		tm := newTableMem(t, seed)
		model := make(map[storage.Digest]location)
		rng := rand.New(rand.NewPCG(seed, 7))
		for i := range 50_000 {
			d := storagetest.DigestIn(0, uint64(rng.IntN(600)))
			j, found := tb.find(&d, seed)
			want, ok := model[d]
			if found != ok || found && tb.slots[j].loc != want {
				t.Fatalf("op %d: find = %v, want %v", i, found, ok)
			}
			switch {
			case found && rng.IntN(3) == 0:
				tb.remove(j, tm)
				delete(model, d)
			case found:
				tb.slots[j].loc = location(i + 1)
				model[d] = location(i + 1)
			default:
				if err := tb.insert(j, entry{digest: d, loc: location(i + 1)}, tm); err != nil {
					t.Fatal(err)
				}
				model[d] = location(i + 1)
			}
			if i%1000 == 0 {
				checkTable(t, &tb, seed)
			}
		}
		checkTable(t, &tb, seed)
		if len(tb.appendLive(nil)) != len(model) {
			t.Fatalf("appendLive gives %d entries, want %d", len(tb.appendLive(nil)), len(model))
		}
	}
}

func TestTableShrinks(t *testing.T) {
	var tb table
	tm := newTableMem(t, 1)
	const n = 10_000
	for i := range n {
		d := storagetest.DigestIn(0, uint64(i))
		j, _ := tb.find(&d, 1)
		if err := tb.insert(j, entry{digest: d, loc: 1}, tm); err != nil {
			t.Fatal(err)
		}
	}
	grown := len(tb.slots)
	for i := range n - 10 {
		d := storagetest.DigestIn(0, uint64(i))
		j, _ := tb.find(&d, 1)
		tb.remove(j, tm)
	}
	checkTable(t, &tb, 1)
	if len(tb.slots) > 100 {
		t.Fatalf("after removing all but 10 of %d entries the table keeps %d of %d slots", n, len(tb.slots), grown)
	}
	for i := n - 10; i < n; i++ {
		d := storagetest.DigestIn(0, uint64(i))
		j, _ := tb.find(&d, 1)
		tb.remove(j, tm)
	}
	if tb.slots != nil {
		t.Fatalf("an empty table keeps %d slots", len(tb.slots))
	}
}
