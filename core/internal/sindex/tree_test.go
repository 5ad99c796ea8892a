package sindex

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// digestN is a digest whose bytes spell n (big-endian, then a partition
// chosen by part in the first two bytes' low 12 bits, little-endian).
func digestN(part uint16, n uint64) storage.Digest {
	var d storage.Digest
	binary.LittleEndian.PutUint16(d[0:2], part)
	binary.BigEndian.PutUint64(d[12:20], n)
	return d
}

// model is the reference: a sorted slice of entries.
type model []entry

func (m model) find(k Key, d storage.Digest) (int, bool) {
	return slices.BinarySearchFunc(m, entry{k, d}, func(a, b entry) int { return cmpEntry(a.k, &a.d, b.k, &b.d) })
}

func (m *model) insert(k Key, d storage.Digest) bool {
	i, ok := m.find(k, d)
	if ok {
		return false
	}
	*m = slices.Insert(*m, i, entry{k, d})
	return true
}

func (m *model) delete(k Key, d storage.Digest) bool {
	i, ok := m.find(k, d)
	if !ok {
		return false
	}
	*m = slices.Delete(*m, i, i+1)
	return true
}

func treeEntries(t *tree) []entry {
	var out []entry
	var it iter
	t.seek(&it, -1<<63, &storage.Digest{})
	for ; it.valid(); it.next() {
		out = append(out, entry{it.l.keys[it.pos], it.l.digs[it.pos]})
	}
	return out
}

func checkTree(tb testing.TB, t *tree, m model) {
	tb.Helper()
	if err := t.check(); err != nil {
		tb.Fatalf("tree invariant: %v", err)
	}
	got := treeEntries(t)
	if !slices.Equal(got, []entry(m)) {
		tb.Fatalf("tree holds %d entries, model %d; first difference at %d", len(got), len(m), firstDiff(got, m))
	}
}

func firstDiff(a, b []entry) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestTreeModel runs random inserts and deletes against the sorted-slice
// model, under several key patterns, checking the invariants as it goes.
func TestTreeModel(t *testing.T) {
	patterns := []struct {
		name string
		gen  func(r *rand.Rand, i int) (Key, storage.Digest)
	}{
		{"random", func(r *rand.Rand, i int) (Key, storage.Digest) {
			return Key(r.IntN(5000)), digestN(uint16(r.IntN(4096)), r.Uint64N(50))
		}},
		{"ascending", func(r *rand.Rand, i int) (Key, storage.Digest) {
			return Key(i), digestN(uint16(r.IntN(4096)), r.Uint64())
		}},
		{"descending", func(r *rand.Rand, i int) (Key, storage.Digest) {
			return Key(-i), digestN(0, 0)
		}},
		{"one key", func(r *rand.Rand, i int) (Key, storage.Digest) {
			return 7, digestN(uint16(r.IntN(4096)), r.Uint64N(1<<20))
		}},
		{"extremes", func(r *rand.Rand, i int) (Key, storage.Digest) {
			keys := []Key{-1 << 63, 1<<63 - 1, 0, -1, 1}
			return keys[r.IntN(len(keys))], digestN(uint16(r.IntN(4096)), r.Uint64N(3000))
		}},
	}
	for _, p := range patterns {
		t.Run(p.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			tr := newTree()
			var m model
			const n = 20000
			for i := range n {
				k, d := p.gen(r, i)
				if got, want := tr.insert(k, &d), m.insert(k, d); got != want {
					t.Fatalf("insert %d: got %v, want %v", i, got, want)
				}
				if i%3 == 0 && len(m) > 0 { // delete a present entry, and probe an absent one
					e := m[r.IntN(len(m))]
					if !tr.delete(e.k, &e.d) || !m.delete(e.k, e.d) {
						t.Fatalf("delete %d of a present entry failed", i)
					}
					k, d := p.gen(r, i)
					if got, want := tr.delete(k, &d), m.delete(k, d); got != want {
						t.Fatalf("delete %d: got %v, want %v", i, got, want)
					}
				}
				if i%5000 == 0 {
					checkTree(t, &tr, m)
				}
			}
			checkTree(t, &tr, m)
			// Drain in random order, checking along the way.
			r.Shuffle(len(m), func(i, j int) { m[i], m[j] = m[j], m[i] })
			rest := slices.Clone(m)
			slices.SortFunc(m, func(a, b entry) int { return cmpEntry(a.k, &a.d, b.k, &b.d) })
			for i, e := range rest {
				if !tr.delete(e.k, &e.d) {
					t.Fatalf("drain %d: entry missing", i)
				}
				m.delete(e.k, e.d)
				if i%4000 == 0 {
					checkTree(t, &tr, m)
				}
			}
			checkTree(t, &tr, m)
			if tr.count != 0 || tr.leaves != 0 || tr.height != 1 {
				t.Fatalf("empty tree: count %d, leaves %d, height %d", tr.count, tr.leaves, tr.height)
			}
			// An emptied tree is usable again.
			d := digestN(1, 1)
			if !tr.insert(1, &d) {
				t.Fatal("insert into an emptied tree failed")
			}
			checkTree(t, &tr, model{{1, d}})
		})
	}
}

// TestTreeSeek checks seek against the model at present and absent points.
func TestTreeSeek(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tr := newTree()
	var m model
	for range 20000 {
		k, d := Key(r.IntN(2000)*2), digestN(uint16(r.IntN(4096)), r.Uint64N(8))
		tr.insert(k, &d)
		m.insert(k, d)
	}
	for range 2000 {
		k, d := Key(r.IntN(4002)-1), digestN(uint16(r.IntN(4096)), r.Uint64N(8))
		var it iter
		tr.seek(&it, k, &d)
		i, _ := m.find(k, d)
		if i == len(m) {
			if it.valid() {
				t.Fatalf("seek (%d): past the end, got an entry", k)
			}
			continue
		}
		if !it.valid() || it.l.keys[it.pos] != m[i].k || it.l.digs[it.pos] != m[i].d {
			t.Fatalf("seek (%d): wrong position", k)
		}
	}
}
