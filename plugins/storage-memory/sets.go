package memory

import (
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/skiffdb/skiff/sdk/storage"
)

// maxSets is the most set names a namespace may have, as in Aerospike.
const maxSets = 4095

// setTable interns set names, so that an index entry names its set with a
// 2-byte id and reads return a shared string without allocating. Id 0 is
// the empty name (no set). Names are never removed: a namespace has few.
//
// Readers never lock: they load immutable snapshots. Adding a name copies
// the map, which is cheap for a few thousand names added once each.
type setTable struct {
	mu    sync.Mutex // serialises additions
	ids   atomic.Pointer[map[string]uint16]
	names atomic.Pointer[[]string]
}

func (t *setTable) init() {
	ids := map[string]uint16{"": 0}
	names := []string{""}
	t.ids.Store(&ids)
	t.names.Store(&names)
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
		return 0, fmt.Errorf("memory: set %q: namespace already has %d sets: %w", name, maxSets, storage.ErrOutOfSpace)
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

// name returns the name of set id.
func (t *setTable) name(id uint16) string {
	return (*t.names.Load())[id]
}
