package memory

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// location is where a record's data lives: slab id << 32 | slot index.
// Slab ids start at 1, so no location is 0, which marks an empty index slot.
type location uint64

func makeLocation(slab, slot uint32) location { return location(slab)<<32 | location(slot) }
func (l location) slab() uint32               { return uint32(l >> 32) }
func (l location) slot() uint32               { return uint32(l) }

// allocShards is the number of independently locked parts of the slab
// allocator. Partition pid allocates from shard pid % allocShards, so
// writers to different partitions rarely meet on a lock, while the memory
// held in partly used slabs, which grows with the number of shards, stays
// small.
const allocShards = 16

// allocator hands out slots of slab memory for record data: no record has
// a heap object of its own, so the garbage collector sees a few large
// pointer-free slabs however many records there are.
//
// Each shard keeps, per size class, the slabs that have a free slot. A
// slab's free slots form a list threaded through the slots themselves (the
// first 4 bytes of a free slot hold the next one's index + 1), and slots
// never handed out are taken from a bump index, so bookkeeping costs no
// memory per record. A slab whose slots are all free goes back to the Go
// heap, unless it is its class's last slab with room in the shard.
//
// Records larger than maxSlotSize get a dedicated slab of one slot.
//
// Callers hold the lock of the partition that owns the record for every
// call, which orders an allocation, the writes into the slot, the reads of
// it and its release. Lock order: partition, then shard, then slab table.
type allocator struct {
	slabs  slabTable
	shards [allocShards]allocShard
}

// slabMem takes n bytes, a multiple of pageSize, of the region's data area
// for a new slab.
func (t *slabTable) slabMem(n int) (int, []byte, error) {
	off, err := t.region.Alloc(n)
	if err != nil {
		return 0, nil, err
	}
	return off, t.region.Mem()[off : off+n : off+n], nil
}

// allocShard is one independently locked part of the allocator.
type allocShard struct {
	mu sync.Mutex
	// classes[c] lists the slabs of class c with a free slot.
	classes [][]uint32
	// slabCount[c] is the number of slabs of class c, which sizes the next.
	slabCount []int
	_         [64]byte // keep shards' locks on separate cache lines
}

func (a *allocator) init(region *sharedindex.Region) {
	a.slabs.region = region
	a.slabs.init()
	for i := range a.shards {
		a.shards[i].classes = make([][]uint32, len(slotSizes))
		a.shards[i].slabCount = make([]int, len(slotSizes))
	}
}

// alloc returns a slot for n bytes of data. Partition pid allocates from
// its shard.
func (a *allocator) alloc(pid uint16, n int) (location, error) {
	if n > maxSlotSize {
		size := roundUp(n, pageSize)
		id, err := a.slabs.add(size, size, 1, dedicated, 0)
		return makeLocation(id, 0), err
	}
	c := classFor(n)
	shard := uint8(pid % allocShards)
	sh := &a.shards[shard]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	partial := sh.classes[c]
	if len(partial) == 0 {
		id, err := a.newSlab(sh, shard, c)
		if err != nil {
			return 0, err
		}
		partial = append(partial, id)
		a.slabs.get(id).partialAt = 0
	}
	id := partial[len(partial)-1]
	s := a.slabs.get(id)
	slot := s.take()
	if s.used == s.slots {
		partial = partial[:len(partial)-1]
		s.partialAt = -1
	}
	sh.classes[c] = partial
	return makeLocation(id, slot), nil
}

// allocPages returns a slab of its own for n bytes, rounded up to the
// system's page. Its memory goes back to the system when it is freed.
func (a *allocator) allocPages(n int) (location, error) {
	size := roundUp(n, osPageSize)
	id, err := a.slabs.add(size, size, 1, dedicated, 0)
	return makeLocation(id, 0), err
}

// newSlab adds a slab of class c to shard sh.
func (a *allocator) newSlab(sh *allocShard, shard uint8, c int) (uint32, error) {
	size := int(slotSizes[c])
	bytes := min(slabMaxBytes, slabMinBytes<<min(sh.slabCount[c], 8))
	slots := max(1, bytes/size)
	id, err := a.slabs.add(roundUp(slots*size, pageSize), size, uint32(slots), uint8(c), shard)
	if err != nil {
		return 0, err
	}
	sh.slabCount[c]++
	return id, nil
}

// free releases the slot at loc.
func (a *allocator) free(loc location) {
	id := loc.slab()
	s := a.slabs.get(id)
	if s.class == dedicated {
		a.slabs.remove(id)
		return
	}
	sh, class := &a.shards[s.shard], s.class
	sh.mu.Lock()
	defer sh.mu.Unlock()
	partial := sh.classes[class]
	if s.used == s.slots {
		s.partialAt = int32(len(partial))
		partial = append(partial, id)
	}
	s.put(loc.slot())
	if s.used == 0 && len(partial) > 1 {
		// Swap the last partial slab into this one's place, then let the
		// empty slab go.
		last := partial[len(partial)-1]
		partial[s.partialAt] = last
		a.slabs.get(last).partialAt = s.partialAt
		partial = partial[:len(partial)-1]
		sh.slabCount[class]--
		a.slabs.remove(id)
	}
	sh.classes[class] = partial
}

// slot returns the memory of the slot at loc.
func (a *allocator) slot(loc location) []byte {
	s := a.slabs.get(loc.slab())
	start := int(loc.slot()) * int(s.slotSize)
	end := start + int(s.slotSize)
	return s.mem[start:end:end]
}

// offset returns where in the region the slot at loc is.
func (a *allocator) offset(loc location) int {
	s := a.slabs.get(loc.slab())
	return s.off + int(loc.slot())*int(s.slotSize)
}

// slotSize returns the size of the slot at loc.
func (a *allocator) slotSize(loc location) int {
	return int(a.slabs.get(loc.slab()).slotSize)
}

// release forgets every slab, for Close, which unmaps their memory. No
// other call may be in progress.
func (a *allocator) release() {
	a.slabs.init()
	for i := range a.shards {
		a.shards[i].classes = nil
		a.shards[i].slabCount = nil
	}
}

// dedicated is the class of a slab holding one record larger than
// maxSlotSize.
const dedicated = 0xff

// slab is a block of equal slots. mem, slotSize, class and shard do not
// change while the slab lives, so readers use them under the lock of the
// partition whose record they read; the other fields belong to the shard's
// lock.
type slab struct {
	mem       []byte
	off       int // of mem in the region
	slotSize  uint32
	slots     uint32
	class     uint8
	shard     uint8
	used      uint32
	bump      uint32 // slots from bump on were never handed out
	freeHead  uint32 // index + 1 of the first free slot; 0: none
	partialAt int32  // index in the shard's partial list of the class, or -1
}

// take hands out a free slot; the slab has one.
func (s *slab) take() uint32 {
	s.used++
	if s.freeHead != 0 {
		slot := s.freeHead - 1
		s.freeHead = binary.LittleEndian.Uint32(s.mem[int(slot)*int(s.slotSize):])
		return slot
	}
	s.bump++
	return s.bump - 1
}

// put returns slot to the free list.
func (s *slab) put(slot uint32) {
	binary.LittleEndian.PutUint32(s.mem[int(slot)*int(s.slotSize):], s.freeHead)
	s.freeHead = slot + 1
	s.used--
}

// Slab ids index a two-level table: a fixed directory of chunk pointers,
// loaded atomically, and chunks of slabChunkLen slabs that never move, so
// readers find a slab without a lock while other slabs are added.
const (
	slabChunkBits = 10
	slabChunkLen  = 1 << slabChunkBits
	slabChunks    = 1 << 14 // up to 16M slabs: 16 TiB of full slabs
)

type slabChunk [slabChunkLen]slab

// slabTable maps slab ids to slabs, and publishes each slab's place in the
// region's directory for the node's readers.
type slabTable struct {
	region *sharedindex.Region
	chunks [slabChunks]atomic.Pointer[slabChunk]
	mu     sync.Mutex // guards next, spare and chunk creation
	next   uint32     // the lowest id never used
	spare  []uint32   // ids of removed slabs, for reuse
}

func (t *slabTable) init() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.chunks {
		t.chunks[i].Store(nil)
	}
	t.next, t.spare = 1, nil
}

// get returns slab id, which must exist.
func (t *slabTable) get(id uint32) *slab {
	return &t.chunks[id>>slabChunkBits].Load()[id&(slabChunkLen-1)]
}

// add makes a slab of n bytes, a multiple of pageSize, holding slots slots
// of slotSize bytes, and returns its id.
func (t *slabTable) add(n, slotSize int, slots uint32, class, shard uint8) (uint32, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.spare) == 0 && int(t.next) >= t.region.DirLen() {
		return 0, fmt.Errorf("memory: all %d slabs in use: %w", t.region.DirLen()-1, storage.ErrOutOfSpace)
	}
	off, mem, err := t.slabMem(n)
	if err != nil {
		return 0, err
	}
	var id uint32
	if n := len(t.spare); n > 0 {
		id, t.spare = t.spare[n-1], t.spare[:n-1]
	} else {
		id = t.next
		t.next++
		if c := &t.chunks[id>>slabChunkBits]; c.Load() == nil {
			c.Store(new(slabChunk))
		}
	}
	*t.get(id) = slab{
		mem:       mem,
		off:       off,
		slotSize:  uint32(slotSize),
		slots:     slots,
		class:     class,
		shard:     shard,
		partialAt: -1,
	}
	t.region.PublishSlab(id, off, slotSize)
	return id, nil
}

// restore puts slab s, which a resumed region holds (see Resume), under id,
// listing it as partly used where it has a free slot. Nothing else may run.
func (a *allocator) restore(id uint32, s slab) {
	t := &a.slabs
	if c := &t.chunks[id>>slabChunkBits]; c.Load() == nil {
		c.Store(new(slabChunk))
	}
	sl := t.get(id)
	*sl = s
	t.next = max(t.next, id+1)
	if s.class == dedicated {
		return
	}
	sh := &a.shards[s.shard]
	sh.slabCount[s.class]++
	if s.used < s.slots {
		sl.partialAt = int32(len(sh.classes[s.class]))
		sh.classes[s.class] = append(sh.classes[s.class], id)
	}
}

// restored ends restore: the ids below the highest that no slab took are
// free for new slabs.
func (t *slabTable) restored() {
	for id := uint32(1); id < t.next; id++ {
		if c := t.chunks[id>>slabChunkBits].Load(); c == nil || c[id&(slabChunkLen-1)].mem == nil {
			t.spare = append(t.spare, id)
		}
	}
}

// remove forgets slab id and gives its memory back to the system.
func (t *slabTable) remove(id uint32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.get(id)
	off, n := s.off, len(s.mem)
	*s = slab{}
	t.region.PublishSlab(id, 0, 0)
	t.spare = append(t.spare, id)
	t.region.Free(off, n)
}
