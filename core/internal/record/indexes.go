package record

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/sdk/storage"
)

// Secondary indexes are kept in DRAM by the node, whatever the backend.
// Every change of a record updates them under the record's lock, after the
// backend has taken the change: the keys the stored old bins yielded are
// replaced by those of the new bins. A query re-checks each record it
// reads, so an entry left stale by a race (below) costs a read, never a
// wrong answer.

// indexer is what a command needs to keep the indexes: the catalog, and
// reusable key buffers.
type indexer struct {
	hasIndexes atomic.Bool
	catalog    *sindex.Catalog
	// loads holds each index's build progress in percent, by name.
	loads sync.Map
}

// IndexLoadPct is how much of an index's background build is done, in
// percent; 100 once it is complete.
func (ns *Namespace) IndexLoadPct(name string) int {
	if v, ok := ns.idx.loads.Load(name); ok {
		return int(v.(*atomic.Int32).Load())
	}
	return 100
}

// Indexes returns the namespace's secondary index catalog.
func (ns *Namespace) Indexes() *sindex.Catalog { return ns.idx.catalog }

// indexed reports whether any secondary index exists, so that commands on
// namespaces without one skip the work.
func (ns *Namespace) indexed() bool { return ns.idx.hasIndexes.Load() }

// CreateIndex defines a secondary index and builds it in the background
// from the records already stored (IndexLoadPct tells how far); writes
// maintain it from the moment it is defined. ctx bounds the build.
func (ns *Namespace) CreateIndex(ctx context.Context, def sindex.Def) (*sindex.Index, error) {
	ix, err := ns.idx.catalog.Create(def)
	if err != nil {
		return nil, err
	}
	ns.idx.hasIndexes.Store(true)
	load := new(atomic.Int32)
	ns.idx.loads.Store(def.Name, load)
	go func() {
		start := time.Now()
		err := ns.buildIndex(ctx, ix, func(pct int) { load.Store(int32(pct)) })
		if err != nil && ctx.Err() == nil {
			ns.log.Error("building secondary index failed", "index", def.Name, "err", err)
			return
		}
		entries, mem := ix.Stats()
		ns.log.Info("secondary index built", "index", def.Name, "entries", entries, "memory_bytes", mem, "took", time.Since(start))
	}()
	return ix, nil
}

// DropIndex removes a secondary index.
func (ns *Namespace) DropIndex(name string) error {
	ix, err := ns.idx.catalog.Drop(name)
	if err != nil {
		return err
	}
	ix.Clear()
	ns.idx.loads.Delete(name)
	ns.idx.hasIndexes.Store(ns.idx.catalog.Len() > 0)
	return nil
}

// buildIndex indexes the records stored when the index was defined. It
// works from scan copies without record locks: a record written meanwhile
// has its new keys added by the write, and may keep a stale entry from the
// copy, which queries filter out.
func (ns *Namespace) buildIndex(ctx context.Context, ix *sindex.Index, progress func(pct int)) error {
	def := ix.Def()
	filter := ScanFilter{Set: []byte(def.Set)}
	var buf ScanBuffer
	var decoded []bins.Bin
	var keys []sindex.Key
	name := []byte(def.Bin)
	for pid := uint16(0); pid < storage.Partitions; pid++ {
		err := ns.ScanPartition(ctx, pid, filter, &buf, func(d storage.Digest, rec *storage.Record) error {
			var err error
			if decoded, err = bins.Decode(decoded[:0], rec.Bins); err != nil {
				return err
			}
			if i := bins.Find(decoded, name); i >= 0 {
				keys = ix.Keys(keys[:0], decoded[i].Type, decoded[i].Value)
				ix.Insert(d, keys...)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("build index %s: %w", def.Name, err)
		}
		if progress != nil {
			progress(int(pid+1) * 100 / storage.Partitions)
		}
	}
	return nil
}

// updateIndexes replaces a record's index entries: those its old bins
// yielded by those of its new bins (either may be empty, for a created or
// a deleted record). The caller holds the record's lock.
func (ns *Namespace) updateIndexes(s *Scratch, d storage.Digest, set string, old, new []bins.Bin) {
	s.indexes = s.indexes[:0]
	seen := func(name []byte) bool {
		for _, ix := range s.indexes {
			if ix.Def().Bin == string(name) {
				return true
			}
		}
		return false
	}
	for _, list := range [][]bins.Bin{old, new} {
		for i := range list {
			if !seen(list[i].Name) {
				s.indexes = ns.idx.catalog.ForBin(s.indexes, []byte(set), list[i].Name)
			}
		}
	}
	for _, ix := range s.indexes {
		name := []byte(ix.Def().Bin)
		s.oldKeys, s.newKeys = s.oldKeys[:0], s.newKeys[:0]
		if i := bins.Find(old, name); i >= 0 {
			s.oldKeys = ix.Keys(s.oldKeys, old[i].Type, old[i].Value)
		}
		if i := bins.Find(new, name); i >= 0 {
			s.newKeys = ix.Keys(s.newKeys, new[i].Type, new[i].Value)
		}
		ix.Update(d, s.oldKeys, s.newKeys)
	}
}

// unindexStored removes the index entries of a stored record about to be
// removed (expiry, eviction, truncation). The caller holds the lock.
func (ns *Namespace) unindexStored(ctx context.Context, s *Scratch, d storage.Digest) {
	rec, err := ns.backend.Get(ctx, d, s.get[:0])
	if err != nil {
		return
	}
	s.keep(&rec)
	if s.oldBins, err = bins.Decode(s.oldBins[:0], rec.Bins); err != nil {
		return
	}
	ns.updateIndexes(s, d, rec.Set, s.oldBins, nil)
}
