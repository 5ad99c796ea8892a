package plugin

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
)

// Large records do not travel through the data socket. Sent through it, a
// record of 128 KiB costs each side a kernel copy and several wake-ups
// while the socket's buffer fills and drains: about 60 µs a record,
// twenty times a copy in memory (BenchmarkLarge). Instead each data
// connection has memory both processes map, set up when the node connects:
// the node creates it (a memfd) and passes its descriptor with the
// connection's first byte. It has two sides of equal size:
//
//	bytes in use on each side        int64 (native order), a cache line each; a page
//	chunk table of the node's side   sharedChunks uint32 (native order)
//	chunk table of the plugin's side sharedChunks uint32
//	the node's side                  sharedChunks chunks of sharedChunkSize
//	the plugin's side                sharedChunks chunks of sharedChunkSize
//
// A Put of sharedMin bytes or more writes its record into chunks of the
// node's side and sends opPutShared with where they are; a Get of that
// size has the backend write the record into chunks of the plugin's side
// (getter.go) and is answered with statusShared; a scan's record of that
// size goes to the plugin's side as statusRecordShared, while scans hold
// less than half of it. The process that writes a side allocates in it,
// marking its chunks in use; the node frees them once the record has been
// read: a Put's when its reply arrives, a Get's or a scan's once copied
// out. When a side has no room the record goes through the socket.
const (
	sharedChunkSize  = 4 << 10
	sharedChunks     = 8192 // 32 MiB a side
	sharedMin        = 2 << 10
	sharedHeaderSize = 4 << 10
	sharedTableSize  = 4 * sharedChunks
	sharedSideSize   = sharedChunkSize * sharedChunks
	sharedSize       = sharedHeaderSize + 2*sharedTableSize + 2*sharedSideSize
)

// The sides of a connection's shared memory.
const (
	nodeSide   = 0
	pluginSide = 1
)

// sharedMem is one data connection's shared memory, mapped.
type sharedMem struct {
	// mu is held for reading while the memory is used, and for writing to
	// unmap it, which sets mem to nil.
	mu    sync.RWMutex
	mem   []byte
	sides [2]sharedSide
	unmap func([]byte) error
}

type sharedSide struct {
	inUse []uint32 // the chunk table, in the shared memory
	used  *int64   // bytes of its chunks in use, in the shared memory
	data  []byte
	// alloc serializes allocations, which only the side's writer makes.
	alloc sync.Mutex
}

// newSharedMem lays the sides out over mem, sharedSize bytes mapped from
// the shared file, which unmap releases.
func newSharedMem(mem []byte, unmap func([]byte) error) *sharedMem {
	m := &sharedMem{mem: mem, unmap: unmap}
	for i := range m.sides {
		table := sharedHeaderSize + i*sharedTableSize
		data := sharedHeaderSize + 2*sharedTableSize + i*sharedSideSize
		m.sides[i] = sharedSide{
			inUse: unsafe.Slice((*uint32)(unsafe.Pointer(&mem[table])), sharedChunks),
			used:  (*int64)(unsafe.Pointer(&mem[64*i])),
			data:  mem[data : data+sharedSideSize : data+sharedSideSize],
		}
	}
	return m
}

// close unmaps the memory once no one uses it.
func (m *sharedMem) close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mem != nil {
		m.unmap(m.mem)
		m.mem = nil
	}
}

// sharedLen is the size of a record as the shared memory holds it.
func sharedLen(rec *storage.Record) int {
	return 4 + 4 + 8 + 2 + len(rec.Set) + 4 + len(rec.Key) + len(rec.Bins)
}

// putRecord writes a Put's record, "meta keyLen key bins" of n bytes, into
// chunks of the node's side and returns their offset; ok is false when the
// side has no room or is unmapped.
func (m *sharedMem) putRecord(rec *storage.Record, n int) (off int, ok bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.mem == nil {
		return 0, false
	}
	return m.sides[nodeSide].putRecord(rec, n)
}

// putRecord writes rec, "meta keyLen key bins" of n bytes, into chunks it
// allocates and returns their offset; ok is false when there is no room.
func (s *sharedSide) putRecord(rec *storage.Record, n int) (off int, ok bool) {
	if off, ok = s.allocate(n); ok {
		appendRecord(s.data[off:off:off+n], rec)
	}
	return off, ok
}

// allocate marks the first run of free chunks that holds n bytes in use.
func (s *sharedSide) allocate(n int) (int, bool) {
	want := (n + sharedChunkSize - 1) / sharedChunkSize
	if atomic.LoadInt64(s.used)+int64(want*sharedChunkSize) > sharedSideSize {
		// Full: no walk over the whole table to find it out.
		return 0, false
	}
	s.alloc.Lock()
	defer s.alloc.Unlock()
	run := 0
	for i := range s.inUse {
		if atomic.LoadUint32(&s.inUse[i]) != 0 {
			run = 0
			continue
		}
		run++
		if run == want {
			first := i + 1 - want
			for j := first; j <= i; j++ {
				atomic.StoreUint32(&s.inUse[j], 1)
			}
			atomic.AddInt64(s.used, int64(want*sharedChunkSize))
			return first * sharedChunkSize, true
		}
	}
	return 0, false
}

// view is the record of n bytes at off on side s, checked to lie within
// it. The caller holds mu for reading.
func (m *sharedMem) view(s, off, n int) ([]byte, bool) {
	if m.mem == nil || off < 0 || n <= 0 || off%sharedChunkSize != 0 || n > sharedSideSize-off {
		return nil, false
	}
	return m.sides[s].data[off : off+n], true
}

// release frees the chunks of the record of n bytes at off on side s.
func (m *sharedMem) release(s, off, n int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if _, ok := m.view(s, off, n); !ok {
		return
	}
	side := &m.sides[s]
	first, end := off/sharedChunkSize, (off+n+sharedChunkSize-1)/sharedChunkSize
	for i := first; i < end; i++ {
		atomic.StoreUint32(&side.inUse[i], 0)
	}
	atomic.AddInt64(side.used, -int64((end-first)*sharedChunkSize))
}

// putScanRecord writes a scan's record, "meta keyLen key bins" of n bytes,
// into chunks of the plugin's side, while scans and Gets hold less than
// half of it, so that a scan running ahead of the node leaves Gets room.
// The plugin unmaps the memory only after its scans end.
func (m *sharedMem) putScanRecord(rec *storage.Record, n int) (off int, ok bool) {
	side := &m.sides[pluginSide]
	if atomic.LoadInt64(side.used)+int64(n) > sharedSideSize/2 {
		return 0, false
	}
	return side.putRecord(rec, n)
}

// appendShared appends a reference to a record in shared memory, the
// payload of opPutShared (after the digest) and of statusShared.
func appendShared(b []byte, off, n int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(off))
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// parseShared reads a reference written by appendShared.
func parseShared(p []byte) (off, n int, ok bool) {
	if len(p) != 8 {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint32(p)), int(binary.BigEndian.Uint32(p[4:])), true
}
