package nvme

import (
	"sync"
	"sync/atomic"
)

// blockState is where a block is in its life:
//
//	free -> open -> sealed -> written -> (queued -> defrag ->) pending -> free
//
// A block is open while a write buffer fills it, sealed while the full
// buffer waits for the flusher, and written once it is on the device. A
// written block whose live bytes fall under the defrag threshold is queued
// for the defragmenter; one with no live bytes left is pending: free, but
// not reusable until every write made before it died is on the device (see
// release), so that overwriting it can never lose the only durable copy of
// a record.
type blockState uint8

const (
	blockFree blockState = iota
	blockOpen
	blockSealed
	blockWritten
	blockQueued
	blockDefrag
	blockPending
)

// device is one device or data file at run time: its blocks' state, its
// write buffers (wbuf.go), its flusher (flush.go) and defragmenter
// (defrag.go).
//
// Locks, in the order they nest: a partition's lock, then wmu, then any
// one of bmu, qmu and cmu (never two of those at once).
type device struct {
	b      *Backend
	idx    int
	path   string
	f      devFile
	header deviceHeader // as on the device, without its clean-stop mark
	ring   bool         // f reads through an io_uring
	// mirror is f with data-in-memory, else nil.
	mirror  *mirror
	nblocks uint32
	wbs     int
	// reserve is how many free blocks only the defragmenter (and, down
	// to half, tombstones) may take: user writes get ErrOutOfSpace first.
	reserve int

	// Block state. live is atomic: Put, Delete and the defragmenter change
	// it under partition locks. seq is the block sequence of the block's
	// current (or last) incarnation, set when it is opened; readers check
	// records against it. diskSeq is the sequence of what the device holds
	// there, which lags seq until the new incarnation's first write. Both
	// are in the region's state section with index-type dram (state.go),
	// set once the region is (Backend.setUp).
	bmu     sync.Mutex
	state   []blockState
	live    []atomic.Int32
	seq     []atomic.Uint64
	diskSeq []uint64
	free    ring
	defragQ ring
	// inRing marks blocks in defragQ. A queued block that empties is
	// released without leaving the ring; the defragmenter skips entries
	// whose block is no longer queued.
	inRing []bool
	// defragWake is signalled when a block is queued for defrag.
	defragWake chan struct{}
	// defragging is set, under bmu, when the defragmenter takes a block,
	// and cleared once it has emptied it (and released it).
	defragging atomic.Bool

	// Write buffers (wbuf.go), under wmu: cur takes user writes and
	// tombstones, dcur the defragmenter's copies. open mirrors them for
	// the flusher, which reads without wmu.
	wmu  sync.Mutex
	cur  *wbuf
	dcur *wbuf
	open [2]atomic.Pointer[wbuf]

	// Flush queue (flush.go), under qmu; qcond signals flush progress.
	qmu     sync.Mutex
	qcond   sync.Cond
	queue   []*wbuf
	writeQ  atomic.Int32 // sealed buffers not yet written
	kick    chan struct{}
	flushed atomic.Uint64 // the release ticket the last flush round covered
	failed  atomic.Pointer[error]
	done    chan struct{} // closed when the flusher has exited

	// Blocks in memory (wbuf.go), under cmu: open buffers, sealed ones
	// and the post-write queue, by block.
	cmu    sync.RWMutex
	cache  map[uint32]*wbuf
	pwq    []*wbuf
	pool   []*wbuf
	closed bool
}

// ring is a FIFO of block numbers with room for every block once.
type ring struct {
	buf  []uint32
	head int
	n    int
}

func (r *ring) push(v uint32) {
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
}

func (r *ring) pop() uint32 {
	v := r.buf[r.head]
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	return v
}

func newDevice(b *Backend, idx int, m *medium, wbs int) *device {
	n := int(m.blocks)
	dv := &device{
		b: b, idx: idx, path: m.path, f: m.f, header: m.header, ring: m.ring, nblocks: m.blocks, wbs: wbs,
		reserve:    min(max(n/100, 4), 64, n/4),
		state:      make([]blockState, n),
		live:       make([]atomic.Int32, n),
		free:       ring{buf: make([]uint32, n)},
		defragQ:    ring{buf: make([]uint32, n)},
		inRing:     make([]bool, n),
		defragWake: make(chan struct{}, 1),
		kick:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		cache:      make(map[uint32]*wbuf),
	}
	dv.qcond.L = &dv.qmu
	dv.mirror, _ = m.f.(*mirror)
	return dv
}

// blockOffset is where block blk starts on the device: the header region
// (one write block) comes first.
func (dv *device) blockOffset(blk uint32) int64 { return int64(blk+1) * int64(dv.wbs) }

// allocKind says who asks for a block, and so how much of the reserve it
// may use.
type allocKind int

const (
	allocUser allocKind = iota
	allocTombstone
	allocDefrag
)

// allocBlock takes a free block for a new write buffer and gives it the
// next block sequence. It reports false when none is free for kind.
func (dv *device) allocBlock(kind allocKind) (blk uint32, seq uint64, ok bool) {
	dv.bmu.Lock()
	defer dv.bmu.Unlock()
	keep := dv.reserve
	switch kind {
	case allocTombstone:
		keep /= 2
	case allocDefrag:
		keep = 0
	}
	if dv.free.n <= keep {
		return 0, 0, false
	}
	blk = dv.free.pop()
	seq = dv.b.nextSeq.Add(1)
	dv.state[blk] = blockOpen
	dv.seq[blk].Store(seq)
	// Before any entry points into the new incarnation.
	dv.b.setInMemory(dv, blk, true)
	return blk, seq, true
}

// setState sets a block's state.
func (dv *device) setState(blk uint32, s blockState) {
	dv.bmu.Lock()
	dv.state[blk] = s
	dv.bmu.Unlock()
}

// written is the flusher's news that a sealed block is on the device.
func (dv *device) written(blk uint32) {
	dv.bmu.Lock()
	dv.state[blk] = blockWritten
	dv.judgeLocked(blk)
	dv.bmu.Unlock()
}

// wroteFirst records that a new incarnation of blk reached the device.
func (dv *device) wroteFirst(blk uint32, seq uint64) {
	dv.bmu.Lock()
	dv.diskSeq[blk] = seq
	dv.bmu.Unlock()
}

// addLive adds n (negative when a record dies) to blk's live bytes, and
// queues or releases the block when it falls under the defrag threshold or
// empties. The caller holds the lock of the partition of the record.
func (dv *device) addLive(blk uint32, n int) {
	v := dv.live[blk].Add(int32(n))
	if n < 0 && (v == 0 || v < dv.b.lwm && v-int32(n) >= dv.b.lwm) {
		dv.bmu.Lock()
		dv.judgeLocked(blk)
		dv.bmu.Unlock()
	}
}

// judgeLocked releases a written or queued block with no live bytes, or
// queues a written one under the threshold for defrag.
func (dv *device) judgeLocked(blk uint32) {
	st := dv.state[blk]
	if st != blockWritten && st != blockQueued {
		return
	}
	switch v := dv.live[blk].Load(); {
	case v == 0:
		dv.state[blk] = blockPending
		dv.b.release(dv, blk)
	case v < dv.b.lwm && st == blockWritten:
		dv.enqueueLocked(blk)
	}
}

// enqueueLocked queues a block for defrag.
func (dv *device) enqueueLocked(blk uint32) {
	dv.state[blk] = blockQueued
	if !dv.inRing[blk] {
		dv.inRing[blk] = true
		dv.defragQ.push(blk)
	}
	select {
	case dv.defragWake <- struct{}{}:
	default:
	}
}

// freeBlock makes a pending block free for reuse, giving back its memory
// with data-in-memory first: once free, it may be written again at once.
func (dv *device) freeBlock(blk uint32) {
	if dv.mirror != nil {
		if err := dv.mirror.drop(dv.blockOffset(blk), int64(dv.wbs)); err != nil {
			dv.b.log.Warn("nvme: a free block keeps its memory", "path", dv.path, "block", blk, "err", err)
		}
	}
	dv.bmu.Lock()
	dv.state[blk] = blockFree
	dv.free.push(blk)
	dv.bmu.Unlock()
}

// counts returns the number of free blocks and of blocks queued for
// defrag.
func (dv *device) counts() (free, queued int) {
	dv.bmu.Lock()
	defer dv.bmu.Unlock()
	return dv.free.n, dv.defragQ.n
}

// pendingFree is a block waiting for the flush barrier: it becomes free
// once every device's flusher has completed a round that began after
// ticket was drawn.
type pendingFree struct {
	dv     *device
	blk    uint32
	ticket uint64
}

// release puts a block that no longer holds live data on the pending list.
// The records that superseded its records may still be in write buffers
// (of any device, when the device count changed); the block may be reused
// only once they are on the device, else a crash could leave neither the
// old copy nor the new. Called with dv.bmu held.
func (b *Backend) release(dv *device, blk uint32) {
	b.pmu.Lock()
	// npending first: a flush round that sees the ticket must see that
	// there is something pending, and so flush the open buffers.
	b.npending.Add(1)
	b.pending = append(b.pending, pendingFree{dv, blk, b.ticket.Add(1)})
	b.pmu.Unlock()
	b.kickFlushers()
}

// releasePending frees the pending blocks whose writes every flusher has
// covered. Flushers call it after each round.
func (b *Backend) releasePending() {
	if b.npending.Load() == 0 {
		return
	}
	covered := ^uint64(0)
	for _, dv := range b.devs {
		covered = min(covered, dv.flushed.Load())
	}
	b.pmu.Lock()
	keep := b.pending[:0]
	var ready []pendingFree
	for _, p := range b.pending {
		if p.ticket <= covered {
			ready = append(ready, p)
		} else {
			keep = append(keep, p)
		}
	}
	clear(b.pending[len(keep):])
	b.pending = keep
	b.npending.Store(int64(len(keep)))
	b.pmu.Unlock()
	for _, p := range ready {
		p.dv.freeBlock(p.blk)
	}
}

// kickFlushers asks every flusher for a round now.
func (b *Backend) kickFlushers() {
	for _, dv := range b.devs {
		dv.wakeFlusher()
	}
}
