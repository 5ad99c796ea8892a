package cdt

import (
	"slices"

	"github.com/skiffdb/skiff/core/internal/msgpack"
)

// Context step types: the low bits say how a step picks an element, the
// high two bits (createMask) what a modify creates when it finds none.
const (
	ctxListIndex = 0x10
	ctxListRank  = 0x11
	ctxListValue = 0x13
	ctxMapIndex  = 0x20
	ctxMapRank   = 0x21
	ctxMapKey    = 0x22
	ctxMapValue  = 0x23

	createMask = 0xc0
	// For a list index: an ordered list, an unordered list after padding
	// with nils up to the index, an unordered list at most one past the end.
	createListOrdered = 0xc0
	createListPadded  = 0x80
	// For a map key: the created map's order (0x40: unordered).
	createMapKV       = 0xc0
	createMapKeyOrder = 0x80
)

// descend takes the first of nctx context steps in ctx: it finds the
// element of cur the step names, runs the rest on it and, when that
// changes the element, gives the collection with the element replaced.
func descend(o *op, cur []byte, ctx []byte, nctx int) (result, error) {
	steps := argReader{b: ctx, n: 2}
	t, err := steps.int()
	if err != nil {
		return result{}, err
	}
	key, err := steps.next()
	if err != nil {
		return result{}, err
	}
	rest := steps.b
	create := t&createMask != 0 && o.modify
	switch t &^ createMask {
	case ctxListIndex, ctxListRank, ctxListValue:
		return descendList(o, cur, t, key, create, rest, nctx-1)
	case ctxMapIndex, ctxMapRank, ctxMapKey, ctxMapValue:
		return descendMap(o, cur, t, key, create, rest, nctx-1)
	}
	return result{}, errParam
}

// Select returns the element of val, a list or map, that ctx names: the
// msgpack array of context steps (type, value, ...) that index definitions
// and queries carry. ok is false when a step finds nothing or does not fit
// the value.
func Select(ctx, val []byte) (elem []byte, ok bool) {
	var h msgpack.Head
	if !h.Parse(ctx) || h.Type != msgpack.List || h.N == 0 || h.N%2 != 0 {
		return nil, false
	}
	steps := argReader{b: ctx[h.Size:], n: h.N}
	for steps.left() > 0 {
		t, err := steps.int()
		if err != nil {
			return nil, false
		}
		key, err := steps.next()
		if err != nil {
			return nil, false
		}
		var pos int
		switch t &^ createMask {
		case ctxListIndex, ctxListRank, ctxListValue:
			l, err := parseList(val)
			if err != nil || val == nil {
				return nil, false
			}
			if pos, err = l.lookup(t, key); err != nil || pos < 0 {
				return nil, false
			}
			val = l.items[pos]
		default:
			m, err := parseMap(val)
			if err != nil || val == nil {
				return nil, false
			}
			if pos, err = m.lookup(t, key); err != nil || pos < 0 {
				return nil, false
			}
			val = m.pairs[pos].v
		}
	}
	return val, true
}

// ValidContext reports whether ctx is a well-formed context: a non-empty
// array of step types and values.
func ValidContext(ctx []byte) bool {
	var h msgpack.Head
	if !h.Parse(ctx) || h.Type != msgpack.List || h.N == 0 || h.N%2 != 0 {
		return false
	}
	if n, ok := msgpack.Skip(ctx); !ok || n != len(ctx) {
		return false
	}
	steps := argReader{b: ctx[h.Size:], n: h.N}
	for steps.left() > 0 {
		t, err := steps.int()
		if err != nil {
			return false
		}
		switch t &^ createMask {
		case ctxListIndex, ctxListRank, ctxListValue, ctxMapIndex, ctxMapRank, ctxMapKey, ctxMapValue:
		default:
			return false
		}
		if _, err := steps.next(); err != nil {
			return false
		}
	}
	return true
}

func descendList(o *op, cur []byte, t int64, key []byte, create bool, rest []byte, nctx int) (result, error) {
	l, err := parseList(cur)
	if err == errBinType {
		// A step that does not fit the element, as on a server.
		return result{}, errNotApplic
	}
	if err != nil {
		return result{}, err
	}
	pos, err := l.lookup(t, key)
	if err != nil {
		return result{}, err
	}
	if pos < 0 && create && t&^createMask == ctxListIndex {
		i, _ := intOf(key)
		if pos, err = l.createAt(i, t&createMask); err != nil {
			return result{}, err
		}
	}
	if pos < 0 {
		return result{}, errNotApplic
	}
	r, err := applyIn(o, l.items[pos], rest, nctx)
	if err != nil || !r.changed {
		return r, err
	}
	l.items[pos] = r.val
	if l.ordered() {
		slices.SortStableFunc(l.items, compare)
	}
	r.val = l.encode(o.a)
	return r, nil
}

// lookup returns the position of the item a list context step of type t
// names by key, or -1.
func (l *list) lookup(t int64, key []byte) (int, error) {
	switch t &^ createMask {
	case ctxListIndex, ctxListRank:
		i, err := intOf(key)
		if err != nil {
			return -1, err
		}
		p, ok := index(i, len(l.items))
		switch {
		case !ok:
			return -1, nil
		case t&^createMask == ctxListRank:
			return byValue(l.items)[p], nil
		}
		return p, nil
	case ctxListValue:
		return slices.IndexFunc(l.items, func(it []byte) bool { return compare(it, key) == 0 }), nil
	}
	return -1, errParam
}

// createAt adds an empty list at index i, past the list's end, as a
// context step with create flags asks, and returns its position.
func (l *list) createAt(i int64, flags int64) (int, error) {
	n := int64(len(l.items))
	if i < 0 || i > n && flags != createListPadded || i > n+maxPad {
		return 0, errNotApplic
	}
	for int64(len(l.items)) < i {
		l.items = append(l.items, nilElem)
	}
	empty := emptyList
	if flags == createListOrdered {
		empty = emptyOrderedList
	}
	l.items = append(l.items, empty)
	return int(i), nil
}

func descendMap(o *op, cur []byte, t int64, key []byte, create bool, rest []byte, nctx int) (result, error) {
	m, err := parseMap(cur)
	if err == errBinType {
		// A step that does not fit the element, as on a server.
		return result{}, errNotApplic
	}
	if err != nil {
		return result{}, err
	}
	pos, err := m.lookup(t, key)
	if err != nil {
		return result{}, err
	}
	if pos < 0 && create && t&^createMask == ctxMapKey {
		pos = m.insert(key, emptyMapFor(t&createMask))
	}
	if pos < 0 {
		return result{}, errNotApplic
	}
	r, err := applyIn(o, m.pairs[pos].v, rest, nctx)
	if err != nil || !r.changed {
		return r, err
	}
	m.pairs[pos].v = r.val
	r.val = m.encode(o.a)
	return r, nil
}

// lookup returns the position of the pair a map context step of type t
// names by key, or -1.
func (m *mapv) lookup(t int64, key []byte) (int, error) {
	switch t &^ createMask {
	case ctxMapIndex, ctxMapRank:
		i, err := intOf(key)
		if err != nil {
			return -1, err
		}
		p, ok := index(i, len(m.pairs))
		switch {
		case !ok:
			return -1, nil
		case t&^createMask == ctxMapRank:
			return byPairValue(m.pairs)[p], nil
		}
		return byKey(m.pairs)[p], nil
	case ctxMapKey:
		return m.find(key), nil
	case ctxMapValue:
		return slices.IndexFunc(m.pairs, func(p pair) bool { return compare(p.v, key) == 0 }), nil
	}
	return -1, errParam
}

// find returns the position of the pair with key k, or -1.
func (m *mapv) find(k []byte) int {
	return slices.IndexFunc(m.pairs, func(p pair) bool { return compare(p.k, k) == 0 })
}

// insert adds a pair whose key is not in the map, in key order if the map
// keeps it, and returns its position.
func (m *mapv) insert(k, v []byte) int {
	pos := len(m.pairs)
	if m.keyOrdered() {
		pos, _ = slices.BinarySearchFunc(m.pairs, k, func(p pair, k []byte) int { return compare(p.k, k) })
	}
	m.pairs = slices.Insert(m.pairs, pos, pair{k, v})
	return pos
}

// emptyMapFor is the empty map a context step's create flags ask for.
func emptyMapFor(flags int64) []byte {
	switch flags {
	case createMapKV:
		return emptyKVOrderedMap
	case createMapKeyOrder:
		return emptyKeyOrderedMap
	}
	return emptyMap
}

// intOf reads an integer element.
func intOf(b []byte) (int64, error) {
	r := argReader{b: b, n: 1}
	return r.int()
}

// maxPad bounds how far past a list's end an operation may pad it with
// nils, so that one small request cannot build a huge value.
const maxPad = 1 << 20

// Elements the operations create.
var (
	nilElem            = []byte{0xc0}
	emptyList          = []byte{0x90}
	emptyOrderedList   = []byte{0x91, 0xc7, 0, listOrdered}
	emptyMap           = []byte{0x80}
	emptyKeyOrderedMap = []byte{0x81, 0xc7, 0, mapKeyOrdered, 0xc0}
	emptyKVOrderedMap  = []byte{0x81, 0xc7, 0, mapKVOrdered, 0xc0}
)
