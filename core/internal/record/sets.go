package record

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Limits on sets, as Aerospike has them.
const (
	MaxSets       = 1023
	MaxSetNameLen = 63
)

// setInfo is what a namespace tracks per set.
type setInfo struct {
	name    string
	objects atomic.Int64
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
	Objects     int64
	TruncateLUT uint64
}

// Sets returns the namespace's sets and their figures, sorted by name.
func (ns *Namespace) Sets() []SetStats {
	sets := ns.sets.all()
	out := make([]SetStats, 0, len(sets))
	for _, s := range sets {
		out = append(out, SetStats{Name: s.name, Objects: s.objects.Load(), TruncateLUT: s.truncateLUT.Load()})
	}
	return out
}

// countSet adjusts the object count of a set by delta. Records without a
// set are not counted per set.
func (ns *Namespace) countSet(name string, delta int64) {
	if name == "" {
		return
	}
	ns.sets.mu.RLock()
	s := ns.sets.m[name]
	ns.sets.mu.RUnlock()
	if s != nil {
		s.objects.Add(delta)
	}
}
