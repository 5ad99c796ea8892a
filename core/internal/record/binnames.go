package record

import (
	"sort"
	"sync"

	"github.com/skiffdb/skiff/core/internal/bins"
)

// MaxBinNames is how many distinct bin names a namespace lists in the bins
// info command. Writes are never refused for it; names past it are simply
// not listed.
const MaxBinNames = 65535

// binNames is the set of bin names a namespace has stored. A write looks its
// names up under the read lock, without allocating; only a new name takes
// the write lock.
type binNames struct {
	mu sync.RWMutex
	m  map[string]struct{}
}

// note records the names of bins.
func (t *binNames) note(bs []bins.Bin) {
	for i := range bs {
		t.mu.RLock()
		_, ok := t.m[string(bs[i].Name)]
		full := len(t.m) >= MaxBinNames
		t.mu.RUnlock()
		if ok || full {
			continue
		}
		t.mu.Lock()
		if t.m == nil {
			t.m = make(map[string]struct{})
		}
		if len(t.m) < MaxBinNames {
			t.m[string(bs[i].Name)] = struct{}{}
		}
		t.mu.Unlock()
	}
}

// BinNames returns the bin names the namespace has stored, sorted.
func (ns *Namespace) BinNames() []string {
	ns.binNames.mu.RLock()
	out := make([]string, 0, len(ns.binNames.m))
	for k := range ns.binNames.m {
		out = append(out, k)
	}
	ns.binNames.mu.RUnlock()
	sort.Strings(out)
	return out
}
