package sharedindex

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/indexhash"
	"github.com/skiffdb/skiff/sdk/storage/sets"
)

// tries bounds a read's attempts at a consistent view before it leaves the
// call to the backend.
const tries = 4

// maxProbes bounds a lookup's walk along its probe run. A backend's tables
// stay at most 80% full, where runs are a few entries long; a longer one is
// most likely a table read while it was replaced, and goes to the backend.
const maxProbes = 512

// Reader is the node's side: a read-only mapping of a backend's region.
// Its methods are safe for concurrent use, Close included.
type Reader struct {
	mem     []byte
	seed    uint64
	dirLen  int
	dataOff int
	kind    uint64
	// resumable: see Resumable.
	resumable bool

	// A KindDevice region's files and where records are in them, and the
	// header page mapped writable, for the count of device reads.
	files     []file
	copies    bool       // files are memory copies of the devices
	inMemory  [][]uint32 // per file, per block: in the backend's memory
	blockSize uint64
	blocksOff uint64
	crcSeed   uint32
	counters  []byte

	// inflight counts the calls using mem, so that Close unmaps it only
	// once they are done.
	inflight atomic.Int64
	closed   atomic.Bool

	namesMu sync.Mutex
	names   atomic.Pointer[[]string] // set names by id, "" where not read yet
}

// file is a device file as the reader reads it.
type file interface {
	ReadAt(p []byte, off int64) (int, error)
	Close() error
}

// Open maps the region in the memory file fd and, for a KindDevice region,
// opens its files, whose descriptors come in files in the region's order.
// The caller keeps ownership of every descriptor.
func Open(fd int, files []int) (*Reader, error) {
	if !Shareable {
		return nil, errors.New("shared index: not readable on this system")
	}
	mem, err := mapReadOnly(fd)
	if err != nil {
		return nil, fmt.Errorf("shared index: map: %w", err)
	}
	r := &Reader{mem: mem}
	if err := r.checkHeader(len(files)); err != nil {
		unmap(mem)
		return nil, fmt.Errorf("shared index: %w", err)
	}
	if r.kind == KindDevice {
		if err := r.openDevices(fd, files); err != nil {
			r.release()
			return nil, fmt.Errorf("shared index: %w", err)
		}
	}
	names := make([]string, sets.Max+1)
	r.names.Store(&names)
	return r, nil
}

// Resumable reports that the region holds what a new process of its
// backend needs after the one that wrote it dies (Adopt): a memory
// region's records, a device region's resume area.
func (r *Reader) Resumable() bool { return r.resumable }

// release unmaps and closes what Open took.
func (r *Reader) release() error {
	for _, f := range r.files {
		f.Close()
	}
	if r.counters != nil {
		unmap(r.counters)
	}
	return unmap(r.mem)
}

func (r *Reader) checkHeader(files int) error {
	if m := atomic.LoadUint64(r.word(hMagic)); m != magic {
		return fmt.Errorf("bad magic %#x", m)
	}
	if v := r.u64(hVersion); v != Version {
		return fmt.Errorf("layout version %d, want %d", v, Version)
	}
	if size := r.u64(hSize); size != uint64(len(r.mem)) {
		return fmt.Errorf("region says %d bytes, memory file has %d", size, len(r.mem))
	}
	dirLen := r.u64(hDirLen)
	if dirLen > uint64(len(r.mem))/dirEntrySize || uint64(DataOff(int(dirLen))) != r.u64(hDataOff) || r.u64(hDataOff) >= uint64(len(r.mem)) {
		return fmt.Errorf("directory of %d slabs and data at %d do not fit %d bytes", dirLen, r.u64(hDataOff), len(r.mem))
	}
	r.seed, r.dirLen, r.dataOff = r.u64(hSeed), int(dirLen), int(r.u64(hDataOff))
	switch r.kind = r.u64(hKind); r.kind {
	case KindMemory:
		if files != 0 {
			return fmt.Errorf("a memory region comes with %d files", files)
		}
		r.resumable = true
	case KindDevice:
		r.resumable = r.u64(hResumeArea) != 0
		r.blockSize, r.blocksOff, r.crcSeed = r.u64(hBlockSize), r.u64(hBlocksOff), uint32(r.u64(hCRCSeed))
		r.copies = r.u64(hInMemory) == 1
		if n := r.u64(hFiles); n != uint64(files) || n == 0 || n > maxFiles {
			return fmt.Errorf("a device region of %d files comes with %d", n, files)
		}
		for i := range files {
			at := hFileTable + i*fileEntrySize
			off, n := r.u64(at), r.u64(at+8)
			if off < uint64(r.dataOff) || off%4 != 0 || n > uint64(len(r.mem))/4 || off+4*n > uint64(len(r.mem)) {
				return fmt.Errorf("block flags of file %d: %d blocks at %d", i, n, off)
			}
			flags := []uint32{}
			if n > 0 {
				flags = unsafe.Slice((*uint32)(unsafe.Pointer(&r.mem[off])), n)
			}
			r.inMemory = append(r.inMemory, flags)
		}
		if r.blockSize == 0 || r.blockSize%pageSize != 0 || r.blockSize > 1<<23 || r.blocksOff%pageSize != 0 {
			return fmt.Errorf("blocks of %d bytes from %d", r.blockSize, r.blocksOff)
		}
	default:
		return fmt.Errorf("region of unknown kind %d", r.kind)
	}
	return nil
}

// Close unmaps the region once the calls in progress are done; later calls
// leave every read to the backend.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	for r.inflight.Load() != 0 {
		runtime.Gosched()
	}
	return r.release()
}

// OnDevices reports that the region's records are on device files (a
// KindDevice region): each read of data waits for a device.
func (r *Reader) OnDevices() bool { return r.kind == KindDevice }

func (r *Reader) enter() bool {
	r.inflight.Add(1)
	if r.closed.Load() {
		r.inflight.Add(-1)
		return false
	}
	return true
}

func (r *Reader) exit() { r.inflight.Add(-1) }

func (r *Reader) word(off int) *uint64 { return (*uint64)(unsafe.Pointer(&r.mem[off])) }

func (r *Reader) u64(off int) uint64 { return binary.LittleEndian.Uint64(r.mem[off:]) }

// Get copies the record with digest d into buf, growing it if too small, as
// storage.Backend.Get does. ok is false when the reader could not get a
// consistent view and the caller must ask the backend; a miss is
// storage.ErrNotFound, unwrapped.
func (r *Reader) Get(d *storage.Digest, buf []byte) (rec storage.Record, ok bool, err error) {
	return r.read(d, buf, true)
}

// GetMeta is Get for the metadata alone.
func (r *Reader) GetMeta(d *storage.Digest) (storage.Meta, bool, error) {
	rec, ok, err := r.read(d, nil, false)
	return rec.Meta, ok, err
}

// read is Get, which copies the data only if withData.
func (r *Reader) read(d *storage.Digest, buf []byte, withData bool) (rec storage.Record, ok bool, err error) {
	if !r.enter() {
		return rec, false, nil
	}
	defer r.exit()
	if r.kind == KindDevice {
		return r.readDevice(d, buf, withData)
	}
	seq := r.word(partOff(d.Partition()) + pSeq)
	for range tries {
		s := atomic.LoadUint64(seq)
		if s&1 != 0 {
			runtime.Gosched()
			continue
		}
		e, found, sane := r.find(d)
		if !sane {
			continue
		}
		if !found {
			if atomic.LoadUint64(seq) == s {
				return rec, true, storage.ErrNotFound
			}
			continue
		}
		keyLen := 0
		if withData {
			if buf, keyLen, sane = r.copyData(e, buf); !sane {
				continue
			}
		}
		rec.Meta, sane = r.meta(e)
		if !sane || atomic.LoadUint64(seq) != s {
			continue
		}
		if withData {
			rec.Key = buf[:keyLen:keyLen]
			rec.Bins = buf[keyLen:len(buf):len(buf)]
		}
		return rec, true, nil
	}
	return storage.Record{}, false, nil
}

// maxCopyEntries bounds the table Partition copies, 192 MiB: a partition of
// more records than that (17 billion in a namespace) is the backend's to
// scan, and a damaged table length costs no more memory.
const maxCopyEntries = 4 << 20

// Entry is a record's index entry, as Partition copies it.
type Entry struct {
	Digest storage.Digest
	storage.Meta
	// Place orders a KindDevice region's records as they lie on the
	// devices (file, block, offset), for reads in that order.
	Place uint64
}

// Partition appends to dst the entries of partition pid as they were at one
// moment, copying its table through scratch (returned for reuse). ok is
// false when no consistent copy could be had: the caller asks the backend.
func (r *Reader) Partition(pid uint16, dst []Entry, scratch []byte) (_ []Entry, _ []byte, ok bool) {
	if pid >= storage.Partitions || !r.enter() {
		return dst, scratch, false
	}
	defer r.exit()
	p := partOff(pid)
	seq := r.word(p + pSeq)
	start := len(dst)
outer:
	for range tries {
		dst = dst[:start]
		s := atomic.LoadUint64(seq)
		if s&1 != 0 {
			runtime.Gosched()
			continue
		}
		off, n, sane := r.table(p)
		if !sane || n > maxCopyEntries {
			continue
		}
		scratch = append(scratch[:0], r.mem[off:off+n*EntrySize]...)
		if atomic.LoadUint64(seq) != s {
			continue
		}
		for e := 0; e < len(scratch); e += EntrySize {
			slot := scratch[e : e+EntrySize : e+EntrySize]
			if !r.used(slot) || r.tombstone(slot) {
				continue
			}
			m, ok := r.metaOf(slot)
			if !ok {
				continue outer
			}
			dst = append(dst, Entry{Digest: storage.Digest(slot[eDigest : eDigest+len(storage.Digest{})]), Meta: m, Place: r.place(slot)})
		}
		return dst, scratch, true
	}
	return dst[:start], scratch, false
}

// table returns where the table of the partition whose 32 bytes are at p
// is, and its length in entries; sane is false when they cannot be a table
// of the region.
func (r *Reader) table(p int) (off, n uint64, sane bool) {
	off = atomic.LoadUint64(r.word(p + pTableOff))
	n = atomic.LoadUint64(r.word(p + pTableLen))
	if n == 0 {
		return 0, 0, true
	}
	size := uint64(len(r.mem))
	return off, n, off >= uint64(r.dataOff) && off%8 == 0 && n <= size/EntrySize && off+n*EntrySize <= size
}

// find returns the offset of d's entry in its partition's table. sane is
// false when what it read cannot be a consistent table.
func (r *Reader) find(d *storage.Digest) (e int, found, sane bool) {
	off, n, sane := r.table(partOff(d.Partition()))
	if n == 0 || !sane {
		return 0, false, sane
	}
	lo, mid, hi := binary.LittleEndian.Uint64(d[0:8]), binary.LittleEndian.Uint64(d[8:16]), binary.LittleEndian.Uint32(d[16:20])
	for i, probes := indexhash.Home(d, r.seed, int(n)), 0; probes < maxProbes; probes++ {
		e := int(off) + i*EntrySize
		slot := r.mem[e : e+EntrySize : e+EntrySize]
		if !r.used(slot) {
			return 0, false, true
		}
		if binary.LittleEndian.Uint64(slot[0:]) == lo && binary.LittleEndian.Uint64(slot[8:]) == mid && binary.LittleEndian.Uint32(slot[16:]) == hi {
			return e, true, true
		}
		if i++; i == int(n) {
			i = 0
		}
	}
	return 0, false, false // torn, or a run too long to follow here
}

// copyData copies the key and bins of the record whose entry is at e into
// buf, returning it and the key's length.
func (r *Reader) copyData(e int, buf []byte) ([]byte, int, bool) {
	loc := binary.LittleEndian.Uint64(r.mem[e+eLoc:])
	id, slot := loc>>32, loc&0xffffffff
	if id == 0 || id >= uint64(r.dirLen) {
		return buf, 0, false
	}
	at := dirOff + int(id)*dirEntrySize
	base := atomic.LoadUint64(r.word(at))
	slotSize := atomic.LoadUint64(r.word(at + 8))
	size := uint64(len(r.mem))
	if base < uint64(r.dataOff) || slotSize == 0 || slotSize > size || slot > size/slotSize {
		return buf, 0, false
	}
	start := base + slot*slotSize
	if start+slotSize > size {
		return buf, 0, false
	}
	data := r.mem[start : start+slotSize : start+slotSize]
	keyLen, a := binary.Uvarint(data)
	if a <= 0 {
		return buf, 0, false
	}
	binsLen, b := binary.Uvarint(data[a:])
	if b <= 0 || keyLen > slotSize || binsLen > slotSize || uint64(a+b)+keyLen+binsLen > slotSize {
		return buf, 0, false
	}
	n := int(keyLen + binsLen)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	copy(buf, data[a+b:])
	return buf, int(keyLen), true
}

// meta reads the entry at e's metadata.
func (r *Reader) meta(e int) (storage.Meta, bool) {
	return r.metaOf(r.mem[e : e+EntrySize : e+EntrySize])
}

// place is the entry in slot's Place.
func (r *Reader) place(slot []byte) uint64 {
	if r.kind != KindDevice {
		return 0
	}
	lo := binary.LittleEndian.Uint64(slot[dLoc:])
	file, block, off := lo&0xff, lo>>8&0xffffffff, lo>>40&0xfffff
	return file<<52 | block<<20 | off
}

// used reports whether slot holds an entry.
func (r *Reader) used(slot []byte) bool {
	if r.kind == KindDevice {
		return slot[dLoc] != 0
	}
	return binary.LittleEndian.Uint64(slot[eLoc:]) != 0
}

// tombstone reports whether the entry in slot is a tombstone.
func (r *Reader) tombstone(slot []byte) bool {
	return r.kind == KindDevice && binary.LittleEndian.Uint16(slot[dSet:])&DeviceTombstone != 0
}

// metaOf decodes the metadata of the entry in slot.
func (r *Reader) metaOf(slot []byte) (storage.Meta, bool) {
	if r.kind == KindDevice {
		flags := binary.LittleEndian.Uint16(slot[dSet:])
		set, ok := r.setName(flags & DeviceSetMask)
		return storage.Meta{
			Generation: binary.LittleEndian.Uint32(slot[dGeneration:]),
			VoidTime:   binary.LittleEndian.Uint32(slot[dVoidTime:]),
			LastUpdate: binary.LittleEndian.Uint64(slot[dLastUpdate:]),
			Set:        set,
			HasKey:     flags&DeviceHasKey != 0,
		}, ok
	}
	set, ok := r.setName(binary.LittleEndian.Uint16(slot[eSet:]))
	return storage.Meta{
		Generation: binary.LittleEndian.Uint32(slot[eGeneration:]),
		VoidTime:   binary.LittleEndian.Uint32(slot[eVoidTime:]),
		LastUpdate: binary.LittleEndian.Uint64(slot[eLastUpdate:]),
		Set:        set,
		HasKey:     slot[eHasKey] != 0,
	}, ok
}

// setName returns set id's name, reading it from the region the first time.
func (r *Reader) setName(id uint16) (string, bool) {
	if id == 0 {
		return "", true
	}
	if int(id) > sets.Max {
		return "", false
	}
	if name := (*r.names.Load())[id]; name != "" {
		return name, true
	}
	at := setsOff + int(id)*setNameSize
	n := atomic.LoadUint32((*uint32)(unsafe.Pointer(&r.mem[at])))
	if n == 0 || n > setNameSize-4 {
		return "", false
	}
	name := string(r.mem[at+4 : at+4+int(n)])
	r.namesMu.Lock()
	defer r.namesMu.Unlock()
	names := append([]string(nil), *r.names.Load()...)
	names[id] = name
	r.names.Store(&names)
	return name, true
}
