package memory

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// A backend's records live only in its region. When the plugin process
// serving it dies, the node still holds the region's memory file and gives
// it to the process it starts next, whose Resume takes the records over
// instead of starting empty; a region file (Options.RegionFile) is resumed
// the same way by the next backend opened on it (openFile), after the node
// itself stopped or died. A backend that closed marks its region so
// (MarkClosed): nothing was changing.
//
// The process died at an arbitrary instruction, so Resume trusts nothing it
// reads: every slab, table and entry is checked against the region's
// bounds and against each other, and what fails a check is left out and
// counted. Changes to a partition happen between BeginWriteOf and EndWrite
// (see lock), and an entry is written so that it is either empty or whole
// (setEntry); so in a partition the dead process was not changing,
// everything is consistent, and in one it was changing (at most one per
// thread it ran), the only record whose data or entry may be half written
// is the one the partition's pending word names, which Resume leaves out:
// its change was never acknowledged. The others are whole, though an entry
// being shifted may appear twice; that partition's table is rebuilt.

// ResumeReport says what Resume kept of a region and what it left out.
type ResumeReport struct {
	// Records were kept.
	Records int
	// InFlight records were being written or deleted when the process
	// died, and were left out.
	InFlight int
	// Damaged entries failed a check and were left out; DamagedTables are
	// partitions whose table did.
	Damaged, DamagedTables int
	// Rebuilt partitions got a new table: those being changed when the
	// process died, and those with a damaged entry.
	Rebuilt int
}

// Resume is Open for a region that an earlier process of the backend left
// (sharedindex.Adopt): the backend keeps its records. On error the caller
// still owns region, which Resume may have changed.
func Resume(namespace string, settings map[string]string, region *sharedindex.Region) (storage.Backend, error) {
	opts, err := options(namespace, settings)
	if err != nil {
		return nil, err
	}
	b, rep, err := resume(opts, region)
	if err != nil {
		return nil, fmt.Errorf("namespace %s: resume: %w", namespace, err)
	}
	logResumed("", rep)
	return b, nil
}

// logResumed reports what a resume of a region (from file, if named) kept.
func logResumed(file string, rep ResumeReport) {
	args := []any{"records", rep.Records, "in_flight_dropped", rep.InFlight, "damaged_dropped", rep.Damaged,
		"damaged_tables", rep.DamagedTables, "tables_rebuilt", rep.Rebuilt}
	if file != "" {
		args = append(args, "file", file)
	}
	slog.Info("memory backend resumed its records", args...)
}

// regionFormat names how this build lays out records, entries and slabs in
// a region, so that a build that would read them otherwise refuses it.
func regionFormat() uint64 {
	h := fnv.New64a()
	var w [4]byte
	for _, v := range append(slices.Clone(slotSizes), uint32(entrySize), blobFormat) {
		binary.LittleEndian.PutUint32(w[:], v)
		h.Write(w[:])
	}
	return h.Sum64()
}

// blobFormat is the version of the record layout in blob.go.
const blobFormat = 1

// oldSlab is a slab the dead process published, and the slots found in
// use, claimed by partitions read in parallel.
type oldSlab struct {
	id            uint32
	off, slotSize int
	maxSlots      int      // that fit before the next slab
	claimed       []uint64 // a bit per slot
	count         atomic.Int64
	highest       atomic.Int64
}

func (s *oldSlab) claim(slot int) bool {
	bit := uint64(1) << (slot % 64)
	if atomic.OrUint64(&s.claimed[slot/64], bit)&bit != 0 {
		return false
	}
	s.count.Add(1)
	for h := s.highest.Load(); int64(slot) > h && !s.highest.CompareAndSwap(h, int64(slot)); h = s.highest.Load() {
	}
	return true
}

func (s *oldSlab) isClaimed(slot int) bool { return s.claimed[slot/64]&(1<<(slot%64)) != 0 }

type resumer struct {
	b     *Backend
	mem   []byte
	slabs []*oldSlab // by offset
	byID  map[uint32]*oldSlab
	names []string
	parts [storage.Partitions]resumedPartition
}

// resumedPartition is what reading a partition found: its table, or the
// entries to rebuild one from.
type resumedPartition struct {
	table table
	redo  []entry
	// rebuild is set when redo holds the partition's entries.
	rebuild bool
	rep     ResumeReport
	// The partition's records by set, counted here rather than into the
	// backend's figures, which the readers of partitions would share.
	sets []setCount
}

type setCount struct {
	id             uint16
	records, bytes int64
}

func (p *resumedPartition) add(set uint16, bytes int) {
	for i := range p.sets {
		if p.sets[i].id == set {
			p.sets[i].records++
			p.sets[i].bytes += int64(bytes)
			return
		}
	}
	p.sets = append(p.sets, setCount{set, 1, int64(bytes)})
}

func resume(opts Options, region *sharedindex.Region) (*Backend, ResumeReport, error) {
	if opts.DataSize < 0 {
		return nil, ResumeReport{}, fmt.Errorf("memory: data size %d is negative", opts.DataSize)
	}
	if region.Kind() != sharedindex.KindMemory {
		return nil, ResumeReport{}, fmt.Errorf("the region is a device backend's (kind %d)", region.Kind())
	}
	if f, want := region.Format(), regionFormat(); f != want {
		return nil, ResumeReport{}, fmt.Errorf("the region is laid out by another build of the memory backend (format %#x, this build's %#x)", f, want)
	}
	b := &Backend{seed: region.Seed(), capacity: opts.DataSize, region: region, snapshotFile: opts.SnapshotFile}
	b.alloc.init(region)
	r := &resumer{b: b, mem: region.Mem(), byID: map[uint32]*oldSlab{}}
	var rep ResumeReport
	if err := r.readSets(); err != nil {
		return nil, rep, err
	}
	r.readSlabs()
	// Partitions are read on every CPU: a resume keeps the namespace
	// unavailable, and most of its time goes to first touches of the
	// records' memory.
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for pid := w; pid < storage.Partitions; pid += workers {
				r.parts[pid] = r.readPartition(uint16(pid))
			}
		})
	}
	wg.Wait()
	for i := range r.parts {
		f := &r.parts[i].rep
		rep.Records += f.Records
		rep.InFlight += f.InFlight
		rep.Damaged += f.Damaged
		rep.DamagedTables += f.DamagedTables
		rep.Rebuilt += f.Rebuilt
		for _, c := range r.parts[i].sets {
			b.sets.Add(c.id, c.records, c.bytes)
			b.used.Add(c.bytes)
		}
	}
	if err := r.restoreSlabs(); err != nil {
		return nil, rep, err
	}
	for pid := range uint16(storage.Partitions) {
		p := &b.parts[pid]
		p.table = r.parts[pid].table
		if r.parts[pid].rebuild {
			region.PublishTable(pid, 0, 0)
			for _, e := range r.parts[pid].redo {
				i, found := p.table.find(&e.digest, b.seed)
				if found {
					// A damaged table held the digest twice; the slot of
					// the copy left out stays taken.
					rep.Damaged++
					rep.Records--
					size := b.alloc.slotSize(e.loc)
					b.used.Add(-int64(size))
					b.sets.Add(e.setID, -1, -int64(size))
					continue
				}
				if err := p.table.insert(i, e, b.tableMem(pid)); err != nil {
					return nil, rep, fmt.Errorf("rebuild partition %d: %w", pid, err)
				}
			}
		}
		region.Settle(pid)
	}
	region.Resumed()
	return b, rep, nil
}

// openFile opens a backend on opts.RegionFile: resumed when the file holds
// a region this build can resume, new otherwise (the file emptied first).
func openFile(opts Options) (*Backend, error) {
	fd, size, err := sharedindex.OpenFile("region file", opts.RegionFile, fileNeed(opts.DataSize))
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	if size > 0 {
		b, err := resumeFile(opts, fd)
		if err == nil {
			// The region file is as new as a snapshot the last stop
			// wrote, or newer.
			if opts.SnapshotFile != "" {
				if err := os.Remove(opts.SnapshotFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
					b.closeUnsaved()
					return nil, fmt.Errorf("memory: remove the snapshot older than the region file: %w", err)
				}
			}
			return b, nil
		}
		slog.Warn("memory backend starts empty: the region in its file cannot be resumed", "file", opts.RegionFile, "err", err)
	}
	if opts.SnapshotFile != "" {
		// After a reboot: the tmpfs is empty, the snapshot on disk.
		b, err := fromSnapshot(opts, func(path string) error {
			return sharedindex.LoadInto(path, fd, int64(regionSize(0)))
		}, &fd)
		if err != nil || b != nil {
			unix.Close(fd) // a resumed region holds a copy, and with it the lock
			return b, err
		}
	}
	// The file outlives this configuration: its region is made for any
	// data-size (address space only), so that a larger one next time fits.
	return newIn(opts, regionSize(0), func(size int, dirLen func(int) int, seed uint64) (*sharedindex.Region, error) {
		return sharedindex.CreateUpToIn(fd, size, dirLen, seed)
	})
}

// openSnapshot opens a backend with opts.SnapshotFile and no region file:
// resumed from the region saved there, if there is one this build can
// resume, new otherwise. Its region reserves address space for any
// data-size, as a region file's does, since the saved region is resumed
// whatever data-size is configured next.
func openSnapshot(opts Options) (*Backend, error) {
	fd := -1
	b, err := fromSnapshot(opts, func(path string) (err error) {
		fd, err = sharedindex.LoadFile(path, int64(regionSize(0)))
		return err
	}, &fd)
	if fd >= 0 {
		unix.Close(fd) // a resumed region holds a copy
	}
	if b != nil || err != nil {
		return b, err
	}
	return newIn(opts, regionSize(0), sharedindex.CreateUpTo)
}

// fromSnapshot resumes the region saved at opts.SnapshotFile, which load
// copies into the memory or region file *fd, and removes the snapshot, so
// that a crash later cannot bring back records older than the writes since.
// With no snapshot it returns nil, nil; one that cannot be resumed is set
// aside, with a warning, and it returns nil, nil too.
func fromSnapshot(opts Options, load func(path string) error, fd *int) (*Backend, error) {
	path := opts.SnapshotFile
	err := load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var b *Backend
	if err == nil {
		b, err = resumeFD(opts, *fd, path)
	}
	if err != nil {
		// Set aside, not reused: the records it holds are older than any
		// this start will write.
		slog.Warn("memory backend starts empty: the saved region cannot be resumed", "file", path, "err", err, "moved-to", path+".unusable")
		if rerr := os.Rename(path, path+".unusable"); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return nil, fmt.Errorf("memory: set the unusable snapshot %s aside: %w", path, rerr)
		}
		return nil, nil
	}
	if err := os.Remove(path); err != nil {
		b.closeUnsaved()
		return nil, fmt.Errorf("memory: remove the loaded snapshot, lest a crash later bring back its records: %w", err)
	}
	return b, nil
}

// closeUnsaved closes a backend New could not hand out, without saving a
// snapshot of it.
func (b *Backend) closeUnsaved() {
	b.snapshotFile = ""
	b.Close()
}

// fileNeed is the most a region file of a backend of capacity bytes holds:
// records up to the capacity, their slabs' free slots and the index (tens
// of bytes a record) in a fifth more. Unbounded, nothing is checked.
func fileNeed(capacity int64) int64 { return capacity + capacity/5 }

// resumeFile resumes the region in the region file fd, through a copy of
// the descriptor, which it takes: fd stays the caller's.
func resumeFile(opts Options, fd int) (*Backend, error) {
	b, err := resumeFD(opts, fd, opts.RegionFile)
	if err == nil {
		unix.Close(fd) // the region holds the copy, and with it the lock
	}
	return b, err
}

// resumeFD resumes the region in the memory or region file fd, through a
// copy of the descriptor: fd stays the caller's. file names it in the log.
func resumeFD(opts Options, fd int, file string) (*Backend, error) {
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	region, err := sharedindex.Adopt(dup)
	if err != nil {
		return nil, err
	}
	b, rep, err := resume(opts, region)
	if err != nil {
		region.Close()
		return nil, err
	}
	logResumed(file, rep)
	return b, nil
}

// readSets restores the set names the dead process published.
func (r *resumer) readSets() error {
	r.names = r.b.region.SetNames()
	for id, name := range r.names {
		r.b.published[id].Store(name != "")
	}
	return r.b.sets.Restore(r.names)
}

// readSlabs reads the slab directory, keeping the slabs that lie within
// the data area, have a slot size this build uses, and do not overlap the
// next slab by a whole slot.
func (r *resumer) readSlabs() {
	region := r.b.region
	for id := uint32(1); id < region.SlabIDs(); id++ {
		off, size := region.Slab(id)
		if off == 0 {
			continue
		}
		if off < region.DataStart() || off%osPageSize != 0 || size <= 0 || size > len(r.mem)-off ||
			!slices.Contains(slotSizes, uint32(size)) && size%osPageSize != 0 {
			region.PublishSlab(id, 0, 0)
			continue
		}
		s := &oldSlab{id: id, off: off, slotSize: size}
		s.highest.Store(-1)
		r.slabs = append(r.slabs, s)
	}
	slices.SortFunc(r.slabs, func(a, b *oldSlab) int { return cmp.Compare(a.off, b.off) })
	kept := r.slabs[:0]
	for i, s := range r.slabs {
		limit := len(r.mem)
		if i+1 < len(r.slabs) {
			limit = r.slabs[i+1].off
		}
		// A slab of a size class holds up to slabMaxBytes; any other, one
		// record or one table.
		most := 1
		if slices.Contains(slotSizes, uint32(s.slotSize)) {
			most = max(1, slabMaxBytes/s.slotSize)
		}
		if s.maxSlots = min((limit-s.off)/s.slotSize, most); s.maxSlots == 0 {
			region.PublishSlab(s.id, 0, 0)
			continue
		}
		s.claimed = make([]uint64, (s.maxSlots+63)/64)
		kept = append(kept, s)
		r.byID[s.id] = s
	}
	r.slabs = kept
}

// at returns the slab and slot whose memory starts at off.
func (r *resumer) at(off int) (*oldSlab, int, bool) {
	i, found := slices.BinarySearchFunc(r.slabs, off, func(s *oldSlab, off int) int { return cmp.Compare(s.off, off) })
	if !found {
		if i == 0 {
			return nil, 0, false
		}
		i--
	}
	s := r.slabs[i]
	slot := (off - s.off) / s.slotSize
	return s, slot, (off-s.off)%s.slotSize == 0 && slot < s.maxSlots
}

// readPartition checks partition pid's table and entries, claiming the
// slots they use. A table the process was not changing, all of whose
// entries pass, stays where it is; any other is rebuilt from the entries
// that pass.
func (r *resumer) readPartition(pid uint16) (res resumedPartition) {
	region := r.b.region
	off := region.TableOff(pid)
	if off == 0 {
		return res
	}
	ts, tslot, ok := r.at(off)
	if !ok || ts.slotSize < entrySize {
		res.rep.DamagedTables++
		region.PublishTable(pid, 0, 0)
		return res
	}
	view := unsafe.Slice((*entry)(unsafe.Pointer(&r.mem[off])), ts.slotSize/entrySize)
	changing, pending := region.Changing(pid), region.Pending(pid)
	rebuild := changing
	var seen map[storage.Digest]location // while changing: an entry may be there twice
	if changing {
		seen = map[storage.Digest]location{}
	}
	var live []entry
	for i := range view {
		e := view[i]
		if e.loc == 0 {
			continue
		}
		if seen != nil {
			if loc, dup := seen[e.digest]; dup {
				if loc != e.loc {
					res.rep.Damaged++
				}
				continue
			}
			seen[e.digest] = e.loc
			if pendingOf(&e.digest) == pending {
				res.rep.InFlight++
				continue
			}
		}
		if !r.claimEntry(pid, &e, &res) {
			res.rep.Damaged++
			rebuild = true
			continue
		}
		live = append(live, e)
	}
	if !rebuild {
		for i := range view {
			if view[i].loc != 0 {
				if j, found := (&table{slots: view}).find(&view[i].digest, r.b.seed); !found || j != i {
					rebuild = true
					break
				}
			}
		}
	}
	if !rebuild && !ts.claim(tslot) {
		res.rep.DamagedTables++
		rebuild = true
	}
	res.rep.Records += len(live)
	if rebuild {
		res.rep.Rebuilt++
		res.redo, res.rebuild = live, true
		return res
	}
	res.table = table{slots: view, count: len(live), mem: makeLocation(ts.id, uint32(tslot))}
	return res
}

// claimEntry checks entry e of partition pid and claims its record's slot,
// counting the record into the partition's figures.
func (r *resumer) claimEntry(pid uint16, e *entry, res *resumedPartition) bool {
	hasKey := *(*uint8)(unsafe.Pointer(&e.hasKey))
	if e.digest.Partition() != pid || hasKey > 1 || e.setID != 0 && (int(e.setID) >= len(r.names) || r.names[e.setID] == "") {
		return false
	}
	s, ok := r.byID[e.loc.slab()]
	slot := int(e.loc.slot())
	if !ok || slot >= s.maxSlots {
		return false
	}
	data := r.mem[s.off+slot*s.slotSize : s.off+(slot+1)*s.slotSize]
	keyLen, n := binary.Uvarint(data)
	if n <= 0 {
		return false
	}
	binsLen, m := binary.Uvarint(data[n:])
	if m <= 0 || keyLen > uint64(len(data)) || binsLen > uint64(len(data)) || uint64(n+m)+keyLen+binsLen > uint64(len(data)) {
		return false
	}
	if slotSizeFor(n+m+int(keyLen+binsLen)) != s.slotSize || (hasKey == 1) != (keyLen > 0) {
		return false
	}
	if !s.claim(slot) {
		return false
	}
	res.add(e.setID, s.slotSize)
	return true
}

// restoreSlabs gives the allocator the slabs with a slot in use, shrunk to
// the last of them, and the region the runs they take; the rest is free.
func (r *resumer) restoreSlabs() error {
	var spans []sharedindex.Span
	for _, s := range r.slabs {
		count, highest := int(s.count.Load()), int(s.highest.Load())
		if count == 0 {
			r.b.region.PublishSlab(s.id, 0, 0)
			continue
		}
		span := roundUp((highest+1)*s.slotSize, osPageSize)
		class := uint8(dedicated)
		if c, ok := slices.BinarySearch(slotSizes, uint32(s.slotSize)); ok {
			class = uint8(c)
		}
		sl := slab{
			mem:       r.mem[s.off : s.off+span : s.off+span],
			off:       s.off,
			slotSize:  uint32(s.slotSize),
			slots:     uint32(span / s.slotSize),
			class:     class,
			shard:     uint8(s.id % allocShards),
			used:      uint32(count),
			bump:      uint32(highest + 1),
			partialAt: -1,
		}
		for slot := range highest {
			if !s.isClaimed(slot) {
				binary.LittleEndian.PutUint32(sl.mem[slot*s.slotSize:], sl.freeHead)
				sl.freeHead = uint32(slot) + 1
			}
		}
		r.b.alloc.restore(s.id, sl)
		spans = append(spans, sharedindex.Span{Off: s.off, N: span})
	}
	r.b.alloc.slabs.restored()
	if err := r.b.region.Restore(spans); err != nil {
		return err
	}
	return nil
}
