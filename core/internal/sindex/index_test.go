package sindex

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// fill builds an index and its model: nKeys keys, each with perKey digests
// spread over the partitions (so keys tie across digests).
func fill(tb testing.TB, r *rand.Rand, nKeys, perKey int) (*Index, model) {
	tb.Helper()
	x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Numeric})
	var m model
	for k := range nKeys {
		for range perKey {
			d := digestN(uint16(r.IntN(storage.Partitions)), r.Uint64())
			x.Insert(d, Key(k))
			m.insert(Key(k), d)
		}
	}
	return x, m
}

// expect is the brute-force answer of a Range over the model.
func expect(m model, lo, hi Key, from *Cursor, parts *PartitionSet) []entry {
	var out []entry
	for _, e := range m {
		if e.k < lo || e.k > hi {
			continue
		}
		p := e.d.Partition()
		if parts != nil && !parts.Has(p) {
			continue
		}
		if from != nil {
			if a, ok := from.after[p]; ok && cmpEntry(e.k, &e.d, a.k, &a.d) <= 0 {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func collect(x *Index, lo, hi Key, from *Cursor, parts *PartitionSet) []entry {
	var out []entry
	x.Range(lo, hi, from, parts, func(k Key, d storage.Digest) bool {
		out = append(out, entry{k, d})
		return true
	})
	return out
}

// TestRange compares Range with the model over random ranges, partition
// sets and resume points, ties on keys included.
func TestRange(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x, m := fill(t, r, 300, 40) // 12000 entries: several batches and scan limits
	for i := range 300 {
		lo := Key(r.IntN(320) - 10)
		hi := lo + Key(r.IntN(200))
		if i%10 == 0 {
			lo, hi = math.MinInt64, math.MaxInt64
		}
		var parts *PartitionSet
		switch i % 3 {
		case 1:
			parts = &PartitionSet{}
			for range r.IntN(300) {
				parts.Add(uint16(r.IntN(storage.Partitions)))
			}
		case 2:
			parts = &PartitionSet{}
			parts.AddAll()
		}
		var from *Cursor
		if i%2 == 0 {
			from = &Cursor{}
			// Resume points at existing entries (ties: same key, other
			// digests of the partition come before or after) and at absent
			// ones.
			for range r.IntN(200) {
				e := m[r.IntN(len(m))]
				if r.IntN(2) == 0 {
					e.d = digestN(e.d.Partition(), r.Uint64())
				}
				from.ResumeAfter(e.k, e.d)
			}
			if i%4 == 0 { // only resumed partitions: the walk starts at the smallest point
				parts = &PartitionSet{}
				for p := range from.after {
					parts.Add(p)
				}
			}
		}
		got := collect(x, lo, hi, from, parts)
		want := expect(m, lo, hi, from, parts)
		if !slices.Equal(got, want) {
			t.Fatalf("query %d [%d, %d]: got %d entries, want %d (first difference at %d)", i, lo, hi, len(got), len(want), firstDiff(got, want))
		}
	}
}

// TestRangeTies checks a resume point in the middle of a run of equal keys.
func TestRangeTies(t *testing.T) {
	x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Numeric})
	const p = 77
	var ds []storage.Digest
	for i := range 10 {
		d := digestN(p, uint64(i))
		ds = append(ds, d)
		x.Insert(d, 5)
	}
	other := digestN(p+1, 3)
	x.Insert(other, 5)
	x.Insert(ds[0], 4, 6)

	var parts PartitionSet
	parts.Add(p)
	parts.Add(p + 1)
	var from Cursor
	from.ResumeAfter(5, ds[6])
	got := collect(x, 0, 10, &from, &parts)
	want := []entry{{5, ds[7]}, {5, ds[8]}, {5, ds[9]}, {5, other}, {6, ds[0]}}
	slices.SortFunc(want, func(a, b entry) int { return cmpEntry(a.k, &a.d, b.k, &b.d) })
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	// Replacing a resume point: the later call wins.
	from.ResumeAfter(4, ds[0])
	if got := collect(x, 0, 10, &from, &parts); len(got) != 12 {
		t.Fatalf("after replacing the resume point: %d entries", len(got))
	}
	// Only partition p, resumed: the walk may start at the resume point.
	parts = PartitionSet{}
	parts.Add(p)
	from = Cursor{}
	from.ResumeAfter(5, ds[8])
	if got := collect(x, 0, 10, &from, &parts); !slices.Equal(got, []entry{{5, ds[9]}, {6, ds[0]}}) {
		t.Fatalf("resumed single partition: %v", got)
	}
	if got := collect(x, 0, 4, &from, &parts); len(got) != 0 {
		t.Fatalf("resume point past the range: %v", got)
	}
}

// TestRangeResume plays the client: a query stops part way, and the next
// one resumes each partition after the last record it received. Together
// they return every entry once.
func TestRangeResume(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	x, m := fill(t, r, 50, 200)
	var parts PartitionSet
	for range 1000 {
		parts.Add(uint16(r.IntN(storage.Partitions)))
	}
	want := expect(m, 10, 40, nil, &parts)
	for _, stopAfter := range []int{0, 1, 127, 128, 129, len(want) / 2, len(want) - 1} {
		var got []entry
		from := &Cursor{}
		n := 0
		done := x.Range(10, 40, nil, &parts, func(k Key, d storage.Digest) bool {
			if n == stopAfter {
				return false
			}
			n++
			got = append(got, entry{k, d})
			from.ResumeAfter(k, d)
			return true
		})
		if done {
			t.Fatalf("stop after %d: Range reported completion", stopAfter)
		}
		got = append(got, collect(x, 10, 40, from, &parts)...)
		slices.SortFunc(got, func(a, b entry) int { return cmpEntry(a.k, &a.d, b.k, &b.d) })
		if !slices.Equal(got, want) {
			t.Fatalf("stop after %d: %d entries, want %d", stopAfter, len(got), len(want))
		}
	}
}

func TestEqualKeysAndCells(t *testing.T) {
	x := New(Def{Namespace: "t", Name: "g", Bin: "b", Type: Geo2DSphere})
	a, b := digestN(1, 1), digestN(2, 2)
	leafA := PointCell(10, 10)
	parent := ancestor(leafA, 20)
	x.Insert(a, leafA)
	x.Insert(b, parent) // a region's covering cell in the same range
	var got []entry
	x.RangeCells([]CellRange{CellRangeOf(parent)}, nil, nil, func(k Key, d storage.Digest) bool {
		got = append(got, entry{k, d})
		return true
	})
	if !slices.Equal(got, []entry{{leafA, a}}) {
		t.Fatalf("RangeCells: %v", got)
	}
	got = got[:0]
	x.EqualKeys(PointAncestors(10, 10), nil, nil, func(k Key, d storage.Digest) bool {
		got = append(got, entry{k, d})
		return true
	})
	want := []entry{{leafA, a}, {parent, b}}
	slices.SortFunc(want, func(a, b entry) int { return cmpEntry(a.k, &a.d, b.k, &b.d) })
	if !slices.Equal(got, want) {
		t.Fatalf("EqualKeys: %v, want %v", got, want)
	}
}

func TestPartitionSet(t *testing.T) {
	var s PartitionSet
	for _, p := range []uint16{0, 63, 64, 4095} {
		s.Add(p)
	}
	if s.Len() != 4 || !s.Has(4095) || s.Has(1) {
		t.Fatalf("PartitionSet: len %d", s.Len())
	}
	var all PartitionSet
	all.AddAll()
	if all.Len() != storage.Partitions || !s.subsetOf(&all) || all.subsetOf(&s) || (*PartitionSet)(nil).subsetOf(&s) {
		t.Fatal("subsetOf")
	}
}

func TestClearAndStats(t *testing.T) {
	x, m := fill(t, rand.New(rand.NewPCG(1, 1)), 100, 100)
	n, mem := x.Stats()
	if n != uint64(len(m)) || mem < n*28 || mem > n*60 {
		t.Fatalf("Stats: %d entries, %d bytes", n, mem)
	}
	x.Clear()
	if n, _ := x.Stats(); n != 0 || len(collect(x, math.MinInt64, math.MaxInt64, nil, nil)) != 0 {
		t.Fatal("Clear left entries")
	}
}

func TestRemoveFunc(t *testing.T) {
	x, m := fill(t, rand.New(rand.NewPCG(4, 4)), 100, 50)
	odd := func(k Key, d storage.Digest) bool { return d.Partition()%2 == 1 }
	want := 0
	for _, e := range m {
		if odd(e.k, e.d) {
			want++
		}
	}
	if got := x.RemoveFunc(odd); got != want {
		t.Fatalf("RemoveFunc removed %d, want %d", got, want)
	}
	var rest model
	for _, e := range m {
		if !odd(e.k, e.d) {
			rest = append(rest, e)
		}
	}
	checkEntries(t, x, rest...)
}

// TestConcurrentUpdates runs writers that churn records while queries walk
// (meant for -race). Entries present throughout must each be seen once, in
// order; churned ones may or may not be seen.
func TestConcurrentUpdates(t *testing.T) {
	x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Numeric, Collection: List})
	const stableKeys = 2000
	stable := map[entry]bool{}
	for k := range stableKeys {
		d := digestN(uint16(k%storage.Partitions), uint64(k))
		x.Insert(d, Key(k))
		stable[entry{Key(k), d}] = true
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			keys := map[uint64][]Key{}
			for i := 0; !stop.Load(); i++ {
				id := uint64(w)<<32 | r.Uint64N(500)
				d := digestN(uint16(id*7919%storage.Partitions), id|1<<62) // distinct from stable digests
				next := []Key{Key(r.IntN(stableKeys)), Key(r.IntN(stableKeys))}
				slices.Sort(next)
				next = slices.Compact(next)
				if i%7 == 0 {
					next = nil
				}
				x.Update(d, keys[id], next)
				keys[id] = next
			}
		}()
	}
	for q := 0; q < 30; q++ {
		seen := map[entry]int{}
		var prev *entry
		x.Range(0, stableKeys, nil, nil, func(k Key, d storage.Digest) bool {
			e := entry{k, d}
			if prev != nil && cmpEntry(prev.k, &prev.d, k, &d) >= 0 {
				t.Errorf("walk out of order: %v then %v", *prev, e)
			}
			prev = &e
			if stable[e] {
				seen[e]++
			}
			return true
		})
		if len(seen) != len(stable) {
			t.Fatalf("query %d saw %d of %d stable entries", q, len(seen), len(stable))
		}
		for e, n := range seen {
			if n != 1 {
				t.Fatalf("query %d saw %v %d times", q, e, n)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if err := x.t.check(); err != nil {
		t.Fatal(err)
	}
}

// TestRangeAllocs pins the allocation-free query path.
func TestRangeAllocs(t *testing.T) {
	x, _ := fill(t, rand.New(rand.NewPCG(2, 2)), 1000, 10)
	var parts PartitionSet
	parts.AddAll()
	n := 0
	fn := func(Key, storage.Digest) bool { n++; return true }
	if a := testing.AllocsPerRun(50, func() { x.Range(100, 200, nil, &parts, fn) }); a != 0 {
		t.Fatalf("Range: %v allocations", a)
	}
}

// TestAddBuilt checks that a build's copies of records that writes changed
// during the build are dropped, and the others added.
func TestAddBuilt(t *testing.T) {
	x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Numeric})
	d1, d2, d3 := digestN(1, 1), digestN(2, 2), digestN(3, 3)
	x.StartBuild()
	x.Update(d1, nil, []Key{5})              // written during the build
	x.Update(d3, []Key{7}, nil)              // deleted during the build
	x.Update(d2, []Key{4}, []Key{4})         // rewritten, its value unchanged
	es := []Entry{{7, d3}, {3, d1}, {4, d2}} // the build's copies
	SortEntries(es)
	if es[0].Key != 3 || es[2].Key != 7 {
		t.Fatalf("SortEntries: %v", es)
	}
	x.AddBuilt(es)
	x.FinishBuild()
	got := collect(x, math.MinInt64, math.MaxInt64, nil, nil)
	want := []entry{{4, d2}, {5, d1}}
	if !slices.Equal(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	// After the build, updates no longer note records.
	x.Update(d1, []Key{5}, []Key{6})
	if x.touched != nil {
		t.Fatal("FinishBuild left the index noting writes")
	}
}
