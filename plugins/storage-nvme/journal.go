package nvme

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// The write buffers outlive the process. Without commit-to-device a Put
// returns once its record is in a write buffer, up to flush-max-ms before
// the device has it: a crash of the plugin process alone would lose those
// records, though the memory holding them need not die with it. So with a
// shared index the buffers are pages of the region, which the node holds,
// and the region's resume area lists them (the journal): for each buffer,
// its block and incarnation and how much of it holds records, for as long
// as some of that may not be on the device. When the process dies the node
// hands the region to the next one (sharedindex.Adopt), whose New writes
// what the listed buffers hold to their blocks before it reads the devices
// (replay): every acknowledged write survives a crash of the plugin
// process. A crash of the node or the machine takes the memory along, and
// the flush-max-ms window applies.
//
// The journal's area is a header (journalMagic, the write-block-size, the
// number of slots) and a slot of four words per buffer: the buffer's offset
// in the region, device << 32 | block, the block sequence of the
// incarnation it holds (0 while it holds nothing the device lacks), and
// the end of its records. A slot's sequence is stored last when the buffer
// is opened for a block and cleared once the whole block is written, before
// the block can be freed and written again; so a listed buffer's block
// holds that incarnation, or an earlier part of it, or nothing yet.

const (
	journalMagic  = 0x6c6e6a2d6666696b // "kiff-jnl", little-endian
	journalHeader = 64
	slotSize      = 32
	// Words of a slot.
	jOff   = 0
	jBlock = 8
	jSeq   = 16
	jUsed  = 24
	noSlot = -1
)

// journal allocates the write buffers in the region and lists them. A nil
// journal (no shared index) allocates them in the process's own memory.
type journal struct {
	region *sharedindex.Region
	area   []byte
	wbs    int
	warned atomic.Bool
	log    *slog.Logger

	mu   sync.Mutex
	free []int32 // slots without a buffer
}

// journalSlots is how many buffers a device may hold at once: those the
// flusher has yet to write and as many spares (maxWriteQ each), the
// post-write queue, the two open ones, and slack for writers that pass the
// write queue's throttle together.
func journalSlots(maxWriteQ, postWriteQueue int) int { return 2*maxWriteQ + postWriteQueue + 32 }

// journalBytes is the area of a journal of n slots, whole pages.
func journalBytes(n int) int { return (journalHeader + n*slotSize + pageSize - 1) &^ (pageSize - 1) }

// newJournal lays out a journal of n slots for buffers of wbs bytes in
// region and records it as the region's resume area.
func newJournal(region *sharedindex.Region, n, wbs int, log *slog.Logger) (*journal, error) {
	size := journalBytes(n)
	off, err := region.Alloc(size)
	if err != nil {
		return nil, fmt.Errorf("write buffer journal: %w", err)
	}
	j := &journal{region: region, area: region.Mem()[off : off+size], wbs: wbs, log: log}
	binary.LittleEndian.PutUint64(j.area[8:], uint64(wbs))
	binary.LittleEndian.PutUint64(j.area[16:], uint64(n))
	binary.LittleEndian.PutUint64(j.area[0:], journalMagic)
	j.free = make([]int32, n)
	for i := range j.free {
		j.free[i] = int32(n - 1 - i)
	}
	region.SetResumeArea(off, size)
	return j, nil
}

func (j *journal) word(slot int32, w int) *uint64 {
	return (*uint64)(unsafe.Pointer(&j.area[journalHeader+int(slot)*slotSize+w]))
}

// alloc returns a buffer of wbs bytes and its slot. Without a journal, or
// out of slots or region, it returns memory of the process's own and
// noSlot: that buffer's records are not kept through a crash.
func (j *journal) alloc(wbs int) ([]byte, int32, error) {
	if j == nil {
		buf, err := allocBuffer(wbs)
		return buf, noSlot, err
	}
	j.mu.Lock()
	slot := int32(noSlot)
	if n := len(j.free); n > 0 {
		slot, j.free = j.free[n-1], j.free[:n-1]
	}
	j.mu.Unlock()
	if slot != noSlot {
		off, err := j.region.Alloc(j.wbs)
		if err == nil {
			atomic.StoreUint64(j.word(slot, jOff), uint64(off))
			return j.region.Mem()[off : off+j.wbs], slot, nil
		}
		j.release(slot)
		slot = noSlot
	}
	if !j.warned.Swap(true) {
		j.log.Warn("nvme: a write buffer outside the journal: a crash of this process may lose the writes of the last flush-max-ms")
	}
	buf, err := allocBuffer(wbs)
	return buf, slot, err
}

func (j *journal) release(slot int32) {
	j.mu.Lock()
	j.free = append(j.free, slot)
	j.mu.Unlock()
}

// freeBuf gives back a buffer alloc returned. The methods below take a
// nil journal, whose slots are all noSlot.
func (j *journal) freeBuf(buf []byte, slot int32) {
	if slot == noSlot {
		freeBuffer(buf)
		return
	}
	atomic.StoreUint64(j.word(slot, jSeq), 0)
	off := atomic.LoadUint64(j.word(slot, jOff))
	atomic.StoreUint64(j.word(slot, jOff), 0)
	j.region.Free(int(off), j.wbs)
	j.release(slot)
}

// open lists slot's buffer as holding incarnation seq of block blk of
// device dev, its block header written.
func (j *journal) open(slot int32, dev int, blk uint32, seq uint64) {
	if slot == noSlot {
		return
	}
	atomic.StoreUint64(j.word(slot, jBlock), uint64(dev)<<32|uint64(blk))
	atomic.StoreUint64(j.word(slot, jUsed), blockHeaderSize)
	atomic.StoreUint64(j.word(slot, jSeq), seq)
}

// used records that slot's buffer holds records up to end.
func (j *journal) used(slot int32, end int64) {
	if slot != noSlot {
		atomic.StoreUint64(j.word(slot, jUsed), uint64(end))
	}
}

// written takes slot's buffer off the list: its whole block is written.
func (j *journal) written(slot int32) {
	if slot != noSlot {
		atomic.StoreUint64(j.word(slot, jSeq), 0)
	}
}

// leftBuffer is a buffer a journal listed.
type leftBuffer struct {
	dev  int
	blk  uint32
	seq  uint64
	data []byte // from the block's start to the end of its records
}

// leftBuffers reads the journal in region, which a dead process left: the
// buffers it lists whose slot, place and block header check out for
// devices devs with blocks of wbs bytes, by device and block, the newest
// incarnation of each block only. skipped counts the slots listed that did
// not.
func leftBuffers(region *sharedindex.Region, devs []*device, wbs int, seed uint32, instance uint64) (bufs []leftBuffer, skipped int, err error) {
	area := region.ResumeArea()
	if len(area) < journalHeader || binary.LittleEndian.Uint64(area) != journalMagic {
		return nil, 0, errors.New("no write buffer journal in the region")
	}
	if w := binary.LittleEndian.Uint64(area[8:]); w != uint64(wbs) {
		return nil, 0, fmt.Errorf("write buffer journal of %d-byte blocks, not %d", w, wbs)
	}
	n := binary.LittleEndian.Uint64(area[16:])
	if n > uint64(len(area)-journalHeader)/slotSize {
		return nil, 0, fmt.Errorf("write buffer journal of %d slots in %d bytes", n, len(area))
	}
	mem := region.Mem()
	for i := range int(n) {
		at := journalHeader + i*slotSize
		off := binary.LittleEndian.Uint64(area[at+jOff:])
		where := binary.LittleEndian.Uint64(area[at+jBlock:])
		seq := binary.LittleEndian.Uint64(area[at+jSeq:])
		used := binary.LittleEndian.Uint64(area[at+jUsed:])
		if seq == 0 {
			continue
		}
		dev, blk := int(where>>32), uint32(where)
		ok := dev < len(devs) && blk < devs[dev].nblocks &&
			off >= uint64(region.DataStart()) && off <= uint64(len(mem)-wbs) && off%pageSize == 0 &&
			used >= blockHeaderSize && used <= uint64(wbs)
		if ok {
			h, hok := decodeBlockHeader(mem[off:], seed)
			ok = hok && h.seq == seq && h.instance == instance && h.device == uint32(dev) && h.wbs == uint32(wbs)
		}
		if !ok {
			skipped++
			continue
		}
		bufs = append(bufs, leftBuffer{dev: dev, blk: blk, seq: seq, data: mem[off : off+used]})
	}
	slices.SortFunc(bufs, func(a, b leftBuffer) int {
		return cmp.Or(cmp.Compare(a.dev, b.dev), cmp.Compare(a.blk, b.blk), cmp.Compare(b.seq, a.seq))
	})
	bufs = slices.CompactFunc(bufs, func(a, b leftBuffer) bool { return a.dev == b.dev && a.blk == b.blk })
	return bufs, skipped, nil
}

// replay writes to their blocks what the buffers listed in the journal of
// region held, which the process that left it may not have written, and
// syncs the devices written. Called by New before it reads the devices.
func (b *Backend) replay(region *sharedindex.Region) error {
	bufs, skipped, err := leftBuffers(region, b.devs, b.opts.WriteBlockSize, b.seed, b.instance)
	if err != nil {
		return err
	}
	scratch, err := allocBuffer(b.opts.WriteBlockSize)
	if err != nil {
		return err
	}
	defer freeBuffer(scratch)
	touched := make([]bool, len(b.devs))
	var bytes int64
	for _, lb := range bufs {
		n := copy(scratch, lb.data)
		end := alignUp(int64(n))
		clear(scratch[n:end])
		dv := b.devs[lb.dev]
		if _, err := dv.f.WriteAt(scratch[:end], dv.blockOffset(lb.blk)); err != nil {
			return fmt.Errorf("write block %d of %s: %w", lb.blk, dv.path, err)
		}
		touched[lb.dev] = true
		bytes += int64(n)
	}
	for i, dv := range b.devs {
		if touched[i] {
			if err := dv.f.Sync(); err != nil {
				return fmt.Errorf("sync %s: %w", dv.path, err)
			}
		}
	}
	b.log.Info("nvme: wrote the write buffers the process before left", "namespace", b.opts.Namespace,
		"buffers", len(bufs), "bytes", bytes, "skipped", skipped)
	return nil
}
