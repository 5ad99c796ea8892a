package sharedindex

import (
	"fmt"
	"slices"
	"sync"

	"github.com/skiffdb/skiff/sdk/storage"
)

// pages hands out runs of a region's data area, in multiples of pageSize,
// for a backend's slabs and tables. These are few (a memory backend's
// slabs hold 64 KiB to 1 MiB of records; a table serves a partition) and
// come and go far less often than records, so a sorted list of free runs,
// searched for the best fit, is enough.
type pages struct {
	mu   sync.Mutex
	top  int   // [top, end) is not handed out
	high int   // [high, end) never was
	end  int   // the end of the data area
	free []run // sorted by offset, none adjacent to another or to top
}

type run struct{ off, n int }

func (p *pages) init(start, end int) {
	p.top, p.high, p.end, p.free = start, start, end, nil
}

// alloc returns the offset of n bytes, a multiple of pageSize.
func (p *pages) alloc(n int) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := -1
	for i, r := range p.free {
		if r.n >= n && (best < 0 || r.n < p.free[best].n) {
			best = i
			if r.n == n {
				break
			}
		}
	}
	if best >= 0 {
		r := &p.free[best]
		off := r.off
		if r.off, r.n = r.off+n, r.n-n; r.n == 0 {
			p.free = slices.Delete(p.free, best, best+1)
		}
		return off, nil
	}
	if p.end-p.top < n {
		return 0, fmt.Errorf("shared index: region full: %d bytes wanted, %d left: %w", n, p.end-p.top, storage.ErrOutOfSpace)
	}
	off := p.top
	p.top += n
	p.high = max(p.high, p.top)
	return off, nil
}

// release takes back the n bytes at off, merging them with free neighbours.
func (p *pages) release(off, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, _ := slices.BinarySearchFunc(p.free, off, func(r run, off int) int { return r.off - off })
	if i > 0 && p.free[i-1].off+p.free[i-1].n == off {
		i--
		off, n = p.free[i].off, p.free[i].n+n
		p.free = slices.Delete(p.free, i, i+1)
	}
	if i < len(p.free) && off+n == p.free[i].off {
		n += p.free[i].n
		p.free = slices.Delete(p.free, i, i+1)
	}
	if off+n == p.top {
		p.top = off
		return
	}
	p.free = slices.Insert(p.free, i, run{off, n})
}

// each calls fn with every run not handed out that may have been.
func (p *pages) each(fn func(off, n int)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.free {
		fn(r.off, r.n)
	}
	if p.high > p.top {
		fn(p.top, p.high-p.top)
	}
}
