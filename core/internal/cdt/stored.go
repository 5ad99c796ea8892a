package cdt

import (
	"slices"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// Stored checks value, a list or map particle (typ) written whole by a
// client or a UDF, as a server does before it stores one: it must be one
// well-formed collection of that type, hold no wildcard or infinity at any
// depth, and give every map key a type keys may have; otherwise it is a
// parameter error. An ordered list or key-ordered map whose items are out
// of order comes back sorted, as the operations on it assume. A value that
// needs nothing, the common case, is returned as is, without allocating.
// Values of other types are returned as they are.
func Stored(typ uint8, value []byte) ([]byte, error) {
	var want msgpack.Type
	switch typ {
	case proto.ParticleList:
		want = msgpack.List
	case proto.ParticleMap:
		want = msgpack.Map
	default:
		return value, nil
	}
	var h msgpack.Head
	if !h.Parse(value) || h.Type != want {
		return nil, errParam
	}
	size, inOrder, ok := checkStored(value)
	if !ok || size != len(value) {
		return nil, errParam
	}
	if inOrder {
		return value, nil
	}
	var a bins.Arena
	return sortStored(&a, value, 0)
}

// storedLevel is a collection checkStored is inside.
type storedLevel struct {
	// left counts the elements still to read, a map's keys and values
	// apart.
	left    int
	isMap   bool
	ordered bool
	// prev is the last item (map: key) read of an ordered collection.
	prev []byte
}

// checkStored walks the element at the start of b without recursing, so
// that deep nesting cannot exhaust the stack, and returns its length and
// whether its ordered collections are in order.
func checkStored(b []byte) (size int, inOrder, ok bool) {
	var stack [8]storedLevel
	levels := append(stack[:0], storedLevel{left: 1})
	off := 0
	inOrder = true
	for len(levels) > 0 {
		top := &levels[len(levels)-1]
		if top.left == 0 {
			levels = levels[:len(levels)-1]
			continue
		}
		// Every element takes a byte at least.
		if top.left > len(b)-off {
			return 0, false, false
		}
		isKey := top.isMap && top.left%2 == 0
		t, _, hsize, more, _, ok := msgpack.Header(b[off:])
		if !ok || t == msgpack.Wildcard || t == msgpack.Inf || isKey && !keyAllowed(b[off:]) {
			return 0, false, false
		}
		if top.ordered && (isKey || !top.isMap) {
			n, ok := msgpack.Skip(b[off:])
			if !ok {
				return 0, false, false
			}
			elem := b[off : off+n]
			if top.prev != nil && compare(top.prev, elem) > 0 {
				inOrder = false
			}
			top.prev = elem
		}
		top.left--
		off += hsize
		if t != msgpack.List && t != msgpack.Map {
			continue
		}
		next := storedLevel{left: more, isMap: t == msgpack.Map}
		var h msgpack.Head
		if more > 0 && h.Parse(b[off:]) && h.Type == msgpack.Ext {
			// The flags: an ext first, with a value after it in a map.
			n := 1
			if next.isMap {
				n = 2
			}
			skip, ok := msgpack.SkipN(b[off:], n)
			if !ok || more < n {
				return 0, false, false
			}
			off += skip
			next.left -= n
			next.ordered = h.ExtType&listOrdered != 0 // mapKeyOrdered is the same bit
		}
		levels = append(levels, next)
	}
	return off, inOrder, true
}

// maxSortDepth bounds the nesting sortStored rewrites, since it recurses:
// a collection out of order deeper than this is refused.
const maxSortDepth = 256

// sortStored rewrites b, a collection checkStored accepted, with every
// ordered list and key-ordered map in it sorted.
func sortStored(a *bins.Arena, b []byte, depth int) ([]byte, error) {
	if depth > maxSortDepth {
		return nil, errParam
	}
	var h msgpack.Head
	h.Parse(b)
	switch h.Type {
	case msgpack.List:
		l, err := parseList(b)
		if err != nil {
			return nil, err
		}
		for i := range l.items {
			if l.items[i], err = sortStored(a, l.items[i], depth+1); err != nil {
				return nil, err
			}
		}
		if l.ordered() {
			slices.SortStableFunc(l.items, compare)
		}
		return l.encode(a), nil
	case msgpack.Map:
		m, err := parseMap(b)
		if err != nil {
			return nil, err
		}
		for i := range m.pairs {
			if m.pairs[i].v, err = sortStored(a, m.pairs[i].v, depth+1); err != nil {
				return nil, err
			}
		}
		if m.keyOrdered() {
			slices.SortStableFunc(m.pairs, func(x, y pair) int { return compare(x.k, y.k) })
		}
		return m.encode(a), nil
	}
	return b, nil
}
