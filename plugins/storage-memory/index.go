package memory

import (
	"slices"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/indexhash"
)

// entry is a record's index entry. It holds no Go pointer, so the garbage
// collector never scans an index, however many records it holds.
type entry struct {
	digest     storage.Digest
	setID      uint16
	hasKey     bool
	generation uint32
	voidTime   uint32
	lastUpdate uint64
	// loc is where the record's data is; 0 marks an empty table slot.
	loc location
}

// entrySize is 48 bytes: 20 of digest, 2 of set id, 1 of key flag, 1 of
// padding, 16 of generation, void time and last-update time, and 8 of
// location.
const entrySize = int(unsafe.Sizeof(entry{}))

// Table load limits. The table grows by 5/4 past 4/5 full, so it stays
// 60% to 80% full (the Go heap's rounding of the allocation adds slots),
// and shrinks under 1/5 full after deletes. That is 60 to 80 bytes per
// record: BenchmarkMemoryPerRecord measured 76 at 1M records and 78 at 3M.
// A Go map[storage.Digest]entry (pointer-free too), which doubles and so
// swings between 44% and 88% full, measured 90 to 134.
const (
	maxLoadNum, maxLoadDen = 4, 5
	minLoadDen             = 5 // shrink under 1/5 full
	growNum, growDen       = 5, 4
	minTableLen            = 8
)

// table is one partition's index: an open-addressing hash table with linear
// probing and backward-shift deletion (no tombstones), over a slice of
// entries. Linear probing keeps a lookup within one or two cache lines at
// these loads; growing one partition at a time bounds the cost of a resize
// to that partition's records.
//
// A digest's probe starts at indexhash.Home, keyed by the backend's random
// seed.
type table struct {
	slots []entry
	count int
}

// find returns the slot holding d and true, or the empty slot where d would
// go and false.
func (t *table) find(d *storage.Digest, seed uint64) (int, bool) {
	n := len(t.slots)
	if n == 0 {
		return -1, false
	}
	for i := indexhash.Home(d, seed, n); ; {
		e := &t.slots[i]
		if e.loc == 0 {
			return i, false
		}
		if e.digest == *d {
			return i, true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// insert adds e, whose digest is absent; free is the slot find returned.
func (t *table) insert(free int, e entry, seed uint64) {
	if (t.count+1)*maxLoadDen > len(t.slots)*maxLoadNum {
		t.resize(max(minTableLen, len(t.slots)*growNum/growDen), seed)
		free, _ = t.find(&e.digest, seed)
	}
	t.slots[free] = e
	t.count++
}

// remove empties slot i, then shifts back the entries that follow it in its
// probe run, so that every entry stays reachable from its home slot.
func (t *table) remove(i int, seed uint64) {
	n := len(t.slots)
	for j := i; ; {
		if j++; j == n {
			j = 0
		}
		e := &t.slots[j]
		if e.loc == 0 {
			break
		}
		// e may move to the hole at i unless its home lies in the cyclic
		// interval (i, j]: then it would move before its home.
		h := indexhash.Home(&e.digest, seed, n)
		if i < j && (h <= i || h > j) || i > j && h <= i && h > j {
			t.slots[i] = *e
			i = j
		}
	}
	t.slots[i] = entry{}
	t.count--
	switch {
	case t.count == 0:
		t.slots = nil
	case len(t.slots) > minTableLen && t.count*minLoadDen < len(t.slots):
		t.resize(max(minTableLen, t.count*2), seed)
	}
}

// resize rehashes the table into at least n slots. It takes the whole
// allocation the Go heap rounds n up to, so no memory goes unused.
func (t *table) resize(n int, seed uint64) {
	old := t.slots
	t.slots = slices.Grow([]entry(nil), n)
	t.slots = t.slots[:cap(t.slots)]
	for i := range old {
		if old[i].loc != 0 {
			free, _ := t.find(&old[i].digest, seed)
			t.slots[free] = old[i]
		}
	}
}

// appendLive appends the table's entries to dst.
func (t *table) appendLive(dst []entry) []entry {
	for i := range t.slots {
		if t.slots[i].loc != 0 {
			dst = append(dst, t.slots[i])
		}
	}
	return dst
}
