package record

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/cdt"
	"github.com/skiffdb/skiff/core/internal/expr"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/core/proto"
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
	// exps holds the compiled expression of each expression index, by
	// *sindex.Index. A write that finds an index before its expression is
	// stored adds no keys; the build, which starts after, indexes the
	// record.
	exps sync.Map
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
//
// An expression index holds the keys of the value its expression
// evaluates to on each record (its digest, metadata and bins); a record on
// which it evaluates to unknown or nil is not indexed.
func (ns *Namespace) CreateIndex(ctx context.Context, def sindex.Def) (*sindex.Index, error) {
	return ns.createIndex(ctx, def, true)
}

// createIndex is CreateIndex; save keeps the definition in the
// namespace's metadata, and an index that cannot be saved is not created.
func (ns *Namespace) createIndex(ctx context.Context, def sindex.Def, save bool) (*sindex.Index, error) {
	var e *expr.Expr
	if len(def.Exp) > 0 {
		var err error
		if e, err = expr.Compile(def.Exp); err != nil {
			return nil, fmt.Errorf("%w: index expression: %v", sindex.ErrParam, err)
		}
	}
	ix, err := ns.idx.catalog.Create(def)
	if err != nil {
		return nil, err
	}
	if save && ns.meta != nil {
		if err := ns.meta.SaveIndex(def); err != nil {
			ns.idx.catalog.Drop(def.Name)
			return nil, fmt.Errorf("%w: %w", ErrNotSaved, err)
		}
	}
	if e != nil {
		ns.idx.exps.Store(ix, e)
	}
	ns.idx.hasIndexes.Store(true)
	load := new(atomic.Int32)
	ns.idx.loads.Store(def.Name, load)
	ns.background.Go(func() {
		start := time.Now()
		err := ns.buildIndex(ctx, ix, func(pct int) { load.Store(int32(pct)) })
		if err != nil && ctx.Err() == nil {
			ns.log.Error("building secondary index failed", "index", def.Name, "err", err)
			return
		}
		entries, mem := ix.Stats()
		ns.log.Info("secondary index built", "index", def.Name, "entries", entries, "memory_bytes", mem, "took", time.Since(start))
	})
	return ix, nil
}

// DropIndex removes a secondary index.
func (ns *Namespace) DropIndex(name string) error {
	// Forgotten first: an index the metadata still held would come back at
	// the next restart. Forgetting one it does not hold changes nothing.
	if ns.meta != nil {
		if err := ns.meta.DeleteIndex(ns.name, name); err != nil {
			return fmt.Errorf("%w: %w", ErrNotSaved, err)
		}
	}
	ix, err := ns.idx.catalog.Drop(name)
	if err != nil {
		return err
	}
	ix.Clear()
	ns.idx.loads.Delete(name)
	ns.idx.exps.Delete(ix)
	ns.idx.hasIndexes.Store(ns.idx.catalog.Len() > 0)
	return nil
}

// buildIndex indexes the records stored when the index was defined, from
// scan copies taken without record locks. Workers each take a run of
// partitions, collect its entries, sort them and add them in the index's
// order (several times faster than in scan order, where each insert
// misses the cache). A record a write changes meanwhile gets its entries
// from the write, and the build drops its copy (sindex.Index.AddBuilt).
func (ns *Namespace) buildIndex(ctx context.Context, ix *sindex.Index, progress func(pct int)) error {
	ix.StartBuild()
	defer ix.FinishBuild()
	workers, run := buildWorkers, buildRun
	if ns.ReadsWait() {
		workers, run = buildWorkersWaiting, buildRunWaiting
	}
	// Workers finish their runs in any order; progress hears the figures in
	// order, so that an earlier one never follows 100, which index tasks
	// wait for.
	var mu sync.Mutex
	done := 0
	_, err := eachRun(workers, run, func(b *indexBuild, first uint16) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := ns.collectEntries(ctx, ix, b, first, run); err != nil {
			return err
		}
		sindex.SortEntries(b.entries)
		ix.AddBuilt(b.entries)
		if progress != nil {
			mu.Lock()
			done += run
			progress(done * 100 / storage.Partitions)
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("build index %s: %w", ix.Def().Name, err)
	}
	return nil
}

// Index builds work in runs of buildRun partitions (about 2.4k records of
// 10M, 20 MB of entries, a partition), with buildWorkers at once. Where
// reads wait (a plugin process, a device) each partition's scan waits
// too, so more workers take shorter runs, for the same entries in memory.
const (
	buildRun            = 256
	buildWorkers        = 2
	buildRunWaiting     = 64
	buildWorkersWaiting = 8
)

// indexBuild is a build worker's reusable state.
type indexBuild struct {
	buf     ScanBuffer
	decoded []bins.Bin
	keys    []sindex.Key
	arena   bins.Arena
	entries []sindex.Entry
}

// collectEntries sets b.entries to the entries of the records of the run
// of partitions from first.
func (ns *Namespace) collectEntries(ctx context.Context, ix *sindex.Index, b *indexBuild, first uint16, run int) error {
	filter := ScanFilter{Set: []byte(ix.Def().Set)}
	b.entries = b.entries[:0]
	for pid := first; pid < first+uint16(run); pid++ {
		err := ns.ScanPartition(ctx, pid, filter, &b.buf, func(d storage.Digest, rec *storage.Record) error {
			var err error
			if b.decoded, err = bins.Decode(b.decoded[:0], rec.Bins); err != nil {
				return err
			}
			b.arena.Reset()
			if v, ok := ns.IndexedValue(ix, &b.arena, d, &rec.Meta, b.decoded); ok {
				b.keys = ix.Keys(b.keys[:0], v.Type, v.Value)
				for _, k := range b.keys {
					b.entries = append(b.entries, sindex.Entry{Key: k, Digest: d})
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// IndexedValue is the value a record yields to index ix: its bin's for a
// bin index, its expression's result for an expression index, and within
// that value the element the index's context names, if it has one. ok is
// false when the record has none (no such bin or element; unknown or nil).
// New bytes come from a.
func (ns *Namespace) IndexedValue(ix *sindex.Index, a *bins.Arena, d storage.Digest, m *storage.Meta, bs []bins.Bin) (v bins.Bin, ok bool) {
	def := ix.Def()
	if len(def.Exp) == 0 {
		i := bins.Find(bs, []byte(def.Bin))
		if i < 0 {
			return v, false
		}
		v = bs[i]
	} else {
		e, found := ns.idx.exps.Load(ix)
		if !found || len(bs) == 0 {
			return v, false
		}
		r := expr.Record{Digest: d, Meta: *m, Bins: bs}
		typ, val, ok := e.(*expr.Expr).Eval(&r, a).Particle(a)
		if !ok || typ == proto.ParticleNull {
			return v, false
		}
		v = bins.Bin{Type: typ, Value: val}
	}
	if def.Ctx == nil {
		return v, true
	}
	if v.Type != proto.ParticleList && v.Type != proto.ParticleMap {
		return bins.Bin{}, false
	}
	elem, found := cdt.Select(def.Ctx, v.Value)
	if !found {
		return bins.Bin{}, false
	}
	buf := a.Alloc(scalarSize)[:0] // where a scalar's particle is written
	typ, val, ok := msgpack.ToParticle(&buf, elem)
	if !ok || typ == proto.ParticleNull {
		return bins.Bin{}, false
	}
	return bins.Bin{Name: v.Name, Type: typ, Value: val}, true
}

// scalarSize is room for the particle of an integer, double or bool.
const scalarSize = 8

// updateIndexes replaces a record's index entries: those its old version
// yielded by those of its new version (either may have no bins, for a
// created or a deleted record; newMeta is nil for a deleted one). The
// caller holds the record's lock.
func (ns *Namespace) updateIndexes(s *Scratch, d storage.Digest, oldMeta *storage.Meta, old []bins.Bin, newMeta *storage.Meta, new []bins.Bin) {
	set := oldMeta.Set
	if newMeta != nil {
		set = newMeta.Set
	}
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
	s.indexes = ns.idx.catalog.ForExpressions(s.indexes, []byte(set))
	for _, ix := range s.indexes {
		s.oldKeys, s.newKeys = s.oldKeys[:0], s.newKeys[:0]
		if v, ok := ns.IndexedValue(ix, &s.arena, d, oldMeta, old); ok {
			s.oldKeys = ix.Keys(s.oldKeys, v.Type, v.Value)
		}
		if newMeta != nil {
			if v, ok := ns.IndexedValue(ix, &s.arena, d, newMeta, new); ok {
				s.newKeys = ix.Keys(s.newKeys, v.Type, v.Value)
			}
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
	ns.updateIndexes(s, d, &rec.Meta, s.oldBins, nil, nil)
}
