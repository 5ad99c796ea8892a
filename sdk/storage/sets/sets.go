// Package sets interns the set names of a namespace for a storage backend,
// and keeps each set's figures for storage.Stats.Sets.
//
// An index entry names its record's set with a small id (12 bits in the
// device backend's entries) instead of a string, which would take 16 bytes
// and hold a Go pointer: without one, the garbage collector never scans the
// index, however many records it holds. Reads (Get, GetMeta, scans) turn
// the id back into a shared string without allocating, as storage.Meta.Set
// promises.
package sets

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/skiffdb/skiff/sdk/storage"
)

// Max is the most set names a namespace may have, as in Aerospike. Ids run
// from 0 to Max, so they fit in 12 bits of an index entry.
const Max = 4095

// Table interns set names: id 0 is the empty name (no set), and each new
// name takes the next id. Names are never removed: a namespace has few.
// The zero Table is empty and ready to use. All methods are safe for
// concurrent use; a Table must not be copied.
//
// Readers never lock: they load immutable snapshots, so looking up a known
// name or an id costs a map lookup or an index. Adding a name copies the
// map, which is cheap for a few thousand names added once each. A Table
// takes 64 KiB for its counts, however few names it holds.
type Table struct {
	mu    sync.Mutex // serialises additions
	ids   atomic.Pointer[map[string]uint16]
	names atomic.Pointer[[]string]
	// counts are each set's figures, indexed by id. Atomic adds let a
	// backend update them under whatever lock guards the record (its
	// partition's), without one for the table.
	counts [Max + 1]count
}

type count struct {
	records atomic.Int64
	bytes   atomic.Int64
}

// ID returns the id of set name, adding the name if it is new. The Table
// keeps a copy of a new name, so name may live in a buffer the caller
// reuses. Once Max names are in, a new one fails with an error wrapping
// storage.ErrOutOfSpace.
func (t *Table) ID(name string) (uint16, error) {
	if name == "" {
		return 0, nil
	}
	if ids := t.ids.Load(); ids != nil {
		if id, ok := (*ids)[name]; ok {
			return id, nil
		}
	}
	return t.add(name)
}

// IDOfBytes is ID for a name held in a byte slice (one decoded from the
// media, say); it allocates only for a name not seen before.
func (t *Table) IDOfBytes(name []byte) (uint16, error) {
	if ids := t.ids.Load(); ids != nil {
		if id, ok := (*ids)[string(name)]; ok {
			return id, nil
		}
	}
	return t.ID(string(name))
}

// add is ID's slow path: it adds name unless another caller just did.
func (t *Table) add(name string) (uint16, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old, names := map[string]uint16{"": 0}, []string{""}
	if ids := t.ids.Load(); ids != nil {
		old, names = *ids, *t.names.Load()
	}
	if id, ok := old[name]; ok {
		return id, nil
	}
	if len(names) > Max {
		return 0, fmt.Errorf("set %q: namespace already has %d sets: %w", name, Max, storage.ErrOutOfSpace)
	}
	name = strings.Clone(name)
	id := uint16(len(names))
	ids := maps.Clone(old)
	ids[name] = id
	// Never append in place: readers may hold the old slice.
	names = append(names[:len(names):len(names)], name)
	// Names first: a reader that finds an id in ids must find its name.
	t.names.Store(&names)
	t.ids.Store(&ids)
	return id, nil
}

// Restore makes an empty Table hold names, indexed by id (names[0] is
// ignored), for a backend resuming records that name sets by these ids. An
// empty name leaves its id unused.
func (t *Table) Restore(names []string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ids.Load() != nil {
		return fmt.Errorf("sets: restore into a table in use")
	}
	if len(names) > Max+1 {
		return fmt.Errorf("sets: %d names, at most %d: %w", len(names)-1, Max, storage.ErrOutOfSpace)
	}
	ids, all := map[string]uint16{"": 0}, []string{""}
	for id := 1; id < len(names); id++ {
		name := strings.Clone(names[id])
		if _, dup := ids[name]; dup && name != "" {
			return fmt.Errorf("sets: restore: set %q has ids %d and %d", name, ids[name], id)
		}
		if name != "" {
			ids[name] = uint16(id)
		}
		all = append(all, name)
	}
	t.names.Store(&all)
	t.ids.Store(&ids)
	return nil
}

// Name returns the name of set id, which ID returned.
func (t *Table) Name(id uint16) string {
	if id == 0 {
		return ""
	}
	return (*t.names.Load())[id]
}

// Names returns every name by id (names[0] is "", no set): what Restore
// takes back.
func (t *Table) Names() []string {
	if p := t.names.Load(); p != nil {
		return append([]string(nil), *p...)
	}
	return []string{""}
}

// Add counts a record of n bytes into set id, or out of it with negative
// values: Add(id, 1, n) for a new record, Add(id, -1, -n) for a removed
// one, Add(id, 0, newN-oldN) for one rewritten in place. Bytes are whatever
// the backend counts in storage.Stats.DataBytes.
func (t *Table) Add(id uint16, records, n int64) {
	t.counts[id].records.Add(records)
	t.counts[id].bytes.Add(n)
}

// Stats returns the figures of the sets that hold records, by id; records
// without a set are left out, as storage.Stats.Sets wants.
func (t *Table) Stats() []storage.SetStats {
	p := t.names.Load()
	if p == nil {
		return nil
	}
	names := *p
	var out []storage.SetStats
	for id := 1; id < len(names); id++ {
		if n := t.counts[id].records.Load(); n > 0 {
			out = append(out, storage.SetStats{Name: names[id], Records: uint64(n), DataBytes: uint64(t.counts[id].bytes.Load())})
		}
	}
	return out
}
