// Package record holds the record semantics of a namespace: per-record
// locking, record-exists and generation policies, TTL and expiry, the bin
// operations of a command, truncation and the namespace's counters. It turns
// a decoded command into calls on the namespace's storage backend.
package record

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/latency"
	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/internal/sysmem"
	"github.com/skiffdb/skiff/sdk/storage"
)

// lockStripes is the number of record locks of a namespace. A command locks
// the stripe of its digest for the read-modify-write of one record; more
// stripes than cores keeps unrelated records from contending.
const lockStripes = 1 << 12

// Namespace is one namespace of the node. Its methods are safe for
// concurrent use.
type Namespace struct {
	name string
	// cfg is the configuration in effect: set-config replaces it whole
	// (SetConfig), so a command reads one consistent version.
	cfg atomic.Pointer[config.Namespace]
	// cfgChanged wakes nsup to take up a new nsup-period.
	cfgChanged chan struct{}
	backend    storage.Backend
	meta       Metadata
	log        *slog.Logger
	now        func() time.Time
	sysMemory  func() (int, error)

	locks [lockStripes]sync.Mutex

	// truncateLUT is the namespace's truncation point: records last updated
	// at or before it (ns since the Unix epoch) are gone. 0 means none.
	truncateLUT atomic.Uint64
	sets        setTable
	binNames    binNames
	// stopWrites is set while storage is too full to take writes.
	stopWrites atomic.Bool
	idx        indexer
	repl       replication
	// background runs the work commands leave behind them (removing a
	// truncate's records, building an index), which ends with the context
	// they were given; Close waits for it.
	background sync.WaitGroup

	Stats Counters
	// Latency is the time the node takes to serve the namespace's
	// single-record commands, from request to reply; the server records it.
	Latency struct {
		Read, Write latency.Histogram
	}
}

// Counters are a namespace's totals since start, named as Aerospike names
// them in info and /metrics.
type Counters struct {
	ReadSuccess       atomic.Uint64 // client_read_success
	ReadNotFound      atomic.Uint64 // client_read_not_found
	ReadError         atomic.Uint64 // client_read_error
	ReadFilteredOut   atomic.Uint64 // client_read_filtered_out
	WriteSuccess      atomic.Uint64 // client_write_success
	WriteError        atomic.Uint64 // client_write_error
	WriteFilteredOut  atomic.Uint64 // client_write_filtered_out
	DeleteSuccess     atomic.Uint64 // client_delete_success
	DeleteNotFound    atomic.Uint64 // client_delete_not_found
	DeleteError       atomic.Uint64 // client_delete_error
	DeleteFilteredOut atomic.Uint64 // client_delete_filtered_out
	UDFComplete       atomic.Uint64 // client_udf_complete
	UDFError          atomic.Uint64 // client_udf_error
	Expired           atomic.Uint64 // expired_objects
	Evicted           atomic.Uint64 // evicted_objects
	Truncated         atomic.Uint64 // truncated_records
	ReadTouchSuccess  atomic.Uint64 // read_touch_success
	ReadTouchSkip     atomic.Uint64 // read_touch_skip
	ReadTouchError    atomic.Uint64 // read_touch_error
}

// Options are the parts of a namespace that are not configuration.
type Options struct {
	Backend storage.Backend
	// Metadata keeps the namespace's truncation points and index
	// definitions across restarts; nil forgets them.
	Metadata Metadata
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now. Tests move it to expire records.
	Now func() time.Time
	// SysMemoryUsedPct reads the share of the node's memory in use, for
	// stop-writes-sys-memory-pct; nil means sysmem.System.UsedPct.
	SysMemoryUsedPct func() (int, error)
}

// Metadata keeps what a namespace must remember across restarts besides
// its records (smd.Store): a change is saved before it takes effect.
// Deleting an index it does not hold does nothing.
type Metadata interface {
	SaveTruncate(ns, set string, before uint64) error
	SaveIndex(def sindex.Def) error
	DeleteIndex(ns, name string) error
}

// ErrNotSaved marks a change refused because the namespace's metadata could
// not keep it.
var ErrNotSaved = errors.New("not saved in the system metadata")

// New returns the namespace configured by cfg, storing its records in
// opts.Backend. The namespace owns the backend from then on.
func New(cfg *config.Namespace, opts Options) *Namespace {
	ns := &Namespace{
		name:       cfg.Name,
		cfgChanged: make(chan struct{}, 1),
		backend:    opts.Backend,
		meta:       opts.Metadata,
		log:        opts.Logger,
		now:        opts.Now,
		sysMemory:  opts.SysMemoryUsedPct,
	}
	if ns.sysMemory == nil {
		ns.sysMemory = sysmem.System.UsedPct
	}
	if ns.log == nil {
		ns.log = slog.Default()
	}
	ns.log = ns.log.With("namespace", cfg.Name)
	if ns.now == nil {
		ns.now = time.Now
	}
	c := *cfg
	ns.cfg.Store(&c)
	ns.sets.init()
	ns.sets.addConfigured(c.Sets)
	ns.idx.catalog = sindex.NewCatalog()
	return ns
}

// Name returns the namespace's name.
func (ns *Namespace) Name() string { return ns.name }

// ReadsWait reports whether a read waits for more than memory: a device,
// or a plugin process across a socket (not one whose index the node reads
// itself). A command that reads many records, such as a batch, then keeps
// several reads in flight rather than one.
func (ns *Namespace) ReadsWait() bool {
	cfg := ns.Config()
	if cfg.Storage.Type != "memory" {
		return true
	}
	if cfg.Storage.Mode != config.ModeProcess {
		return false
	}
	b, ok := ns.backend.(interface{ ReadsInPlace() bool })
	return !ok || !b.ReadsInPlace()
}

// WritesWait reports whether a write waits for more than memory: a device,
// or any plugin process. A pass that may write many records, such as nsup's
// or a background job, then keeps several in flight rather than one.
func (ns *Namespace) WritesWait() bool {
	cfg := ns.Config()
	return cfg.Storage.Type != "memory" || cfg.Storage.Mode == config.ModeProcess
}

// Config returns the namespace's configuration in effect. The caller must
// not modify it.
func (ns *Namespace) Config() *config.Namespace { return ns.cfg.Load() }

// SetConfig puts cfg in effect, as set-config does: it must be the
// namespace's configuration with only its dynamic settings changed
// (config.ChangeNamespace). Commands that started before keep the
// settings they read.
func (ns *Namespace) SetConfig(cfg *config.Namespace) {
	ns.sets.addConfigured(cfg.Sets)
	ns.cfg.Store(cfg)
	select {
	case ns.cfgChanged <- struct{}{}:
	default:
	}
}

// Backend returns the namespace's storage backend.
func (ns *Namespace) Backend() storage.Backend { return ns.backend }

// BackendFigures returns the names of st.Extra in order, less those the
// node derives from st's other fields (see storage.Stats.Extra): info and
// /metrics must not show one name twice.
func BackendFigures(st *storage.Stats) []string {
	names := make([]string, 0, len(st.Extra))
	for name := range st.Extra {
		switch name {
		case "objects", "data_used_bytes", "data_total_bytes", "data_used_pct", "index_used_bytes":
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Close waits for the namespace's background work, which its context
// should have ended, then closes the backend.
func (ns *Namespace) Close() error {
	ns.background.Wait()
	if err := ns.backend.Close(); err != nil {
		return fmt.Errorf("close namespace %s: %w", ns.name, err)
	}
	return nil
}

func (ns *Namespace) lock(d *storage.Digest) *sync.Mutex {
	return &ns.locks[binary.LittleEndian.Uint32(d[4:])&(lockStripes-1)]
}

// clock is the time of one command in the units records carry.
type clock struct {
	time    time.Time
	voidNow uint32 // seconds since the Aerospike epoch
	lut     uint64 // ns since the Unix epoch
}

func (ns *Namespace) clock() clock {
	t := ns.now()
	return clock{time: t, voidNow: uint32(t.Unix() - storage.EpochUnix), lut: uint64(t.UnixNano())}
}

// live reports whether a stored record is visible: not expired and not
// truncated.
func (ns *Namespace) live(m *storage.Meta, c clock) bool {
	if m.VoidTime != 0 && m.VoidTime < c.voidNow {
		return false
	}
	return !ns.truncated(m)
}

func (ns *Namespace) truncated(m *storage.Meta) bool {
	if m.LastUpdate <= ns.truncateLUT.Load() {
		return true
	}
	return m.LastUpdate <= ns.sets.truncateLUT(m.Set)
}

// getMeta reads a record's metadata; found reports whether the backend
// holds it at all, live whether it is visible.
func (ns *Namespace) getMeta(ctx context.Context, d storage.Digest, c clock) (m storage.Meta, found, live bool, err error) {
	m, err = ns.backend.GetMeta(ctx, d)
	if errors.Is(err, storage.ErrNotFound) {
		return m, false, false, nil
	}
	if err != nil {
		return m, false, false, err
	}
	return m, true, ns.live(&m, c), nil
}
