package nvme

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// The shared index. With index-type dram the partition tables live in a
// region of a memory file (see sharedindex) rather than the Go heap; a
// plugin server offers the node the region and the device files, and the
// node then looks records up and reads them from the devices itself,
// checking each against its entry, without a round trip to the plugin.
// A record in a block the backend holds in memory (flagged: setInMemory),
// and one the node cannot verify (moved meanwhile), it asks the plugin for.
//
// A partition's changes happen under its write lock, between lock and
// unlock, which tell the node's readers (sharedindex.Region.BeginWrite)
// and publish where the table is. Cold start fills the tables before any
// reader can exist, and publishes them all once, at the end of New.

// regionSlots allocates the tables' slots in the region's data area, whole
// pages at a time (a table of under 85 entries takes a page). In a region
// file, each table's pages are allocated in the file first, so that a full
// tmpfs or flash mount fails the write that needed them rather than kill
// the process.
type regionSlots struct {
	region *sharedindex.Region
	file   string // the region file, "" for a memory file
	limit  int64  // index-mount-size-limit, 0 for none
	used   atomic.Int64
	// recycle keeps the memory of freed tables for the next allocations
	// (sharedindex.Region.Recycle) with the index on flash, where punching
	// each out of the file took 60% of a cold start and a fifth of a
	// write's time; their runs are punched at the end of a cold start and
	// at a clean stop (ReleaseFree).
	recycle bool
}

// newRegionSlots allocates tables in region, the backend's.
func (b *Backend) newRegionSlots(region *sharedindex.Region) *regionSlots {
	path, _ := b.opts.regionFile()
	s := &regionSlots{region: region, file: path}
	if b.opts.IndexType == IndexFlash {
		s.limit, s.recycle = b.opts.IndexMountSizeLimit, true
	}
	return s
}

func pagesFor(n int) int { return (n*entrySize + pageSize - 1) &^ (pageSize - 1) }

func (s *regionSlots) alloc(n int) ([]entry, error) {
	size := pagesFor(n)
	if used := s.used.Add(int64(size)); s.limit > 0 && used > s.limit {
		s.used.Add(-int64(size))
		return nil, fmt.Errorf("index-mount-size-limit %d reached: %w", s.limit, storage.ErrOutOfSpace)
	}
	off, err := s.region.Alloc(size)
	if err == nil && s.file != "" {
		if err = reserve(s.region.FD(), off, size); err != nil {
			s.region.Free(off, size)
			err = fmt.Errorf("no room for the index in %s: %w: %w", s.file, err, storage.ErrOutOfSpace)
		}
	}
	if err != nil {
		s.used.Add(-int64(size))
		return nil, err
	}
	mem := s.region.Mem()[off : off+size]
	// Fresh and given-back pages read as zeros, unless recycled or giving
	// back failed.
	clear(mem)
	return unsafe.Slice((*entry)(unsafe.Pointer(&mem[0])), size/entrySize), nil
}

func (s *regionSlots) free(e []entry) {
	size := pagesFor(len(e))
	if s.recycle {
		s.region.Recycle(offsetIn(s.region, e), size)
	} else {
		s.region.Free(offsetIn(s.region, e), size)
	}
	s.used.Add(-int64(size))
}

func (s *regionSlots) bytes() int64 { return s.used.Load() }

// offsetIn is where s, which is in region (slots, an area), starts in it.
func offsetIn[T any](region *sharedindex.Region, s []T) int {
	return int(uintptr(unsafe.Pointer(&s[0])) - uintptr(unsafe.Pointer(&region.Mem()[0])))
}

// regionSize is the address space a backend whose blocks hold capacity
// bytes reserves for its tables: at most 60 bytes an entry (48 at 80%
// load) for the smallest record, 80 bytes, so three quarters of capacity,
// the rest room for tables that exist twice while they resize, and 1 GiB
// more. Only memory in use is backed.
func regionSize(capacity int64) int {
	const most = 1 << 44
	return int(min(capacity, most)) + 1<<30
}

// createRegion makes the region of an index-type dram backend of media
// ms, in a memory file or, if fd is not negative, the region file fd
// (emptied first; fd stays the caller's), with its resume area
// (resume.go): the state section, and the journal of the write buffers
// (journal.go) unless they are in a write-buffer-file.
func (b *Backend) createRegion(ms []*medium, fd int) error {
	var capacity int64
	for _, m := range ms {
		capacity += int64(m.blocks) * int64(b.opts.WriteBlockSize)
	}
	blocks, ssize, jsize := b.areaSizes(ms)
	size, dirLen := regionSize(capacity)+ssize+jsize, func(int) int { return 1 }
	var region *sharedindex.Region
	var err error
	if fd < 0 {
		region, err = sharedindex.CreateUpTo(size, dirLen, b.hashSeed)
	} else if fd, err = dupFile(fd); err == nil {
		region, err = sharedindex.CreateUpToIn(fd, size, dirLen, b.hashSeed)
	}
	if err != nil {
		return err
	}
	off, err := region.Alloc(ssize + jsize)
	if err != nil {
		region.Close()
		return fmt.Errorf("resume area: %w", err)
	}
	b.region = region
	b.slots = b.newRegionSlots(region)
	area := region.Mem()[off : off+ssize+jsize]
	journalOff := 0
	if jsize > 0 {
		journalOff = ssize
		b.journal = newJournal(area[ssize:], journalSlots(&b.opts, len(ms)), b.opts.WriteBlockSize, b.log)
		if fd >= 0 {
			b.journal.reserveIn(region.FD(), off+ssize)
		}
	}
	b.epoch = rand.Uint64() | 1
	boot, _ := thisBoot()
	b.state = newState(area[:ssize], blocks, b.instance, b.opts.WriteBlockSize, journalOff, b.epoch, boot)
	if b.journal != nil {
		b.journal.unlisted = b.state.unlisted()
	}
	b.nextSeq, b.wseq = b.state.counters()
	region.SetResumeArea(off, ssize+jsize)
	return nil
}

// shareDevices describes the devices to the node, once they are open and
// the index is built, and publishes every table.
func (b *Backend) shareDevices() {
	if b.region == nil {
		return
	}
	for i := range b.parts {
		b.region.BeginWrite(uint16(i))
		b.publish(&b.parts[i])
		b.region.EndWrite(uint16(i))
	}
	fds := make([]int, 0, len(b.devs))
	blocks := make([]int, 0, len(b.devs))
	for _, dv := range b.devs {
		if f, ok := dv.f.(interface{ FD() int }); ok {
			fds = append(fds, f.FD())
			blocks = append(blocks, int(dv.nblocks))
		}
	}
	if len(fds) != len(b.devs) || b.region.FD() < 0 {
		return
	}
	err := b.region.ShareDevices(sharedindex.Devices{Files: fds, Blocks: blocks, BlockSize: b.opts.WriteBlockSize,
		BlocksOff: int64(b.opts.WriteBlockSize), CRCSeed: b.seed, InMemory: b.opts.DataInMemory})
	if err != nil {
		b.log.Warn("nvme: the index cannot be shared with the node: a plugin process answers every read", "namespace", b.opts.Namespace, "err", err)
		return
	}
	b.shared = true
}

// setInMemory tells the node's readers whether blk of dv is in the
// backend's memory (write buffers, post-write queue), where they leave its
// records to the backend (see sharedindex). A hint: they verify what they
// read from the device anyway.
func (b *Backend) setInMemory(dv *device, blk uint32, in bool) {
	if b.shared {
		b.region.SetInMemory(dv.idx, blk, in)
	}
}

// SharedIndex returns the region holding the index, which a plugin server
// offers the node with the device files (see sharedindex), or nil when the
// index is not shared (more devices than can be passed; a system without
// memory files).
func (b *Backend) SharedIndex() *sharedindex.Region {
	if !b.shared {
		return nil
	}
	return b.region
}

// publish tells the node's readers where p's table is. Called between
// BeginWrite and EndWrite.
func (b *Backend) publish(p *partition) {
	if len(p.table.slots) == 0 {
		b.region.PublishTable(p.pid, 0, 0)
		return
	}
	b.region.PublishTable(p.pid, offsetIn(b.region, p.table.slots), len(p.table.slots))
}

// publishSet records a set's name for the node's readers before an entry
// names it.
func (b *Backend) publishSet(id uint16) {
	if b.region != nil && id != 0 && !b.published[id].Load() && !b.published[id].Swap(true) {
		b.region.PublishSet(id, b.sets.Name(id))
	}
}

// lock takes p's write lock for a change to its table and tells the node's
// readers. It fails, holding no lock, once the backend is closed.
func (b *Backend) lock(p *partition) error {
	p.mu.Lock()
	if b.closed.Load() {
		p.mu.Unlock()
		return storage.ErrClosed
	}
	if b.region != nil {
		p.seq = b.region.BeginWrite(p.pid)
	}
	return nil
}

// unlock publishes p's table and releases the lock lock took.
func (b *Backend) unlock(p *partition) {
	if b.region != nil {
		b.publish(p)
		b.region.EndWrite(p.pid)
	}
	p.mu.Unlock()
}

// nodeReads is the records the node read from the devices itself.
func (b *Backend) nodeReads() int64 {
	if b.region == nil {
		return 0
	}
	return b.region.DeviceReads()
}
