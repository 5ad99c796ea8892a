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
// the device has it: a crash of the process would lose those records,
// though the memory holding them need not die with it. So the buffers are
// the slots of a journal, which lists, for each buffer, its block and
// incarnation and how much of it holds records, for as long as some of
// that may not be on the device; the next start writes what the listed
// buffers hold to their blocks before it reads the devices (replay). The
// journal lives
//
//   - in the shared index's memory file (index-type dram), which the node
//     holds: when the plugin process dies, the node hands the file to the
//     next one (sharedindex.Adopt), which replays the journal. A crash of
//     the plugin process loses no acknowledged write; a crash of the node
//     takes the memory along.
//   - in a file on a tmpfs (write-buffer-file), which outlives the node
//     too: every start replays it. A crash of the node or of its plugin
//     loses no acknowledged write; a reboot takes the tmpfs along.
//
// Layout: a header (journalMagic, the write-block-size, the number of
// slots), a table of slots, each three words (device << 32 | block, the
// block sequence of the incarnation its buffer holds, 0 while it holds
// nothing the device lacks, and the end of its records), then each slot's
// buffer, of a block's size. A slot's sequence is stored last when its
// buffer is opened for a block and cleared once the whole block is
// written, before the block can be freed and written again; so a listed
// buffer's block holds that incarnation, or an earlier part of it, or
// nothing of it yet.

const (
	journalMagic  = 0x6c6e6a2d6666696b // "kiff-jnl", little-endian
	journalHeader = 64
	slotSize      = 24
	// Words of a slot.
	jBlock = 0
	jSeq   = 8
	jUsed  = 16
	noSlot = -1
)

// journal hands out the write buffers and lists them. A nil journal (no
// shared index, no write-buffer-file) hands out memory of the process's
// own.
type journal struct {
	mem    []byte
	wbs    int
	bufOff int
	warned atomic.Bool
	log    *slog.Logger
	// close releases a write-buffer-file; nil in the shared index.
	close func() error
	// fd, when not negative, is the file on a tmpfs the journal is in,
	// at fileOff: a buffer's pages are allocated in it before it is
	// handed out (reserveIn).
	fd, fileOff int
	// unlisted, if not nil, counts the buffers outside the journal that
	// hold records not all on the devices (indexState.unlisted).
	unlisted *atomic.Int64

	mu   sync.Mutex
	free []int32 // slots not in use
}

// journalSlots is how many buffers devices devices may hold at once: for
// each, those the flusher has yet to write and as many spares (the write
// queue each), the post-write queue, the two open ones, and slack for
// writers that pass the write queue's check together.
func journalSlots(o *Options, devices int) int {
	return devices * (2*int(o.writeQueue()) + o.PostWriteQueue + 32)
}

// journalLayout is where the buffers of a journal of n slots of wbs bytes
// start, and its size.
func journalLayout(n, wbs int) (bufOff, size int) {
	bufOff = (journalHeader + n*slotSize + pageSize - 1) &^ (pageSize - 1)
	return bufOff, bufOff + n*wbs
}

// newJournal lays out a journal of n slots for buffers of wbs bytes in
// mem, which is journalLayout's size and reads as zeros.
func newJournal(mem []byte, n, wbs int, log *slog.Logger) *journal {
	bufOff, _ := journalLayout(n, wbs)
	j := &journal{mem: mem, wbs: wbs, bufOff: bufOff, log: log, free: make([]int32, n), fd: -1}
	binary.LittleEndian.PutUint64(mem[8:], uint64(wbs))
	binary.LittleEndian.PutUint64(mem[16:], uint64(n))
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&mem[0])), journalMagic)
	for i := range j.free {
		j.free[i] = int32(n - 1 - i)
	}
	return j
}

// reserveIn says that the journal is at off of the file fd on a tmpfs,
// which may fill up: a buffer whose pages cannot be allocated there is
// not handed out, and the writes go to one of the process's own (alloc).
func (j *journal) reserveIn(fd, off int) { j.fd, j.fileOff = fd, off }

// word is word w of slot's entry.
func (j *journal) word(slot int32, w int) *uint64 {
	return (*uint64)(unsafe.Pointer(&j.mem[journalHeader+int(slot)*slotSize+w]))
}

func (j *journal) buffer(slot int32) []byte {
	at := j.bufOff + int(slot)*j.wbs
	return j.mem[at : at+j.wbs : at+j.wbs]
}

// alloc returns a buffer of wbs bytes and its slot. Without a journal, or
// out of slots, it returns memory of the process's own and noSlot: that
// buffer's records are not kept through a crash.
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
	if slot != noSlot && j.fd >= 0 && reserve(j.fd, j.fileOff+j.bufOff+int(slot)*j.wbs, j.wbs) != nil {
		j.mu.Lock()
		j.free = append(j.free, slot)
		j.mu.Unlock()
		slot = noSlot
	}
	if slot != noSlot {
		return j.buffer(slot), slot, nil
	}
	if !j.warned.Swap(true) {
		j.log.Warn("nvme: a write buffer outside the journal (no slot free, or its tmpfs full): a crash may lose the writes of the last flush-max-ms")
	}
	buf, err := allocBuffer(wbs)
	return buf, noSlot, err
}

// freeBuf gives back a buffer alloc returned, and its memory to the
// system. The methods below take a nil journal, whose slots are all
// noSlot.
func (j *journal) freeBuf(buf []byte, slot int32) {
	if slot == noSlot {
		freeBuffer(buf)
		return
	}
	atomic.StoreUint64(j.word(slot, jSeq), 0)
	punch(buf)
	j.mu.Lock()
	j.free = append(j.free, slot)
	j.mu.Unlock()
}

// open lists slot's buffer as holding incarnation seq of block blk of
// device dev, its block header written.
func (j *journal) open(slot int32, dev int, blk uint32, seq uint64) {
	if slot == noSlot {
		if j != nil && j.unlisted != nil {
			j.unlisted.Add(1)
		}
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
	switch {
	case slot != noSlot:
		atomic.StoreUint64(j.word(slot, jSeq), 0)
	case j != nil && j.unlisted != nil:
		j.unlisted.Add(-1)
	}
}

// release closes a write-buffer-file's journal; its buffers are free.
func (j *journal) release() error {
	if j == nil || j.close == nil {
		return nil
	}
	return j.close()
}

// leftBuffer is a buffer a journal listed.
type leftBuffer struct {
	dev  int
	blk  uint32
	seq  uint64
	data []byte // from the block's start to the end of its records
}

// leftBuffers reads the journal in mem, which a process that stopped left:
// the buffers it lists whose slot and block header check out for devices
// devs with blocks of wbs bytes, by device and block, the newest
// incarnation of each block only. skipped counts the slots listed that did
// not.
func leftBuffers(mem []byte, devs []*device, wbs int, seed uint32, instance uint64) (bufs []leftBuffer, skipped int, err error) {
	if len(mem) < journalHeader || binary.LittleEndian.Uint64(mem) != journalMagic {
		return nil, 0, errors.New("no write buffer journal")
	}
	if w := binary.LittleEndian.Uint64(mem[8:]); w != uint64(wbs) {
		return nil, 0, fmt.Errorf("write buffer journal of %d-byte blocks, not %d", w, wbs)
	}
	n := binary.LittleEndian.Uint64(mem[16:])
	if n > uint64(len(mem)/wbs) {
		return nil, 0, fmt.Errorf("write buffer journal of %d slots in %d bytes", n, len(mem))
	}
	bufOff, size := journalLayout(int(n), wbs)
	if size > len(mem) {
		return nil, 0, fmt.Errorf("write buffer journal of %d slots in %d bytes", n, len(mem))
	}
	for i := range int(n) {
		at := journalHeader + i*slotSize
		where := binary.LittleEndian.Uint64(mem[at+jBlock:])
		seq := binary.LittleEndian.Uint64(mem[at+jSeq:])
		used := binary.LittleEndian.Uint64(mem[at+jUsed:])
		if seq == 0 {
			continue
		}
		buf := mem[bufOff+i*wbs : bufOff+(i+1)*wbs]
		dev, blk := int(where>>32), uint32(where)
		ok := dev < len(devs) && blk < devs[dev].nblocks && used >= blockHeaderSize && used <= uint64(wbs)
		if ok {
			h, hok := decodeBlockHeader(buf, seed)
			ok = hok && h.seq == seq && h.instance == instance && h.device == uint32(dev) && h.wbs == uint32(wbs)
		}
		if !ok {
			skipped++
			continue
		}
		bufs = append(bufs, leftBuffer{dev: dev, blk: blk, seq: seq, data: buf[:used]})
	}
	slices.SortFunc(bufs, func(a, b leftBuffer) int {
		return cmp.Or(cmp.Compare(a.dev, b.dev), cmp.Compare(a.blk, b.blk), cmp.Compare(b.seq, a.seq))
	})
	bufs = slices.CompactFunc(bufs, func(a, b leftBuffer) bool { return a.dev == b.dev && a.blk == b.blk })
	return bufs, skipped, nil
}

// replay writes to their blocks what the buffers listed in the journal in
// mem held, which the process that left it may not have written, syncs the
// devices written, and returns those buffers. from names the journal in
// the log. A journal that cannot be read is logged and left: it fails only
// when the devices do. Called by New before it reads the devices.
func (b *Backend) replay(mem []byte, from string) ([]leftBuffer, error) {
	bufs, skipped, err := leftBuffers(mem, b.devs, b.opts.WriteBlockSize, b.seed, b.instance)
	if err != nil {
		b.log.Warn("nvme: the write buffers left in "+from+" cannot be read: writes of the last flush-max-ms before it stopped may be lost",
			"namespace", b.opts.Namespace, "err", err)
		return nil, nil
	}
	scratch, err := allocBuffer(b.opts.WriteBlockSize)
	if err != nil {
		return nil, err
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
			return nil, fmt.Errorf("write block %d of %s: %w", lb.blk, dv.path, err)
		}
		touched[lb.dev] = true
		bytes += int64(n)
	}
	for i, dv := range b.devs {
		if touched[i] {
			if err := dv.f.Sync(); err != nil {
				return nil, fmt.Errorf("sync %s: %w", dv.path, err)
			}
		}
	}
	if len(bufs) > 0 || skipped > 0 {
		b.log.Info("nvme: wrote the write buffers left in "+from, "namespace", b.opts.Namespace,
			"buffers", len(bufs), "bytes", bytes, "skipped", skipped)
	}
	return bufs, nil
}

// openJournalFile lays out the journal in opts.WriteBufferFile, first
// replaying the one the file holds from the last process that used it.
func (b *Backend) openJournalFile(slots int) error {
	path, wbs := b.opts.WriteBufferFile, b.opts.WriteBlockSize
	_, size := journalLayout(slots, wbs)
	fd, old, err := sharedindex.OpenFile("write-buffer-file", path, int64(size))
	if err != nil {
		return err
	}
	if old > 0 {
		mem, err := mapFile(fd, int(old))
		if err == nil {
			_, err = b.replay(mem, path)
			unmapFile(mem)
		}
		if err != nil {
			closeFile(fd)
			return fmt.Errorf("write-buffer-file %s: %w", path, err)
		}
	}
	mem, err := resetFile(fd, size)
	if err != nil {
		closeFile(fd)
		return fmt.Errorf("write-buffer-file %s: %w", path, err)
	}
	b.journal = newJournal(mem, slots, wbs, b.log)
	b.journal.reserveIn(fd, 0)
	if b.state.mem != nil {
		b.journal.unlisted = b.state.unlisted()
	}
	b.journal.close = func() error {
		unmapFile(mem)
		return closeFile(fd)
	}
	return nil
}
