package nvme

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sets"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// A plugin process that dies leaves its index behind. With index-type dram
// the tables are in the shared region, which the node holds and hands to
// the next process (Resume); so are the words the backend keeps besides
// them, in the region's resume area: the block and write sequence counters
// themselves, and for each block its incarnation (device.seq) and the
// incarnation the device holds (device.diskSeq). The backend updates them
// there as it would in its own memory, so keeping them costs nothing.
//
// The next process writes the journal's buffers to the devices (journal.go)
// and then takes the tables over as a warm start takes a snapshot's (each
// entry checked against the devices, figures and block states derived from
// the entries: settle), instead of reading every device: seconds for
// terabytes rather than as long as reading them takes. It does so only when
// the index is whole: the dead process had finished starting ("complete",
// set at the end of New and cleared before Close gives the tables up) and
// no partition was changing, since a Robin Hood insert carries a displaced
// entry outside the table, and an entry copied halfway is neither version.
// Otherwise, or if anything fails a check, it reads the devices, as after a
// crash of the node.
//
// The resume area is the state section, then the journal when the buffers
// are not in a write-buffer-file. The state section, all words
// little-endian:
//
//	header:     stateMagic, complete (0 or 1), block sequence, write
//	            sequence, instance, write-block-size, devices, offset of
//	            the journal in the area (0 for none)
//	per device: its blocks
//	per device: each block's incarnation, then each block's incarnation on
//	            the device
//
// padded to a page.

const (
	stateMagic  = 0x7864692d6666696b // "kiff-idx", little-endian
	stateHeader = 64
	// Words of the header.
	sMagic    = 0
	sComplete = 8
	sBlockSeq = 16
	sWriteSeq = 24
	sInstance = 32
	sWBS      = 40
	sDevices  = 48
	sJournal  = 56
)

// stateLayout is the size of the state section for devices of blocks
// blocks each.
func stateLayout(blocks []uint32) int {
	n := stateHeader + 8*len(blocks)
	for _, b := range blocks {
		n += 16 * int(b)
	}
	return (n + pageSize - 1) &^ (pageSize - 1)
}

// indexState is a live backend's state section.
type indexState struct{ mem []byte }

// newState lays out a state section in mem, stateLayout's size and zeros,
// for a journal at journalOff in the resume area (0: none).
func newState(mem []byte, blocks []uint32, instance uint64, wbs, journalOff int) indexState {
	put := binary.LittleEndian.PutUint64
	put(mem[sInstance:], instance)
	put(mem[sWBS:], uint64(wbs))
	put(mem[sDevices:], uint64(len(blocks)))
	put(mem[sJournal:], uint64(journalOff))
	for i, n := range blocks {
		put(mem[stateHeader+8*i:], uint64(n))
	}
	s := indexState{mem}
	atomic.StoreUint64(s.word(sMagic), stateMagic)
	return s
}

func (s indexState) word(off int) *uint64 { return (*uint64)(unsafe.Pointer(&s.mem[off])) }

// counters are the block and write sequence counters.
func (s indexState) counters() (blockSeq, writeSeq *atomic.Uint64) {
	return (*atomic.Uint64)(unsafe.Pointer(s.word(sBlockSeq))), (*atomic.Uint64)(unsafe.Pointer(s.word(sWriteSeq)))
}

// blocks returns device i's incarnations and incarnations on the device.
func (s indexState) blocks(i int) (seq []atomic.Uint64, disk []uint64) {
	devices := int(binary.LittleEndian.Uint64(s.mem[sDevices:]))
	at := stateHeader + 8*devices
	for d := range i {
		at += 16 * int(binary.LittleEndian.Uint64(s.mem[stateHeader+8*d:]))
	}
	n := int(binary.LittleEndian.Uint64(s.mem[stateHeader+8*i:]))
	if n == 0 {
		return nil, nil
	}
	return unsafe.Slice((*atomic.Uint64)(unsafe.Pointer(&s.mem[at])), n), unsafe.Slice((*uint64)(unsafe.Pointer(&s.mem[at+8*n])), n)
}

// setComplete says whether the index is whole.
func (s indexState) setComplete(whole bool) {
	var v uint64
	if whole {
		v = 1
	}
	atomic.StoreUint64(s.word(sComplete), v)
}

// leftState is the state section a dead process left, read with every
// bound checked.
type leftState struct {
	complete                     bool
	blockSeq, writeSeq, instance uint64
	wbs                          uint64
	seq, disk                    [][]uint64 // by device
	journal                      []byte     // nil for none
}

// readState reads the resume area a dead process left.
func readState(area []byte) (leftState, error) {
	var st leftState
	u := func(off int) uint64 { return binary.LittleEndian.Uint64(area[off:]) }
	if len(area) < stateHeader || u(sMagic) != stateMagic {
		return st, errors.New("no index state")
	}
	devices := u(sDevices)
	if devices > maxDevices || stateHeader+8*int(devices) > len(area) {
		return st, fmt.Errorf("index state of %d devices in %d bytes", devices, len(area))
	}
	at := stateHeader + 8*int(devices)
	for i := range int(devices) {
		n := u(stateHeader + 8*i)
		if n > uint64(len(area)-at)/16 {
			return st, fmt.Errorf("index state of %d blocks for device %d in %d bytes", n, i, len(area))
		}
		st.seq = append(st.seq, words(area[at:at+8*int(n)]))
		st.disk = append(st.disk, words(area[at+8*int(n):at+16*int(n)]))
		at += 16 * int(n)
	}
	if j := u(sJournal); j != 0 {
		if j != uint64((at+pageSize-1)&^(pageSize-1)) || j > uint64(len(area)) {
			return st, fmt.Errorf("write buffer journal at %d of %d bytes", j, len(area))
		}
		st.journal = area[j:]
	}
	st.complete = u(sComplete) == 1
	st.blockSeq, st.writeSeq, st.instance, st.wbs = u(sBlockSeq), u(sWriteSeq), u(sInstance), u(sWBS)
	return st, nil
}

// words is b, whose length is a multiple of 8, as words.
func words(b []byte) []uint64 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}

// leftIndex is what a dead process left to take over: its region, the
// state section read from it, and the buffers replay wrote.
type leftIndex struct {
	region   *sharedindex.Region
	state    leftState
	replayed []leftBuffer
}

// replayLeft writes the buffers listed in the journal that a dead process
// left in region, and returns what there is to take over of its index. An
// area that cannot be read is logged and left: only device errors fail.
func (b *Backend) replayLeft(region *sharedindex.Region) (*leftIndex, error) {
	const from = "the region of the process before"
	st, err := readState(region.ResumeArea())
	if err != nil {
		b.log.Warn("nvme: what the process before left cannot be read: writes of its last flush-max-ms may be lost; reading the devices",
			"namespace", b.opts.Namespace, "err", err)
		return nil, nil
	}
	left := &leftIndex{region: region, state: st}
	if st.journal != nil || b.opts.WriteBufferFile == "" {
		if left.replayed, err = b.replay(st.journal, from); err != nil {
			return nil, err
		}
	}
	return left, nil
}

// adopt takes over the index that a dead process left, in place of a
// scan. Its errors wrap errBadIndex unless the backend itself failed.
func (b *Backend) adopt(left *leftIndex) error {
	st, region := &left.state, left.region
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: the index of the process before: %s", errBadIndex, fmt.Sprintf(format, args...))
	}
	switch {
	case !st.complete:
		return bad("it had not finished starting, or was closing")
	case st.instance != b.instance || st.wbs != uint64(b.opts.WriteBlockSize) || len(st.seq) != len(b.devs):
		return bad("of %d devices of write-block-size %d, instance %x; configured %d of %d, instance %x",
			len(st.seq), st.wbs, st.instance, len(b.devs), b.opts.WriteBlockSize, b.instance)
	}
	for pid := range uint16(storage.Partitions) {
		if region.Changing(pid) {
			return bad("partition %d was changing", pid)
		}
	}
	for i, dv := range b.devs {
		if len(st.seq[i]) != int(dv.nblocks) {
			return bad("%s has %d blocks, the index %d", dv.path, dv.nblocks, len(st.seq[i]))
		}
		for blk := range dv.nblocks {
			seq, disk := st.seq[i][blk], st.disk[i][blk]
			if seq > st.blockSeq || disk > seq {
				return bad("%s block %d has incarnation %d, on the device %d, the last %d", dv.path, blk, seq, disk, st.blockSeq)
			}
			dv.seq[blk].Store(seq)
			dv.diskSeq[blk] = disk
		}
	}
	for _, lb := range left.replayed {
		dv := b.devs[lb.dev]
		if seq := dv.seq[lb.blk].Load(); lb.seq != seq {
			return bad("%s block %d: the journal wrote incarnation %d, the index names %d", dv.path, lb.blk, lb.seq, seq)
		}
		dv.diskSeq[lb.blk] = lb.seq
	}
	b.nextSeq.Store(st.blockSeq)
	b.wseq.Store(st.writeSeq)
	names := []string{""}
	for id := uint16(1); id <= sets.Max; id++ {
		names = append(names, region.SetName(id))
	}
	for len(names) > 1 && names[len(names)-1] == "" {
		names = names[:len(names)-1]
	}
	if err := b.sets.Restore(names); err != nil {
		return bad("%v", err)
	}
	for id := 1; id < len(names); id++ {
		b.publishSet(uint16(id))
	}
	if err := b.adoptTables(region, len(names)); err != nil {
		return err
	}
	return b.settle()
}

// adoptTables fills the partitions' tables from those in region, on every
// CPU, giving back each old table's memory once it is copied, so that the
// two indexes do not take twice the memory.
func (b *Backend) adoptTables(region *sharedindex.Region, nsets int) error {
	mem, start := region.Mem(), region.DataStart()
	workers := max(runtime.GOMAXPROCS(0), 1)
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var buf []byte
			for pid := int(next.Add(1)) - 1; pid < len(b.parts) && errs[w] == nil; pid = int(next.Add(1)) - 1 {
				off, n := region.TableOff(uint16(pid)), region.TableLen(uint16(pid))
				if off == 0 {
					continue
				}
				size := pagesFor(n)
				if n <= 0 || off < start || off%pageSize != 0 || size > len(mem)-off {
					errs[w] = fmt.Errorf("%w: the index of the process before: partition %d: a table of %d entries at %d, outside the region", errBadIndex, pid, n, off)
					return
				}
				buf = buf[:0]
				for _, e := range unsafe.Slice((*entry)(unsafe.Pointer(&mem[off])), n) {
					if e.used() {
						buf = append(buf, e[:]...)
					}
				}
				errs[w] = b.fillTable(pid, buf, nsets)
				punch(mem[off : off+size])
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
