package memory

import (
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/indexhash"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
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
// 60% to 80% full (the allocator's rounding up to a size class adds slots),
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
// seed. The slots live in a slot of the backend's allocator (mem), in the
// shared region, where the node reads them (see sharedindex).
type table struct {
	slots []entry
	count int
	mem   location // of slots; 0 for none
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
// Growing the table may fail for want of memory.
func (t *table) insert(free int, e entry, tm tableMem) error {
	if (t.count+1)*maxLoadDen > len(t.slots)*maxLoadNum {
		if err := t.resize(max(minTableLen, len(t.slots)*growNum/growDen), tm); err != nil {
			return err
		}
		free, _ = t.find(&e.digest, tm.seed)
	}
	setEntry(&t.slots[free], e)
	t.count++
	return nil
}

// setEntry writes e into a published table's slot so that a process dying
// at any instruction leaves the slot empty or whole: its location word is
// cleared first and written last (see Resume). The atomic stores keep the
// compiler from moving the others across them; a process killed between
// two instructions has made every store before the second.
func setEntry(dst *entry, e entry) {
	loc := (*uint64)(unsafe.Pointer(&dst.loc))
	atomic.StoreUint64(loc, 0)
	final := e.loc
	e.loc = 0
	*dst = e
	atomic.StoreUint64(loc, uint64(final))
}

// remove empties slot i, then shifts back the entries that follow it in its
// probe run, so that every entry stays reachable from its home slot.
func (t *table) remove(i int, tm tableMem) {
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
		h := indexhash.Home(&e.digest, tm.seed, n)
		if i < j && (h <= i || h > j) || i > j && h <= i && h > j {
			setEntry(&t.slots[i], *e)
			i = j
		}
	}
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&t.slots[i].loc)), 0) // first, as setEntry does
	t.slots[i] = entry{}
	t.count--
	switch {
	case t.count == 0:
		t.release(tm)
	case len(t.slots) > minTableLen && t.count*minLoadDen < len(t.slots):
		// A table that cannot shrink for want of memory stays as it is.
		_ = t.resize(max(minTableLen, t.count*2), tm)
	}
}

// tableMem is what a partition's table needs to move: the allocator its
// slots come from, the region it announces them in, and its hash seed.
type tableMem struct {
	alloc  *allocator
	region *sharedindex.Region
	pid    uint16
	seed   uint64
}

// tableSlotMax is the largest table kept in a slot of a size class. A
// larger one gets pages of its own: tables grow at about the same pace in
// every partition, so the slots they leave would sit free in slabs that
// other tables still hold, where pages go back to the system at once.
const tableSlotMax = 4 << 10

// resize rehashes the table into at least n slots. It takes the whole
// allocation it gets, so no memory goes unused.
func (t *table) resize(n int, tm tableMem) error {
	var loc location
	var err error
	if n*entrySize > tableSlotMax {
		loc, err = tm.alloc.allocPages(n * entrySize)
	} else {
		loc, err = tm.alloc.alloc(tm.pid, n*entrySize)
	}
	if err != nil {
		return err
	}
	mem := tm.alloc.slot(loc)
	slots := unsafe.Slice((*entry)(unsafe.Pointer(unsafe.SliceData(mem))), len(mem)/entrySize)
	clear(slots) // a reused slot holds old bytes
	old, oldMem := t.slots, t.mem
	t.slots, t.mem = slots, loc
	for i := range old {
		if old[i].loc != 0 {
			free, _ := t.find(&old[i].digest, tm.seed)
			t.slots[free] = old[i]
		}
	}
	tm.region.PublishTable(tm.pid, tm.alloc.offset(loc), len(slots))
	if oldMem != 0 {
		tm.alloc.free(oldMem)
	}
	return nil
}

// release frees an empty table's memory.
func (t *table) release(tm tableMem) {
	tm.region.PublishTable(tm.pid, 0, 0)
	if t.mem != 0 {
		tm.alloc.free(t.mem)
	}
	t.slots, t.mem = nil, 0
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
