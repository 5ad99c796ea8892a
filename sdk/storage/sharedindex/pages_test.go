package sharedindex

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// checkPages verifies that free runs are sorted, apart from each other and
// from top, and within the area.
func checkPages(t *testing.T, p *pages, start int) {
	t.Helper()
	prevEnd := start - 1
	for _, r := range p.free {
		if r.n <= 0 || r.off <= prevEnd || r.off+r.n >= p.top {
			t.Fatalf("free runs %v with top %d: unsorted, adjacent or past top", p.free, p.top)
		}
		prevEnd = r.off + r.n
	}
}

// TestPages allocates and releases runs at random and checks that no two
// live runs overlap, that released memory merges back (all of it returns
// to top when everything is released), and that a full area says so.
func TestPages(t *testing.T) {
	const start, end = 1 << 16, 1 << 30
	var p pages
	p.init(start, end)
	rng := rand.New(rand.NewPCG(1, 2))
	live := map[int]int{}
	owner := map[int]int{} // page -> run offset, to find overlaps
	for i := range 20_000 {
		if len(live) > 0 && rng.IntN(2) == 0 {
			for off, n := range live {
				p.release(off, n)
				for pg := off; pg < off+n; pg += pageSize {
					delete(owner, pg)
				}
				delete(live, off)
				break
			}
		} else {
			n := (1 + rng.IntN(32)) * pageSize
			off, err := p.alloc(n)
			if err != nil {
				t.Fatal(err)
			}
			if off < start || off+n > end || off%pageSize != 0 {
				t.Fatalf("run of %d at %d, outside the area", n, off)
			}
			for pg := off; pg < off+n; pg += pageSize {
				if o, ok := owner[pg]; ok {
					t.Fatalf("op %d: run at %d overlaps the run at %d", i, off, o)
				}
				owner[pg] = off
			}
			live[off] = n
		}
		checkPages(t, &p, start)
	}
	for off, n := range live {
		p.release(off, n)
	}
	if p.top != start || len(p.free) != 0 {
		t.Fatalf("all released: top %d, free %v; want %d and none", p.top, p.free, start)
	}
	if _, err := p.alloc(end - start + pageSize); !errors.Is(err, storage.ErrOutOfSpace) {
		t.Fatalf("more than the area: %v, want ErrOutOfSpace", err)
	}
	// Best fit: of two holes, the smaller that fits is used.
	a, _ := p.alloc(4 * pageSize)
	p.alloc(pageSize)
	b, _ := p.alloc(2 * pageSize)
	p.alloc(pageSize)
	p.release(a, 4*pageSize)
	p.release(b, 2*pageSize)
	if off, _ := p.alloc(2 * pageSize); off != b {
		t.Errorf("two pages went to %d, not to the hole of two at %d", off, b)
	}
}

// TestRestore rebuilds an adopted region's free runs from the runs in use,
// and refuses runs that overlap or leave the data area.
func TestRestore(t *testing.T) {
	r, err := Create(64<<20, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	start := r.DataStart()
	used := []Span{{start + 8*pageSize, 2 * pageSize}, {start, pageSize}}
	if err := r.Restore(used); err != nil {
		t.Fatal(err)
	}
	if want := []run{{start + pageSize, 7 * pageSize}}; r.pages.top != start+10*pageSize || len(r.pages.free) != 1 || r.pages.free[0] != want[0] {
		t.Fatalf("top %d, free %v; want top %d, free %v", r.pages.top, r.pages.free, start+10*pageSize, want)
	}
	if off, _ := r.Alloc(7 * pageSize); off != start+pageSize {
		t.Errorf("the hole went unused: %d", off)
	}
	for _, bad := range [][]Span{
		{{start, 2 * pageSize}, {start + pageSize, pageSize}},
		{{start - pageSize, pageSize}},
		{{start + 1, pageSize}},
		{{len(r.mem) - pageSize, 2 * pageSize}},
	} {
		if err := r.Restore(bad); err == nil {
			t.Errorf("restored %v", bad)
		}
	}
}

// TestRecycle: runs given back with Recycle keep their bytes for the next
// allocations, and ReleaseFree gives back the memory of every run not in
// use, the ones top passed back over included, leaving live runs whole.
func TestRecycle(t *testing.T) {
	r, err := Create(64<<20, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fill := func(off, n int, b byte) {
		for i := off; i < off+n; i++ {
			r.mem[i] = b
		}
	}
	a, _ := r.Alloc(2 * pageSize)
	b, _ := r.Alloc(4 * pageSize)
	c, _ := r.Alloc(pageSize)
	d, _ := r.Alloc(3 * pageSize) // the last: top goes back over it
	fill(a, 2*pageSize, 1)
	fill(b, 4*pageSize, 2)
	fill(c, pageSize, 3)
	fill(d, 3*pageSize, 4)
	r.Recycle(a, 2*pageSize)
	if off, _ := r.Alloc(2 * pageSize); off != a || r.mem[a] != 1 {
		t.Fatalf("recycled run: reused at %d (want %d), first byte %d (want its old 1)", off, a, r.mem[a])
	}
	r.Recycle(a, 2*pageSize)
	r.Recycle(d, 3*pageSize)
	r.ReleaseFree()
	for _, run := range []struct{ off, n int }{{a, 2 * pageSize}, {d, 3 * pageSize}} {
		for i := run.off; i < run.off+run.n; i++ {
			if r.mem[i] != 0 {
				t.Fatalf("byte %d of a free run at %d reads %d after ReleaseFree", i-run.off, run.off, r.mem[i])
			}
		}
	}
	for _, run := range []struct {
		off, n int
		b      byte
	}{{b, 4 * pageSize, 2}, {c, pageSize, 3}} {
		for i := run.off; i < run.off+run.n; i++ {
			if r.mem[i] != run.b {
				t.Fatalf("live run at %d changed by ReleaseFree", run.off)
			}
		}
	}
}
