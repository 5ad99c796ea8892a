package sharedindex

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/skiffdb/skiff/sdk/storage/sets"
)

// A memory backend's records live only in its region, which can outlive
// the process that wrote it: when a plugin process dies the node, which
// holds the memory file, hands it to the next process, and a region file
// on a tmpfs (OpenFile) outlives the node too. The methods here are what a
// process needs to take a region over: Adopt maps it, the accessors read
// back what the last writer published, and Restore rebuilds the page
// allocator from the slabs the backend keeps.
//
// The writer died at an arbitrary instruction. Partitions whose sequence
// word is even were between changes; an odd one was changing, and its
// pending word (BeginWriteOf) names the record the change was about.

// Adopt maps the memory region in the memory file fd, which a process that
// has since exited created, for a backend to resume it: a memory region, or
// a device region with a resume area (Kind tells them apart). It takes
// ownership of fd: Close closes it, and so does Adopt if it fails. The
// region's page allocator knows no slab until Restore.
func Adopt(fd int) (*Region, error) {
	r, err := adopt(fd)
	if err != nil {
		closeFD(fd)
		return nil, fmt.Errorf("shared index: adopt: %w", err)
	}
	hdr := Reader{mem: r.mem}
	// A device region's files stay with the devices: the files it names
	// are taken for passed.
	files := 0
	if hdr.u64(hKind) == KindDevice {
		files = int(hdr.u64(hFiles))
	}
	if err := hdr.checkHeader(files); err != nil {
		r.close()
		return nil, fmt.Errorf("shared index: adopt: %w", err)
	}
	if !hdr.resumable {
		r.close()
		return nil, fmt.Errorf("shared index: adopt: a region of kind %d with nothing to resume", hdr.kind)
	}
	r.kind = hdr.kind
	r.dirLen = hdr.dirLen
	r.pages.init(hdr.dataOff, len(r.mem))
	return r, nil
}

// Kind is the region's kind, KindMemory or KindDevice.
func (r *Region) Kind() uint64 { return r.kind }

// SetResumeArea records that the n bytes at off, which Alloc returned, are
// what a new process of the backend needs from this one if it dies (a
// device backend's write buffers, say): a node then keeps the region for
// that process, which finds the area with ResumeArea.
func (r *Region) SetResumeArea(off, n int) {
	binary.LittleEndian.PutUint64(r.mem[hResumeArea+8:], uint64(n))
	atomic.StoreUint64(r.word(hResumeArea), uint64(off))
}

// ResumeArea is the area SetResumeArea recorded, nil for none or one that
// does not fit the region.
func (r *Region) ResumeArea() []byte {
	off, n := atomic.LoadUint64(r.word(hResumeArea)), binary.LittleEndian.Uint64(r.mem[hResumeArea+8:])
	if off < uint64(r.DataStart()) || n > uint64(len(r.mem)) || off > uint64(len(r.mem))-n {
		return nil
	}
	return r.mem[off : off+n]
}

// SetFormat records how the backend uses the region, for a later Adopt to
// check with Format.
func (r *Region) SetFormat(f uint64) { binary.LittleEndian.PutUint64(r.mem[hFormat:], f) }

// Format is what SetFormat recorded.
func (r *Region) Format() uint64 { return binary.LittleEndian.Uint64(r.mem[hFormat:]) }

// Seed is the index hash seed the region was created with.
func (r *Region) Seed() uint64 { return binary.LittleEndian.Uint64(r.mem[hSeed:]) }

// BeginWriteOf is BeginWrite, first recording pending, what the change is
// about (a backend's choice: a digest's first 8 bytes), for Pending.
func (r *Region) BeginWriteOf(pid uint16, pending uint64) {
	atomic.StoreUint64(r.word(partOff(pid)+pPending), pending)
	r.BeginWrite(pid)
}

// MarkClosed records that the backend closed, every partition left
// changing (Abandon) for readers while nothing changed: a backend that
// resumes the region takes no partition for interrupted (Changing).
func (r *Region) MarkClosed() { atomic.StoreUint64(r.word(hClosed), 1) }

// Changing reports that partition pid's writer was between BeginWrite and
// EndWrite; Pending is then what its BeginWriteOf recorded.
func (r *Region) Changing(pid uint16) bool {
	return atomic.LoadUint64(r.word(hClosed)) == 0 && atomic.LoadUint64(r.word(partOff(pid)+pSeq))&1 != 0
}

// Seq is partition pid's sequence word: odd while it is Changing, the
// value BeginWrite returned for that change.
func (r *Region) Seq(pid uint16) uint64 { return atomic.LoadUint64(r.word(partOff(pid) + pSeq)) }

// Pending is the word the last BeginWriteOf of partition pid recorded.
func (r *Region) Pending(pid uint16) uint64 {
	return atomic.LoadUint64(r.word(partOff(pid) + pPending))
}

// Settle ends a change of partition pid that its writer left unfinished
// (or Abandon), once the backend has repaired the partition.
func (r *Region) Settle(pid uint16) {
	if atomic.LoadUint64(r.word(partOff(pid)+pSeq))&1 != 0 {
		r.EndWrite(pid)
	}
}

// Resumed clears MarkClosed, once the backend has settled every partition.
func (r *Region) Resumed() { atomic.StoreUint64(r.word(hClosed), 0) }

// TableOff is where partition pid's table is, as PublishTable last said,
// 0 for none. Its length is not read back: a writer that died between the
// two words may have left the other table's, and a backend knows the
// length from the table's allocation.
func (r *Region) TableOff(pid uint16) int {
	return int(atomic.LoadUint64(r.word(partOff(pid) + pTableOff)))
}

// TableLen is the length in entries PublishTable last gave partition
// pid's table. It matches TableOff only in a partition that was not
// Changing.
func (r *Region) TableLen(pid uint16) int {
	return int(min(atomic.LoadUint64(r.word(partOff(pid)+pTableLen)), uint64(len(r.mem))))
}

// SlabIDs bounds the slab ids ever published: they are below it.
func (r *Region) SlabIDs() uint32 {
	return uint32(min(atomic.LoadUint64(r.word(hSlabIDs)), uint64(r.dirLen)))
}

// Slab is where slab id is, as PublishSlab last said: its offset, 0 for
// none, and its slot size.
func (r *Region) Slab(id uint32) (off, slotSize int) {
	at := dirOff + int(id)*dirEntrySize
	return int(atomic.LoadUint64(r.word(at))), int(atomic.LoadUint64(r.word(at + 8)))
}

// SetName is the name PublishSet recorded for set id, "" for none.
func (r *Region) SetName(id uint16) string {
	at := setsOff + int(id)*setNameSize
	n := int(binary.LittleEndian.Uint32(r.mem[at:]))
	if n > setNameSize-4 {
		return ""
	}
	return string(r.mem[at+4 : at+4+n])
}

// SetNames are the names PublishSet recorded, indexed by set id: "" for
// id 0 and for ids without one.
func (r *Region) SetNames() []string {
	names := make([]string, sets.Max+1)
	for id := 1; id <= sets.Max; id++ {
		names[id] = r.SetName(uint16(id))
	}
	return names
}

// Span is a run of the data area: offset and length in bytes.
type Span struct{ Off, N int }

// Restore tells an adopted region's page allocator which runs the backend
// keeps, page-aligned and within the data area; the rest is free, and its
// memory goes back to the system (the dead writer may have taken pages it
// never published).
func (r *Region) Restore(used []Span) error {
	used = slices.SortedFunc(slices.Values(used), func(a, b Span) int { return cmp.Compare(a.Off, b.Off) })
	p := &r.pages
	p.mu.Lock()
	defer p.mu.Unlock()
	at := r.DataStart()
	p.free = nil
	for _, s := range used {
		if s.Off%pageSize != 0 || s.N <= 0 || s.N%pageSize != 0 || s.Off < at || s.N > p.end-s.Off {
			return fmt.Errorf("shared index: restore: run of %d bytes at %d overlaps another or leaves the data area", s.N, s.Off)
		}
		if s.Off > at {
			p.free = append(p.free, run{at, s.Off - at})
		}
		at = s.Off + s.N
	}
	p.top, p.high = at, at
	for _, f := range p.free {
		_ = release(r.mem[f.off : f.off+f.n])
	}
	_ = release(r.mem[p.top:p.end])
	return nil
}
