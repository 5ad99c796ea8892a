package record

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
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
