package cdt

import (
	"bytes"
	"cmp"
	"slices"
	"sort"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
)

// List operation codes, as the clients number them. Each REMOVE_BY_* code
// is its GET_BY_* twin plus 13.
const (
	listSetType            = 0
	listAppend             = 1
	listAppendItems        = 2
	listInsert             = 3
	listInsertItems        = 4
	listPop                = 5
	listPopRange           = 6
	listRemove             = 7
	listRemoveRange        = 8
	listSet                = 9
	listTrim               = 10
	listClear              = 11
	listIncrement          = 12
	listSort               = 13
	listSize               = 16
	listGet                = 17
	listGetRange           = 18
	listGetByIndex         = 19
	listGetByRank          = 21
	listGetByValue         = 22
	listGetByValueList     = 23
	listGetByIndexRange    = 24
	listGetByInterval      = 25
	listGetByRankRange     = 26
	listGetByRelRank       = 27
	listRemoveByIndex      = 32
	listRemoveByRank       = 34
	listRemoveByValue      = 35
	listRemoveByValueList  = 36
	listRemoveByIndexRange = 37
	listRemoveByInterval   = 38
	listRemoveByRankRange  = 39
	listRemoveByRelRank    = 40
)

// List write flags, the last argument of the writes that take a policy.
const (
	listAddUnique     = 1
	listInsertBounded = 2
	listNoFail        = 4
	listPartial       = 8
	listWriteFlags    = listAddUnique | listInsertBounded | listNoFail | listPartial
)

// listPersistIndex is the order bit that asks the server to keep an
// ordered list's offsets on disk; Skiff keeps none, so it only accepts it.
const listPersistIndex = 0x10

// Sort flags.
const (
	sortDescending = 1
	sortDropDups   = 2
)

// listCall is one list operation underway.
type listCall struct {
	o *op
	l list
	r argReader
	// fresh marks a list the operation creates because its bin (or, at
	// the end of a context, its element) does not exist.
	fresh bool
}

// applyList runs a list operation on cur, a list or nil for none.
//
// Writes keep an ordered list sorted. Operations that pick items answer
// with indexes in index order; ranks in rank order, except for picks by
// index, which list ranks in index order; and values in the order of the
// pick: by rank for rank (and relative rank) ranges, by index otherwise.
// That is how the server answers for unordered lists; for ordered ones
// all these orders agree.
func applyList(o *op, cur []byte) (result, error) {
	if listWrites(o.code) && !o.modify {
		return result{}, errParam
	}
	l, err := parseList(cur)
	if err != nil {
		return result{}, err
	}
	if cur == nil && !listCreates(o.code) {
		if o.code == listSort {
			// The server refuses to sort nothing rather than ignore it.
			return result{}, errBinType
		}
		// Nothing to read or remove.
		return result{}, nil
	}
	c := listCall{o: o, l: l, r: o.argReader(), fresh: cur == nil}
	res, changed, err := c.run()
	if err != nil {
		return result{}, err
	}
	if c.r.left() != 0 {
		return result{}, errParam
	}
	out := result{res: res}
	// A list the operation creates is written even when the operation
	// then adds nothing (a write its flags refuse with NO_FAIL), as the
	// server writes it.
	if changed || c.fresh {
		out.changed, out.val = true, c.l.encode(o.a)
	}
	return out, nil
}

// listWrites reports whether code changes its list: such an operation
// must come as a CDT modify.
func listWrites(code int) bool {
	return code < listSize || code >= listRemoveByIndex
}

// listCreates reports whether code creates a list where there is none.
func listCreates(code int) bool {
	switch code {
	case listSetType, listAppend, listAppendItems, listInsert, listInsertItems, listSet, listIncrement:
		return true
	}
	return false
}

// run dispatches on the operation code. It returns the result element and
// whether the list changed.
func (c *listCall) run() ([]byte, bool, error) {
	switch c.o.code {
	case listSetType:
		return c.setType()
	case listAppend, listAppendItems:
		return c.appendValues()
	case listInsert, listInsertItems:
		return c.insert()
	case listSet:
		return c.set()
	case listIncrement:
		return c.increment()
	case listClear:
		c.l.items = nil
		return nil, true, nil
	case listSort:
		return c.sortItems()
	case listSize:
		return msgpack.AppendInt(nil, int64(len(c.l.items))), false, nil
	case listGet:
		return c.pick(pickIndex, retValue, false)
	case listPop:
		return c.pick(pickIndex, retValue, true)
	case listRemove:
		return c.pick(pickIndex, retCount, true)
	case listGetRange:
		return c.pick(pickIndexRange, retValue, false)
	case listPopRange:
		return c.pick(pickIndexRange, retValue, true)
	case listRemoveRange:
		return c.pick(pickIndexRange, retCount, true)
	case listTrim:
		// Trim keeps the range and answers how many items it removed.
		return c.pick(pickIndexRange, retCount|retInverted, true)
	}
	code, remove := c.o.code, false
	if code >= listRemoveByIndex {
		code, remove = code-(listRemoveByIndex-listGetByIndex), true
	}
	var p picker
	switch code {
	case listGetByIndex:
		p = pickIndex
	case listGetByRank:
		p = pickRank
	case listGetByValue:
		p = pickValue
	case listGetByValueList:
		p = pickValueList
	case listGetByIndexRange:
		p = pickIndexRange
	case listGetByInterval:
		p = pickInterval
	case listGetByRankRange:
		p = pickRankRange
	case listGetByRelRank:
		p = pickRelRank
	default:
		return nil, false, errParam
	}
	rt, err := c.r.int()
	if err != nil {
		return nil, false, err
	}
	return c.pick(p, rt, remove)
}

// setType gives the list the order its argument names: [order]. Making a
// list ordered sorts it; making it unordered keeps its items as they are.
func (c *listCall) setType() ([]byte, bool, error) {
	f, err := c.r.int()
	if err != nil {
		return nil, false, err
	}
	if f&^(listOrdered|listPersistIndex) != 0 {
		return nil, false, errNotApplic
	}
	flags := byte(f & listOrdered)
	if flags == c.l.flags {
		return nil, false, nil
	}
	c.l.flags = flags
	if c.l.ordered() {
		slices.SortStableFunc(c.l.items, compare)
	}
	return nil, true, nil
}

// appendValues adds values at the end of an unordered list or in order to
// an ordered one: [value, order?, flags?] for append, [list, order?,
// flags?] for append items. The order applies to a list it creates. It
// answers the list's new size.
func (c *listCall) appendValues() ([]byte, bool, error) {
	vals, err := c.values(c.o.code == listAppendItems)
	if err != nil {
		return nil, false, err
	}
	order, err := c.r.optInt(0)
	if err != nil {
		return nil, false, err
	}
	flags, err := c.writeFlags()
	if err != nil {
		return nil, false, err
	}
	c.createOrder(order)
	var changed bool
	if c.l.ordered() {
		changed, err = c.l.addSorted(vals, flags)
	} else {
		changed, err = c.l.insertAt(int64(len(c.l.items)), vals, flags)
	}
	if err != nil {
		return nil, false, err
	}
	return msgpack.AppendInt(nil, int64(len(c.l.items))), changed, nil
}

// insert puts values at an index of an unordered list: [index, value,
// flags?] or [index, list, flags?]. An index past the end pads the list
// with nils. It answers the list's new size.
func (c *listCall) insert() ([]byte, bool, error) {
	i, err := c.r.int()
	if err != nil {
		return nil, false, err
	}
	vals, err := c.values(c.o.code == listInsertItems)
	if err != nil {
		return nil, false, err
	}
	flags, err := c.writeFlags()
	if err != nil {
		return nil, false, err
	}
	if c.l.ordered() {
		// An index means nothing where order decides the place.
		return nil, false, errNotApplic
	}
	changed, err := c.l.insertAt(i, vals, flags)
	if err != nil {
		return nil, false, err
	}
	return msgpack.AppendInt(nil, int64(len(c.l.items))), changed, nil
}

// set replaces the item at an index of an unordered list: [index, value,
// flags?]. An index past the end inserts there, as insert does. It
// answers nothing.
func (c *listCall) set() ([]byte, bool, error) {
	i, err := c.r.int()
	if err != nil {
		return nil, false, err
	}
	vals, err := c.values(false)
	if err != nil {
		return nil, false, err
	}
	flags, err := c.writeFlags()
	if err != nil {
		return nil, false, err
	}
	if c.l.ordered() {
		return nil, false, errNotApplic
	}
	changed, err := c.l.replace(i, vals[0], flags)
	return nil, changed, err
}

// increment adds to the number at an index: [index, delta?, order?,
// flags?], the delta 1 when missing or nil. An index past the end (at most
// the end for an ordered list) counts as 0 there. It answers the new
// number.
func (c *listCall) increment() ([]byte, bool, error) {
	i, err := c.r.int()
	if err != nil {
		return nil, false, err
	}
	delta := []byte{1} // msgpack 1
	if c.r.left() > 0 {
		d, err := c.r.next()
		if err != nil {
			return nil, false, err
		}
		if !bytes.Equal(d, nilElem) {
			delta = d
		}
	}
	order, err := c.r.optInt(0)
	if err != nil {
		return nil, false, err
	}
	flags, err := c.writeFlags()
	if err != nil {
		return nil, false, err
	}
	c.createOrder(order)
	n := int64(len(c.l.items))
	if i < 0 {
		i += n
	}
	if i < 0 || c.l.ordered() && i > n {
		return nil, false, errNotApplic
	}
	var old []byte
	if i < n {
		old = c.l.items[i]
	}
	sum, err := addNumber(c.o.a, old, delta, false)
	if err != nil {
		return nil, false, err
	}
	changed, err := c.l.replace(i, sum, flags)
	if err != nil {
		return nil, false, err
	}
	return sum, changed, nil
}

// sortItems sorts an unordered list, ascending or descending, and drops
// duplicates if asked to: [flags]. It answers nothing.
func (c *listCall) sortItems() ([]byte, bool, error) {
	f, err := c.r.int()
	if err != nil {
		return nil, false, err
	}
	if f&^(sortDescending|sortDropDups) != 0 {
		return nil, false, errParam
	}
	items := c.l.items
	if len(items) < 2 {
		return nil, false, nil
	}
	// An ordered list stays ascending whatever the flags say.
	if !c.l.ordered() {
		if f&sortDescending != 0 {
			slices.SortStableFunc(items, func(a, b []byte) int { return compare(b, a) })
		} else {
			slices.SortStableFunc(items, compare)
		}
	}
	if f&sortDropDups != 0 {
		c.l.items = slices.CompactFunc(items, func(a, b []byte) bool { return compare(a, b) == 0 })
	}
	return nil, true, nil
}

// values reads the values a write adds: one value, or the items of a
// list argument when items is set.
func (c *listCall) values(items bool) ([][]byte, error) {
	var vals [][]byte
	if items {
		var err error
		if vals, err = listArg(&c.r); err != nil {
			return nil, err
		}
	} else {
		v, err := c.r.next()
		if err != nil {
			return nil, err
		}
		vals = [][]byte{v}
	}
	for _, v := range vals {
		if !storable(v) {
			return nil, errParam
		}
	}
	return vals, nil
}

// createOrder gives a list the operation creates the order of its policy's
// order attribute. Like the server it ignores the attribute's other bits:
// the Go client's increment with a policy sends its write flags there.
func (c *listCall) createOrder(order int64) {
	if c.fresh {
		c.l.flags = byte(order & listOrdered)
	}
}

// writeFlags reads a write's optional flags.
func (c *listCall) writeFlags() (int64, error) {
	f, err := c.r.optInt(0)
	if err != nil {
		return 0, err
	}
	if f&^listWriteFlags != 0 {
		return 0, errParam
	}
	return f, nil
}

// storable reports whether v may be stored: a wildcard or infinity, at any
// depth, only makes sense as a value to search for.
func storable(v []byte) bool {
	off := 0
	for n := 1; n > 0; n-- {
		t, _, size, more, _, ok := msgpack.Header(v[off:])
		if !ok || t == msgpack.Wildcard || t == msgpack.Inf {
			return false
		}
		off += size
		n += more
	}
	return true
}

// refused is the outcome of a write its flags forbid: err, or nothing at
// all with NO_FAIL.
func refused(flags int64, err error) error {
	if flags&listNoFail != 0 {
		return nil
	}
	return err
}

// unique returns the values of vals a write with these flags adds. With
// ADD_UNIQUE a value already in the list, or twice in vals, breaks the
// rule: that fails the write, or with NO_FAIL leaves the list as it is
// (nil values, nil error), or with NO_FAIL and PARTIAL only skips the
// value.
func (l *list) unique(vals [][]byte, flags int64) ([][]byte, error) {
	if flags&listAddUnique == 0 {
		return vals, nil
	}
	keep := make([][]byte, 0, len(vals))
	for i, v := range vals {
		var broken error
		switch {
		case contains(vals[:i], v):
			// The server's code for a request that repeats a value.
			broken = errNotApplic
		case contains(l.items, v):
			broken = errElemExists
		default:
			keep = append(keep, v)
			continue
		}
		switch {
		case flags&listNoFail == 0:
			return nil, broken
		case flags&listPartial == 0:
			return nil, nil
		}
		// NO_FAIL and PARTIAL: leave v out.
	}
	return keep, nil
}

// contains reports whether items holds a value equal to v.
func contains(items [][]byte, v []byte) bool {
	return slices.ContainsFunc(items, func(it []byte) bool { return compare(it, v) == 0 })
}

// addSorted adds vals to an ordered list, each after the items equal to
// it. It reports whether it added any.
func (l *list) addSorted(vals [][]byte, flags int64) (bool, error) {
	vals, err := l.unique(vals, flags)
	if err != nil || len(vals) == 0 {
		return false, err
	}
	for _, v := range vals {
		l.items = insertSorted(l.items, v)
	}
	return true, nil
}

// insertSorted inserts v into sorted items after the items equal to it.
func insertSorted(items [][]byte, v []byte) [][]byte {
	i := sort.Search(len(items), func(i int) bool { return compare(items[i], v) > 0 })
	return slices.Insert(items, i, v)
}

// insertAt inserts vals into an unordered list before index i (negative:
// from the end), padding with nils up to an index past the end. It
// reports whether it inserted any.
func (l *list) insertAt(i int64, vals [][]byte, flags int64) (bool, error) {
	n := int64(len(l.items))
	if i < 0 {
		i += n
	}
	if i < 0 {
		return false, errNotApplic
	}
	if i > n && flags&listInsertBounded != 0 {
		return false, refused(flags, errNotApplic)
	}
	if i > n+maxPad {
		return false, errNotApplic
	}
	vals, err := l.unique(vals, flags)
	if err != nil || len(vals) == 0 {
		return false, err
	}
	for int64(len(l.items)) < i {
		l.items = append(l.items, nilElem)
	}
	l.items = slices.Insert(l.items, int(i), vals...)
	return true, nil
}

// replace puts v in place of the item at index i (negative: from the end)
// or, for an index past the end, inserts it there. In an ordered list v
// moves to its place in order. With ADD_UNIQUE v may equal no other item.
// It reports whether the list changed.
func (l *list) replace(i int64, v []byte, flags int64) (bool, error) {
	n := int64(len(l.items))
	if i >= n && !l.ordered() {
		return l.insertAt(i, [][]byte{v}, flags)
	}
	if i < 0 {
		i += n
	}
	if i < 0 {
		return false, errNotApplic
	}
	if flags&listAddUnique != 0 {
		for j, it := range l.items {
			if int64(j) != i && compare(it, v) == 0 {
				return false, refused(flags, errElemExists)
			}
		}
	}
	switch {
	case !l.ordered():
		l.items[i] = v
	case i < n:
		l.items = insertSorted(slices.Delete(l.items, int(i), int(i)+1), v)
	default:
		l.items = insertSorted(l.items, v)
	}
	return true, nil
}

// A picker reads a selector's arguments and picks items of l.
type picker func(l *list, r *argReader) (picked, error)

// picked is what a picker selected.
type picked struct {
	selection
	// byIndex marks a pick by index or index range, whose ranks the
	// result lists in index order.
	byIndex bool
}

// pick runs an operation that selects items: p picks them, rt (which may
// be inverted) says what to answer, and remove takes them out of the list.
func (c *listCall) pick(p picker, rt int64, remove bool) ([]byte, bool, error) {
	s, err := p(&c.l, &c.r)
	if err != nil {
		return nil, false, err
	}
	if rt&retInverted != 0 {
		if s.single {
			return nil, false, errNotApplic
		}
		s.idx = invert(s.idx, s.n)
		rt &^= retInverted
	}
	res, err := c.l.answer(c.o.a, rt, s)
	if err != nil || !remove || len(s.idx) == 0 {
		return res, false, err
	}
	c.l.remove(s.idx)
	return res, true, nil
}

// answer builds the result of return type rt for the items s picked.
func (l *list) answer(a *bins.Arena, rt int64, s picked) ([]byte, error) {
	var rank []int
	rankOf := func(i int) int {
		if rank == nil {
			rank = ranks(byValue(l.items))
		}
		return rank[i]
	}
	switch rt {
	case retIndex, retReverseIndex:
		slices.Sort(s.idx)
	case retRank, retReverseRank:
		if !s.byIndex {
			slices.SortFunc(s.idx, func(x, y int) int { return cmp.Compare(rankOf(x), rankOf(y)) })
		}
	}
	res, ok := common(a, rt, s.selection, rankOf, func(i int) []byte { return l.items[i] })
	if !ok {
		return nil, errNotApplic
	}
	return res, nil
}

// remove takes the items at indexes idx out of the list.
func (l *list) remove(idx []int) {
	gone := make([]bool, len(l.items))
	for _, i := range idx {
		gone[i] = true
	}
	kept := l.items[:0]
	for i, it := range l.items {
		if !gone[i] {
			kept = append(kept, it)
		}
	}
	l.items = kept
}

// pickIndex picks the item at an index: [index].
func pickIndex(l *list, r *argReader) (picked, error) {
	i, err := r.int()
	if err != nil {
		return picked{}, err
	}
	p, ok := index(i, len(l.items))
	if !ok {
		return picked{}, errNotApplic
	}
	return picked{selection{n: len(l.items), idx: []int{p}, single: true}, true}, nil
}

// pickRank picks the item of a rank: [rank].
func pickRank(l *list, r *argReader) (picked, error) {
	i, err := r.int()
	if err != nil {
		return picked{}, err
	}
	p, ok := index(i, len(l.items))
	if !ok {
		return picked{}, errNotApplic
	}
	p = byValue(l.items)[p]
	return picked{selection{n: len(l.items), idx: []int{p}, single: true}, false}, nil
}

// pickValue picks the items equal to a value: [value].
func pickValue(l *list, r *argReader) (picked, error) {
	v, err := r.next()
	if err != nil {
		return picked{}, err
	}
	return l.pickWhere(func(it []byte) bool { return compare(it, v) == 0 }), nil
}

// pickValueList picks the items equal to any of a list's: [list].
func pickValueList(l *list, r *argReader) (picked, error) {
	vals, err := listArg(r)
	if err != nil {
		return picked{}, err
	}
	return l.pickWhere(func(it []byte) bool { return contains(vals, it) }), nil
}

// pickInterval picks the items from a value up to (not including) another
// or, without one, all the larger items: [begin, end?].
func pickInterval(l *list, r *argReader) (picked, error) {
	begin, end, err := intervalArgs(r)
	if err != nil {
		return picked{}, err
	}
	return l.pickWhere(func(it []byte) bool {
		return compare(it, begin) >= 0 && (end == nil || compare(it, end) < 0)
	}), nil
}

// pickWhere picks the items match accepts, in index order.
func (l *list) pickWhere(match func([]byte) bool) picked {
	s := picked{selection: selection{n: len(l.items)}}
	for i, it := range l.items {
		if match(it) {
			s.idx = append(s.idx, i)
		}
	}
	return s
}

// pickIndexRange picks count items (all when negative or missing) from an
// index on: [index, count?].
func pickIndexRange(l *list, r *argReader) (picked, error) {
	i, count, err := rangeArgs(r)
	if err != nil {
		return picked{}, err
	}
	n := len(l.items)
	if i < 0 {
		i += int64(n)
	}
	from, to := window(i, count, n)
	return picked{selection{n: n, idx: indexes(from, to)}, true}, nil
}

// pickRankRange picks count items (all when negative or missing) from a
// rank on, in rank order: [rank, count?].
func pickRankRange(l *list, r *argReader) (picked, error) {
	i, count, err := rangeArgs(r)
	if err != nil {
		return picked{}, err
	}
	n := len(l.items)
	if i < 0 {
		i += int64(n)
	}
	from, to := window(i, count, n)
	return picked{selection: selection{n: n, idx: byValue(l.items)[from:to]}}, nil
}

// pickRelRank picks count items (all when negative or missing) in rank
// order, from the rank a value would have plus a relative rank:
// [value, rank, count?]. Unlike a rank, the start is not taken from the
// end when negative: ranks before 0 just shorten the range.
func pickRelRank(l *list, r *argReader) (picked, error) {
	v, err := r.next()
	if err != nil {
		return picked{}, err
	}
	rel, count, err := rangeArgs(r)
	if err != nil {
		return picked{}, err
	}
	n := len(l.items)
	order := byValue(l.items)
	// The rank v would have: how many items are less.
	base := sort.Search(n, func(k int) bool { return compare(l.items[order[k]], v) >= 0 })
	// Capping rel keeps the start from overflowing; past the end is empty
	// either way.
	from, to := window(int64(base)+min(rel, int64(n)), count, n)
	return picked{selection: selection{n: n, idx: order[from:to]}}, nil
}
