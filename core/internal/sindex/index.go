package sindex

import (
	"math"
	"math/bits"
	"slices"
	"sync"

	"github.com/skiffdb/skiff/sdk/storage"
)

// Index is one secondary index: entries (key, digest) kept in one B+tree
// ordered by key, then digest, for the whole namespace (not per partition:
// a query over many partitions is one ordered walk that filters partitions
// as it goes).
//
// Index is safe for concurrent use. Writers (Insert, Remove, Update, Clear)
// take its lock exclusively for the duration of the call; queries (Range
// and friends) take it shared for a bounded batch of entries at a time and
// never hold it while calling their callback.
//
// Keeping it consistent is the caller's job: the node computes a record's
// keys with Keys from the bin value before and after each write and calls
// Update under the record's lock, so that two writes of one record reach the
// index in the order they were applied.
type Index struct {
	def Def
	mu  sync.RWMutex
	t   tree
	// touched, while a build runs (StartBuild), holds the records whose
	// entries a write changed: the write's entries are current, and the
	// build's copies of those records are not added.
	touched map[storage.Digest]struct{}
}

// Entry is one index entry, as a build collects them.
type Entry struct {
	Key    Key
	Digest storage.Digest
}

// SortEntries sorts entries in the index's order: by key, then digest.
// AddBuilt adds entries in that order fastest: each insert lands next to
// the previous one.
func SortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return cmpEntry(a.Key, &a.Digest, b.Key, &b.Digest) })
}

// StartBuild starts a background build of the index from copies of the
// stored records: until FinishBuild, the index notes the records whose
// entries writes change, and AddBuilt skips them.
func (x *Index) StartBuild() {
	x.mu.Lock()
	x.touched = make(map[storage.Digest]struct{})
	x.mu.Unlock()
}

// FinishBuild ends the build StartBuild started.
func (x *Index) FinishBuild() {
	x.mu.Lock()
	x.touched = nil
	x.mu.Unlock()
}

// buildBatch bounds how many entries AddBuilt adds under one hold of the
// lock, so that writes and queries wait for it briefly.
const buildBatch = 4096

// AddBuilt adds entries a build collected from record copies, best sorted
// with SortEntries, except those of records a write changed since
// StartBuild: the write already put their current entries, and a copy may
// be older. So a build leaves no entry of a deleted or changed record.
func (x *Index) AddBuilt(es []Entry) {
	for len(es) > 0 {
		n := min(buildBatch, len(es))
		x.mu.Lock()
		for i := range es[:n] {
			e := &es[i]
			if _, changed := x.touched[e.Digest]; !changed {
				x.t.insert(e.Key, &e.Digest)
			}
		}
		x.mu.Unlock()
		es = es[n:]
	}
}

// New returns an empty index for def. Catalog.Create is the usual way.
func New(def Def) *Index {
	return &Index{def: def, t: newTree()}
}

// Def returns the index's definition.
func (x *Index) Def() Def { return x.def }

// Insert adds an entry (key, d) for each key; it returns how many were new.
func (x *Index) Insert(d storage.Digest, keys ...Key) (added int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range keys {
		if x.t.insert(k, &d) {
			added++
		}
	}
	return added
}

// Remove removes the entry (key, d) of each key; it returns how many were
// there.
func (x *Index) Remove(d storage.Digest, keys ...Key) (removed int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range keys {
		if x.t.delete(k, &d) {
			removed++
		}
	}
	return removed
}

// Update replaces the entries of record d for keys old by those for keys
// new, touching only the difference: keys in both stay. old and new should
// be sorted and unique, as Keys returns them; if they are not, Update sorts
// and compacts them in place. Either may be empty (a new record, a delete).
func (x *Index) Update(d storage.Digest, old, new []Key) {
	old, new = sortedUnique(old), sortedUnique(new)
	if slices.Equal(old, new) {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.touched != nil {
		x.touched[d] = struct{}{}
	}
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || i < len(old) && old[i] < new[j]:
			x.t.delete(old[i], &d)
			i++
		case i == len(old) || new[j] < old[i]:
			x.t.insert(new[j], &d)
			j++
		default: // in both
			i++
			j++
		}
	}
}

func sortedUnique(s []Key) []Key {
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			slices.Sort(s)
			return slices.Compact(s)
		}
	}
	return s
}

// Clear removes every entry (truncate of the namespace, or of the index's
// set).
func (x *Index) Clear() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.t.clear()
}

// RemoveFunc removes every entry for which fn returns true and returns how
// many it removed: for a truncate of one set from an index defined on every
// set (fn looks up the record's set or last-update time), or any other
// sweep. It walks the index like Range, calling fn without the lock, and
// removes in batches; entries added meanwhile may or may not be visited.
func (x *Index) RemoveFunc(fn func(key Key, d storage.Digest) bool) (removed int) {
	var batch [walkBatch]entry
	n := 0
	flush := func() {
		x.mu.Lock()
		for _, e := range batch[:n] {
			if x.t.delete(e.k, &e.d) {
				removed++
			}
		}
		x.mu.Unlock()
		n = 0
	}
	x.Range(math.MinInt64, math.MaxInt64, nil, nil, func(k Key, d storage.Digest) bool {
		if fn(k, d) {
			batch[n] = entry{k, d}
			if n++; n == len(batch) {
				flush()
			}
		}
		return true
	})
	flush()
	return removed
}

// Stats returns the number of entries and the bytes of heap their nodes
// take (allocation size classes included).
func (x *Index) Stats() (entries, memoryBytes uint64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return uint64(x.t.count), x.t.memory()
}

// PartitionSet is a set of partitions, one bit each. The zero value is
// empty; a nil *PartitionSet given to a query means every partition.
type PartitionSet struct {
	bits [storage.Partitions / 64]uint64
}

// Add adds partition p (p < storage.Partitions).
func (s *PartitionSet) Add(p uint16) { s.bits[p/64&(storage.Partitions/64-1)] |= 1 << (p % 64) }

// AddAll adds every partition.
func (s *PartitionSet) AddAll() {
	for i := range s.bits {
		s.bits[i] = ^uint64(0)
	}
}

// Has reports whether p is in the set.
func (s *PartitionSet) Has(p uint16) bool {
	return s.bits[p/64&(storage.Partitions/64-1)]&(1<<(p%64)) != 0
}

// Len is the number of partitions in the set.
func (s *PartitionSet) Len() int {
	n := 0
	for _, w := range s.bits {
		n += bits.OnesCount64(w)
	}
	return n
}

// has is Has for a set that may be nil (every partition).
func (s *PartitionSet) has(p uint16) bool { return s == nil || s.Has(p) }

// subsetOf reports whether every partition of s (every one, if s is nil)
// is in o.
func (s *PartitionSet) subsetOf(o *PartitionSet) bool {
	for i := range o.bits {
		w := ^uint64(0)
		if s != nil {
			w = s.bits[i]
		}
		if w&^o.bits[i] != 0 {
			return false
		}
	}
	return true
}

// Cursor holds where a query stopped in some partitions: the client's
// DIGEST_ARRAY and BVAL_ARRAY for partitions it has partly received. A
// partition resumed after (key, digest) skips its entries ≤ that point.
// The zero value resumes nothing; a nil *Cursor is the same.
//
// A Cursor is read by queries and must not change while one runs.
type Cursor struct {
	parts PartitionSet
	after map[uint16]position
	min   position // the smallest resume point, when after is not empty
}

type position struct {
	k Key
	d storage.Digest
}

// ResumeAfter records that the partition of d (d.Partition()) resumes
// after the entry (key, d): the last record the client received from it,
// and the bval the node sent with it. The caller also adds the partition to
// the query's PartitionSet. A second call for a partition replaces the
// first.
func (c *Cursor) ResumeAfter(key Key, d storage.Digest) {
	if c.after == nil {
		c.after = make(map[uint16]position)
	}
	p := d.Partition()
	c.parts.Add(p)
	pos := position{key, d}
	old, replaced := c.after[p]
	c.after[p] = pos
	switch {
	case len(c.after) == 1:
		c.min = pos
	case replaced && old == c.min: // the minimum moved: find the new one
		c.min = pos
		for _, q := range c.after {
			if cmpEntry(q.k, &q.d, c.min.k, &c.min.d) < 0 {
				c.min = q
			}
		}
	case cmpEntry(key, &d, c.min.k, &c.min.d) < 0:
		c.min = pos
	}
}

// Len is the number of partitions with a resume point.
func (c *Cursor) Len() int {
	if c == nil {
		return 0
	}
	return len(c.after)
}

// skips reports whether the cursor skips entry (k, d) of partition p.
func (c *Cursor) skips(p uint16, k Key, d *storage.Digest) bool {
	if c == nil || !c.parts.Has(p) {
		return false
	}
	a := c.after[p]
	return cmpEntry(k, d, a.k, &a.d) <= 0
}

// CellRange is an inclusive range of keys [Lo, Hi].
type CellRange struct{ Lo, Hi Key }

// Batch sizes of a query walk: at most walkBatch entries are handed to the
// callback per lock hold, and at most walkScan entries examined (entries of
// other partitions cost a look, not a callback).
const (
	walkBatch = 128
	walkScan  = 4096
)

type entry struct {
	k Key
	d storage.Digest
}

// Range calls fn for each entry with lo ≤ key ≤ hi, in (key, digest)
// order, whose digest's partition is in parts (nil: every partition) and
// which from (nil: none) does not skip. fn returns false to stop; Range
// reports whether it went through the whole range.
//
// Range collects entries in batches under the read lock and calls fn
// without it, seeking again after the last entry it examined. Entries
// present during the whole walk are seen exactly once; entries inserted or
// removed meanwhile may or may not be seen. fn may call the index's
// writers.
//
// A numeric index answers range queries with it; for a collection index a
// record may match at several keys and is then found once per key.
func (x *Index) Range(lo, hi Key, from *Cursor, parts *PartitionSet, fn func(key Key, d storage.Digest) bool) bool {
	if lo > hi {
		return true
	}
	var buf [walkBatch]entry
	start := position{k: lo}
	excl := false
	if from.Len() > 0 && parts.subsetOf(&from.parts) {
		// Every partition walked resumes after its own point, and so after
		// the smallest one: start there.
		if m := from.min; cmpEntry(m.k, &m.d, start.k, &start.d) >= 0 {
			if m.k > hi {
				return true
			}
			start, excl = m, true
		}
	}
	for {
		n, last, more := x.scan(start, excl, hi, from, parts, buf[:])
		for i := range n {
			if !fn(buf[i].k, buf[i].d) {
				return false
			}
		}
		if !more {
			return true
		}
		start, excl = last, true
	}
}

// scan fills buf, under the read lock, with the entries Range passes to fn
// from start (after it, if excl). It returns how many it collected, the
// last entry it examined, and whether there may be more.
func (x *Index) scan(start position, excl bool, hi Key, from *Cursor, parts *PartitionSet, buf []entry) (n int, last position, more bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var it iter
	x.t.seek(&it, start.k, &start.d)
	if excl && it.valid() && it.l.keys[it.pos] == start.k && it.l.digs[it.pos] == start.d {
		it.next()
	}
	for examined := 0; it.valid(); it.next() {
		k, d := it.l.keys[it.pos], &it.l.digs[it.pos]
		if k > hi {
			return n, last, false
		}
		if n == len(buf) || examined == walkScan {
			return n, last, true
		}
		examined++
		last = position{k, *d}
		if p := d.Partition(); parts.has(p) && !from.skips(p, k, d) {
			buf[n] = entry{k, *d}
			n++
		}
	}
	return n, last, false
}

// Equal calls fn for each entry with the given key, as Range(key, key):
// the equality query of a string or blob index (key HashKey(value)), or of
// a numeric one.
func (x *Index) Equal(key Key, from *Cursor, parts *PartitionSet, fn func(key Key, d storage.Digest) bool) bool {
	return x.Range(key, key, from, parts, fn)
}

// EqualKeys calls fn for the entries of each key, in ascending key order
// (as a resume point requires): a geo index's regions-containing-point
// query walks RegionsContaining's keys with it. keys must be sorted.
func (x *Index) EqualKeys(keys []Key, from *Cursor, parts *PartitionSet, fn func(key Key, d storage.Digest) bool) bool {
	for i, k := range keys {
		if i > 0 && k == keys[i-1] {
			continue
		}
		if !x.Range(k, k, from, parts, fn) {
			return false
		}
	}
	return true
}

// RangeCells calls fn for the entries of point cells (leaf cell ids) in
// each range, in ascending order: a geo index's points-within-region query
// walks PointsWithin's ranges with it. Entries of region coverings that
// fall in the ranges are skipped. ranges must be sorted and disjoint.
func (x *Index) RangeCells(ranges []CellRange, from *Cursor, parts *PartitionSet, fn func(key Key, d storage.Digest) bool) bool {
	leafOnly := func(k Key, d storage.Digest) bool {
		if !IsLeafCell(k) {
			return true
		}
		return fn(k, d)
	}
	for _, r := range ranges {
		if !x.Range(r.Lo, r.Hi, from, parts, leafOnly) {
			return false
		}
	}
	return true
}
