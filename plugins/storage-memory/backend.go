// Package memory is Skiff's memory storage backend: index and record data
// in RAM, sized for tens of millions of records with a garbage-collection
// cost that does not grow with their number. See Backend for the design and
// README.md for measured figures.
package memory

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sets"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// MaxRecordSize is the largest record (storage.Record.Size) the backend
// stores: the node's largest max-record-size.
const MaxRecordSize = 128 << 20

// Options configures a Backend.
type Options struct {
	// DataSize is the capacity for record data, in bytes: Put returns
	// storage.ErrOutOfSpace when a write would take Stats.DataBytes past it.
	// Zero means unbounded.
	DataSize int64
	// RegionFile, when set, is a file on a tmpfs (/dev/shm) where the
	// backend keeps its index and records instead of a memory file of its
	// own, so that they outlive its process: a backend opened on a file
	// that holds a region resumes its records (see Resume), across
	// restarts of the node, not of the machine. One process at a time may
	// use the file.
	RegionFile string
	// SnapshotFile, when set, is where a clean Close saves the region (its
	// pages in use, in a sparse file), and where New finds a saved one to
	// resume, so that the records outlive the machine's memory: a reboot, a
	// redeployed container with a persistent volume. New removes the file
	// it loaded, so that a crash later cannot bring back its stale records.
	// With RegionFile too, the region file is resumed where it survived
	// (after a restart of the node), and the snapshot loaded into it where
	// it did not (after a reboot). Linux only.
	SnapshotFile string
}

// Backend is a namespace's storage in memory. It implements
// storage.Backend; all its methods are safe for concurrent use.
//
// # Index
//
// The index is split by partition: 4096 tables, each under its own
// RWMutex, so that operations on different partitions never contend and a
// scan locks one partition only. A table is an open-addressing hash table
// of 48-byte entries (see table), which hold no Go pointer: the garbage
// collector does not scan them, and they cost 60 to 80 bytes per record.
//
// # Data
//
// A record's key and bins live in a slot of a slab (see allocator): up to
// 1 MiB cut into slots of one size class. The entry's location names the
// slab and slot, so there is no heap object per record. Records larger than
// the largest class (128 KiB) get a dedicated slab. Stats.DataBytes counts
// the slots in use at their class size, and the DataSize limit applies to
// that figure. The partitions' tables take slots of the same allocator.
//
// # Shared with the node
//
// Slabs are not in the Go heap but in a region of a memory file
// (sharedindex.Region), laid out as sharedindex says: the node maps it
// read-only and answers Get and GetMeta itself, without a round trip to the
// plugin process. Every change to a partition (its table, an entry, a slot
// its entries point to) happens between the region's BeginWrite and
// EndWrite for that partition, under the partition's write lock, so that a
// reader who saw the partition change reads again. The region reserves
// address space only (regionSize); memory is taken as slabs are touched and
// given back when a slab is freed.
//
// An overwrite that needs the same slot size writes in place: Get, GetMeta
// and such a Put do not allocate.
//
// # Locking
//
// Every read of a record's entry or slot happens under its partition's read
// lock, every change under its write lock, so a slot is never freed or
// reused while read. The allocator's shard locks and the slab table's lock
// nest inside a partition lock, in that order. Close takes each partition's
// write lock in turn and marks the backend closed; every method checks the
// mark under the partition lock, so none touches the region once Close
// unmaps it.
//
// # Scans
//
// ScanPartition copies the partition's entries under its read lock, then,
// for data scans, copies the records' bytes in batches, releasing the lock
// before it calls the callback. Records present for the whole scan are in
// the copy of the entries, so each is delivered once.
type Backend struct {
	parts    [storage.Partitions]partition
	region   *sharedindex.Region
	seed     uint64 // mixed into index hashes
	capacity int64
	// snapshotFile is Options.SnapshotFile, for Close.
	snapshotFile string
	used         atomic.Int64 // bytes of slots in use
	sets         sets.Table
	alloc        allocator
	closed       atomic.Bool
	// published marks the set ids whose names are in the region.
	published [sets.Max + 1]atomic.Bool
}

// partition is one partition's share of the index.
type partition struct {
	mu    sync.RWMutex
	table table
	// Pad to a cache line, so that partitions' locks do not share one.
	_ [64 - unsafe.Sizeof(partitionFields{})%64]byte
}

// partitionFields is partition without its padding, to size it.
type partitionFields struct {
	mu    sync.RWMutex
	table table
}

var _ storage.Backend = (*Backend)(nil)

// New returns an empty Backend.
func New(opts Options) (*Backend, error) {
	if opts.DataSize < 0 {
		return nil, fmt.Errorf("memory: data size %d is negative", opts.DataSize)
	}
	switch {
	case opts.RegionFile != "":
		return openFile(opts)
	case opts.SnapshotFile != "":
		return openSnapshot(opts)
	}
	return newIn(opts, regionSize(opts.DataSize), sharedindex.CreateUpTo)
}

// newIn returns an empty backend in a region of size bytes that create
// makes, given its size, its directory's length for a size, and its hash
// seed.
func newIn(opts Options, size int, create func(size int, dirLen func(int) int, seed uint64) (*sharedindex.Region, error)) (*Backend, error) {
	b := &Backend{seed: rand.Uint64(), capacity: opts.DataSize, snapshotFile: opts.SnapshotFile}
	region, err := create(size, dirLen, b.seed)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	region.SetFormat(regionFormat())
	b.region = region
	b.alloc.init(region)
	return b, nil
}

// dirLen is the length of the slab directory of a region of size bytes.
// Slabs of records take 64 KiB or more; a table may take less, but a
// partition has at most two at once (while it grows).
func dirLen(size int) int { return size/slabMinBytes + 2*storage.Partitions + 2 }

// regionSize is the address space a backend of capacity bytes reserves for
// its slabs: four times its capacity, for the index and for slabs' free
// slots, and a terabyte when unbounded. Only memory in use is backed.
func regionSize(capacity int64) int {
	const unbounded = 1 << 40
	if capacity <= 0 || capacity > unbounded/4 {
		return unbounded
	}
	return int(4*capacity) + 1<<30
}

// SharedIndex returns the region holding the backend's index and records,
// which a plugin server offers the node to read (see sharedindex).
func (b *Backend) SharedIndex() *sharedindex.Region { return b.region }

// tableMem is what partition pid's table needs to move.
func (b *Backend) tableMem(pid uint16) tableMem {
	return tableMem{alloc: &b.alloc, region: b.region, pid: pid, seed: b.seed}
}

// lock takes partition pid's write lock to change the record with digest
// d, and tells the node's readers that the partition changes, and a process
// resuming the region after this one died which record was changing. It
// fails, holding no lock, once the backend is closed: the region may be
// gone.
func (b *Backend) lock(p *partition, pid uint16, d *storage.Digest) error {
	p.mu.Lock()
	if b.closed.Load() {
		p.mu.Unlock()
		return storage.ErrClosed
	}
	b.region.BeginWriteOf(pid, pendingOf(d))
	return nil
}

// pendingOf is what a partition's pending word holds while the record with
// digest d changes.
func pendingOf(d *storage.Digest) uint64 { return binary.LittleEndian.Uint64(d[:8]) }

func (b *Backend) unlock(p *partition, pid uint16) {
	b.region.EndWrite(pid)
	p.mu.Unlock()
}

func (b *Backend) partition(d *storage.Digest) (*partition, uint16) {
	pid := d.Partition()
	return &b.parts[pid], pid
}

// Get returns the record with digest d; see storage.Backend.
func (b *Backend) Get(_ context.Context, d storage.Digest, buf []byte) (storage.Record, error) {
	for {
		rec, need, err := b.get(&d, buf)
		if need == 0 {
			return rec, err
		}
		// Allocate without the lock, then try again: the record may have
		// changed meanwhile.
		buf = make([]byte, need)
	}
}

// get copies the record with digest d into buf, or, when cap(buf) is too
// small, returns the size it needs.
func (b *Backend) get(d *storage.Digest, buf []byte) (rec storage.Record, need int, err error) {
	p, _ := b.partition(d)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if b.closed.Load() {
		return rec, 0, storage.ErrClosed
	}
	i, ok := p.table.find(d, b.seed)
	if !ok {
		// Unwrapped: a miss is common and must not allocate.
		return rec, 0, storage.ErrNotFound
	}
	e := &p.table.slots[i]
	key, bins := readBlob(b.alloc.slot(e.loc))
	n := len(key) + len(bins)
	if cap(buf) < n {
		return rec, n, nil
	}
	buf = buf[:n]
	copy(buf, key)
	copy(buf[len(key):], bins)
	rec.Meta = b.meta(e)
	rec.Key = buf[:len(key):len(key)]
	rec.Bins = buf[len(key):n:n]
	return rec, 0, nil
}

// GetMeta returns the metadata of the record with digest d.
func (b *Backend) GetMeta(_ context.Context, d storage.Digest) (storage.Meta, error) {
	p, _ := b.partition(&d)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if b.closed.Load() {
		return storage.Meta{}, storage.ErrClosed
	}
	i, ok := p.table.find(&d, b.seed)
	if !ok {
		return storage.Meta{}, storage.ErrNotFound
	}
	return b.meta(&p.table.slots[i]), nil
}

func (b *Backend) meta(e *entry) storage.Meta {
	return storage.Meta{
		Generation: e.generation,
		VoidTime:   e.voidTime,
		LastUpdate: e.lastUpdate,
		Set:        b.sets.Name(e.setID),
		HasKey:     e.hasKey,
	}
}

// Put stores rec under digest d; see storage.Backend.
func (b *Backend) Put(_ context.Context, d storage.Digest, rec storage.Record) error {
	n := blobSize(len(rec.Key), len(rec.Bins))
	size := slotSizeFor(n)
	if rec.Size() > MaxRecordSize || b.capacity > 0 && int64(size) > b.capacity {
		return fmt.Errorf("memory: put %x: record of %d bytes (%d stored) exceeds the limit of %d or capacity of %d: %w",
			d, rec.Size(), size, MaxRecordSize, b.capacity, storage.ErrRecordTooBig)
	}
	setID, err := b.sets.ID(rec.Set)
	if err != nil {
		return fmt.Errorf("memory: put %x: %w", d, err)
	}
	p, pid := b.partition(&d)
	if err := b.lock(p, pid, &d); err != nil {
		return err
	}
	defer b.unlock(p, pid)
	if !b.published[setID].Load() {
		b.region.PublishSet(setID, rec.Set)
		b.published[setID].Store(true)
	}
	e := entry{
		digest:     d,
		setID:      setID,
		hasKey:     len(rec.Key) > 0,
		generation: rec.Generation,
		voidTime:   rec.VoidTime,
		lastUpdate: rec.LastUpdate,
	}
	i, found := p.table.find(&d, b.seed)
	var old location
	oldSize := 0
	if found {
		old = p.table.slots[i].loc
		oldSize = b.alloc.slotSize(old)
	}
	if found && oldSize == size {
		// Same slot size: overwrite in place, no allocation.
		writeBlob(b.alloc.slot(old), rec.Key, rec.Bins)
		e.loc = old
		b.recount(p.table.slots[i].setID, oldSize, setID, size)
		setEntry(&p.table.slots[i], e)
		return nil
	}
	if err := b.charge(size - oldSize); err != nil {
		return fmt.Errorf("memory: put %x: %w", d, err)
	}
	if e.loc, err = b.alloc.alloc(pid, n); err != nil {
		b.used.Add(int64(oldSize - size)) // undo the charge
		return fmt.Errorf("memory: put %x: %w", d, err)
	}
	writeBlob(b.alloc.slot(e.loc), rec.Key, rec.Bins)
	if found {
		b.recount(p.table.slots[i].setID, oldSize, setID, size)
		setEntry(&p.table.slots[i], e)
		b.alloc.free(old)
	} else {
		if err := p.table.insert(i, e, b.tableMem(pid)); err != nil {
			b.alloc.free(e.loc)
			b.used.Add(int64(-size))
			return fmt.Errorf("memory: put %x: index: %w", d, err)
		}
		b.sets.Add(setID, 1, int64(size))
	}
	return nil
}

// recount moves an overwritten record's figures from its old set and size
// to its new ones.
func (b *Backend) recount(oldSet uint16, oldSize int, newSet uint16, newSize int) {
	if oldSet == newSet {
		if oldSize != newSize {
			b.sets.Add(newSet, 0, int64(newSize-oldSize))
		}
		return
	}
	b.sets.Add(oldSet, -1, -int64(oldSize))
	b.sets.Add(newSet, 1, int64(newSize))
}

// charge adds n bytes to the data in use, or fails with ErrOutOfSpace if
// that would exceed the capacity. A negative n, a record shrinking, always
// succeeds.
func (b *Backend) charge(n int) error {
	if n <= 0 || b.capacity == 0 {
		b.used.Add(int64(n))
		return nil
	}
	for {
		used := b.used.Load()
		if used+int64(n) > b.capacity {
			return fmt.Errorf("%d of %d bytes used, %d more needed: %w", used, b.capacity, n, storage.ErrOutOfSpace)
		}
		if b.used.CompareAndSwap(used, used+int64(n)) {
			return nil
		}
	}
}

// Delete removes the record with digest d. The memory backend keeps
// nothing across restarts, so durable changes nothing.
func (b *Backend) Delete(_ context.Context, d storage.Digest, _ bool) error {
	p, pid := b.partition(&d)
	if err := b.lock(p, pid, &d); err != nil {
		return err
	}
	defer b.unlock(p, pid)
	i, ok := p.table.find(&d, b.seed)
	if !ok {
		return storage.ErrNotFound
	}
	loc := p.table.slots[i].loc
	size := b.alloc.slotSize(loc)
	b.sets.Add(p.table.slots[i].setID, -1, -int64(size))
	p.table.remove(i, b.tableMem(pid))
	b.used.Add(int64(-size))
	b.alloc.free(loc)
	return nil
}

// Stats returns the backend's figures. IndexBytes counts the partitions'
// tables at their allocated size and the partitions' headers; it leaves out
// the interned set names and the slab table (a 128 KiB directory and 56
// bytes per slab of up to 1 MiB).
func (b *Backend) Stats(context.Context) (storage.Stats, error) {
	if b.closed.Load() {
		return storage.Stats{}, storage.ErrClosed
	}
	var records, slots int
	for i := range b.parts {
		p := &b.parts[i]
		p.mu.RLock()
		records += p.table.count
		slots += len(p.table.slots)
		p.mu.RUnlock()
	}
	return storage.Stats{
		Records:    uint64(records),
		DataBytes:  uint64(b.used.Load()),
		IndexBytes: uint64(slots*entrySize + int(unsafe.Sizeof(b.parts))),
		Capacity:   uint64(b.capacity),
		Sets:       b.sets.Stats(),
	}, nil
}

// Close releases all records. Later calls return storage.ErrClosed.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return storage.ErrClosed
	}
	// Wait out the calls in progress, partition by partition; later ones
	// see the closed mark under the lock and touch nothing. The node's
	// readers find every partition changing from now on, and ask the
	// backend, which answers that it is closed.
	for i := range b.parts {
		p := &b.parts[i]
		p.mu.Lock()
		b.region.Abandon(uint16(i))
		p.table = table{}
		p.mu.Unlock()
	}
	// Nothing was changing: a backend resuming the region (its file's)
	// need leave no record out.
	b.region.MarkClosed()
	if b.snapshotFile != "" {
		start := time.Now()
		if err := b.region.SaveTo(b.snapshotFile); err != nil {
			slog.Warn("memory backend: records not saved: the next start is empty", "file", b.snapshotFile, "err", err)
		} else {
			slog.Info("memory backend saved its records", "file", b.snapshotFile, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	b.alloc.release()
	b.used.Store(0)
	return b.region.Close()
}
