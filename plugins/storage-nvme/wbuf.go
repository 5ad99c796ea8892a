package nvme

import (
	"errors"
	"slices"
	"sync/atomic"
	"time"
)

// wbuf is a write buffer: one block's worth of memory (off the Go heap,
// page-aligned for direct I/O) that records are appended to before the
// block is written.
//
// Appends happen under the device's wmu: a record is encoded at used and
// then used is advanced, so bytes before used never change again and may
// be read (by Get, scans, the flusher) without a lock. The buffer stays in
// the device's cache, by block, from the moment it is opened until it
// leaves the post-write queue, so a block is always readable from memory or
// from the device.
type wbuf struct {
	dv    *device
	buf   []byte
	slot  int32 // in the journal (journal.go)
	block uint32
	// seq is the block sequence of the incarnation the buffer holds; it
	// changes when the buffer is reused for another block.
	seq atomic.Uint64
	// used is the end of the records appended.
	used atomic.Int64
	// dirtySince is when the oldest append not yet written was made, in
	// Unix ns; 0 when everything appended is written.
	dirtySince atomic.Int64
	// durable is how many bytes are on the device (and synced, with
	// commit-to-device).
	durable atomic.Int64
	// flushed is how many bytes the flusher has written; only the flusher
	// reads it after the buffer is opened.
	flushed int64
	// defrag marks the defragmenter's buffers.
	defrag bool
}

// errNoBlock: no free block for a new write buffer.
var errNoBlock = errors.New("no free block")

// slotOf is the index of dv.open for a kind of write.
func slotOf(kind allocKind) int {
	if kind == allocDefrag {
		return 1
	}
	return 0
}

// reserveLocked returns the write buffer and offset for a record of n
// bytes: the current buffer for kind if it has room, else a new buffer on
// a new block, the full one sealed. It returns errNoBlock when no block is
// free for kind, leaving the current buffer as it was. Called with wmu held.
func (dv *device) reserveLocked(n int, kind allocKind) (*wbuf, int, error) {
	cur := &dv.cur
	if kind == allocDefrag {
		cur = &dv.dcur
	}
	if wb := *cur; wb != nil {
		if used := int(wb.used.Load()); used+n <= dv.wbs {
			return wb, used, nil
		}
	}
	blk, seq, ok := dv.allocBlock(kind)
	if !ok {
		return nil, 0, errNoBlock
	}
	nb, err := dv.newBuffer(blk, seq)
	if err != nil {
		dv.freeBlock(blk)
		return nil, 0, err
	}
	nb.defrag = kind == allocDefrag
	if *cur != nil {
		dv.seal(*cur)
	}
	*cur = nb
	dv.open[slotOf(kind)].Store(nb)
	return nb, blockHeaderSize, nil
}

// appended publishes n bytes appended at off. Called with wmu held.
func (wb *wbuf) appended(off, n int) {
	wb.used.Store(int64(off + n))
	wb.dv.b.journal.used(wb.slot, int64(off+n))
	if wb.dirtySince.Load() == 0 {
		wb.dirtySince.Store(time.Now().UnixNano())
	}
}

// newBuffer returns a buffer for a new incarnation of blk, its block header
// written, registered in the cache.
func (dv *device) newBuffer(blk uint32, seq uint64) (*wbuf, error) {
	dv.cmu.Lock()
	var wb *wbuf
	if n := len(dv.pool); n > 0 {
		wb = dv.pool[n-1]
		dv.pool = dv.pool[:n-1]
	}
	dv.cmu.Unlock()
	if wb == nil {
		buf, slot, err := dv.b.journal.alloc(dv.wbs)
		if err != nil {
			return nil, err
		}
		wb = &wbuf{dv: dv, buf: buf, slot: slot}
	}
	wb.block = blk
	wb.seq.Store(seq)
	wb.flushed = 0
	wb.durable.Store(0)
	wb.dirtySince.Store(0)
	h := blockHeader{seq: seq, instance: dv.b.instance, wbs: uint32(dv.wbs), device: uint32(dv.idx)}
	h.encode(wb.buf, dv.b.seed)
	wb.used.Store(blockHeaderSize)
	dv.b.journal.open(wb.slot, dv.idx, blk, seq)
	dv.cmu.Lock()
	dv.cache[blk] = wb
	dv.cmu.Unlock()
	return wb, nil
}

// seal hands a full buffer to the flusher. Called with wmu held.
func (dv *device) seal(wb *wbuf) {
	dv.setState(wb.block, blockSealed)
	dv.writeQ.Add(1)
	dv.qmu.Lock()
	dv.queue = append(dv.queue, wb)
	dv.qmu.Unlock()
	dv.wakeFlusher()
}

// cachedLocked returns the buffer holding incarnation seq of blk, with
// cmu read-locked; the caller reads it and calls cmu.RUnlock. It returns
// nil, with cmu unlocked, when the block is not in memory.
func (dv *device) cachedLocked(blk uint32, seq uint64) *wbuf {
	dv.cmu.RLock()
	if wb := dv.cache[blk]; wb != nil && !dv.closed && wb.seq.Load() == seq {
		return wb
	}
	dv.cmu.RUnlock()
	return nil
}

// retire moves a written buffer to the post-write queue, evicting the
// oldest beyond its length, or evicts it when there is no queue.
func (dv *device) retire(wb *wbuf) {
	var victims []*wbuf
	dv.cmu.Lock()
	if dv.b.opts.PostWriteQueue > 0 {
		dv.pwq = append(dv.pwq, wb)
		if over := len(dv.pwq) - dv.b.opts.PostWriteQueue; over > 0 {
			victims = append(victims, dv.pwq[:over]...)
			dv.pwq = slices.Delete(dv.pwq, 0, over)
		}
	} else {
		victims = append(victims, wb)
	}
	// Victims are not zeroed for reuse: a new incarnation overwrites every
	// byte it appends, and writeRest zeroes the unused tail of the block.
	// The flusher retires a whole round's blocks at once, up to the write
	// queue's length; a smaller pool would unmap the surplus and map it
	// again moments later, page faults and all (a sixth of the CPU of a
	// node writing large records). Spares never exceed what the queue held.
	for _, v := range victims {
		if dv.cache[v.block] == v {
			delete(dv.cache, v.block)
			dv.b.setInMemory(dv, v.block, false)
		}
		if len(dv.pool) < int(dv.b.maxWriteQ) && !dv.closed {
			dv.pool = append(dv.pool, v)
		} else {
			dv.b.journal.freeBuf(v.buf, v.slot)
		}
	}
	dv.cmu.Unlock()
}

// releaseBuffers frees every buffer's memory. Called by Close once the
// flusher has stopped; readers see closed and keep off.
func (dv *device) releaseBuffers() {
	dv.cmu.Lock()
	defer dv.cmu.Unlock()
	dv.closed = true
	seen := map[*wbuf]bool{}
	free := func(wb *wbuf) {
		if wb != nil && !seen[wb] {
			seen[wb] = true
			dv.b.journal.freeBuf(wb.buf, wb.slot)
		}
	}
	for _, wb := range dv.cache {
		free(wb)
	}
	for _, wb := range dv.pwq {
		free(wb)
	}
	for _, wb := range dv.pool {
		free(wb)
	}
	free(dv.cur)
	free(dv.dcur)
	dv.cache, dv.pwq, dv.pool = nil, nil, nil
}
