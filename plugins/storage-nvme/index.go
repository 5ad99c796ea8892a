package nvme

import (
	"encoding/binary"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/indexhash"
	"github.com/skiffdb/skiff/sdk/storage/sets"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// entry is a record's index entry: 48 bytes, no Go pointer, so that the
// garbage collector never scans the index and it can live in a region the
// node reads (sharedindex's KindDevice layout), in memory or, with
// index-type flash, in a file on the mount.
//
//	0   20  digest
//	20  2   set id (bits 0..11) | flags (bit 14: stored key, bit 15:
//	        tombstone)
//	22  4   generation
//	26  4   void time
//	30  8   last-update time, Unix ns; for a tombstone, the block sequence
//	        below which older versions of the record may lie (see tombstones
//	        in Backend)
//	38  10  location, 80 bits: device+1 (8) | block (32) | offset/8 (20) |
//	        encoded size/8 (20); device+1 = 0 marks an empty slot
//
// Offsets and sizes are in units of 8 bytes, the record alignment, so a
// block (and a record) may be up to 8 MiB.
type entry [entrySize]byte

const entrySize = 48

// entryLayout names the layout above: index snapshots (snapshot.go) carry
// it, and a snapshot of another layout is refused. Change it with the
// layout.
const entryLayout = 1

// The flags are the shared index's (see sharedindex, KindDevice), where
// the node reads these entries.
const (
	setIDMask    = sharedindex.DeviceSetMask
	hasKeyBit    = sharedindex.DeviceHasKey
	tombstoneBit = sharedindex.DeviceTombstone
)

// Every set id fits setIDMask: this fails to compile otherwise.
const _ uint16 = setIDMask - sets.Max

// location is where a record's encoded bytes are.
type location struct {
	dev   int
	block uint32
	off   uint32 // bytes from the block's start
	size  uint32 // encoded (padded) size in bytes
}

func (e *entry) used() bool                { return e[38] != 0 }
func (e *entry) digest() storage.Digest    { return storage.Digest(e[0:20]) }
func (e *entry) is(d *storage.Digest) bool { return [20]byte(e[0:20]) == *d }
func (e *entry) setID() uint16             { return binary.LittleEndian.Uint16(e[20:]) & setIDMask }
func (e *entry) tombstone() bool           { return binary.LittleEndian.Uint16(e[20:])&tombstoneBit != 0 }
func (e *entry) hasKey() bool              { return binary.LittleEndian.Uint16(e[20:])&hasKeyBit != 0 }
func (e *entry) generation() uint32        { return binary.LittleEndian.Uint32(e[22:]) }
func (e *entry) voidTime() uint32          { return binary.LittleEndian.Uint32(e[26:]) }
func (e *entry) lastUpdate() uint64        { return binary.LittleEndian.Uint64(e[30:]) }

// home returns the slot where the probe for e's digest starts, in a table
// of n slots.
func (e *entry) home(seed uint64, n int) int {
	return indexhash.Home((*storage.Digest)(e[0:20]), seed, n)
}

// below is a tombstone's block sequence bound (kept where a record keeps
// its last-update time).
func (e *entry) below() uint64 { return e.lastUpdate() }

func (e *entry) loc() location {
	lo := binary.LittleEndian.Uint64(e[38:])
	hi := uint64(binary.LittleEndian.Uint16(e[46:]))
	return location{
		dev:   int(lo&0xff) - 1,
		block: uint32(lo >> 8),
		off:   uint32(lo>>40&0xfffff) * devrecord.Align,
		size:  uint32(lo>>60|hi<<4) * devrecord.Align,
	}
}

func (e *entry) setLoc(l location) {
	off, size := uint64(l.off/devrecord.Align), uint64(l.size/devrecord.Align)
	lo := uint64(l.dev+1) | uint64(l.block)<<8 | off<<40 | size<<60
	binary.LittleEndian.PutUint64(e[38:], lo)
	binary.LittleEndian.PutUint16(e[46:], uint16(size>>4))
}

// makeEntry builds the entry of a record; hasKey tells that it holds a
// stored key.
func makeEntry(d *storage.Digest, setID uint16, hasKey bool, gen, void uint32, lut uint64, l location) entry {
	var e entry
	copy(e[0:20], d[:])
	if hasKey {
		setID |= hasKeyBit
	}
	binary.LittleEndian.PutUint16(e[20:], setID)
	binary.LittleEndian.PutUint32(e[22:], gen)
	binary.LittleEndian.PutUint32(e[26:], void)
	binary.LittleEndian.PutUint64(e[30:], lut)
	e.setLoc(l)
	return e
}

// makeTombstone builds the entry of a tombstone.
func makeTombstone(d *storage.Digest, below uint64, l location) entry {
	e := makeEntry(d, 0, false, 0, 0, below, l)
	binary.LittleEndian.PutUint16(e[20:], tombstoneBit)
	return e
}

// Table load limits. A table grows by 1/8 past 9/10 full, so it stays
// between 80% and 90% full while it grows, and shrinks back to 80% under
// 35%. Robin Hood probing keeps lookups short at these loads, misses
// included: a probe stops as soon as it meets an entry closer to its home
// than the probe is to its own. At 48 bytes an entry, that is 53 to 60
// bytes per record (BenchmarkIndexBytesPerRecord measures it).
const (
	maxLoadNum, maxLoadDen = 9, 10
	growNum, growDen       = 9, 8
	shrinkNum, shrinkDen   = 35, 100
	minTableLen            = 8
)

// table is one partition's index: an open-addressing hash table with
// Robin Hood linear probing and backward-shift deletion. Its slots come
// from a slotAlloc: the shared index's region (a cold start builds them on
// the Go heap first, with index-type dram).
//
// aux, when not nil, holds one uint64 per slot that moves with its entry:
// cold start keeps each entry's write sequence there while it decides
// which version of a record wins, and drops it after.
type table struct {
	slots []entry
	aux   []uint64
	count int
}

// dist returns how far slot i is from the home of the entry in it.
func (t *table) dist(i int, seed uint64) int {
	n := len(t.slots)
	h := t.slots[i].home(seed, n)
	if i >= h {
		return i - h
	}
	return i + n - h
}

// find returns the slot holding d, or -1.
func (t *table) find(d *storage.Digest, seed uint64) int {
	n := len(t.slots)
	if n == 0 {
		return -1
	}
	i := indexhash.Home(d, seed, n)
	for dist := 0; ; dist++ {
		e := &t.slots[i]
		if !e.used() {
			return -1
		}
		if e.is(d) {
			return i
		}
		if t.dist(i, seed) < dist {
			return -1
		}
		if i++; i == n {
			i = 0
		}
	}
}

// insert adds e, whose digest is absent, with aux value a (ignored without
// aux). It fails only when the slot allocator cannot grow the table.
func (t *table) insert(e entry, a uint64, seed uint64, alloc slotAlloc) error {
	if err := t.ensure(seed, alloc); err != nil {
		return err
	}
	t.place(e, a, seed)
	t.count++
	return nil
}

// ensure grows the table if one more entry would take it past its load
// limit. During a cold start (aux is kept) it doubles the table instead,
// if the allocator allows: growing by 1/8 rehashes each entry about nine
// times over a table's growth, doubling about twice, and fit tightens the
// table once the start is done.
func (t *table) ensure(seed uint64, alloc slotAlloc) error {
	if (t.count+1)*maxLoadDen <= len(t.slots)*maxLoadNum {
		return nil
	}
	if t.aux != nil && t.resize(max(minTableLen, 2*len(t.slots)), seed, alloc) == nil {
		return nil
	}
	return t.resize(max(minTableLen, len(t.slots)*growNum/growDen+1), seed, alloc)
}

// fit shrinks a table that a cold start left under the load it would have
// grown to by 1/8 steps, so that it costs what it would have.
func (t *table) fit(seed uint64, alloc slotAlloc) {
	if n := max(minTableLen, t.count*growNum/growDen+1); n < len(t.slots)*(maxLoadDen-1)/maxLoadDen {
		// Shrinking is an optimisation: if the allocator refuses, keep
		// the larger table.
		_ = t.resize(n, seed, alloc)
	}
}

// insertReserved adds e, whose digest is absent, after ensure succeeded.
func (t *table) insertReserved(e entry, seed uint64) {
	t.place(e, 0, seed)
	t.count++
}

// place puts e into the table, which has room, at the first slot whose
// entry is closer to its home than e would be (Robin Hood), shifting the
// entries from there to the next empty slot one slot on. They are shifted
// from the last, so that each is in the table at every moment, twice for
// a while: a process that dies during the insert leaves none out
// (resume.go), as removal's backward shift does not either.
func (t *table) place(e entry, a uint64, seed uint64) {
	n := len(t.slots)
	i := e.home(seed, n)
	for dist := 0; t.slots[i].used() && t.dist(i, seed) >= dist; dist++ {
		if i++; i == n {
			i = 0
		}
	}
	j := i
	for t.slots[j].used() {
		if j++; j == n {
			j = 0
		}
	}
	for j != i {
		k := j - 1
		if k < 0 {
			k = n - 1
		}
		t.slots[j] = t.slots[k]
		if t.aux != nil {
			t.aux[j] = t.aux[k]
		}
		j = k
	}
	t.slots[i] = e
	if t.aux != nil {
		t.aux[i] = a
	}
}

// remove empties slot i, shifting back the entries after it in its run.
func (t *table) remove(i int, seed uint64, alloc slotAlloc) {
	n := len(t.slots)
	for {
		j := i + 1
		if j == n {
			j = 0
		}
		if !t.slots[j].used() || t.dist(j, seed) == 0 {
			break
		}
		t.slots[i] = t.slots[j]
		if t.aux != nil {
			t.aux[i] = t.aux[j]
		}
		i = j
	}
	t.slots[i] = entry{}
	t.count--
	switch {
	case t.count == 0 && t.aux == nil:
		alloc.free(t.slots)
		t.slots = nil
	case len(t.slots) > minTableLen && t.count*shrinkDen < len(t.slots)*shrinkNum:
		// Shrinking is an optimisation: if the allocator refuses, keep
		// the larger table.
		_ = t.resize(max(minTableLen, t.count*growNum/growDen+1), seed, alloc)
	}
}

// resize rehashes the table into at least n slots.
func (t *table) resize(n int, seed uint64, alloc slotAlloc) error {
	return t.resizeInto(n, seed, alloc, alloc)
}

// moveTo moves the table into slots from to, giving its own back to from,
// tightened as fit would.
func (t *table) moveTo(seed uint64, from, to slotAlloc) error {
	if t.count == 0 {
		t.release(from)
		return nil
	}
	return t.resizeInto(max(minTableLen, t.count*growNum/growDen+1), seed, from, to)
}

// resizeInto rehashes the table into at least n slots from to, giving its
// own back to from.
func (t *table) resizeInto(n int, seed uint64, from, to slotAlloc) error {
	slots, err := to.alloc(n)
	if err != nil {
		return err
	}
	old, oldAux := t.slots, t.aux
	t.slots = slots
	if oldAux != nil {
		t.aux = make([]uint64, len(slots))
	}
	for i := range old {
		if old[i].used() {
			var a uint64
			if oldAux != nil {
				a = oldAux[i]
			}
			t.place(old[i], a, seed)
		}
	}
	if old != nil {
		from.free(old)
	}
	return nil
}

// appendLive appends the table's entries to dst, tombstones excepted.
func (t *table) appendLive(dst []entry) []entry {
	for i := range t.slots {
		if e := &t.slots[i]; e.used() && !e.tombstone() {
			dst = append(dst, *e)
		}
	}
	return dst
}

// release returns the table's slots to alloc.
func (t *table) release(alloc slotAlloc) {
	if t.slots != nil {
		alloc.free(t.slots)
	}
	*t = table{}
}
