package record

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/xdr"
)

// RunNsup removes expired and truncated records, and evicts records above
// evict-used-pct, every nsup-period until ctx is done. While nsup-period is
// 0 it waits for set-config to change it: expired records are then removed
// only when a command comes across them. A changed period starts a new
// wait; other changes leave the wait alone.
func (ns *Namespace) RunNsup(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	var period time.Duration
	for {
		if p := ns.Config().NsupPeriod; p != period {
			period = p
			t.Stop()
			if period > 0 {
				t.Reset(period)
			}
		}
		var tick <-chan time.Time
		if period > 0 {
			tick = t.C
		}
		select {
		case <-ctx.Done():
			return
		case <-ns.cfgChanged:
			continue
		case <-tick:
		}
		ns.nsupPass(ctx)
		t.Reset(period)
	}
}

// nsupPass removes the dead records, then evicts as evict-used-pct asks.
func (ns *Namespace) nsupPass(ctx context.Context) {
	start := time.Now()
	n, err := ns.RemoveDead(ctx)
	if err != nil && ctx.Err() == nil {
		ns.log.Error("nsup pass failed", "err", err)
		return
	}
	evicted, err := ns.Evict(ctx)
	if err != nil && ctx.Err() == nil {
		ns.log.Error("eviction failed", "err", err)
	}
	ns.log.Debug("nsup pass", "removed", n, "evicted", evicted, "took", time.Since(start))
}

// RemoveDead makes one pass over the namespace's metadata and removes every
// record that is expired or truncated. It returns how many it removed.
func (ns *Namespace) RemoveDead(ctx context.Context) (int, error) {
	type worker struct {
		dead    []storage.Digest
		s       Scratch
		removed int
	}
	workers, err := EachPartition(ns, func(w *worker, pid uint16) error {
		c := ns.clock()
		w.dead = w.dead[:0]
		err := ns.backend.ScanPartition(ctx, pid, true, func(d storage.Digest, rec *storage.Record) error {
			if !ns.live(&rec.Meta, c) {
				w.dead = append(w.dead, d)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("scan partition %d: %w", pid, err)
		}
		for _, d := range w.dead {
			if ns.removeIfDead(ctx, &w.s, d, c) {
				w.removed++
			}
		}
		return nil
	})
	removed := 0
	for _, w := range workers {
		removed += w.removed
	}
	return removed, err
}

// removeIfDead re-reads a record under its lock and removes it if it is
// still dead: a write may have revived it since the scan saw it.
func (ns *Namespace) removeIfDead(ctx context.Context, s *Scratch, d storage.Digest, c clock) bool {
	mu := ns.lock(&d)
	mu.Lock()
	defer mu.Unlock()
	m, found, live, err := ns.getMeta(ctx, d, c)
	if err != nil || !found || live {
		return false
	}
	ns.removeDeadLocked(ctx, s, d, found, &m, c)
	return true
}

// ErrTruncateFuture refuses a truncation point later than now.
var ErrTruncateFuture = errors.New("truncate: last-update time is in the future")

// Truncate removes the records of set (all records of the namespace when set
// is "") last updated at or before before (ns since the Unix epoch; 0 means
// now). The records disappear for every command at once; their storage is
// reclaimed in the background. It returns the truncation point used.
func (ns *Namespace) Truncate(ctx context.Context, set string, before uint64) (uint64, error) {
	now := uint64(ns.now().UnixNano())
	if before == 0 {
		before = now
	} else if before > now {
		return 0, ErrTruncateFuture
	}
	return before, ns.truncate(ctx, set, before, true)
}

// truncate is Truncate at a given point, handed to the namespace's sinks
// when emit is set (a client's truncate, not a peer's). The point is saved
// in the namespace's metadata first: a client's truncate that cannot be
// saved fails, since its records would come back from a device at the next
// restart; a peer's is applied all the same, and logged.
func (ns *Namespace) truncate(ctx context.Context, set string, before uint64, emit bool) error {
	s, err := ns.truncateTarget(set)
	if err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	if ns.meta != nil {
		if err := ns.meta.SaveTruncate(ns.name, set, before); err != nil {
			if emit {
				return fmt.Errorf("truncate: %w: %w", ErrNotSaved, err)
			}
			ns.log.Error("truncate from a peer not saved: its records may come back after a restart", "set", set, "err", err)
		}
	}
	ns.raiseTruncate(s, before)
	if emit && ns.replicated() {
		c := ns.getCommit()
		c.Change = xdr.Change{Kind: xdr.Truncate, Namespace: ns.name, Set: set, LastUpdate: before}
		c.ChangedBins = nil
		ns.emit(c)
		ns.repl.commitPool.Put(c)
	}
	ns.background.Go(func() { ns.removeTruncated(ctx, set) })
	return nil
}

// truncateTarget returns the set a truncate of set applies to, or nil for ""
// (the whole namespace).
func (ns *Namespace) truncateTarget(set string) (*setInfo, error) {
	if set == "" {
		return nil, nil
	}
	if len(set) > MaxSetNameLen {
		return nil, fmt.Errorf("set name %q longer than %d", set, MaxSetNameLen)
	}
	s, ok := ns.sets.getOrAdd([]byte(set))
	if !ok {
		return nil, fmt.Errorf("set %q: namespace has %d sets already", set, MaxSets)
	}
	return s, nil
}

// raiseTruncate moves the truncation point of set s (nil: the whole
// namespace) to before, unless it is already later.
func (ns *Namespace) raiseTruncate(s *setInfo, before uint64) {
	if s == nil {
		raiseTo(&ns.truncateLUT, before)
		return
	}
	raiseTo(&s.truncateLUT, before)
	ns.sets.anyTruncated.Store(true)
}

// removeTruncated removes the records a truncate left dead from the
// backend.
func (ns *Namespace) removeTruncated(ctx context.Context, set string) {
	n, err := ns.RemoveDead(ctx)
	if err != nil && ctx.Err() == nil {
		ns.log.Error("truncate: removing records failed", "set", set, "err", err)
		return
	}
	ns.log.Info("truncated", "set", set, "removed", n)
}

// Restore applies what the namespace's metadata kept from before a
// restart: truncation points by set ("" for the whole namespace), whose
// records still stored are then removed in the background, and index
// definitions, each built in the background. Nothing is saved again.
func (ns *Namespace) Restore(ctx context.Context, truncates map[string]uint64, indexes []sindex.Def) error {
	for set, before := range truncates {
		s, err := ns.truncateTarget(set)
		if err != nil {
			return fmt.Errorf("restoring a truncate: %w", err)
		}
		ns.raiseTruncate(s, before)
	}
	if len(truncates) > 0 {
		ns.background.Go(func() { ns.removeTruncated(ctx, "") })
	}
	for _, def := range indexes {
		if _, err := ns.createIndex(ctx, def, false); err != nil {
			return fmt.Errorf("restoring index %s: %w", def.Name, err)
		}
	}
	return nil
}

// raiseTo sets a to v unless it is already later.
func raiseTo(a interface {
	Load() uint64
	CompareAndSwap(old, new uint64) bool
}, v uint64) {
	for {
		cur := a.Load()
		if cur >= v || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
