package plugin

import (
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
)

// getter is where one goroutine of the plugin has the backend put the
// records it gets. With shared memory that is an area of the plugin's
// side: a record that fits goes to the node where the backend wrote it,
// with no copy in between, and the goroutine takes a new area for its
// next Get. Without shared memory it is a buffer of the goroutine's own.
type getter struct {
	buf []byte
	// shm is the memory of the connection the area lies in; area is nil
	// when there is none, at offset off of the plugin's side.
	shm  *sharedMem
	area []byte
	off  int
	// size is the size of the next area, grown when a record did not fit.
	size int
}

const (
	getAreaMin = 64 << 10
	getAreaMax = 1 << 20
)

// dest returns the buffer for a Get on the connection whose shared
// memory is shm (nil without).
func (g *getter) dest(shm *sharedMem) []byte {
	if shm != g.shm {
		// A worker serves all connections; an area stays with its own.
		g.drop()
		g.shm = shm
	}
	if shm != nil && g.area == nil {
		g.size = max(g.size, getAreaMin)
		side := &shm.sides[pluginSide]
		// The plugin unmaps a connection's memory only after its requests
		// are done, so the area is written without holding shm.mu.
		if off, ok := side.allocate(g.size); ok {
			g.area, g.off = side.data[off:off:off+g.size], off
		}
	}
	if g.area != nil {
		return g.area
	}
	return g.buf[:0]
}

// drop frees the area, if any.
func (g *getter) drop() {
	if g.area != nil {
		g.shm.release(pluginSide, g.off, cap(g.area))
		g.area = nil
	}
}

// reply appends the reply to a Get that returned rec into the buffer of
// dest: from shared memory if rec is large enough to be worth it, through
// the socket otherwise.
func (g *getter) reply(w *replyWriter, id uint32, rec *storage.Record) {
	n := len(rec.Key) + len(rec.Bins)
	switch {
	case sharedLen(rec) < sharedMin || g.shm == nil:
		w.record(id, statusOK, nil, rec)
		if g.area == nil && n > cap(g.buf) {
			g.buf = make([]byte, 0, 2*n)
		}
	case g.area != nil && g.inArea(rec):
		// The node frees the record's chunks once it has copied it; the
		// area's other chunks are free now.
		used := roundUp(n, sharedChunkSize)
		if rest := cap(g.area) - used; rest > 0 {
			g.shm.release(pluginSide, g.off+used, rest)
		}
		w.shared(id, &rec.Meta, len(rec.Key), g.off, n)
		g.area = nil
	default:
		// Larger than the area: copied into chunks of its size, if any,
		// and the next area is larger.
		g.size = min(roundUp(2*n, sharedChunkSize), getAreaMax)
		g.drop()
		side := &g.shm.sides[pluginSide]
		off, ok := side.allocate(n)
		if !ok {
			w.record(id, statusOK, nil, rec)
			return
		}
		copy(side.data[off+copy(side.data[off:], rec.Key):], rec.Bins)
		w.shared(id, &rec.Meta, len(rec.Key), off, n)
	}
}

// inArea reports whether the backend wrote rec's key and bins, one after
// the other, at the start of the area.
func (g *getter) inArea(rec *storage.Record) bool {
	start := unsafe.SliceData(g.area)
	switch {
	case len(rec.Key) == 0:
		return unsafe.SliceData(rec.Bins) == start
	case len(rec.Bins) == 0:
		return unsafe.SliceData(rec.Key) == start
	}
	return unsafe.SliceData(rec.Key) == start && unsafe.SliceData(rec.Bins) == (*byte)(unsafe.Add(unsafe.Pointer(start), len(rec.Key)))
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }
