package cdt

import (
	"slices"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
)

// Order flags, the ext type of the element in front of an ordered
// collection's items.
const (
	listOrdered   = 0x01
	mapKeyOrdered = 0x01
	mapKVOrdered  = 0x03
)

// list is a list decoded one level: its items alias their msgpack.
type list struct {
	flags byte
	items [][]byte
}

func (l *list) ordered() bool { return l.flags&listOrdered != 0 }

// pair is one entry of a map.
type pair struct{ k, v []byte }

// mapv is a map decoded one level.
type mapv struct {
	flags byte
	pairs []pair
}

func (m *mapv) keyOrdered() bool { return m.flags&mapKeyOrdered != 0 }

// parseList decodes b, a list; nil b is an empty list. A value of another
// type is a bin type error.
func parseList(b []byte) (list, error) {
	var l list
	if b == nil {
		return l, nil
	}
	var h msgpack.Head
	if !h.Parse(b) {
		return l, errParam
	}
	if h.Type != msgpack.List {
		return l, errBinType
	}
	b, n := b[h.Size:], h.N
	if n > 0 && h.Parse(b) && h.Type.IsExt() {
		l.flags = h.ExtType
		b, n = b[h.Size:], n-1
	}
	// Every item takes a byte at least: a header announcing more cannot
	// make this allocate more than its value's length.
	l.items = make([][]byte, 0, min(n, len(b)))
	for range n {
		size, ok := msgpack.Skip(b)
		if !ok {
			return l, errParam
		}
		l.items = append(l.items, b[:size])
		b = b[size:]
	}
	return l, nil
}

// parseMap decodes b, a map; nil b is an empty map.
func parseMap(b []byte) (mapv, error) {
	var m mapv
	if b == nil {
		return m, nil
	}
	var h msgpack.Head
	if !h.Parse(b) {
		return m, errParam
	}
	if h.Type != msgpack.Map {
		return m, errBinType
	}
	b, n := b[h.Size:], h.N/2
	if n > 0 && h.Parse(b) && h.Type.IsExt() {
		m.flags = h.ExtType
		size, ok := msgpack.SkipN(b, 2)
		if !ok {
			return m, errParam
		}
		b, n = b[size:], n-1
	}
	m.pairs = make([]pair, 0, min(n, len(b)/2))
	for range n {
		ks, ok := msgpack.Skip(b)
		if !ok {
			return m, errParam
		}
		vs, ok := msgpack.Skip(b[ks:])
		if !ok {
			return m, errParam
		}
		m.pairs = append(m.pairs, pair{b[:ks], b[ks : ks+vs]})
		b = b[ks+vs:]
	}
	return m, nil
}

// flagsElem is the ext element carrying order flags f: ext 8 with no data.
func appendFlags(dst []byte, f byte) []byte { return append(dst, 0xc7, 0, f) }

// leadsWithExt reports whether a first item (a map's first key) is an ext,
// which readers, the clients among them, would take for the flags: such a
// collection is written with its flags, even when they are 0. A sort can
// bring an ext item a client stored to the front.
func leadsWithExt(first []byte) bool {
	var h msgpack.Head
	return h.Parse(first) && h.Type.IsExt()
}

// encode writes l as msgpack into the arena.
func (l *list) encode(a *bins.Arena) []byte {
	n, size := len(l.items), 5
	header := l.flags != 0 || len(l.items) > 0 && leadsWithExt(l.items[0])
	if header {
		n, size = n+1, size+3
	}
	for _, it := range l.items {
		size += len(it)
	}
	b := msgpack.AppendArrayHeader(a.Alloc(size)[:0], n)
	if header {
		b = appendFlags(b, l.flags)
	}
	for _, it := range l.items {
		b = append(b, it...)
	}
	return b
}

// encode writes m as msgpack into the arena.
func (m *mapv) encode(a *bins.Arena) []byte {
	n, size := len(m.pairs), 5
	header := m.flags != 0 || len(m.pairs) > 0 && leadsWithExt(m.pairs[0].k)
	if header {
		n, size = n+1, size+4
	}
	for _, p := range m.pairs {
		size += len(p.k) + len(p.v)
	}
	b := msgpack.AppendMapHeader(a.Alloc(size)[:0], n)
	if header {
		b = append(appendFlags(b, m.flags), 0xc0)
	}
	for _, p := range m.pairs {
		b = append(append(b, p.k...), p.v...)
	}
	return b
}

// compare orders two elements as the server orders values.
func compare(a, b []byte) int {
	c, _, _ := msgpack.Compare(a, b)
	return c
}

// byValue returns the positions of items in value order (ties in their
// order): position r of the result holds the index of rank r.
func byValue(items [][]byte) []int {
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int { return compare(items[x], items[y]) })
	return idx
}

// byKey returns the positions of a map's pairs in key order, which is
// index order for map operations whatever the map's own order.
func byKey(pairs []pair) []int {
	idx := make([]int, len(pairs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int { return compare(pairs[x].k, pairs[y].k) })
	return idx
}

// byPairValue returns the positions of a map's pairs in value order (then
// key order): position r holds the pair of rank r.
func byPairValue(pairs []pair) []int {
	idx := make([]int, len(pairs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(x, y int) int {
		if c := compare(pairs[x].v, pairs[y].v); c != 0 {
			return c
		}
		return compare(pairs[x].k, pairs[y].k)
	})
	return idx
}

// index resolves a possibly negative index into a collection of n items;
// ok is false when it falls outside.
func index(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

// window returns the part [from, to) of [0, n) covered by count items
// from start, which may lie before 0; count < 0 means all from start on.
func window(start, count int64, n int) (from, to int) {
	end := int64(n)
	// start+count < end, written so that it cannot overflow.
	if count >= 0 && start < end-count {
		end = start + count
	}
	start = min(max(start, 0), int64(n))
	end = max(end, start)
	return int(start), int(end)
}

// indexes returns from, from+1, ..., to-1.
func indexes(from, to int) []int {
	idx := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		idx = append(idx, i)
	}
	return idx
}
