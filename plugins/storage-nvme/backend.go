package nvme

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/sets"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// Backend is a namespace's storage on devices and files: records in
// log-structured write blocks, the index in DRAM or on a flash mount. It
// implements storage.Backend; all its methods are safe for concurrent use.
//
// # Index
//
// 4096 partition tables, each under its own RWMutex, of 48-byte entries
// that hold no Go pointer (index.go): digest, set id, generation, void
// time, last-update time and the record's location (device, block, offset,
// size). Tombstones of durable deletes are entries too, flagged, invisible
// to reads and scans.
//
// # Writes
//
// Put encodes the record (layout.go) straight into the write buffer of the
// device its digest stripes to, under its partition's lock, so that the
// write sequence it stamps on the record follows the order of writes to a
// digest; then it re-points the entry. The old copy's bytes become dead
// space in their block. The flusher (flush.go) writes buffers; with
// commit-to-device, Put waits for its record to be synced (group commit).
//
// # Space
//
// A block is free, or holds one incarnation of records, identified by its
// block sequence. Blocks whose live bytes fall under defrag-lwm-pct are
// defragmented (defrag.go); empty ones are released once every write that
// superseded their records is on the device (device.go). User writes may
// not take the last few free blocks (the reserve), which the defragmenter
// needs to make progress; when they would, Put returns ErrOutOfSpace.
//
// # Restart
//
// Cold start (coldstart.go) reads every block and rebuilds the index,
// keeping each digest's copy with the highest write sequence. After a clean
// stop with Options.Snapshot, a warm start loads the index that stop wrote
// instead (snapshot.go). See README.md for the guarantees.
type Backend struct {
	opts     Options
	log      *slog.Logger
	parts    [storage.Partitions]partition
	hashSeed uint64 // mixed into index hashes
	slots    slotAlloc
	sets     sets.Table
	devs     []*device

	// The shared index (shared.go): the region holding the tables, in a
	// memory file or a region file (with index-type flash, on the mount);
	// shared once it is offered to the node; published[id] once set id's
	// name is in the region.
	region    *sharedindex.Region
	shared    bool
	published [sets.Max + 1]atomic.Bool
	// journal hands out and lists the write buffers (journal.go), in the
	// region or the write-buffer-file; nil with neither.
	journal *journal

	instance uint64 // shared by the devices, in every header
	seed     uint32 // checksum seed derived from instance
	lwm      int32  // defrag threshold in live bytes
	// maxWriteQ is how many sealed buffers a device may have waiting for
	// the flusher before writes fail (admit); overloads counts those
	// refused, and overloadWarned is when a warning last said so.
	maxWriteQ      int32
	overloads      atomic.Uint64
	overloadWarned atomic.Int64
	// binsIn and binsStored add up the bins of the records written with
	// compression on, before and after it (device_compression_ratio).
	binsIn, binsStored atomic.Int64

	// Block and write sequences: the last one handed out. In the region's
	// state section with index-type dram (resume.go), with the blocks'
	// incarnations (device.seq, diskSeq).
	nextSeq *atomic.Uint64
	wseq    *atomic.Uint64
	state   indexState // mem nil without a region
	// epoch names the region's index on the devices (their region marks),
	// 0 without a region.
	epoch uint64

	// The release barrier (device.go).
	pmu      sync.Mutex
	pending  []pendingFree
	npending atomic.Int64
	ticket   atomic.Uint64

	floorMu  sync.Mutex
	floorVal diskFloor
	floorAt  time.Time

	// Figures.
	records           atomic.Int64
	tombstones        atomic.Int64
	dataBytes         atomic.Int64 // records' encoded bytes
	reads             atomic.Int64
	cacheHits         atomic.Int64
	devReads          atomic.Int64
	writes            atomic.Int64
	syncs             atomic.Int64
	defragReads       atomic.Int64
	defragWrites      atomic.Int64
	defragMoved       atomic.Int64
	corrupt           atomic.Int64
	torn              atomic.Int64
	tombstonesDropped atomic.Int64
	rates             rateWindow
	coldStart         time.Duration
	warm              bool // the index came from a snapshot (snapshot.go)
	resumed           bool // the index was a dead process's (resume.go)

	closed     atomic.Bool
	stop       chan struct{} // closed by Close to stop the goroutines
	flushStop  chan struct{}
	defragDone chan struct{}
	sampleDone chan struct{}
}

// partition is one partition's share of the index.
type partition struct {
	mu    sync.RWMutex
	table table
	tombs int // tombstones in the table
	pid   uint16
	// seq names the change in progress under the write lock, with the
	// shared index (its sequence word); slots allocates the table's slots
	// for changes (resume.go).
	seq   uint64
	slots partSlots
	_     [64 - unsafe.Sizeof(partitionFields{})%64]byte
}

type partitionFields struct {
	mu    sync.RWMutex
	table table
	tombs int
	pid   uint16
	seq   uint64
	slots partSlots
}

var _ storage.Backend = (*Backend)(nil)

// New opens the devices and files of opts, formatting those without a
// header, rebuilds the index from what they hold, and starts the flushers
// and defragmenters.
func New(opts Options) (*Backend, error) { return newBackend(opts, nil) }

// newBackend is New, first writing to the devices what the write buffers
// listed in left held, if not nil: the region a dead process of the
// backend left (journal.go), which it then makes its own, taking over the
// index it holds (resume.go), or else discards.
func newBackend(opts Options, left *sharedindex.Region) (*Backend, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	path, setting := opts.regionFile()
	if path == "" {
		return open(opts, left, -1)
	}
	// The region file: handed over as left after a crash of the plugin
	// process (the node's copy holds its lock), else opened here.
	var fd int
	var err error
	if left != nil {
		fd, err = dupFile(left.FD())
	} else {
		var size int64
		fd, size, err = openRegionFile(opts, path, setting)
		if err == nil && size > 0 {
			left = adoptFile(fd, opts, path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("nvme: namespace %s: %w", opts.Namespace, err)
	}
	b, err := open(opts, left, fd)
	closeFile(fd)
	return b, err
}

// openRegionFile opens and locks the region file at path, which setting
// names: a region-file on a tmpfs, or a file on the index's flash mount.
// It returns the file's size, 0 for a new one.
func openRegionFile(opts Options, path, setting string) (fd int, size int64, err error) {
	// Room for the write buffers, and some for the index; the index grows
	// with the records (about 60 bytes each).
	var need int64 = 64 << 20
	if opts.WriteBufferFile == "" {
		_, n := journalLayout(journalSlots(&opts, len(opts.Devices)+len(opts.Files)), opts.WriteBlockSize)
		need += int64(n)
	}
	if setting == "region-file" {
		return sharedindex.OpenFile(setting, path, need)
	}
	// The mount must be there: the file is not to land on the disk under
	// a mount point.
	if st, err := os.Stat(opts.IndexMount); err != nil || !st.IsDir() {
		return -1, 0, fmt.Errorf("index-mount %s: not a directory", opts.IndexMount)
	}
	return sharedindex.OpenDiskFile(setting, path, need)
}

// adoptFile maps the region in the region file fd, at path, for a start
// to take over, through a copy of the descriptor; nil, with a warning, if
// there is none that can be.
func adoptFile(fd int, opts Options, path string) *sharedindex.Region {
	dup, err := dupFile(fd)
	var region *sharedindex.Region
	if err == nil {
		region, err = sharedindex.Adopt(dup)
	}
	if err == nil && region.Kind() != sharedindex.KindDevice {
		region.Close()
		err = fmt.Errorf("a region of kind %d", region.Kind())
	}
	if err != nil {
		opts.Logger.Warn("nvme: the region file holds no index to take over: reading the devices", "namespace", opts.Namespace, "file", path, "err", err)
		return nil
	}
	return region
}

// open is New, on the region left if not nil (see newBackend), with the
// index in the region file fd (opened and locked; the caller's) unless it
// is negative.
func open(opts Options, left *sharedindex.Region, fd int) (*Backend, error) {
	var err error
	b := &Backend{
		opts:       opts,
		log:        opts.Logger,
		hashSeed:   rand.Uint64(),
		lwm:        int32(int64(opts.WriteBlockSize) * int64(opts.DefragLWMPct) / 100),
		maxWriteQ:  opts.writeQueue(),
		stop:       make(chan struct{}),
		flushStop:  make(chan struct{}),
		defragDone: make(chan struct{}, 1),
		sampleDone: make(chan struct{}),
		nextSeq:    new(atomic.Uint64),
		wseq:       new(atomic.Uint64),
	}
	for i := range b.parts {
		b.parts[i].pid = uint16(i)
		b.parts[i].slots = partSlots{b, &b.parts[i]}
	}
	ms, instance, err := openMedia(&b.opts)
	if err != nil {
		return nil, err
	}
	b.instance, b.seed = instance, seedOf(instance)
	start := time.Now()
	prev, err := b.setUp(ms, left, fd)
	if err != nil {
		b.abandon(ms)
		return nil, fmt.Errorf("nvme: namespace %s: %w", opts.Namespace, err)
	}
	if opts.WriteBufferFile != "" {
		if err := b.openJournalFile(journalSlots(&b.opts, len(b.devs))); err != nil {
			b.abandon(ms)
			return nil, fmt.Errorf("nvme: namespace %s: %w", opts.Namespace, err)
		}
	}
	snap, id := b.snapshotFor(ms)
	if opts.ColdStartEmpty && !opts.emptyStart && prev == nil && snap == nil && slices.ContainsFunc(ms, func(m *medium) bool { return !m.fresh }) {
		b.abandon(ms)
		b.log.Info("nvme: cold-start-empty: starting empty; the devices' records are dropped", "namespace", opts.Namespace)
		opts.emptyStart = true
		return open(opts, nil, fd)
	}
	err = setMarks(ms, b.epoch)
	for i, dv := range b.devs {
		dv.header = ms[i].header
	}
	if err == nil {
		err = b.load(ms, snap, id, prev)
	}
	if err == nil {
		err = b.fillCopies()
	}
	if snap != nil {
		snap.Close()
	}
	if err != nil {
		b.abandon(ms)
		if errors.Is(err, errBadIndex) {
			// The marks are cleared: this time the devices are read.
			b.log.Warn("nvme: reading the devices", "namespace", opts.Namespace, "err", err)
			return open(opts, nil, fd)
		}
		return nil, err
	}
	// A snapshot beside a region taken over stands for no more than the
	// region: it is removed unused.
	b.resumed = prev != nil
	if snap != nil {
		b.warm = !b.resumed
		if err := os.Remove(snap.Name()); err != nil {
			b.log.Warn("nvme: remove the loaded index snapshot", "namespace", opts.Namespace, "err", err)
		}
	}
	if opts.loaded != nil {
		opts.loaded(b)
	}
	b.shareDevices()
	if b.state.mem != nil {
		b.state.setComplete(true)
	}
	b.coldStart = time.Since(start)
	b.log.Info("nvme: started", "namespace", opts.Namespace, "devices", len(b.devs), "records", b.records.Load(),
		"tombstones", b.tombstones.Load(), "warm", b.warm, "resumed", b.resumed, "cold-start", b.coldStart.Round(time.Millisecond))
	for _, dv := range b.devs {
		go dv.flusher(b.flushStop)
		go dv.defragger(b.stop, b.defragDone)
	}
	go b.tombRaider(opts.TombRaiderPeriod, b.defragDone)
	go b.sample()
	return b, nil
}

// setUp makes the backend's devices, over media ms, and its region: the
// one a dead process left, if left is not nil, its write buffers written
// and the region taken over if it can be, or else a new one, in the region
// file fd unless it is negative. It returns what adopt is to take over,
// nil for none.
func (b *Backend) setUp(ms []*medium, left *sharedindex.Region, fd int) (*leftIndex, error) {
	var prev *leftIndex
	if left != nil {
		if prev = b.inspect(left, ms); prev == nil {
			left.Discard()
		}
	}
	taken := prev != nil && prev.unfit == ""
	if taken {
		if err := b.takeRegion(prev); err != nil {
			return nil, err
		}
	}
	for i, m := range ms {
		b.devs = append(b.devs, newDevice(b, i, m, b.opts.WriteBlockSize))
	}
	b.defragDone = make(chan struct{}, len(b.devs)+1)
	if prev != nil {
		if prev.state.journal != nil || b.opts.WriteBufferFile == "" {
			var err error
			if prev.replayed, err = b.replay(prev.state.journal, "the region of the process before"); err != nil {
				return nil, fmt.Errorf("the write buffers of the process before: %w", err)
			}
		}
		if taken {
			b.reuseJournal(prev)
		} else {
			b.log.Warn("nvme: reading the devices", "namespace", b.opts.Namespace, "err",
				fmt.Errorf("%w: the index of the process before: %s", errBadIndex, prev.unfit))
			// Before the new region is made, which may be in the same
			// region file, and the devices are read.
			left.Discard()
			prev = nil
		}
	}
	if !taken {
		if err := b.createRegion(ms, fd); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}
	for i, dv := range b.devs {
		if b.state.mem != nil {
			dv.seq, dv.diskSeq = b.state.blocks(i)
		} else {
			dv.seq, dv.diskSeq = make([]atomic.Uint64, dv.nblocks), make([]uint64, dv.nblocks)
		}
	}
	return prev, nil
}

// Path returns the backend's devices and files, in configured order.
func (b *Backend) Path() []string {
	paths := make([]string, len(b.devs))
	for i, dv := range b.devs {
		paths[i] = dv.path
	}
	return paths
}

// Options returns the options the backend was opened with.
func (b *Backend) Options() Options { return b.opts }

// inFlightPerDevice is how many requests per device a process serving the
// backend keeps in progress: enough reads in flight for an NVMe device to
// overlap them (bench/RESULTS.md, "Device backend").
const inFlightPerDevice = 16

// MaxInFlight makes the backend storage.IOBound: its reads wait for the
// device, and writes with commit-to-device for their block's flush.
func (b *Backend) MaxInFlight() int { return inFlightPerDevice * len(b.devs) }

func (b *Backend) partition(d *storage.Digest) *partition { return &b.parts[d.Partition()] }

// stripe returns the device that d's records are written to.
func (b *Backend) stripe(d *storage.Digest) *device {
	return b.devs[binary.LittleEndian.Uint32(d[12:16])%uint32(len(b.devs))]
}

// Get returns the record with digest d; see storage.Backend. It reads the
// device unless the record's block is in memory.
func (b *Backend) Get(_ context.Context, d storage.Digest, buf []byte) (storage.Record, error) {
	rec, _, err := b.get(&d, buf)
	return rec, err
}

// GetMeta returns the metadata of the record with digest d from the index.
func (b *Backend) GetMeta(_ context.Context, d storage.Digest) (storage.Meta, error) {
	e, _, err := b.lookup(&d)
	if err != nil {
		return storage.Meta{}, err
	}
	return b.meta(&e), nil
}

// Put stores rec under digest d; see storage.Backend and Backend.
func (b *Backend) Put(_ context.Context, d storage.Digest, rec storage.Record) error {
	if rec.Size() > b.opts.MaxRecordSize {
		return fmt.Errorf("nvme: put %x: record of %d bytes exceeds max-record-size %d: %w", d[:], rec.Size(), b.opts.MaxRecordSize, storage.ErrRecordTooBig)
	}
	if b.closed.Load() {
		return storage.ErrClosed
	}
	setID, err := b.sets.ID(rec.Set)
	if err != nil {
		return fmt.Errorf("nvme: put %x: %w", d[:], err)
	}
	b.publishSet(setID)
	dv := b.stripe(&d)
	if err := dv.admit(); err != nil {
		return fmt.Errorf("nvme: put %x: %w", d[:], err)
	}
	codec := devrecord.CodecNone
	if b.opts.Compression != devrecord.CodecNone {
		sp := compressBufs.Get().(*[]byte)
		defer compressBufs.Put(sp)
		var ok bool
		*sp, ok = devrecord.Compress(b.opts.Compression, b.opts.CompressionLevel, (*sp)[:0], rec.Bins)
		b.binsIn.Add(int64(len(rec.Bins)))
		if ok {
			rec.Bins, codec = *sp, b.opts.Compression
		}
		b.binsStored.Add(int64(len(rec.Bins)))
	}
	n := devrecord.EncodedSize(len(rec.Set) + len(rec.Key) + len(rec.Bins))
	for {
		wb, seq, end, err := b.put(dv, &d, setID, &rec, codec, n)
		if errors.Is(err, errNoBlock) {
			if b.waitSpace(dv) {
				continue
			}
			return fmt.Errorf("nvme: put %x: %s has no free block left for writes: %w", d[:], dv.path, storage.ErrOutOfSpace)
		}
		if err != nil || !b.opts.CommitToDevice {
			return err
		}
		return dv.waitDurable(wb, seq, end)
	}
}

// compressBufs hold the compressed bins of records being written.
var compressBufs = sync.Pool{New: func() any { return new([]byte) }}

// put appends the record to dv's write buffer and points the index at it.
// It returns the buffer, its incarnation and the end of the record, for
// waitDurable.
func (b *Backend) put(dv *device, d *storage.Digest, setID uint16, rec *storage.Record, codec devrecord.Codec, n int) (*wbuf, uint64, int64, error) {
	p := b.partition(d)
	if err := b.lock(p); err != nil {
		return nil, 0, 0, err
	}
	defer b.unlock(p)
	if err := dv.failure(); err != nil {
		return nil, 0, 0, err
	}
	i := p.table.find(d, b.hashSeed)
	if i < 0 {
		// Make room in the table first, so that nothing is written
		// for a record the index could not take.
		if err := p.table.ensure(b.hashSeed, &p.slots); err != nil {
			return nil, 0, 0, fmt.Errorf("nvme: put %x: %w", d[:], err)
		}
	}
	dv.wmu.Lock()
	wb, off, err := dv.reserveLocked(n, allocUser)
	if err != nil {
		dv.wmu.Unlock()
		return nil, 0, 0, err
	}
	seq := wb.seq.Load()
	h := devrecord.Header{Kind: devrecord.KindRecord, Codec: codec, BSeq: seq, WSeq: b.wseq.Add(1), Digest: *d,
		Gen: rec.Generation, Void: rec.VoidTime, LUT: rec.LastUpdate}
	devrecord.Encode(wb.buf[off:off+n], b.seed, &h, rec.Set, rec.Key, rec.Bins)
	wb.appended(off, n)
	// Read under wmu: once it is released the buffer may be written,
	// retired and reused for another block.
	blk := wb.block
	dv.addLive(blk, n)
	dv.wmu.Unlock()

	e := makeEntry(d, setID, len(rec.Key) > 0, rec.Generation, rec.VoidTime, rec.LastUpdate,
		location{dev: dv.idx, block: blk, off: uint32(off), size: uint32(n)})
	b.dataBytes.Add(int64(n))
	b.sets.Add(setID, 1, int64(n))
	b.records.Add(1)
	if i >= 0 {
		b.forgetBytes(p, &p.table.slots[i])
		b.intend(p, &p.table.slots[i], &e)
		p.table.slots[i] = e
	} else {
		b.intend(p, nil, &e)
		p.table.insertReserved(e, b.hashSeed)
	}
	return wb, seq, int64(off + n), nil
}

// forgetBytes takes the record or tombstone of entry e of p out of the
// figures and its block's live bytes. Called under p's lock.
func (b *Backend) forgetBytes(p *partition, e *entry) {
	l := e.loc()
	b.devs[l.dev].addLive(l.block, -int(l.size))
	if e.tombstone() {
		b.tombstones.Add(-1)
		p.tombs--
		return
	}
	b.dataBytes.Add(-int64(l.size))
	b.sets.Add(e.setID(), -1, -int64(l.size))
	b.records.Add(-1)
}

// forget removes the entry in slot i of p. Called under p's lock.
func (b *Backend) forget(p *partition, i int) {
	b.forgetBytes(p, &p.table.slots[i])
	b.intend(p, &p.table.slots[i], nil)
	p.table.remove(i, b.hashSeed, &p.slots)
}

// waitSpace waits a little for blocks released but not yet free (waiting
// for the flush barrier), or that the defragmenter is emptying, and
// reports whether dv has free blocks for user writes now. Writers that
// outrun the defragmenter so wait for it, rather than fail while most of
// the device holds dead records.
func (b *Backend) waitSpace(dv *device) bool {
	for range 2000 {
		free, queued := dv.counts()
		if free > dv.reserve {
			return true
		}
		if b.npending.Load() == 0 && queued == 0 && !dv.defragging.Load() || b.closed.Load() {
			return false
		}
		b.kickFlushers()
		time.Sleep(time.Millisecond)
	}
	return false
}

// Delete removes the record with digest d. A durable delete writes a
// tombstone, so that cold start does not bring back an older version of
// the record; a non-durable one only drops the index entry, and an older
// version may come back at the next start (as in Aerospike).
func (b *Backend) Delete(_ context.Context, d storage.Digest, durable bool) error {
	if !durable {
		return b.deleteEntry(&d)
	}
	dv := b.stripe(&d)
	if err := dv.admit(); err != nil {
		return fmt.Errorf("nvme: durable delete %x: %w", d[:], err)
	}
	for {
		wb, seq, end, err := b.tombstone(dv, &d)
		if errors.Is(err, errNoBlock) {
			if b.waitSpace(dv) {
				continue
			}
			return fmt.Errorf("nvme: durable delete %x: %s has no free block for the tombstone: %w", d[:], dv.path, storage.ErrOutOfSpace)
		}
		if err != nil || !b.opts.CommitToDevice {
			return err
		}
		return dv.waitDurable(wb, seq, end)
	}
}

// deleteEntry removes d's entry.
func (b *Backend) deleteEntry(d *storage.Digest) error {
	p := b.partition(d)
	if err := b.lock(p); err != nil {
		return err
	}
	defer b.unlock(p)
	i := p.table.find(d, b.hashSeed)
	if i < 0 || p.table.slots[i].tombstone() {
		return storage.ErrNotFound
	}
	b.forget(p, i)
	return nil
}

// tombstone writes a tombstone for d and turns its entry into one.
func (b *Backend) tombstone(dv *device, d *storage.Digest) (*wbuf, uint64, int64, error) {
	p := b.partition(d)
	if err := b.lock(p); err != nil {
		return nil, 0, 0, err
	}
	defer b.unlock(p)
	i := p.table.find(d, b.hashSeed)
	if i < 0 || p.table.slots[i].tombstone() {
		return nil, 0, 0, storage.ErrNotFound
	}
	if err := dv.failure(); err != nil {
		return nil, 0, 0, err
	}
	old := &p.table.slots[i]
	n := devrecord.EncodedSize(devrecord.TombstoneBodySize)
	dv.wmu.Lock()
	wb, off, err := dv.reserveLocked(n, allocTombstone)
	if err != nil {
		dv.wmu.Unlock()
		return nil, 0, 0, err
	}
	seq := wb.seq.Load()
	// Older versions of the record lie in blocks opened so far.
	below := b.nextSeq.Load()
	var body [devrecord.TombstoneBodySize]byte
	binary.LittleEndian.PutUint64(body[:], below)
	h := devrecord.Header{Kind: devrecord.KindTombstone, BSeq: seq, WSeq: b.wseq.Add(1), Digest: *d,
		Gen: old.generation(), LUT: old.lastUpdate()}
	devrecord.Encode(wb.buf[off:off+n], b.seed, &h, "", nil, body[:])
	wb.appended(off, n)
	blk := wb.block // under wmu, as in put
	dv.addLive(blk, n)
	dv.wmu.Unlock()

	b.forgetBytes(p, old)
	tomb := makeTombstone(d, below, location{dev: dv.idx, block: blk, off: uint32(off), size: uint32(n)})
	b.intend(p, old, &tomb)
	*old = tomb
	b.tombstones.Add(1)
	p.tombs++
	return wb, seq, int64(off + n), nil
}

// Close writes what the write buffers hold, syncs the devices and releases
// everything. Later calls return storage.ErrClosed.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return storage.ErrClosed
	}
	// Wait out the point operations in progress: later ones see closed
	// under their partition's lock.
	for i := range b.parts {
		b.parts[i].mu.Lock()
		b.parts[i].mu.Unlock() //nolint:staticcheck // waits for holders

	}
	close(b.stop)
	for range len(b.devs) + 1 { // defragmenters and the tomb raider
		<-b.defragDone
	}
	<-b.sampleDone
	// The final flush round writes the open buffers and syncs.
	close(b.flushStop)
	var errs []error
	for _, dv := range b.devs {
		<-dv.done
		if err := dv.failure(); err != nil {
			errs = append(errs, err)
		}
	}
	if b.opts.Snapshot != "" && len(errs) == 0 {
		if err := b.saveSnapshot(); err != nil {
			b.log.Warn("nvme: no index snapshot: the next start reads the devices", "namespace", b.opts.Namespace, "err", err)
		}
	}
	path, _ := b.opts.regionFile()
	keep := path != "" && len(errs) == 0
	for _, dv := range b.devs {
		dv.releaseBuffers()
		if err := dv.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("nvme: close %s: %w", dv.path, err))
		}
	}
	if err := b.journal.release(); err != nil {
		errs = append(errs, fmt.Errorf("nvme: close %s: %w", b.opts.WriteBufferFile, err))
	}
	if keep {
		b.keepIndex()
	} else {
		b.releaseIndex()
	}
	return errors.Join(errs...)
}

// abandon undoes a start that failed once the devices ms are open.
func (b *Backend) abandon(ms []*medium) {
	b.journal.release()
	b.releaseIndex()
	for _, m := range ms {
		m.f.Close()
	}
}

// keepIndex leaves the index whole in the region file for the next start,
// its partitions left changing for the node's readers, who then ask the
// (closed) backend, and the region marked closed, so that the next start
// takes none for interrupted.
func (b *Backend) keepIndex() {
	// The last flush round wrote and synced every buffer, those outside
	// the journal too.
	b.state.unlisted().Store(0)
	for i := range b.parts {
		p := &b.parts[i]
		p.mu.Lock()
		b.region.Abandon(p.pid)
		p.mu.Unlock()
	}
	b.region.MarkClosed()
	// A file on a disk outlives the system too, if it reaches the disk;
	// the pages of outgrown tables need not.
	if b.opts.IndexType == IndexFlash {
		b.region.ReleaseFree()
		if err := b.state.markSynced(b.region.FD()); err != nil {
			b.log.Warn("nvme: the index's file is not synced: a start after the system restarts reads the devices", "namespace", b.opts.Namespace, "err", err)
		}
	}
	b.region.Close()
}

// releaseIndex frees the partition tables and the region that holds them,
// leaving the node's readers to ask the backend (which is closed) from then
// on.
func (b *Backend) releaseIndex() {
	if b.state.mem != nil {
		b.state.setComplete(false)
	}
	for i := range b.parts {
		p := &b.parts[i]
		p.mu.Lock()
		if b.region != nil {
			b.region.Abandon(p.pid)
		}
		p.table.release(b.slots)
		p.mu.Unlock()
	}
	if b.region != nil {
		b.region.Close()
	}
}
