package nvme

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
)

// The resume area is the state section, then the journal when the buffers
// are not in a write-buffer-file. The state section, all words
// little-endian:
//
//	header:        stateMagic, complete (0 or 1), block sequence, write
//	               sequence, instance, write-block-size, devices, offset of
//	               the journal in the area (0 for none), the region's epoch
//	               (which the devices' region marks name), the write
//	               buffers outside the journal holding records not all on
//	               the devices (journal.alloc), the boot the region's
//	               memory belongs to (16 bytes, bootID), 1 if a clean
//	               stop synced the region file to its disk (keepIndex),
//	               padded to 128 bytes
//	per device:    its blocks
//	per partition: the intent of its change in flight, intentSize bytes:
//	               the entry before and the entry after (48 bytes each,
//	               zeros for none), the offset and length of a table being
//	               filled, the partition sequence word of the change that
//	               wrote the images, and of the one that wrote the table
//	per device:    each block's incarnation, then each block's incarnation
//	               on the device
//
// padded to a page.

const (
	stateMagic  = 0x7864692d6666696b // "kiff-idx", little-endian
	stateHeader = 128
	// Words of the header.
	sMagic    = 0
	sComplete = 8
	sBlockSeq = 16
	sWriteSeq = 24
	sInstance = 32
	sWBS      = 40
	sDevices  = 48
	sJournal  = 56
	sEpoch    = 64
	sUnlisted = 72
	sBoot     = 80
	sSynced   = 96
	// Bytes of a partition's intent, and their offsets.
	intentSize = 128
	iBefore    = 0
	iAfter     = 48
	iTableOff  = 96
	iTableLen  = 104
	iImageTag  = 112
	iTableTag  = 120
)

// stateLayout is the size of the state section for devices of blocks
// blocks each.
func stateLayout(blocks []uint32) int {
	n := intentsOff(len(blocks)) + storage.Partitions*intentSize
	for _, b := range blocks {
		n += 16 * int(b)
	}
	return (n + pageSize - 1) &^ (pageSize - 1)
}

// areaSizes returns the block counts of media ms, and the sizes of the
// state section and the journal (0 with a write-buffer-file) of a resume
// area for them.
func (b *Backend) areaSizes(ms []*medium) (blocks []uint32, state, journal int) {
	blocks = make([]uint32, len(ms))
	for i, m := range ms {
		blocks[i] = m.blocks
	}
	if b.opts.WriteBufferFile == "" {
		_, journal = journalLayout(journalSlots(&b.opts, len(ms)), b.opts.WriteBlockSize)
	}
	return blocks, stateLayout(blocks), journal
}

// intentsOff is where the intents start in the state section of devices
// devices.
func intentsOff(devices int) int { return stateHeader + 8*devices }

// indexState is a live backend's state section.
type indexState struct{ mem []byte }

// newState lays out a state section in mem, stateLayout's size and zeros,
// for a journal at journalOff in the resume area (0: none).
func newState(mem []byte, blocks []uint32, instance uint64, wbs, journalOff int, epoch uint64, boot [16]byte) indexState {
	put := binary.LittleEndian.PutUint64
	put(mem[sEpoch:], epoch)
	copy(mem[sBoot:], boot[:])
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

// unlisted counts the write buffers outside the journal that hold records
// not all on the devices: while there are any, the index may point at
// records that a crash loses, and is not taken over.
func (s indexState) unlisted() *atomic.Int64 {
	return (*atomic.Int64)(unsafe.Pointer(s.word(sUnlisted)))
}

// counters are the block and write sequence counters.
func (s indexState) counters() (blockSeq, writeSeq *atomic.Uint64) {
	return (*atomic.Uint64)(unsafe.Pointer(s.word(sBlockSeq))), (*atomic.Uint64)(unsafe.Pointer(s.word(sWriteSeq)))
}

// blocks returns device i's incarnations and incarnations on the device.
func (s indexState) blocks(i int) (seq []atomic.Uint64, disk []uint64) {
	devices := int(binary.LittleEndian.Uint64(s.mem[sDevices:]))
	at := intentsOff(devices) + storage.Partitions*intentSize
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

// thisBoot is the system's boot (bootID), zeros if unknown.
var thisBoot = sync.OnceValues(bootID)

// ownBoot records that the region's memory is this boot's, and no longer
// the file a clean stop synced (keepIndex): before any change, which a
// crash of the system could find half written back, the next start taking
// it for whole. fd is the region file's.
func (s indexState) ownBoot(fd int) error {
	id, _ := thisBoot()
	copy(s.mem[sBoot:sBoot+len(id)], id[:])
	if atomic.LoadUint64(s.word(sSynced)) == 0 {
		return nil
	}
	atomic.StoreUint64(s.word(sSynced), 0)
	return syncFile(fd)
}

// markSynced records that the region file fd, synced first, stands for the
// index whatever happens to memory; then syncs that.
func (s indexState) markSynced(fd int) error {
	if err := syncFile(fd); err != nil {
		return err
	}
	atomic.StoreUint64(s.word(sSynced), 1)
	return syncFile(fd)
}

// intent is partition pid's intent.
func (s indexState) intent(pid uint16) []byte {
	at := intentsOff(int(binary.LittleEndian.Uint64(s.mem[sDevices:]))) + int(pid)*intentSize
	return s.mem[at : at+intentSize : at+intentSize]
}

// intend records the images of a change of p's table about to be made,
// under its lock: the entry it replaces or removes, and the one it puts
// in, either nil.
func (b *Backend) intend(p *partition, before, after *entry) {
	if b.state.mem == nil {
		return
	}
	in := b.state.intent(p.pid)
	image(in[iBefore:iAfter], before)
	image(in[iAfter:iTableOff], after)
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&in[iImageTag])), p.seq)
}

func image(dst []byte, e *entry) {
	if e == nil {
		clear(dst)
	} else {
		copy(dst, e[:])
	}
}

// partSlots allocates a partition's table slots in the region, recording
// a table that a resize is about to fill in the partition's intent, and
// publishing the filled table before the old one is freed (see above).
type partSlots struct {
	b *Backend
	p *partition
}

func (s *partSlots) alloc(n int) ([]entry, error) {
	e, err := s.b.slots.alloc(n)
	if err == nil && s.b.state.mem != nil {
		in := s.b.state.intent(s.p.pid)
		binary.LittleEndian.PutUint64(in[iTableOff:], uint64(offsetIn(s.b.region, e)))
		binary.LittleEndian.PutUint64(in[iTableLen:], uint64(len(e)))
		atomic.StoreUint64((*uint64)(unsafe.Pointer(&in[iTableTag])), s.p.seq)
	}
	return e, err
}

func (s *partSlots) bytes() int64 { return s.b.slots.bytes() }

func (s *partSlots) free(e []entry) {
	if t := s.p.table.slots; s.b.region != nil && len(t) > 0 && &t[0] != &e[0] {
		s.b.publish(s.p)
	}
	s.b.slots.free(e)
}

// leftState is the state section a dead process left, read with every
// bound checked.
type leftState struct {
	complete                     bool
	blockSeq, writeSeq, instance uint64
	epoch, unlisted              uint64
	wbs                          uint64
	boot                         [16]byte
	synced                       bool
	intents                      []byte     // by partition
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
	at := intentsOff(int(devices)) + storage.Partitions*intentSize
	if at > len(area) {
		return st, fmt.Errorf("index state of %d devices in %d bytes", devices, len(area))
	}
	st.intents = area[intentsOff(int(devices)):at]
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
	st.blockSeq, st.writeSeq, st.instance, st.wbs, st.epoch = u(sBlockSeq), u(sWriteSeq), u(sInstance), u(sWBS), u(sEpoch)
	st.unlisted = u(sUnlisted)
	copy(st.boot[:], area[sBoot:])
	st.synced = u(sSynced) == 1
	return st, nil
}

// words is b, whose length is a multiple of 8, as words.
func words(b []byte) []uint64 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&b[0])), len(b)/8)
}
