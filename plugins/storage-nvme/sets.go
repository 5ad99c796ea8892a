package nvme

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/skiffdb/skiff/sdk/storage"
)

// maxSets is the most set names a namespace may have, as in Aerospike; ids
// fit the 12 bits an index entry gives them.
const maxSets = 4095

// setTable interns set names, so that an index entry names its set with a
// 12-bit id and reads return a shared string without allocating. Id 0 is
// the empty name (no set). Names are never removed: a namespace has few.
//
// Readers never lock: they load immutable snapshots. Adding a name copies
// the map, which is cheap for a few thousand names added once each.
type setTable struct {
	mu    sync.Mutex // serialises additions
	ids   atomic.Pointer[map[string]uint16]
	names atomic.Pointer[[]string]
	// counts are each set's figures, indexed by id; updated under the
	// lock of the partition that holds the record.
	counts [maxSets + 1]setCount
}

type setCount struct {
	records atomic.Int64
	bytes   atomic.Int64
}

func (t *setTable) init() {
	ids := map[string]uint16{"": 0}
	names := []string{""}
	t.ids.Store(&ids)
	t.names.Store(&names)
}

// add counts a record of n data bytes into set id, or out of it with
// negative values.
func (t *setTable) add(id uint16, records, n int64) {
	t.counts[id].records.Add(records)
	t.counts[id].bytes.Add(n)
}

// stats returns the figures of the sets that hold records.
func (t *setTable) stats() []storage.SetStats {
	names := *t.names.Load()
	var out []storage.SetStats
	for id := 1; id < len(names); id++ {
		if n := t.counts[id].records.Load(); n > 0 {
			out = append(out, storage.SetStats{Name: names[id], Records: uint64(n), DataBytes: uint64(t.counts[id].bytes.Load())})
		}
	}
	return out
}

// id returns the id of set name, adding the name if it is new.
func (t *setTable) id(name string) (uint16, error) {
	if id, ok := (*t.ids.Load())[name]; ok {
		return id, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.ids.Load()
	if id, ok := old[name]; ok {
		return id, nil
	}
	names := *t.names.Load()
	if len(names) > maxSets {
		return 0, fmt.Errorf("set %q: namespace already has %d sets: %w", name, maxSets, storage.ErrOutOfSpace)
	}
	// The caller's string may live in a buffer it reuses: keep a copy.
	name = strings.Clone(name)
	id := uint16(len(names))
	ids := maps.Clone(old)
	ids[name] = id
	names = append(names[:len(names):len(names)], name)
	t.names.Store(&names)
	t.ids.Store(&ids)
	return id, nil
}

// idOfBytes is id for a name held in a byte slice; it allocates only for
// a name not seen before.
func (t *setTable) idOfBytes(name []byte) (uint16, error) {
	if id, ok := (*t.ids.Load())[string(name)]; ok {
		return id, nil
	}
	return t.id(string(name))
}

// name returns the name of set id.
func (t *setTable) name(id uint16) string {
	return (*t.names.Load())[id]
}
