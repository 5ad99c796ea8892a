package sharedindex

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage/sets"
)

// Region is a backend's side of the layout: the whole mapping, writable. The
// backend places its slabs in the data area and tells readers about them
// through the methods below; it must hold, for each change, whatever lock
// orders it with the backend's other changes to the same partition.
type Region struct {
	mem    []byte
	fd     int // the memory file, shareable with the node; -1 if none
	dirLen int
	kind   uint64
	close  func() error
	pages  pages
	files  []int // a device region's files, shared with the node
	// inMemory are a device region's block flags, per file.
	inMemory [][]uint32
}

// Create makes a region of size bytes (rounded up to a page) whose slab
// directory has dirLen entries, with the index hash seed. Its memory is
// taken from the system only as it is touched.
func Create(size, dirLen int, seed uint64) (*Region, error) {
	return createWith(create, size, dirLen, seed)
}

// createWith is Create with the memory made by make.
func createWith(make func(size int) (*Region, error), size, dirLen int, seed uint64) (*Region, error) {
	size = roundUp(size, pageSize)
	if DataOff(dirLen) >= size {
		return nil, fmt.Errorf("shared index: region of %d bytes is too small for a directory of %d slabs", size, dirLen)
	}
	r, err := make(size)
	if err != nil {
		return nil, fmt.Errorf("shared index: region of %d bytes: %w", size, err)
	}
	r.dirLen = dirLen
	r.pages.init(DataOff(dirLen), size)
	binary.LittleEndian.PutUint64(r.mem[hVersion:], Version)
	binary.LittleEndian.PutUint64(r.mem[hSize:], uint64(size))
	binary.LittleEndian.PutUint64(r.mem[hSeed:], seed)
	binary.LittleEndian.PutUint64(r.mem[hDirLen:], uint64(dirLen))
	binary.LittleEndian.PutUint64(r.mem[hDataOff:], uint64(DataOff(dirLen)))
	binary.LittleEndian.PutUint64(r.mem[hKind:], KindMemory)
	r.kind = KindMemory
	atomic.StoreUint64(r.word(hMagic), magic)
	return r, nil
}

// MinReserve is the least address space CreateUpTo settles for.
const MinReserve = 1 << 30

// CreateUpTo is Create of size bytes or, where the process may not map that
// much (a limit on its address space), of the largest power-of-two fraction
// of it that it may, down to MinReserve: a backend that fills the smaller
// region gets storage.ErrOutOfSpace from Alloc. dirLen gives the slab
// directory's length for a region's size.
func CreateUpTo(size int, dirLen func(size int) int, seed uint64) (*Region, error) {
	return createUpTo(create, size, dirLen, seed)
}

// CreateUpToIn is CreateUpTo in the region file fd (OpenFile), emptied
// first. It takes ownership of fd.
func CreateUpToIn(fd, size int, dirLen func(size int) int, seed uint64) (*Region, error) {
	r, err := createUpTo(func(size int) (*Region, error) { return createIn(fd, size) }, size, dirLen, seed)
	if err != nil {
		closeFD(fd)
	}
	return r, err
}

func createUpTo(make func(size int) (*Region, error), size int, dirLen func(size int) int, seed uint64) (*Region, error) {
	for {
		region, err := createWith(make, size, dirLen(size), seed)
		if err == nil || size/2 < MinReserve {
			return region, err
		}
		size /= 2
	}
}

// Devices describes where a device backend's records are, for a KindDevice
// region.
type Devices struct {
	// Files are the descriptors of the devices and files, which the
	// backend keeps open while the region lives, in the order of the file
	// numbers its entries give; Blocks, the number of blocks of each.
	Files  []int
	Blocks []int
	// BlockSize is the size of a block; BlocksOff is where block 0 starts
	// in each file.
	BlockSize int
	BlocksOff int64
	// CRCSeed seeds the records' header checksums (see devrecord).
	CRCSeed uint32
	// InMemory says that Files are memory files holding copies of the
	// devices, laid out as they are, rather than the devices.
	InMemory bool
}

// ShareDevices makes the region a KindDevice one, whose entries point into
// the files of d, no block in the backend's memory. Call it before the
// region is offered to a node.
func (r *Region) ShareDevices(d Devices) error {
	if len(d.Files) > maxFiles || len(d.Blocks) != len(d.Files) {
		return fmt.Errorf("shared index: %d files (at most %d), %d block counts", len(d.Files), maxFiles, len(d.Blocks))
	}
	for i, n := range d.Blocks {
		size := roundUp(max(n, 1)*4, pageSize)
		off, err := r.Alloc(size)
		if err != nil {
			return fmt.Errorf("shared index: block flags of file %d: %w", i, err)
		}
		r.inMemory = append(r.inMemory, unsafe.Slice((*uint32)(unsafe.Pointer(&r.mem[off])), n))
		at := hFileTable + i*fileEntrySize
		binary.LittleEndian.PutUint64(r.mem[at:], uint64(off))
		binary.LittleEndian.PutUint64(r.mem[at+8:], uint64(n))
	}
	binary.LittleEndian.PutUint64(r.mem[hKind:], KindDevice)
	r.kind = KindDevice
	binary.LittleEndian.PutUint64(r.mem[hCRCSeed:], uint64(d.CRCSeed))
	binary.LittleEndian.PutUint64(r.mem[hBlockSize:], uint64(d.BlockSize))
	binary.LittleEndian.PutUint64(r.mem[hBlocksOff:], uint64(d.BlocksOff))
	binary.LittleEndian.PutUint64(r.mem[hFiles:], uint64(len(d.Files)))
	if d.InMemory {
		binary.LittleEndian.PutUint64(r.mem[hInMemory:], 1)
	}
	r.files = d.Files
	return nil
}

// SetInMemory flags block of file as in the backend's memory, or not: set
// it before the first entry points into a new incarnation of the block,
// clear it once the block is whole on the device and out of memory.
func (r *Region) SetInMemory(file int, block uint32, in bool) {
	var w uint32
	if in {
		w = 1
	}
	atomic.StoreUint32(&r.inMemory[file][block], w)
}

// Files are the descriptors to pass a node with FD: a device region's
// files, none for a memory one.
func (r *Region) Files() []int { return r.files }

// DeviceReads is the number of records the node has read from the devices
// itself.
func (r *Region) DeviceReads() int64 { return int64(atomic.LoadUint64(r.word(hDeviceReads))) }

// Mem is the whole region. The backend's slabs are within
// Mem()[DataStart():].
func (r *Region) Mem() []byte { return r.mem }

// DataStart is the offset of the data area.
func (r *Region) DataStart() int { return DataOff(r.dirLen) }

// DirLen is the number of slab ids the directory holds: ids run from 1 to
// DirLen-1.
func (r *Region) DirLen() int { return r.dirLen }

// FD is the memory file's descriptor, to pass to a node, or -1 when this
// build or system cannot share the region. It stays open until Close.
func (r *Region) FD() int {
	if !Shareable {
		return -1
	}
	return r.fd
}

// Close unmaps the region and closes its memory file; a reader that mapped
// it keeps its own mapping. Closing it again does nothing.
func (r *Region) Close() error {
	if r.mem == nil {
		return nil
	}
	r.mem = nil
	return r.close()
}

// Discard is Close for a region whose contents are of no more use to
// anyone (an adopted one, its resume area read): its memory goes back to
// the system at once, though other processes hold the memory file.
func (r *Region) Discard() error {
	if r.mem != nil {
		// Failing to punch the pages out only leaves them until the last
		// holder closes the file.
		_ = release(r.mem)
	}
	return r.Close()
}

func (r *Region) word(off int) *uint64 {
	return (*uint64)(unsafe.Pointer(&r.mem[off]))
}

func partOff(pid uint16) int { return partsOff + int(pid)*partSize }

// BeginWrite marks partition pid as changing: readers of it retry until
// EndWrite. It returns the partition's sequence word, odd, which names the
// change (Seq).
func (r *Region) BeginWrite(pid uint16) uint64 { return atomic.AddUint64(r.word(partOff(pid)+pSeq), 1) }

// EndWrite ends BeginWrite's change.
func (r *Region) EndWrite(pid uint16) { atomic.AddUint64(r.word(partOff(pid)+pSeq), 1) }

// Abandon leaves partition pid marked as changing for good, so that readers
// give every call on it to the backend: for a backend closing.
func (r *Region) Abandon(pid uint16) {
	if atomic.LoadUint64(r.word(partOff(pid)+pSeq))&1 == 0 {
		r.BeginWrite(pid)
	}
}

// PublishTable says that partition pid's table is n entries at offset off
// (0, 0 for none). Call it between BeginWrite and EndWrite.
func (r *Region) PublishTable(pid uint16, off, n int) {
	atomic.StoreUint64(r.word(partOff(pid)+pTableOff), uint64(off))
	atomic.StoreUint64(r.word(partOff(pid)+pTableLen), uint64(n))
}

// PublishSlab says that slab id is at offset off with slots of slotSize
// bytes (a slab of one record: its whole size); 0, 0 when it goes away.
// Publish a slab before an entry points into it, and one at a time.
func (r *Region) PublishSlab(id uint32, off, slotSize int) {
	at := dirOff + int(id)*dirEntrySize
	// The offset is set last and cleared first, so that a slab with an
	// offset always has its slot size (see Adopt).
	if off == 0 {
		atomic.StoreUint64(r.word(at), 0)
	}
	atomic.StoreUint64(r.word(at+8), uint64(slotSize))
	atomic.StoreUint64(r.word(at), uint64(off))
	if off != 0 && uint64(id) >= atomic.LoadUint64(r.word(hSlabIDs)) {
		atomic.StoreUint64(r.word(hSlabIDs), uint64(id)+1)
	}
}

// PublishSet records the name of set id; publish it before an entry names
// the id. Publishing it again is harmless.
func (r *Region) PublishSet(id uint16, name string) {
	if id == 0 || int(id) > sets.Max || len(name) > setNameSize-4 {
		return
	}
	at := setsOff + int(id)*setNameSize
	copy(r.mem[at+4:at+setNameSize], name)
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&r.mem[at])), uint32(len(name)))
}

// Alloc takes n bytes of the data area, a multiple of the page size, and
// returns their offset; they read as zeros. It fails with
// storage.ErrOutOfSpace when the region is full.
func (r *Region) Alloc(n int) (int, error) { return r.pages.alloc(n) }

// Free gives back the n bytes at off that Alloc returned, and their memory
// to the system.
func (r *Region) Free(off, n int) {
	// Failing to punch the pages out only leaves them in use until reused.
	_ = release(r.mem[off : off+n])
	r.pages.release(off, n)
}

// Recycle is Free keeping the memory (in a region file, the disk's blocks),
// for allocations that soon take it again: a cold start's tables, doubling
// in a file on a disk, where punching each out costs more than the rest of
// the start. Until ReleaseFree, Alloc may return bytes that do not read as
// zeros.
func (r *Region) Recycle(off, n int) { r.pages.release(off, n) }

// ReleaseFree gives the memory of every run not handed out back to the
// system, once the allocations Recycle served are done.
func (r *Region) ReleaseFree() {
	r.pages.each(func(off, n int) { _ = release(r.mem[off : off+n]) })
}
