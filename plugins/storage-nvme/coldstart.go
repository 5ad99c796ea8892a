package nvme

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
)

// Cold start rebuilds the index from the devices. Every block of every
// device that was not formatted by this start is read, in chunks of a few
// MiB, by one reader per device, and parsed by a pool of goroutines:
//
//   - A block whose header verifies (magic, instance-seeded checksum) holds
//     incarnation seq of the block. A block whose header does not verify
//     but whose first page holds verifying records is taken to hold the
//     highest block sequence among them (its header was damaged), and
//     counted as corrupt; otherwise it is empty.
//   - Each record of the incarnation that verifies (walkBlock) competes for
//     its digest's entry: the copy with the highest write sequence wins,
//     and between copies of one write (the defragmenter's), the one in the
//     newer block. Versions are compared by write sequence, not by
//     last-update time: the core's writes to a digest are serialised, so
//     their order is the truth, and last-update times are the client's to
//     set. While the scan runs, each table keeps its entries' write
//     sequences beside them (table.aux).
//   - A winning tombstone stays in the index unless no block content on
//     the devices is old enough to hold an older version of its record
//     (see defrag.go); then it is dropped.
//
// Then the figures and each block's live bytes are computed from the
// index, blocks without live bytes are free (those whose content is oldest
// first, so that old versions are overwritten soonest), and blocks under
// the defrag threshold are queued for defrag. Block and write sequences
// restart above the highest seen.

// coldChunk is the size of the cold start's reads.
const coldChunk = 8 << 20

// load takes over the index a dead process left, if not nil, or loads it
// from snapshot snap, whose id the media carry, or else rebuilds it from
// the media, then sets up the blocks.
func (b *Backend) load(ms []*medium, snap *os.File, id uint64, left *leftIndex) error {
	var err error
	switch {
	case left != nil:
		err = b.adopt(left)
	case snap != nil:
		err = b.restore(snap, id)
	default:
		err = b.scan(ms)
	}
	if err != nil {
		return err
	}
	for _, dv := range b.devs {
		dv.settleBlocks()
	}
	return nil
}

// scan rebuilds the index from the media.
func (b *Backend) scan(ms []*medium) error {
	// Tables double as they fill (table.ensure). In the shared index's
	// memory file each step would fault fresh pages in and punch the old
	// ones out (half again the cold start's time, measured), so there they
	// are built on the Go heap and moved into place once, at the end. An
	// index on flash, which may be larger than memory, is built in place,
	// the pages of tables outgrown kept for the next ones (regionSlots)
	// and given back at the end.
	final := b.slots
	switch {
	case b.region == nil:
	case b.opts.IndexType == IndexFlash:
		defer b.region.ReleaseFree()
	default:
		b.slots = &heapSlots{}
	}
	for i := range b.parts {
		b.parts[i].table.aux = []uint64{}
	}
	defer func() {
		for i := range b.parts {
			b.parts[i].table.aux = nil
		}
	}()
	cs := &coldState{b: b}
	var wg sync.WaitGroup
	errs := make([]error, len(b.devs))
	for i, dv := range b.devs {
		if ms[i].fresh {
			continue
		}
		wg.Go(func() { errs[i] = cs.scanDevice(dv) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.nextSeq.Store(cs.maxSeq.Load())
	b.wseq.Store(cs.maxWseq.Load())
	if n := cs.corrupt.Load(); n > 0 {
		b.corrupt.Add(n)
		b.log.Warn("nvme: cold start skipped corrupt records", "namespace", b.opts.Namespace, "count", n)
	}
	if err := b.settle(); err != nil {
		return err
	}
	// Tables are tightened, and moved into place, on every CPU at once.
	var next atomic.Int64
	errs = make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(b.parts); i = int(next.Add(1)) - 1 {
				t := &b.parts[i].table
				t.aux = nil
				if final == b.slots {
					t.fit(b.hashSeed, b.slots)
				} else if err := t.moveTo(b.hashSeed, b.slots, final); err != nil {
					errs[w] = fmt.Errorf("nvme: cold start: index: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if b.slots != final {
		// The heap's tables are garbage now, up to twice the index: give
		// their memory back to the system rather than keep it resident.
		b.slots = final
		debug.FreeOSMemory()
	}
	return nil
}

// coldState is the cold start's shared state.
type coldState struct {
	b       *Backend
	maxSeq  atomicMax
	maxWseq atomicMax
	corrupt atomic.Int64
	failed  atomic.Pointer[error]
}

// atomicMax is a uint64 that only grows.
type atomicMax struct{ atomic.Uint64 }

func (m *atomicMax) see(v uint64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// chunk is a run of blocks read in one go.
type chunk struct {
	first uint32
	n     int
	buf   []byte
}

// scanDevice reads every block of dv and feeds its records to the index.
func (cs *coldState) scanDevice(dv *device) error {
	wbs := dv.wbs
	per := max(coldChunk/wbs, 1)
	workers := max(runtime.GOMAXPROCS(0), 1)
	spare := make(chan []byte, workers+2)
	for range workers + 2 {
		buf, err := allocBuffer(per * wbs)
		if err != nil {
			return err
		}
		defer freeBuffer(buf)
		spare <- buf
	}
	work := make(chan chunk, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range work {
				for i := range c.n {
					cs.parseBlock(dv, c.first+uint32(i), c.buf[i*wbs:(i+1)*wbs])
				}
				spare <- c.buf
			}
		})
	}
	var err error
	for first := uint32(0); first < dv.nblocks && cs.failed.Load() == nil; first += uint32(per) {
		n := min(per, int(dv.nblocks-first))
		buf := <-spare
		if _, err = dv.f.ReadAt(buf[:n*wbs], dv.blockOffset(first)); err != nil {
			err = fmt.Errorf("nvme: cold start: read %s blocks %d-%d: %w", dv.path, first, first+uint32(n)-1, err)
			break
		}
		work <- chunk{first, n, buf}
	}
	close(work)
	wg.Wait()
	if err != nil {
		return err
	}
	if p := cs.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// parseBlock finds blk's incarnation and indexes its records.
func (cs *coldState) parseBlock(dv *device, blk uint32, data []byte) {
	b := cs.b
	var seq uint64
	if h, ok := decodeBlockHeader(data, b.seed); ok && h.instance == b.instance {
		seq = h.seq
	} else if seq = guessSeq(data[:pageSize], b.seed); seq == 0 {
		return // never written
	} else {
		cs.corrupt.Add(1)
		b.log.Warn("nvme: cold start: damaged block header; reading the block's records", "path", dv.path, "block", blk)
	}
	dv.seq[blk].Store(seq)
	dv.diskSeq[blk] = seq
	cs.maxSeq.see(seq)
	w := walkBlock(data, b.seed, seq, func(off int, h *devrecord.Header, rec []byte) bool {
		if !devrecord.BodyOK(rec, h) {
			return false
		}
		cs.maxWseq.see(h.WSeq)
		l := location{dev: dv.idx, block: blk, off: uint32(off), size: uint32(devrecord.Padded(int(h.Length)))}
		if err := cs.offer(h, rec, l, seq); err != nil {
			cs.failed.CompareAndSwap(nil, &err)
		}
		return true
	})
	cs.b.torn.Add(int64(w.torn))
	if w.corrupt > 0 {
		cs.corrupt.Add(int64(w.corrupt))
		b.log.Warn("nvme: cold start: corrupt records skipped", "path", dv.path, "block", blk, "count", w.corrupt)
	}
}

// guessSeq returns the highest block sequence of the records that verify
// in page, the first page of a block whose header does not, or 0.
func guessSeq(page []byte, seed uint32) uint64 {
	var seq uint64
	for off := blockHeaderSize; off+devrecord.HeaderSize <= len(page); off += devrecord.Align {
		if h, ok := devrecord.Decode(page[off:], seed); ok {
			seq = max(seq, h.BSeq)
		}
	}
	return seq
}

// offer makes the record at l the entry of its digest if it is the newest
// copy seen so far.
func (cs *coldState) offer(h *devrecord.Header, rec []byte, l location, bseq uint64) error {
	b := cs.b
	var e entry
	if h.Kind == devrecord.KindTombstone {
		e = makeTombstone(&h.Digest, devrecord.TombstoneBelow(rec), l)
	} else {
		set, _, _ := devrecord.Parts(rec, h)
		id, err := b.sets.IDOfBytes(set)
		if err != nil {
			return fmt.Errorf("nvme: cold start: %w", err)
		}
		b.publishSet(id)
		e = makeEntry(&h.Digest, id, h.KeyLen > 0, h.Gen, h.Void, h.LUT, l)
	}
	p := b.partition(&h.Digest)
	p.mu.Lock()
	defer p.mu.Unlock()
	t := &p.table
	i := t.find(&h.Digest, b.hashSeed)
	if i < 0 {
		if err := t.insert(e, h.WSeq, b.hashSeed, b.slots); err != nil {
			return fmt.Errorf("nvme: cold start: %w", err)
		}
		return nil
	}
	if w := t.aux[i]; h.WSeq > w || h.WSeq == w && bseq > b.seqOf(&t.slots[i]) {
		t.slots[i] = e
		t.aux[i] = h.WSeq
	}
	return nil
}

// seqOf returns the block sequence of the block an entry points into.
func (b *Backend) seqOf(e *entry) uint64 {
	l := e.loc()
	return b.devs[l.dev].seq[l.block].Load()
}

// settle computes the figures and blocks' live bytes from the rebuilt
// index, dropping the tombstones no longer needed.
func (b *Backend) settle() error {
	floor := b.computeFloor()
	var drop []storage.Digest
	for pid := range b.parts {
		t := &b.parts[pid].table
		drop = drop[:0]
		for i := range t.slots {
			e := &t.slots[i]
			if !e.used() {
				continue
			}
			l := e.loc()
			if e.tombstone() && floor.allows(e.below(), l) {
				drop = append(drop, e.digest())
				continue
			}
			b.devs[l.dev].live[l.block].Add(int32(l.size))
			if e.tombstone() {
				b.tombstones.Add(1)
				b.parts[pid].tombs++
				continue
			}
			b.records.Add(1)
			b.dataBytes.Add(int64(l.size))
			b.sets.Add(e.setID(), 1, int64(l.size))
		}
		for _, d := range drop {
			t.remove(t.find(&d, b.hashSeed), b.hashSeed, b.slots)
			b.tombstonesDropped.Add(1)
		}
	}
	return nil
}

// settleBlocks sets each block's state from its live bytes: written (and
// queued for defrag under the threshold) or free.
func (dv *device) settleBlocks() {
	dv.bmu.Lock()
	defer dv.bmu.Unlock()
	var free []uint32
	for blk := range dv.nblocks {
		switch v := dv.live[blk].Load(); {
		case v == 0:
			dv.state[blk] = blockFree
			free = append(free, blk)
		case v < dv.b.lwm:
			dv.enqueueLocked(blk)
		default:
			dv.state[blk] = blockWritten
		}
	}
	// Oldest content first, never-written blocks last.
	slices.SortStableFunc(free, func(x, y uint32) int {
		sx, sy := dv.diskSeq[x], dv.diskSeq[y]
		if (sx == 0) != (sy == 0) {
			if sx == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(sx, sy)
	})
	for _, blk := range free {
		dv.free.push(blk)
	}
}
