package cdt

import (
	"bytes"
	"slices"
	"sort"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
)

// Map operation codes, as the clients number them.
const (
	mapSetType             = 64
	mapAdd                 = 65
	mapAddItems            = 66
	mapPut                 = 67
	mapPutItems            = 68
	mapReplace             = 69
	mapReplaceItems        = 70
	mapIncrement           = 73
	mapDecrement           = 74
	mapClear               = 75
	mapRemoveByKey         = 76
	mapRemoveByIndex       = 77
	mapRemoveByRank        = 79
	mapRemoveKeyList       = 81
	mapRemoveByValue       = 82
	mapRemoveValueList     = 83
	mapRemoveKeyInterval   = 84
	mapRemoveIndexRange    = 85
	mapRemoveValueInterval = 86
	mapRemoveRankRange     = 87
	mapRemoveKeyRelIndex   = 88
	mapRemoveValueRelRank  = 89
	mapSize                = 96
	mapGetByKey            = 97
	mapGetByIndex          = 98
	mapGetByRank           = 100
	mapGetByValue          = 102
	mapGetKeyInterval      = 103
	mapGetIndexRange       = 104
	mapGetValueInterval    = 105
	mapGetRankRange        = 106
	mapGetKeyList          = 107
	mapGetValueList        = 108
	mapGetKeyRelIndex      = 109
	mapGetValueRelRank     = 110
)

// Map write flags, the last argument of put and put items.
const (
	mapCreateOnly = 1
	mapUpdateOnly = 2
	mapNoFail     = 4
	mapPartial    = 8
	mapWriteFlags = mapCreateOnly | mapUpdateOnly | mapNoFail | mapPartial
)

// mapPersistIndex is the order attribute bit that asks the server to keep
// a map's index on disk; Skiff keeps no index, so it only accepts it.
const mapPersistIndex = 0x10

// mapPreserveOrder flags a key-value result whose pairs are in the order
// the operation selected them (rank order, say), which tells the clients
// to keep that order rather than build a hash map.
const mapPreserveOrder = 0x08

// selectBy is what a get or remove operation picks items by.
type selectBy int

const (
	byMapKey selectBy = iota
	byMapIndex
	byMapRank
	byMapValue
	byKeyList
	byValueList
	byKeyInterval
	byIndexRange
	byValueInterval
	byRankRange
	byKeyRelIndex
	byValueRelRank
)

var mapGets = map[int]selectBy{
	mapGetByKey:         byMapKey,
	mapGetByIndex:       byMapIndex,
	mapGetByRank:        byMapRank,
	mapGetByValue:       byMapValue,
	mapGetKeyList:       byKeyList,
	mapGetValueList:     byValueList,
	mapGetKeyInterval:   byKeyInterval,
	mapGetIndexRange:    byIndexRange,
	mapGetValueInterval: byValueInterval,
	mapGetRankRange:     byRankRange,
	mapGetKeyRelIndex:   byKeyRelIndex,
	mapGetValueRelRank:  byValueRelRank,
}

var mapRemoves = map[int]selectBy{
	mapRemoveByKey:         byMapKey,
	mapRemoveByIndex:       byMapIndex,
	mapRemoveByRank:        byMapRank,
	mapRemoveByValue:       byMapValue,
	mapRemoveKeyList:       byKeyList,
	mapRemoveValueList:     byValueList,
	mapRemoveKeyInterval:   byKeyInterval,
	mapRemoveIndexRange:    byIndexRange,
	mapRemoveValueInterval: byValueInterval,
	mapRemoveRankRange:     byRankRange,
	mapRemoveKeyRelIndex:   byKeyRelIndex,
	mapRemoveValueRelRank:  byValueRelRank,
}

// applyMap runs a map operation on cur, a map or nil for none.
//
// A map's index order is its key order and its rank order is by value,
// then key, whatever order the map keeps its pairs in. Operations that
// select by key or index list what they select in key order, those that
// select by value or rank in rank order. An inverted selection lists the
// items it leaves out in key order, but ranks in rank order, as the
// server lists them.
func applyMap(o *op, cur []byte) (result, error) {
	m, err := parseMap(cur)
	if err != nil {
		return result{}, err
	}
	if o.code == mapSize {
		return mapSizeOf(o, cur, &m)
	}
	if by, ok := mapGets[o.code]; ok {
		return selectMap(o, cur, &m, by, false)
	}
	// The other operations change the map.
	if !o.modify {
		return result{}, errParam
	}
	if by, ok := mapRemoves[o.code]; ok {
		return selectMap(o, cur, &m, by, true)
	}
	switch o.code {
	case mapSetType:
		return setMapType(o, &m)
	case mapAdd, mapPut, mapReplace:
		return putPair(o, cur, &m)
	case mapAddItems, mapPutItems, mapReplaceItems:
		return putPairs(o, cur, &m)
	case mapIncrement, mapDecrement:
		return incrementPair(o, cur, &m)
	case mapClear:
		return clearMap(o, cur, &m)
	}
	return result{}, errParam
}

// mapSizeOf answers the number of pairs.
func mapSizeOf(o *op, cur []byte, m *mapv) (result, error) {
	if o.nargs != 0 {
		return result{}, errParam
	}
	if cur == nil {
		return result{res: nilElem}, nil
	}
	return result{res: msgpack.AppendInt(nil, int64(len(m.pairs)))}, nil
}

// setMapType gives the map the order its argument names, creating it
// empty if there is none.
func setMapType(o *op, m *mapv) (result, error) {
	r := o.argReader()
	attr, err := r.int()
	if err != nil || r.left() != 0 {
		return result{}, errParam
	}
	flags, err := mapOrder(attr)
	if err != nil {
		return result{}, err
	}
	m.flags = flags
	if m.keyOrdered() {
		slices.SortStableFunc(m.pairs, func(x, y pair) int { return compare(x.k, y.k) })
	}
	return result{changed: true, val: m.encode(o.a)}, nil
}

// mapOrder reads a policy's order attribute into map flags.
func mapOrder(attr int64) (byte, error) {
	switch f := attr &^ mapPersistIndex; f {
	case 0, mapKeyOrdered, mapKVOrdered:
		return byte(f), nil
	}
	return 0, errParam
}

// clearMap removes every pair; a missing map stays missing.
func clearMap(o *op, cur []byte, m *mapv) (result, error) {
	if o.nargs != 0 {
		return result{}, errParam
	}
	if cur == nil {
		return result{}, nil
	}
	m.pairs = nil
	return result{changed: true, val: m.encode(o.a)}, nil
}

// putPair writes one pair: [key, value, order?, flags?] for put, [key,
// value, order?] for add (create only) and [key, value] for replace
// (update only). It answers the map's new size.
func putPair(o *op, cur []byte, m *mapv) (result, error) {
	r := o.argReader()
	k, err := r.next()
	if err != nil {
		return result{}, err
	}
	v, err := r.next()
	if err != nil {
		return result{}, err
	}
	return writePairs(o, cur, m, []pair{{k, v}}, &r)
}

// putPairs writes the pairs of a map argument, with the same policy
// arguments as putPair, and answers the map's new size.
func putPairs(o *op, cur []byte, m *mapv) (result, error) {
	r := o.argReader()
	arg, err := r.next()
	if err != nil {
		return result{}, err
	}
	items, err := parseMap(arg)
	if err != nil {
		return result{}, errParam
	}
	return writePairs(o, cur, m, items.pairs, &r)
}

// writePairs reads the rest of a put's arguments from r and writes items
// into m as the write flags allow.
func writePairs(o *op, cur []byte, m *mapv, items []pair, r *argReader) (result, error) {
	attr, flags, err := writePolicy(o.code, r)
	if err != nil {
		return result{}, err
	}
	if cur == nil {
		if m.flags, err = mapOrder(attr); err != nil {
			return result{}, err
		}
	}
	before := len(m.pairs)
	written := 0
	for _, it := range items {
		if !keyAllowed(it.k) || !storable(it.v) {
			return result{}, errParam
		}
		i := m.find(it.k)
		var denied error
		switch {
		case i >= 0 && flags&mapCreateOnly != 0:
			denied = errElemExists
		case i < 0 && flags&mapUpdateOnly != 0:
			denied = errElemMissing
		}
		if denied != nil {
			if flags&mapNoFail == 0 {
				return result{}, denied
			}
			if flags&mapPartial == 0 {
				// Without partial one denied pair leaves the map as it was.
				return result{res: msgpack.AppendInt(nil, int64(before))}, nil
			}
			continue
		}
		if i >= 0 {
			m.pairs[i].v = it.v
		} else {
			m.insert(it.k, it.v)
		}
		written++
	}
	size := msgpack.AppendInt(nil, int64(len(m.pairs)))
	if written == 0 {
		return result{res: size}, nil
	}
	return result{changed: true, val: m.encode(o.a), res: size}, nil
}

// writePolicy reads a put's order attribute and write flags, which add
// and replace imply: add is create only, replace update only and without
// an order, as it never creates a map.
func writePolicy(code int, r *argReader) (attr, flags int64, err error) {
	switch code {
	case mapPut, mapPutItems:
		if attr, err = r.optInt(0); err != nil {
			return 0, 0, err
		}
		if flags, err = r.optInt(0); err != nil {
			return 0, 0, err
		}
		if flags&^mapWriteFlags != 0 {
			return 0, 0, errParam
		}
	case mapAdd, mapAddItems:
		if attr, err = r.optInt(0); err != nil {
			return 0, 0, err
		}
		flags = mapCreateOnly
	default:
		flags = mapUpdateOnly
	}
	if r.left() != 0 {
		return 0, 0, errParam
	}
	return attr, flags, nil
}

// keyAllowed reports whether k may be written as a map key: the server
// takes integers, strings and blobs only.
func keyAllowed(k []byte) bool {
	var h msgpack.Head
	if !h.Parse(k) {
		return false
	}
	switch h.Type {
	case msgpack.Int, msgpack.NegInt, msgpack.String, msgpack.Bytes:
		return true
	}
	return false
}

// incrementPair adds to (or, for decrement, subtracts from) the number at
// a key: [key, delta?, order?]. A missing key counts as 0. It answers the
// new number.
func incrementPair(o *op, cur []byte, m *mapv) (result, error) {
	r := o.argReader()
	k, err := r.next()
	if err != nil {
		return result{}, err
	}
	if !keyAllowed(k) {
		return result{}, errParam
	}
	delta := []byte{1} // when there is none, or it is nil
	if r.left() > 0 {
		d, err := r.next()
		if err != nil {
			return result{}, err
		}
		if !bytes.Equal(d, nilElem) {
			delta = d
		}
	}
	attr, err := r.optInt(0)
	if err != nil || r.left() != 0 {
		return result{}, errParam
	}
	if cur == nil {
		if m.flags, err = mapOrder(attr); err != nil {
			return result{}, err
		}
	}
	i := m.find(k)
	var old []byte
	if i >= 0 {
		old = m.pairs[i].v
	}
	sum, err := addNumber(o.a, old, delta, o.code == mapDecrement)
	if err != nil {
		return result{}, err
	}
	if i >= 0 {
		m.pairs[i].v = sum
	} else {
		m.insert(k, sum)
	}
	return result{changed: true, val: m.encode(o.a), res: sum}, nil
}

// selectMap runs a get (remove false) or remove operation: [returnType,
// selector args...]. A missing map selects nothing and answers nil.
func selectMap(o *op, cur []byte, m *mapv, by selectBy, remove bool) (result, error) {
	r := o.argReader()
	rt, err := r.int()
	if err != nil {
		return result{}, err
	}
	var v *mapView
	var s selection
	if by == byMapKey && !positional(rt) {
		v, s, err = keyView(m, &r)
	} else {
		v = newMapView(m)
		s, err = v.pick(by, &r)
	}
	if err == nil && r.left() != 0 {
		err = errParam
	}
	if cur == nil {
		// Nothing is out of bounds in a map that is not there.
		if err == errNotApplic {
			err = nil
		}
		if err != nil || rt&^retInverted == retNone {
			return result{}, err
		}
		return result{res: nilElem}, nil
	}
	if err != nil {
		return result{}, err
	}
	base := rt &^ retInverted
	if rt&retInverted != 0 {
		s.idx, s.single = invert(s.idx, s.n), false
		if base == retRank || base == retReverseRank {
			slices.SortFunc(s.idx, func(x, y int) int { return v.rankAt(x) - v.rankAt(y) })
		}
	}
	res, err := v.answer(o.a, base, s)
	if err != nil {
		return result{}, err
	}
	if !remove || len(s.idx) == 0 {
		return result{res: res}, nil
	}
	v.remove(s.idx)
	return result{changed: true, val: m.encode(o.a), res: res}, nil
}

// mapView is a map seen in key order, which is index order.
type mapView struct {
	m *mapv
	// pairs holds the map's pairs in key order; at[i] is where pairs[i]
	// is in m.pairs.
	pairs []pair
	at    []int
	// rank[r] is the index of the pair of rank r, rankOf its inverse;
	// both are built when first needed.
	rank   []int
	rankOf []int
}

func newMapView(m *mapv) *mapView {
	var at []int
	if m.keyOrdered() {
		at = indexes(0, len(m.pairs))
	} else {
		at = byKey(m.pairs)
	}
	pairs := make([]pair, len(at))
	for i, p := range at {
		pairs[i] = m.pairs[p]
	}
	return &mapView{m: m, pairs: pairs, at: at}
}

// ranks returns the indexes in rank order.
func (v *mapView) ranks() []int {
	if v.rank == nil {
		v.rank = byPairValue(v.pairs)
	}
	return v.rank
}

// rankAt returns the rank of index i.
func (v *mapView) rankAt(i int) int {
	if v.rankOf == nil {
		v.rankOf = ranks(v.ranks())
	}
	return v.rankOf[i]
}

func (v *mapView) valueAt(i int) []byte { return v.pairs[i].v }

// keyBound returns the index of the first key not less than k.
func (v *mapView) keyBound(k []byte) int {
	i, _ := slices.BinarySearchFunc(v.pairs, k, func(p pair, k []byte) int { return compare(p.k, k) })
	return i
}

// valueBound returns the first rank whose value is not less than val.
func (v *mapView) valueBound(val []byte) int {
	rank := v.ranks()
	return sort.Search(len(rank), func(r int) bool { return compare(v.pairs[rank[r]].v, val) >= 0 })
}

// positional reports whether return type rt answers with positions
// (indexes or ranks) or about the pairs an operation leaves out.
func positional(rt int64) bool {
	switch rt &^ retInverted {
	case retIndex, retReverseIndex, retRank, retReverseRank:
		return true
	}
	return rt&retInverted != 0
}

// keyView is the view of a lookup by key whose answer needs no position:
// only the pair with the key, found without sorting the map.
func keyView(m *mapv, r *argReader) (*mapView, selection, error) {
	k, err := r.next()
	if err != nil {
		return nil, selection{}, err
	}
	v := &mapView{m: m}
	s := selection{single: true}
	if p := m.find(k); p >= 0 {
		v.pairs, v.at = []pair{m.pairs[p]}, []int{p}
		s.n, s.idx = 1, []int{0}
	}
	return v, s, nil
}

// pick reads a selector's arguments from r and returns the indexes of the
// pairs it selects.
func (v *mapView) pick(by selectBy, r *argReader) (selection, error) {
	n := len(v.pairs)
	s := selection{n: n}
	var err error
	switch by {
	case byMapKey:
		var k []byte
		if k, err = r.next(); err != nil {
			break
		}
		s.single = true
		if i := v.keyBound(k); i < n && compare(v.pairs[i].k, k) == 0 {
			s.idx = []int{i}
		}
	case byMapIndex, byMapRank:
		var i int64
		if i, err = r.int(); err != nil {
			break
		}
		p, ok := index(i, n)
		if !ok {
			return s, errNotApplic
		}
		if by == byMapRank {
			p = v.ranks()[p]
		}
		s.single, s.idx = true, []int{p}
	case byMapValue:
		var val []byte
		if val, err = r.next(); err != nil {
			break
		}
		for _, i := range v.ranks() {
			if compare(v.pairs[i].v, val) == 0 {
				s.idx = append(s.idx, i)
			}
		}
	case byKeyList, byValueList:
		var items [][]byte
		if items, err = listArg(r); err != nil {
			break
		}
		for i, p := range v.pairs {
			x := p.k
			if by == byValueList {
				x = p.v
			}
			if slices.ContainsFunc(items, func(it []byte) bool { return compare(x, it) == 0 }) {
				s.idx = append(s.idx, i)
			}
		}
	case byKeyInterval:
		var begin, end []byte
		if begin, end, err = intervalArgs(r); err != nil {
			break
		}
		from, to := v.keyBound(begin), n
		if end != nil {
			to = max(from, v.keyBound(end))
		}
		s.idx = indexes(from, to)
	case byValueInterval:
		var begin, end []byte
		if begin, end, err = intervalArgs(r); err != nil {
			break
		}
		from, to := v.valueBound(begin), n
		if end != nil {
			to = max(from, v.valueBound(end))
		}
		s.idx = v.ranks()[from:to]
	case byIndexRange, byRankRange:
		var i, count int64
		if i, count, err = rangeArgs(r); err != nil {
			break
		}
		if i < 0 {
			i += int64(n)
		}
		from, to := window(i, count, n)
		if by == byRankRange {
			s.idx = v.ranks()[from:to]
		} else {
			s.idx = indexes(from, to)
		}
	case byKeyRelIndex, byValueRelRank:
		var anchor []byte
		if anchor, err = r.next(); err != nil {
			break
		}
		var rel, count int64
		if rel, count, err = rangeArgs(r); err != nil {
			break
		}
		// Past the end by more than n is as empty as past it by one, and
		// capping rel keeps start from overflowing.
		rel = min(rel, int64(n)+1)
		if by == byKeyRelIndex {
			from, to := window(int64(v.keyBound(anchor))+rel, count, n)
			s.idx = indexes(from, to)
		} else {
			from, to := window(int64(v.valueBound(anchor))+rel, count, n)
			s.idx = v.ranks()[from:to]
		}
	}
	return s, err
}

// answer builds the result of return type rt (without retInverted).
func (v *mapView) answer(a *bins.Arena, rt int64, s selection) ([]byte, error) {
	if res, ok := common(a, rt, s, v.rankAt, v.valueAt); ok {
		return res, nil
	}
	switch rt {
	case retKey:
		if s.single {
			if len(s.idx) == 0 {
				return nilElem, nil
			}
			return v.pairs[s.idx[0]].k, nil
		}
		keys := list{items: make([][]byte, len(s.idx))}
		for j, i := range s.idx {
			keys.items[j] = v.pairs[i].k
		}
		return keys.encode(a), nil
	case retKeyValue:
		return v.subMap(a, s.idx, mapPreserveOrder), nil
	case retUnorderedMap:
		return v.subMap(a, s.idx, 0), nil
	case retOrderedMap:
		return v.subMap(a, slices.Sorted(slices.Values(s.idx)), mapKeyOrdered), nil
	}
	return nil, errParam
}

// subMap encodes the pairs at indexes idx, in that order, as a map with
// the given flags.
func (v *mapView) subMap(a *bins.Arena, idx []int, flags byte) []byte {
	sub := mapv{flags: flags, pairs: make([]pair, len(idx))}
	for j, i := range idx {
		sub.pairs[j] = v.pairs[i]
	}
	return sub.encode(a)
}

// remove takes the pairs at indexes idx out of the map, which keeps its
// order.
func (v *mapView) remove(idx []int) {
	gone := make([]bool, len(v.m.pairs))
	for _, i := range idx {
		gone[v.at[i]] = true
	}
	kept := v.m.pairs[:0]
	for p, pr := range v.m.pairs {
		if !gone[p] {
			kept = append(kept, pr)
		}
	}
	v.m.pairs = kept
}
