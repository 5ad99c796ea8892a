package record

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// Limits on sets, as Aerospike has them.
const (
	MaxSets       = 1023
	MaxSetNameLen = 63
)

// setInfo is what a namespace tracks per set; the set's figures come from
// the backend, which holds the records.
type setInfo struct {
	name string
	// truncateLUT: records of the set last updated at or before it are gone.
	truncateLUT atomic.Uint64
	// objects and dataBytes are the figures the set's limits
	// (stop-writes-count, stop-writes-size) are held to, while it has
	// some: the backend's, as RunStopWrites last read them, plus what this
	// node's writes added since. Deletes, expiry and eviction show at the next reading, so
	// between readings a limit errs on the side of refusing.
	objects, dataBytes atomic.Int64
}

// setTable maps set names to their info. Sets are never removed while the
// node runs, as in Aerospike, so an entry's pointer stays valid.
type setTable struct {
	mu sync.RWMutex
	m  map[string]*setInfo
	// anyTruncated skips the map on reads until some set has been truncated.
	anyTruncated atomic.Bool
}

func (t *setTable) init() { t.m = make(map[string]*setInfo) }

// get returns the set's info, or nil.
func (t *setTable) get(name []byte) *setInfo {
	t.mu.RLock()
	s := t.m[string(name)]
	t.mu.RUnlock()
	return s
}

// getOrAdd returns the set's info, adding the set when there is room.
func (t *setTable) getOrAdd(name []byte) (*setInfo, bool) {
	if s := t.get(name); s != nil {
		return s, true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.m[string(name)]; s != nil {
		return s, true
	}
	if len(t.m) >= MaxSets {
		return nil, false
	}
	s := &setInfo{name: string(name)}
	t.m[s.name] = s
	return s, true
}

func (t *setTable) truncateLUT(name string) uint64 {
	if !t.anyTruncated.Load() {
		return 0
	}
	t.mu.RLock()
	s := t.m[name]
	t.mu.RUnlock()
	if s == nil {
		return 0
	}
	return s.truncateLUT.Load()
}

// addConfigured adds the sets the configuration names, which exist (and
// show in the sets info) before their first record, as in Aerospike.
func (t *setTable) addConfigured(sets map[string]config.SetSettings) {
	for name := range sets {
		t.getOrAdd([]byte(name))
	}
}

// takeFigures sets every set's figures to the backend's (sets), those it
// holds no records of to 0, and adds the sets the table lacks.
func (t *setTable) takeFigures(sets []storage.SetStats) {
	for _, bs := range sets {
		t.getOrAdd([]byte(bs.Name))
	}
	byName := make(map[string]*storage.SetStats, len(sets))
	for i := range sets {
		byName[sets[i].Name] = &sets[i]
	}
	for _, s := range t.all() {
		var objects, size int64
		if bs := byName[s.name]; bs != nil {
			objects, size = int64(bs.Records), int64(bs.DataBytes)
		}
		s.objects.Store(objects)
		s.dataBytes.Store(size)
	}
}

// setLimit refuses a write to set, with FORBIDDEN as Aerospike does, once
// the set is at one of its limits: a new record (creating) at
// stop-writes-count, any write above stop-writes-size.
func (ns *Namespace) setLimit(set *setInfo, creating bool) proto.ResultCode {
	st, limited := ns.limitsOf(set)
	if !limited {
		return proto.OK
	}
	switch {
	case creating && st.StopWritesCount != 0 && set.objects.Load() >= st.StopWritesCount:
		return proto.FailForbidden
	case st.StopWritesSize != 0 && set.dataBytes.Load() > st.StopWritesSize:
		return proto.FailForbidden
	}
	return proto.OK
}

// limitsOf returns the settings of set (nil: none) and whether they limit
// its records; a write to a set without limits neither checks nor counts.
func (ns *Namespace) limitsOf(set *setInfo) (config.SetSettings, bool) {
	sets := ns.Config().Sets
	if set == nil || len(sets) == 0 {
		return config.SetSettings{}, false
	}
	st := sets[set.name]
	return st, st.Limited()
}

// noteWrite adds a write's record to its set's figures: one more object if
// it is new, and the change in size.
func (set *setInfo) noteWrite(created bool, oldSize, newSize int) {
	if created {
		set.objects.Add(1)
	}
	set.dataBytes.Add(int64(newSize - oldSize))
}

// all returns the sets sorted by name.
func (t *setTable) all() []*setInfo {
	t.mu.RLock()
	out := make([]*setInfo, 0, len(t.m))
	for _, s := range t.m {
		out = append(out, s)
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// SetStats is one set's figures for info and /metrics.
type SetStats struct {
	Name        string
	Objects     uint64
	DataBytes   uint64
	TruncateLUT uint64
}

// Sets returns the namespace's sets and their figures, sorted by name: the
// sets written to since the node started, and those the backend holds
// records of.
func (ns *Namespace) Sets(ctx context.Context) ([]SetStats, error) {
	st, err := ns.backend.Stats(ctx)
	if err != nil {
		return nil, fmt.Errorf("sets of namespace %s: %w", ns.name, err)
	}
	byName := map[string]*SetStats{}
	for _, s := range ns.sets.all() {
		byName[s.name] = &SetStats{Name: s.name, TruncateLUT: s.truncateLUT.Load()}
	}
	for _, bs := range st.Sets {
		s := byName[bs.Name]
		if s == nil {
			s = &SetStats{Name: bs.Name}
			byName[bs.Name] = s
		}
		s.Objects, s.DataBytes = bs.Records, bs.DataBytes
	}
	out := make([]SetStats, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
