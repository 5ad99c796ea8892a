package record

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/sdk/storage"
)

// usedPct is the share of the namespace's storage in use, in percent, or
// -1 when the backend has no capacity limit.
func usedPct(st *storage.Stats) int {
	if st.Capacity == 0 {
		return -1
	}
	return int(st.DataBytes * 100 / st.Capacity)
}

// availPct is the share of the namespace's storage free for new records,
// in percent: the backend's data_avail_pct where it has one (a device
// backend's free write blocks, which dead bytes waiting for defragmentation
// do not count in), else what is not used; -1 without a capacity limit.
func availPct(st *storage.Stats) float64 {
	if v, ok := st.Extra["data_avail_pct"]; ok {
		return v
	}
	if st.Capacity == 0 {
		return -1
	}
	return 100 - float64(st.DataBytes)*100/float64(st.Capacity)
}

// stopWritesPeriod is how often RunStopWrites asks the backend for its
// figures: the namespace may fill past stop-writes-used-pct by what clients
// write in that time (about 10 MB at 100 MB/s).
const stopWritesPeriod = 100 * time.Millisecond

// RunStopWrites re-evaluates every stopWritesPeriod whether the namespace
// is so full that writes must stop (stop-writes-used-pct), and reads the
// figures of its sets while one has a limit (stop-writes-count,
// stop-writes-size), until ctx is done. Writes check the flag and figures
// it keeps, so that no write waits for the backend's figures. It runs
// while there is no limit too, which set-config may change.
func (ns *Namespace) RunStopWrites(ctx context.Context) {
	t := time.NewTicker(stopWritesPeriod)
	defer t.Stop()
	for {
		ns.checkStopWrites(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (ns *Namespace) checkStopWrites(ctx context.Context) {
	cfg := ns.Config()
	used, avail, sys := cfg.StopWritesUsedPct, cfg.StopWritesAvailPct, cfg.StopWritesSysMemoryPct
	if used == 0 && avail == 0 && sys == 0 && ns.stopWrites.Swap(false) {
		ns.log.Info("stop-writes cleared: stop-writes-used-pct, stop-writes-avail-pct and stop-writes-sys-memory-pct are 0")
	}
	setLimits := anySetLimit(cfg.Sets)
	if used == 0 && avail == 0 && sys == 0 && !setLimits {
		return
	}
	var st storage.Stats
	if used != 0 || avail != 0 || setLimits {
		var err error
		if st, err = ns.backend.Stats(ctx); err != nil {
			return
		}
	}
	if setLimits {
		ns.sets.takeFigures(st.Sets)
	}
	full := used != 0 && usedPct(&st) >= used
	scarce := avail != 0 && st.Capacity > 0 && availPct(&st) < float64(avail)
	memPct := -1
	if sys != 0 {
		if pct, err := ns.sysMemory(); err == nil {
			memPct = pct
		}
	}
	short := memPct >= sys && sys != 0
	stop := full || scarce || short
	if ns.stopWrites.Swap(stop) != stop {
		switch {
		case full:
			ns.log.Warn("stop-writes: storage is full; writes are refused until records are deleted, expire or are evicted",
				"used_pct", usedPct(&st), "stop-writes-used-pct", used)
		case scarce:
			ns.log.Warn("stop-writes: too little storage is free; writes are refused until deletes, expiry, eviction or defragmentation free some",
				"avail_pct", availPct(&st), "stop-writes-avail-pct", avail)
		case short:
			ns.log.Warn("stop-writes: the node's memory is nearly all in use; writes are refused until some is free",
				"system_memory_used_pct", memPct, "stop-writes-sys-memory-pct", sys)
		default:
			ns.log.Info("stop-writes cleared: writes are accepted again", "used_pct", usedPct(&st), "avail_pct", availPct(&st),
				"system_memory_used_pct", memPct)
		}
	}
}

// anySetLimit reports whether a set of sets has a limit on its records.
func anySetLimit(sets map[string]config.SetSettings) bool {
	for _, st := range sets {
		if st.Limited() {
			return true
		}
	}
	return false
}

// StopWrites reports whether writes are refused because storage is full.
func (ns *Namespace) StopWrites() bool { return ns.stopWrites.Load() }

// evictBuckets is the resolution of the void-time histogram that picks
// which records to evict.
const evictBuckets = 4096

// Evict removes the records closest to expiry until the namespace's
// storage is below evict-used-pct, or evict-tenths-pct of its records are
// gone, as Aerospike does: records without a TTL are never evicted, nor
// those of a set with disable-eviction. It reads metadata only. It returns
// the number of records evicted.
func (ns *Namespace) Evict(ctx context.Context) (int, error) {
	cfg := ns.Config()
	limit, sets := cfg.EvictUsedPct, cfg.Sets
	if limit == 0 {
		return 0, nil
	}
	st, err := ns.backend.Stats(ctx)
	if err != nil {
		return 0, fmt.Errorf("evict: %w", err)
	}
	used := usedPct(&st)
	if used < 0 || used < limit || st.Records == 0 {
		return 0, nil
	}
	// Aim one percent under the threshold, so that eviction does not run
	// again at the next write.
	target := st.Capacity * uint64(max(limit-1, 0)) / 100
	avg := st.DataBytes / st.Records
	need := (st.DataBytes - min(target, st.DataBytes) + avg - 1) / max(avg, 1)
	if tenths := cfg.EvictTenthsPct; tenths > 0 {
		need = min(need, max(st.Records*uint64(tenths)/1000, 1))
	}
	cutoff, err := ns.evictCutoff(ctx, sets, need)
	if err != nil || cutoff == 0 {
		return 0, err
	}
	// Workers stop looking once the pass has evicted enough.
	var total atomic.Uint64
	type worker struct {
		victims []storage.Digest
		s       Scratch
	}
	_, err = EachPartition(ns, func(w *worker, pid uint16) error {
		if total.Load() >= need {
			return nil
		}
		w.victims = w.victims[:0]
		err := ns.backend.ScanPartition(ctx, pid, true, func(d storage.Digest, rec *storage.Record) error {
			if rec.VoidTime != 0 && rec.VoidTime <= cutoff && !sets[rec.Set].DisableEviction {
				w.victims = append(w.victims, d)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("evict: scan partition %d: %w", pid, err)
		}
		for _, d := range w.victims {
			if ns.evictOne(ctx, &w.s, d, sets, cutoff) {
				total.Add(1)
			}
		}
		return nil
	})
	evicted := int(total.Load())
	ns.Stats.Evicted.Add(uint64(evicted))
	if err != nil {
		return evicted, err
	}
	ns.log.Info("evicted records closest to expiry", "records", evicted, "void_time_cutoff", cutoff, "used_pct", used)
	return evicted, nil
}

// evictCutoff finds the void time at or before which at least need
// evictable records expire, from histograms of metadata scans: the first
// over the range of void times; while the bucket where need is reached
// spans more than a second, another over that bucket alone (records with a
// default TTL of days beside ones of minutes would otherwise share one
// bucket, and which of them went first would be chance).
func (ns *Namespace) evictCutoff(ctx context.Context, sets map[string]config.SetSettings, need uint64) (uint32, error) {
	c := ns.clock()
	type bounds struct{ lo, hi uint32 }
	ranges, err := eachVoidTime(ctx, ns, c, sets, func(w *bounds, v uint32) {
		if w.hi == 0 || v < w.lo {
			w.lo = v
		}
		w.hi = max(w.hi, v)
	})
	if err != nil {
		return 0, err
	}
	var lo, hi uint32 = ^uint32(0), 0
	for _, r := range ranges {
		if r.hi != 0 {
			lo, hi = min(lo, r.lo), max(hi, r.hi)
		}
	}
	if hi == 0 {
		return 0, nil
	}
	for {
		width := uint64(hi-lo)/evictBuckets + 1
		type counts struct{ hist [evictBuckets]uint64 }
		from, to := lo, hi
		parts, err := eachVoidTime(ctx, ns, c, sets, func(w *counts, v uint32) {
			if v >= from && v <= to {
				w.hist[min(uint64(v-from)/width, evictBuckets-1)]++
			}
		})
		if err != nil {
			return 0, err
		}
		var hist [evictBuckets]uint64
		for _, p := range parts {
			for i, n := range p.hist {
				hist[i] += n
			}
		}
		var n uint64
		i := 0
		for ; i < evictBuckets && n+hist[i] < need; i++ {
			n += hist[i]
		}
		if i == evictBuckets {
			return hi, nil
		}
		end := uint32(min(uint64(lo)+(uint64(i)+1)*width-1, uint64(hi)))
		if width == 1 {
			return end, nil
		}
		lo, hi, need = lo+uint32(uint64(i)*width), end, need-n
	}
}

// eachVoidTime calls fn with the void time of every live record that has
// one and may be evicted, each worker of the pass with its own state (see
// EachPartition).
func eachVoidTime[W any](ctx context.Context, ns *Namespace, c clock, sets map[string]config.SetSettings, fn func(w *W, void uint32)) ([]*W, error) {
	workers, err := EachPartition(ns, func(w *W, pid uint16) error {
		return ns.backend.ScanPartition(ctx, pid, true, func(_ storage.Digest, rec *storage.Record) error {
			if rec.VoidTime != 0 && !sets[rec.Set].DisableEviction && ns.live(&rec.Meta, c) {
				fn(w, rec.VoidTime)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("evict: %w", err)
	}
	return workers, nil
}

// evictOne removes a record still due for eviction, under its lock.
func (ns *Namespace) evictOne(ctx context.Context, s *Scratch, d storage.Digest, sets map[string]config.SetSettings, cutoff uint32) bool {
	mu := ns.lock(&d)
	mu.Lock()
	defer mu.Unlock()
	m, found, live, err := ns.getMeta(ctx, d, ns.clock())
	if err != nil || !found || !live || m.VoidTime == 0 || m.VoidTime > cutoff || sets[m.Set].DisableEviction {
		return false
	}
	if ns.indexed() {
		ns.unindexStored(ctx, s, d)
	}
	return ns.backend.Delete(ctx, d, false) == nil
}
