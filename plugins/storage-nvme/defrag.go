package nvme

import (
	"errors"
	"time"

	"github.com/skiffdb/skiff/sdk/storage/devrecord"
)

// The defragmenter: one goroutine per device takes queued blocks (written
// blocks whose live bytes fell under defrag-lwm-pct) oldest first, reads
// each whole (from the post-write queue when it is still there), and copies
// the records and tombstones still current, those the index points at, into
// the device's defrag write buffer, re-pointing their index entries under
// their partition's lock. The emptied block is then released (device.go):
// it becomes free once the copies are on the device.
//
// It holds one partition lock at a time, for one record's copy, and pauses
// DefragSleep after each block unless free blocks are scarce, so foreground
// requests are never stalled behind it. Defrag writes use their own buffer,
// so rewritten (cold) records do not mix with new (hot) ones, and may take
// the blocks of the reserve that user writes may not.
//
// Tombstones the defragmenter meets are dropped when the disk floor
// allows it (see tombraid.go), and copied otherwise.

// defragger is the device's defrag goroutine.
func (dv *device) defragger(stop <-chan struct{}, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	buf, err := allocBuffer(dv.wbs)
	if err != nil {
		dv.b.log.Error("nvme: defrag disabled: cannot allocate its read buffer", "path", dv.path, "err", err)
		return
	}
	defer freeBuffer(buf)
	for {
		blk, ok := dv.nextDefrag(stop)
		if !ok {
			return
		}
		moved := dv.defragBlock(blk, buf)
		dv.defragging.Store(false)
		pause := dv.b.opts.DefragSleep
		if !moved {
			// Out of blocks even for the defragmenter: wait for some.
			pause = max(pause, 50*time.Millisecond)
		} else if free, _ := dv.counts(); free <= 2*dv.reserve {
			pause = 0
		}
		if pause > 0 {
			select {
			case <-stop:
				return
			case <-time.After(pause):
			}
		}
	}
}

// nextDefrag waits for a queued block and marks it being defragmented.
func (dv *device) nextDefrag(stop <-chan struct{}) (uint32, bool) {
	for {
		dv.bmu.Lock()
		for dv.defragQ.n > 0 {
			blk := dv.defragQ.pop()
			dv.inRing[blk] = false
			if dv.state[blk] == blockQueued {
				dv.state[blk] = blockDefrag
				dv.defragging.Store(true)
				dv.bmu.Unlock()
				return blk, true
			}
		}
		dv.bmu.Unlock()
		select {
		case <-stop:
			return 0, false
		case <-dv.defragWake:
		}
	}
}

// defragBlock moves the current records out of blk and releases it. It
// returns false if it ran out of free blocks before it was done; the block
// is then queued again.
func (dv *device) defragBlock(blk uint32, buf []byte) bool {
	b := dv.b
	seq := dv.seq[blk].Load()
	if dv.live[blk].Load() > 0 {
		if err := dv.readBlock(blk, seq, buf); err != nil {
			b.log.Error("nvme: defrag: cannot read a block; leaving it", "path", dv.path, "block", blk, "err", err)
			dv.setState(blk, blockWritten)
			return true
		}
		b.defragReads.Add(1)
		floor := b.floor()
		full := false
		w := walkBlock(buf, b.seed, seq, func(off int, h *devrecord.Header, rec []byte) bool {
			if full {
				return true
			}
			switch dv.moveRecord(blk, off, h, buf[off:off+devrecord.Padded(int(h.Length))], &floor) {
			case moveDamaged:
				return false
			case moveNoSpace:
				full = true
			}
			return true
		})
		if w.corrupt > 0 {
			// Not counted again: a damaged record the index points at is
			// counted when read, and one it does not is dead anyway.
			b.log.Warn("nvme: defrag: damaged records in a block", "path", dv.path, "block", blk, "count", w.corrupt)
		}
		if full {
			dv.bmu.Lock()
			dv.enqueueLocked(blk)
			dv.bmu.Unlock()
			return false
		}
	}
	dv.bmu.Lock()
	dv.state[blk] = blockWritten
	if dv.live[blk].Load() == 0 {
		dv.judgeLocked(blk)
	}
	// A block that still holds live bytes after a full pass has records
	// that could not be read: they are dropped when next read.
	dv.bmu.Unlock()
	return true
}

// moveResult is what moveRecord did with a record.
type moveResult uint8

const (
	moveDone    moveResult = iota // copied, dropped, or no longer current
	moveDamaged                   // current, but its body does not verify: left
	moveNoSpace                   // no block is free for the copy
)

// moveRecord copies the record at off of blk to the defrag buffer if the
// index still points at it, or drops it if it is a tombstone no longer
// needed. Only a record it copies has its checksum verified.
func (dv *device) moveRecord(blk uint32, off int, h *devrecord.Header, rec []byte, floor *diskFloor) moveResult {
	b := dv.b
	p := b.partition(&h.Digest)
	if b.lock(p) != nil {
		return moveNoSpace // the backend is closing: the block stays queued
	}
	defer b.unlock(p)
	i := p.table.find(&h.Digest, b.hashSeed)
	if i < 0 {
		return moveDone
	}
	e := &p.table.slots[i]
	l := e.loc()
	if l.dev != dv.idx || l.block != blk || int(l.off) != off {
		return moveDone // superseded
	}
	if e.tombstone() && floor.allows(e.below(), l) {
		b.forget(p, i)
		b.tombstonesDropped.Add(1)
		return moveDone
	}
	if !devrecord.BodyOK(rec, h) {
		return moveDamaged
	}
	dv.wmu.Lock()
	wb, at, err := dv.reserveLocked(len(rec), allocDefrag)
	if err != nil {
		dv.wmu.Unlock()
		if !errors.Is(err, errNoBlock) {
			b.log.Error("nvme: defrag: no write buffer", "path", dv.path, "err", err)
		}
		return moveNoSpace
	}
	dst := wb.buf[at : at+len(rec)]
	copy(dst, rec)
	devrecord.Rebase(dst, b.seed, wb.seq.Load())
	wb.appended(at, len(rec))
	nl := location{dev: dv.idx, block: wb.block, off: uint32(at), size: l.size}
	dv.addLive(wb.block, int(l.size))
	dv.wmu.Unlock()
	moved := *e
	moved.setLoc(nl)
	b.intend(p, e, &moved)
	*e = moved
	dv.addLive(blk, -int(l.size))
	b.defragMoved.Add(1)
	return moveDone
}
