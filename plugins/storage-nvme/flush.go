package nvme

import (
	"fmt"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
)

// The flusher: one goroutine per device writes what the write buffers
// hold. A round
//
//  1. writes each sealed buffer whole, from the page where its last partial
//     write stopped to the end of the block (the unused tail as zeros);
//  2. writes the new part of each open buffer (the user one and the
//     defragmenter's) that must reach the device now: with
//     commit-to-device always, otherwise when its oldest unwritten record
//     is flush-max-ms old, or when a freed block waits for the barrier.
//     The write starts at the page holding the end of the previous one, so
//     that page is rewritten with the same bytes and more; the last page
//     is copied out and padded with zeros, since appenders may be writing
//     beyond the buffer's end meanwhile;
//  3. syncs the device (fdatasync) when commit-to-device is on, when
//     blocks wait for the barrier, or when closing;
//  4. publishes how much of each buffer is durable, waking the writers
//     that wait for it (group commit: all Puts whose records the round
//     covered return together), moves written buffers to the post-write
//     queue, and releases the pending blocks the round covered.
//
// A round starts when a buffer is sealed, a commit-to-device writer waits,
// a block is released, or a tick (a quarter of flush-max-ms, at most
// 100 ms) passes.

// flushTick is the flusher's timer period for a flush-max-ms of d.
func flushTick(d time.Duration) time.Duration {
	return min(max(d/4, time.Millisecond), 100*time.Millisecond)
}

// wakeFlusher asks the device's flusher for a round.
func (dv *device) wakeFlusher() {
	select {
	case dv.kick <- struct{}{}:
	default:
	}
}

// flusher is the device's flusher goroutine. It exits after a final round
// once stop is closed.
func (dv *device) flusher(stop <-chan struct{}) {
	defer close(dv.done)
	tick := time.NewTicker(flushTick(dv.b.opts.FlushMax))
	defer tick.Stop()
	scratch, err := allocBuffer(pageSize)
	if err != nil {
		panic(fmt.Sprintf("nvme: cannot allocate the flusher's page: %v", err))
	}
	defer freeBuffer(scratch)
	var batch []*wbuf
	for {
		final := false
		select {
		case <-dv.kick:
		case <-tick.C:
		case <-stop:
			final = true
		}
		batch = dv.round(batch[:0], scratch, final)
		if final {
			return
		}
	}
}

// partial is an open buffer written up to end in this round.
type partial struct {
	wb  *wbuf
	end int64
}

// round runs one flush round; batch is scratch space for the sealed
// buffers it takes.
func (dv *device) round(batch []*wbuf, scratch []byte, final bool) []*wbuf {
	b := dv.b
	covers := b.ticket.Load()
	dv.qmu.Lock()
	batch = append(batch, dv.queue...)
	clear(dv.queue)
	dv.queue = dv.queue[:0]
	dv.qmu.Unlock()

	var err error
	wrote := false
	for _, wb := range batch {
		if err == nil {
			err = dv.writeRest(wb)
			wrote = true
		}
	}
	barrier := b.npending.Load() > 0
	now := time.Now().UnixNano()
	var parts [2]partial
	for i := range dv.open {
		wb := dv.open[i].Load()
		if wb == nil || err != nil {
			continue
		}
		used := wb.used.Load()
		if used == wb.flushed {
			continue
		}
		since := wb.dirtySince.Load()
		if !final && !b.opts.CommitToDevice && !barrier && (since == 0 || now-since < int64(b.opts.FlushMax)) {
			continue
		}
		wb.dirtySince.Store(0)
		used = wb.used.Load()
		err = dv.writePartial(wb, used, scratch)
		parts[i] = partial{wb, used}
		wrote = true
	}
	if err == nil && wrote && (b.opts.CommitToDevice || barrier || final) {
		if err = dv.f.Sync(); err != nil {
			err = fmt.Errorf("sync: %w", err)
		}
		b.syncs.Add(1)
	}
	if err != nil {
		dv.fail(err)
		return batch
	}

	for _, wb := range batch {
		wb.durable.Store(int64(dv.wbs))
		b.journal.written(wb.slot)
	}
	for _, p := range parts {
		if p.wb != nil {
			p.wb.durable.Store(p.end)
		}
	}
	dv.qmu.Lock()
	dv.writeQ.Add(-int32(len(batch)))
	dv.qcond.Broadcast()
	dv.qmu.Unlock()
	for _, wb := range batch {
		if wb.defrag {
			b.defragWrites.Add(1)
		}
		dv.written(wb.block)
		dv.retire(wb)
	}
	dv.flushed.Store(covers)
	b.releasePending()
	return batch
}

// writeRest writes a sealed buffer from the page where its last write
// stopped to the end of the block, the unused tail as zeros: a reused
// buffer holds an earlier block's bytes there.
func (dv *device) writeRest(wb *wbuf) error {
	clear(wb.buf[wb.used.Load():])
	start := alignDown(wb.flushed)
	if err := dv.write(wb, wb.buf[start:], start); err != nil {
		return err
	}
	wb.flushed = int64(dv.wbs)
	return nil
}

// writePartial writes an open buffer up to used: whole pages straight from
// the buffer, the last partial page through scratch.
func (dv *device) writePartial(wb *wbuf, used int64, scratch []byte) error {
	start, full := alignDown(wb.flushed), alignDown(used)
	if full > start {
		if err := dv.write(wb, wb.buf[start:full], start); err != nil {
			return err
		}
	}
	if used > full {
		n := copy(scratch, wb.buf[full:used])
		clear(scratch[n:])
		if err := dv.write(wb, scratch, full); err != nil {
			return err
		}
	}
	wb.flushed = used
	return nil
}

// write writes p at offset off of wb's block, noting the block's first
// write of a new incarnation.
func (dv *device) write(wb *wbuf, p []byte, off int64) error {
	first := wb.flushed == 0
	if _, err := dv.f.WriteAt(p, dv.blockOffset(wb.block)+off); err != nil {
		return fmt.Errorf("write block %d: %w", wb.block, err)
	}
	dv.b.writes.Add(1)
	if first && off == 0 {
		dv.wroteFirst(wb.block, wb.seq.Load())
	}
	return nil
}

// fail marks the device failed: writes to it and waiters on it get an
// error from now on. Its data stays readable.
func (dv *device) fail(err error) {
	err = fmt.Errorf("nvme: %s failed: %v: %w", dv.path, err, storage.ErrUnavailable)
	if dv.failed.CompareAndSwap(nil, &err) {
		dv.b.log.Error("nvme: device write failed; the namespace no longer accepts writes to it", "path", dv.path, "err", err)
	}
	dv.qmu.Lock()
	dv.qcond.Broadcast()
	dv.qmu.Unlock()
}

// failure returns the device's failure, or nil.
func (dv *device) failure() error {
	if p := dv.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// waitDurable waits until wb's incarnation seq is durable up to end, or
// the device fails.
func (dv *device) waitDurable(wb *wbuf, seq uint64, end int64) error {
	dv.wakeFlusher()
	dv.qmu.Lock()
	defer dv.qmu.Unlock()
	for wb.seq.Load() == seq && wb.durable.Load() < end {
		if err := dv.failure(); err != nil {
			return err
		}
		dv.qcond.Wait()
	}
	return nil
}

// admit refuses a write while the device's write queue is full, as
// Aerospike does: the client gets DEVICE_OVERLOAD at once and may retry
// later, rather than wait, its timeout running, on a device that is not
// keeping up, and the write is not done. With commit-to-device each
// writer waits for its block, so the queue stays short.
func (dv *device) admit() error {
	q := dv.writeQ.Load()
	if q < dv.b.maxWriteQ {
		return nil
	}
	dv.wakeFlusher()
	dv.b.overloads.Add(1)
	if now := time.Now().UnixNano(); now-dv.b.overloadWarned.Load() >= int64(time.Second) {
		dv.b.overloadWarned.Store(now)
		dv.b.log.Warn("nvme: writes fail: the write queue is full; the device is not keeping up",
			"namespace", dv.b.opts.Namespace, "device", dv.path, "write_q", q, "refused", dv.b.overloads.Load())
	}
	return fmt.Errorf("%s: %d full write blocks wait for it (max-write-cache %d): %w", dv.path, q, dv.b.opts.MaxWriteCache, storage.ErrOverloaded)
}
