// Package replication is the node's side of XDR: for each namespace of
// each xdr dc block, a link that ships the namespace's commits to a
// transport (sdk/xdr) and applies the peers' changes the transport
// delivers, resolving conflicts as configured.
//
// Shipping is asynchronous and bounded: a commit is queued without
// blocking the write (transaction-queue-limit changes per link). When the
// queue is full,
// for instance while the transport is down for long, the link drops
// changes and remembers the oldest one's time; once it catches up, it
// re-ships every record of the namespace updated since (a recovery scan),
// so a write is not lost, though deletes made meanwhile are (the records
// stay on the peers until changed again).
package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/xdr"
)

// Limits of a link.
const (
	batchSize   = 512
	minBackoff  = 50 * time.Millisecond
	maxBackoff  = 5 * time.Second
	recoverySet = 256 // changes a recovery scan ships at once
)

// OpenFunc opens a dc's transport for one namespace.
type OpenFunc func(ctx context.Context, dc *config.DC, cfg xdr.Config) (xdr.Transport, error)

// Manager runs the links of a node.
type Manager struct {
	links  []*Link
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start opens a link per namespace of each dc and starts shipping and
// applying. node is the node's id, the origin of its changes.
func Start(ctx context.Context, dcs []*config.DC, node string, namespaces map[string]*record.Namespace, open OpenFunc, log *slog.Logger) (*Manager, error) {
	runCtx, cancel := context.WithCancel(context.Background())
	m := &Manager{cancel: cancel}
	for _, dc := range dcs {
		for _, x := range dc.Namespaces {
			ns := namespaces[x.Name]
			if ns == nil {
				m.Close()
				return nil, fmt.Errorf("xdr dc %s: no namespace %s", dc.Name, x.Name)
			}
			cfg := xdr.Config{DC: dc.Name, Namespace: x.Name, Node: node, URLs: dc.URLs, Settings: dc.Settings}
			reopen := func(ctx context.Context) (xdr.Transport, error) { return open(ctx, dc, cfg) }
			t, err := reopen(ctx)
			if err != nil {
				m.Close()
				return nil, fmt.Errorf("xdr dc %s namespace %s (%s:%d): %w", dc.Name, x.Name, dc.File, dc.Line, err)
			}
			l := &Link{dc: dc, x: x, ns: ns, node: node, open: reopen, queue: make(chan *xdr.Change, x.QueueLimit),
				log: log.With("xdr-dc", dc.Name, "namespace", x.Name)}
			l.t.Store(&t)
			if x.ConflictResolution == "generation" {
				l.rule = record.GenerationWins
			}
			m.links = append(m.links, l)
			ns.AddChangeSink(l)
			m.wg.Go(func() { l.ship(runCtx) })
			m.wg.Go(func() { l.receive(runCtx) })
		}
	}
	return m, nil
}

// Close stops the links and closes their transports. Changes still queued
// are lost to the peers until the records change again or are rewound.
func (m *Manager) Close() {
	m.cancel()
	m.wg.Wait()
	for _, l := range m.links {
		if err := l.transport().Close(); err != nil {
			l.log.Warn("closing the xdr transport", "err", err)
		}
	}
}

// Links returns the links, in configuration order.
func (m *Manager) Links() []*Link { return m.links }

// Link replicates one namespace with one dc.
type Link struct {
	dc   *config.DC
	x    *config.XDRNamespace
	ns   *record.Namespace
	node string
	rule int
	log  *slog.Logger
	// t is the transport; open makes a new one when a plugin process dies.
	t      atomic.Pointer[xdr.Transport]
	open   func(context.Context) (xdr.Transport, error)
	openMu sync.Mutex

	queue chan *xdr.Change
	// recoverFrom, when not 0, is the last-update time from which records
	// must be shipped again: changes from then on were dropped.
	recoverFrom atomic.Uint64
	// rewindSet limits the next recovery to a set, for a rewind.
	rewindSetMu sync.Mutex
	rewindSet   string

	Stats Counters
	// lags holds the lag of the last lagSamples changes applied: the time
	// from a change's commit on its origin to its apply here, in ns.
	lags    [lagSamples]atomic.Int64
	lagNext atomic.Uint64
}

// lagSamples is how many recent lags a link keeps for its percentiles.
const lagSamples = 16384

func (l *Link) observeLag(d time.Duration) {
	l.lags[l.lagNext.Add(1)%lagSamples].Store(int64(d))
}

// LagQuantile is the q-th quantile (0 < q ≤ 1) of the lags of the last
// changes applied (up to lagSamples), 0 before any.
func (l *Link) LagQuantile(q float64) time.Duration {
	n := min(l.lagNext.Load(), lagSamples)
	if n == 0 {
		return 0
	}
	s := make([]int64, 0, n)
	for i := range n {
		s = append(s, l.lags[(i+1)%lagSamples].Load())
	}
	slices.Sort(s)
	return time.Duration(s[min(int(q*float64(n)), int(n)-1)])
}

// Counters are a link's totals.
type Counters struct {
	Shipped, ShipErrors, Dropped, Recoveries atomic.Uint64
	Applied, Conflicts, ApplyErrors          atomic.Uint64
	// LastLag is the lag of the last change applied, in nanoseconds.
	LastLag atomic.Int64
}

// DC and Namespace name the link.
func (l *Link) DC() string        { return l.dc.Name }
func (l *Link) Namespace() string { return l.x.Name }

// Queued is how many changes wait to be shipped.
func (l *Link) Queued() int { return len(l.queue) }

// Transport returns the figures of the link's transport.
func (l *Link) Transport(ctx context.Context) (xdr.Stats, error) { return l.transport().Stats(ctx) }

func (l *Link) transport() xdr.Transport { return *l.t.Load() }

// mend replaces a transport whose plugin process has died, so that the
// link goes on once a new one starts; other failures are the transport's
// to recover from.
func (l *Link) mend(ctx context.Context, failed xdr.Transport) {
	p, ok := failed.(interface{ Broken() <-chan struct{} })
	if !ok {
		return
	}
	select {
	case <-p.Broken():
	default:
		return
	}
	l.openMu.Lock()
	defer l.openMu.Unlock()
	if l.transport() != failed {
		return // the other loop mended it
	}
	failed.Close()
	t, err := l.open(ctx)
	if err != nil {
		l.log.Error("xdr transport plugin does not restart", "err", err)
		return
	}
	l.log.Warn("xdr transport plugin restarted")
	l.t.Store(&t)
}

// WantsChangedBins implements record.ChangeSink.
func (l *Link) WantsChangedBins() bool { return l.x.BinPolicy == "only-changed" }

// Changed implements record.ChangeSink: it queues a copy of the change,
// without blocking.
func (l *Link) Changed(c *record.Commit) {
	if c.Kind != xdr.Truncate || c.Set != "" {
		if !l.x.Ships(c.Set) {
			return
		}
	}
	ch := &xdr.Change{Kind: c.Kind, Namespace: c.Namespace, Set: c.Set, Digest: c.Digest,
		Generation: c.Generation, VoidTime: c.VoidTime, LastUpdate: c.LastUpdate, Origin: l.node}
	bins := c.Bins
	if c.ChangedBins != nil && l.WantsChangedBins() {
		bins, ch.Partial = c.ChangedBins, true
	}
	// One allocation for the key and the bins.
	buf := make([]byte, len(c.Key)+len(bins))
	ch.Key, ch.Bins = buf[:len(c.Key):len(c.Key)], buf[len(c.Key):]
	copy(ch.Key, c.Key)
	copy(ch.Bins, bins)
	if len(c.Key) == 0 {
		ch.Key = nil
	}
	if c.Kind == xdr.Delete {
		ch.Bins = nil
	}
	select {
	case l.queue <- ch:
	default:
		if l.recoverFrom.CompareAndSwap(0, max(c.LastUpdate, 1)) {
			l.log.Warn("xdr queue full: dropping changes; the records will be shipped again once the link catches up", "transaction-queue-limit", cap(l.queue))
		}
		l.Stats.Dropped.Add(1)
	}
}

// Rewind re-ships every record of set ("" for the whole namespace), as
// they stand now.
func (l *Link) Rewind(set string) {
	l.recoverFrom.Store(1)
	l.rewindSetMu.Lock()
	l.rewindSet = set
	l.rewindSetMu.Unlock()
}

// ship sends queued changes to the transport, in batches, retrying a
// batch until it is durable there.
func (l *Link) ship(ctx context.Context) {
	batch := make([]xdr.Change, 0, batchSize)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case ch := <-l.queue:
			batch = append(batch, *ch)
		case <-time.After(100 * time.Millisecond):
			if l.recoverFrom.Load() != 0 && len(l.queue) == 0 {
				l.recover(ctx)
			}
			continue
		}
	fill:
		for len(batch) < batchSize {
			select {
			case ch := <-l.queue:
				batch = append(batch, *ch)
			default:
				break fill
			}
		}
		if !l.shipBatch(ctx, batch) {
			return
		}
		if l.recoverFrom.Load() != 0 && len(l.queue) == 0 {
			l.recover(ctx)
		}
	}
}

// shipBatch ships a batch until the transport takes it; false when ctx
// ends first.
func (l *Link) shipBatch(ctx context.Context, batch []xdr.Change) bool {
	backoff := minBackoff
	for {
		t := l.transport()
		err := t.Ship(ctx, batch)
		if err == nil {
			l.Stats.Shipped.Add(uint64(len(batch)))
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if l.Stats.ShipErrors.Add(1)%100 == 1 {
			l.log.Warn("xdr ship failed; retrying", "changes", len(batch), "err", err)
		}
		l.mend(ctx, t)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// recover re-ships the records updated since the oldest dropped change,
// or those of a rewound set.
func (l *Link) recover(ctx context.Context) {
	from := l.recoverFrom.Swap(0)
	l.rewindSetMu.Lock()
	onlySet := l.rewindSet
	l.rewindSet = ""
	l.rewindSetMu.Unlock()
	l.Stats.Recoveries.Add(1)
	l.log.Info("xdr re-shipping records", "updated-since", time.Unix(0, int64(from)), "set", onlySet)
	// Partitions are scanned several at once where reads wait; their
	// batches take turns in the transport, which ships one at a time.
	var shipMu sync.Mutex
	ship := func(batch []xdr.Change) bool {
		shipMu.Lock()
		defer shipMu.Unlock()
		return l.shipBatch(ctx, batch)
	}
	type worker struct {
		buf   record.ScanBuffer
		batch []xdr.Change
		n     int
	}
	filter := record.ScanFilter{Set: []byte(onlySet)}
	workers, err := record.EachPartition(l.ns, func(w *worker, pid uint16) error {
		return l.ns.ScanPartition(ctx, pid, filter, &w.buf, func(d storage.Digest, rec *storage.Record) error {
			if rec.LastUpdate < from || !l.x.Ships(rec.Set) {
				return nil
			}
			w.batch = append(w.batch, xdr.Change{Kind: xdr.Write, Namespace: l.x.Name, Set: rec.Set, Digest: d,
				Key: append([]byte(nil), rec.Key...), Bins: append([]byte(nil), rec.Bins...),
				Generation: rec.Generation, VoidTime: rec.VoidTime, LastUpdate: rec.LastUpdate, Origin: l.node})
			if len(w.batch) == recoverySet {
				if !ship(w.batch) {
					return ctx.Err()
				}
				w.n += len(w.batch)
				w.batch = w.batch[:0]
			}
			return nil
		})
	})
	if err != nil {
		if ctx.Err() == nil {
			l.log.Error("xdr re-shipping failed; will retry", "err", err)
			l.recoverFrom.CompareAndSwap(0, max(from, 1))
		}
		return
	}
	n := 0
	for _, w := range workers {
		if len(w.batch) > 0 && ship(w.batch) {
			w.n += len(w.batch)
		}
		n += w.n
	}
	l.log.Info("xdr re-shipped records", "records", n)
}

// receive applies the peers' changes the transport delivers, until ctx
// ends.
func (l *Link) receive(ctx context.Context) {
	var s record.Scratch
	apply := func(batch []xdr.Change) error {
		for i := range batch {
			ch := &batch[i]
			if ch.Namespace != l.x.Name {
				continue
			}
			switch err := l.ns.ApplyChange(ctx, &s, ch, l.rule); {
			case err == nil:
				l.Stats.Applied.Add(1)
			case errors.Is(err, record.ErrStale):
				l.Stats.Conflicts.Add(1)
			default:
				l.Stats.ApplyErrors.Add(1)
				return fmt.Errorf("apply a change of %s: %w", ch.Origin, err)
			}
			if ch.Kind != xdr.Truncate {
				lag := time.Since(time.Unix(0, int64(ch.LastUpdate)))
				l.observeLag(lag)
				l.Stats.LastLag.Store(int64(lag))
			}
		}
		return nil
	}
	backoff := minBackoff
	for {
		t := l.transport()
		err := t.Receive(ctx, apply)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("xdr receive stopped; restarting", "err", err)
		l.mend(ctx, t)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
