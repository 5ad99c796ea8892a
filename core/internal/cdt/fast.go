package cdt

import (
	"bytes"
	"slices"

	"github.com/skiffdb/skiff/core/internal/msgpack"
)

// fastPaths turns the fast paths on; the tests turn them off to compare
// them with the general path.
var fastPaths = true

// fastApply runs the operations that large collections see most (an
// append, insert or set of one value in an unordered list, a read, pop or
// removal by index, the size, a read, removal or trim of an index range, a
// read or removal by value, a map's size, a map read, put or increment of one key, or a map removal by
// key) on the collection's bytes as they are, instead of decoding it into
// its items and encoding it again: a scan and at most one copy, with no
// allocation but the new value. ok is false when
// the operation, its arguments or the collection need the general path,
// which then runs it (and reports any error). What it gives is what the
// general path gives.
func fastApply(o *op, cur []byte) (r result, ok bool) {
	if !fastPaths || cur == nil {
		return result{}, false
	}
	switch o.code {
	case listAppend:
		return fastListAppend(o, cur)
	case listInsert, listSet:
		return fastListPlace(o, cur)
	case listGet, listGetByIndex, listSize, listPop, listRemove, listRemoveByIndex:
		return fastListRead(o, cur)
	case listGetRange, listGetByIndexRange, listTrim, listRemoveRange, listRemoveByIndexRange:
		return fastListRange(o, cur)
	case listGetByValue, listRemoveByValue:
		return fastListValue(o, cur)
	case mapSize:
		return fastMapSize(o, cur)
	case mapGetByKey, mapRemoveByKey:
		return fastMapGet(o, cur)
	case mapPut, mapIncrement, mapDecrement:
		return fastMapWrite(o, cur)
	}
	return result{}, false
}

// flat is a collection seen without decoding its items.
type flat struct {
	// body is everything after the header: the flags, if any, then the
	// items.
	body []byte
	// count is the header's element count (a map's pairs), the flags
	// included.
	count int
	// items are the items' bytes, n items (a map's pairs).
	items []byte
	n     int
	flags byte
	// asEncoded reports that the flags are as encode writes them: none,
	// or non-zero ones in canonical form. Writes that copy them need it,
	// to give what the general path gives.
	asEncoded bool
}

// flatten reads the header and flags of the collection cur, a list (isMap
// false) or a map. Its items are not checked yet.
func flatten(cur []byte, isMap bool) (flat, bool) {
	var h msgpack.Head
	want, per := msgpack.List, 1
	if isMap {
		want, per = msgpack.Map, 2
	}
	if !h.Parse(cur) || h.Type != want {
		return flat{}, false
	}
	f := flat{body: cur[h.Size:], count: h.N / per}
	f.items, f.n = f.body, f.count
	var e msgpack.Head
	if f.n > 0 && e.Parse(f.items) && e.Type.IsExt() {
		size, ok := msgpack.SkipN(f.items, per)
		if !ok {
			return flat{}, false
		}
		f.flags, f.items, f.n = e.ExtType, f.items[size:], f.n-1
		canonical := size == 2+per && f.body[0] == 0xc7 && f.body[1] == 0 && (!isMap || f.body[3] == 0xc0)
		f.asEncoded = f.flags != 0 && canonical
	} else {
		f.asEncoded = true
	}
	return f, true
}

// whole reports whether b holds exactly n elements. The fast paths check
// the items they do not look at with it, so that a damaged collection
// goes to the general path, which refuses it, as it would otherwise.
func whole(b []byte, n int) bool {
	size, ok := msgpack.SkipN(b, n)
	return ok && size == len(b)
}

// fastListAppend appends one value to an unordered list that has items:
// [value, order?, flags?] with no write flags. It answers the new size.
func fastListAppend(o *op, cur []byte) (result, bool) {
	if !o.modify {
		return result{}, false
	}
	r := o.argReader()
	v, err := r.next()
	if err != nil || !storable(v) {
		return result{}, false
	}
	if _, err := r.optInt(0); err != nil {
		return result{}, false
	}
	if flags, err := r.optInt(0); err != nil || flags != 0 || r.left() != 0 {
		return result{}, false
	}
	f, ok := flatten(cur, false)
	// An empty list may gain flags (an ext value first); leave it to the
	// general path.
	if !ok || !f.asEncoded || f.flags&listOrdered != 0 || f.n == 0 || !whole(f.items, f.n) {
		return result{}, false
	}
	out := msgpack.AppendArrayHeader(o.a.Alloc(5 + len(f.body) + len(v))[:0], f.count+1)
	out = append(append(out, f.body...), v...)
	return result{changed: true, val: out, res: msgpack.AppendInt(nil, int64(f.n+1))}, true
}

// fastListPlace inserts one value at an index of an unordered list that
// has items, or sets the item there: [index, value, flags?] with no write
// flags. Insert answers the new size, set nothing. An index outside the
// list goes to the general path, which pads the list or refuses.
func fastListPlace(o *op, cur []byte) (result, bool) {
	if !o.modify {
		return result{}, false
	}
	r := o.argReader()
	i, err := r.int()
	if err != nil {
		return result{}, false
	}
	v, err := r.next()
	if err != nil || !storable(v) {
		return result{}, false
	}
	if flags, err := r.optInt(0); err != nil || flags != 0 || r.left() != 0 {
		return result{}, false
	}
	f, ok := flatten(cur, false)
	if !ok || !f.asEncoded || f.flags&listOrdered != 0 || f.n == 0 {
		return result{}, false
	}
	set := o.code == listSet
	last := int64(f.n)
	if set {
		last--
	}
	if i < 0 {
		i += int64(f.n)
	}
	if i < 0 || i > last || i == 0 && f.flags == 0 && leadsWithExt(v) {
		return result{}, false
	}
	p := int(i)
	a, ok := msgpack.SkipN(f.items, p)
	if !ok {
		return result{}, false
	}
	b, left, count := a, f.n-p, f.count+1
	if set {
		size, ok := msgpack.Skip(f.items[a:])
		if !ok {
			return result{}, false
		}
		b, left, count = a+size, left-1, f.count
	}
	if !whole(f.items[b:], left) {
		return result{}, false
	}
	head := f.body[:len(f.body)-len(f.items)]
	out := msgpack.AppendArrayHeader(o.a.Alloc(5 + len(f.body) + len(v))[:0], count)
	out = append(append(append(append(out, head...), f.items[:a]...), v...), f.items[b:]...)
	res := result{changed: true, val: out}
	if !set {
		res.res = msgpack.AppendInt(nil, int64(f.n+1))
	}
	return res, true
}

// fastListRead answers a list's size, or reads or removes the item at one
// index: get and pop ([index]), remove ([index], answering a count), and
// get and remove by index ([returnType, index]) answering nothing, a count
// or the value. An index outside the list is the general path's error.
func fastListRead(o *op, cur []byte) (result, bool) {
	f, ok := flatten(cur, false)
	if !ok {
		return result{}, false
	}
	r := o.argReader()
	if o.code == listSize {
		if r.left() != 0 || !whole(f.items, f.n) {
			return result{}, false
		}
		return result{res: msgpack.AppendInt(nil, int64(f.n))}, true
	}
	rt, remove := int64(retValue), false
	switch o.code {
	case listPop:
		remove = true
	case listRemove:
		rt, remove = retCount, true
	case listGetByIndex, listRemoveByIndex:
		var err error
		if rt, err = r.int(); err != nil {
			return result{}, false
		}
		remove = o.code == listRemoveByIndex
	}
	switch rt {
	case retNone, retCount, retValue:
	default:
		return result{}, false
	}
	i, err := r.int()
	if err != nil || r.left() != 0 || remove && (!o.modify || !f.asEncoded) {
		return result{}, false
	}
	p, ok := index(i, f.n)
	if !ok {
		return result{}, false
	}
	start, ok := msgpack.SkipN(f.items, p)
	if !ok {
		return result{}, false
	}
	size, ok := msgpack.Skip(f.items[start:])
	if !ok || !whole(f.items[start+size:], f.n-p-1) {
		return result{}, false
	}
	item := f.items[start : start+size]
	var out result
	switch rt {
	case retCount:
		out.res = msgpack.AppendInt(nil, 1)
	case retValue:
		out.res = item
		if remove {
			// The list's bytes are replaced: the answer is a copy.
			out.res = append(o.a.Alloc(size)[:0], item...)
		}
	}
	if !remove {
		return out, true
	}
	return out.without(o, &f, [][]byte{f.items[:start], f.items[start+size:]}, 1)
}

// fastListRange reads or removes a range of indexes, the items outside it
// when inverted: get range and trim ([index, count?]), remove range, and
// get and remove by index range ([returnType, index, count?]) answering
// nothing, a count or the values.
func fastListRange(o *op, cur []byte) (result, bool) {
	r := o.argReader()
	rt, remove := int64(retValue), false
	switch o.code {
	case listTrim:
		rt, remove = retCount|retInverted, true
	case listRemoveRange:
		rt, remove = retCount, true
	case listGetByIndexRange, listRemoveByIndexRange:
		var err error
		if rt, err = r.int(); err != nil {
			return result{}, false
		}
		remove = o.code == listRemoveByIndexRange
	}
	inverted := rt&retInverted != 0
	switch rt &^ retInverted {
	case retNone, retCount, retValue:
	default:
		return result{}, false
	}
	i, count, err := rangeArgs(&r)
	if err != nil || r.left() != 0 || remove && !o.modify {
		return result{}, false
	}
	f, ok := flatten(cur, false)
	if !ok || remove && !f.asEncoded {
		return result{}, false
	}
	if i < 0 {
		i += int64(f.n)
	}
	from, to := window(i, count, f.n)
	// The range's bytes are items[a:b].
	a, ok := msgpack.SkipN(f.items, from)
	if !ok {
		return result{}, false
	}
	size, ok := msgpack.SkipN(f.items[a:], to-from)
	if !ok || !whole(f.items[a+size:], f.n-to) {
		return result{}, false
	}
	b := a + size
	// The picked items' bytes, in index order, and their number.
	picked, rest := [][]byte{f.items[a:b]}, [][]byte{f.items[:a], f.items[b:]}
	npicked := to - from
	if inverted {
		picked, rest = rest, picked
		npicked = f.n - npicked
	}
	var out result
	switch rt &^ retInverted {
	case retCount:
		out.res = msgpack.AppendInt(nil, int64(npicked))
	case retValue:
		if leadsWithExt(picked[0]) || len(picked[0]) == 0 && len(picked) > 1 && leadsWithExt(picked[1]) {
			return result{}, false // the answer needs a flags header
		}
		size := 5
		for _, p := range picked {
			size += len(p)
		}
		out.res = msgpack.AppendArrayHeader(o.a.Alloc(size)[:0], npicked)
		for _, p := range picked {
			out.res = append(out.res, p...)
		}
	}
	if !remove || npicked == 0 {
		return out, true
	}
	return out.without(o, &f, rest, npicked)
}

// without makes the list f with only the items whose bytes are rest, in
// order, npicked items fewer, the new value of out.
func (out result) without(o *op, f *flat, rest [][]byte, npicked int) (result, bool) {
	if f.flags == 0 && (leadsWithExt(rest[0]) || len(rest[0]) == 0 && len(rest) > 1 && leadsWithExt(rest[1])) {
		return result{}, false // the list left needs a flags header
	}
	head := f.body[:len(f.body)-len(f.items)]
	out.val = msgpack.AppendArrayHeader(o.a.Alloc(5 + len(f.body))[:0], f.count-npicked)
	out.val = append(out.val, head...)
	for _, p := range rest {
		out.val = append(out.val, p...)
	}
	out.changed = true
	return out, true
}

// pickArgs reads the arguments of an operation that picks by one value
// or key, [returnType, value], and flattens the collection cur, a map or a
// list. ok is false when the return type is none of rts, there are other
// arguments, or a removal cannot take the fast path.
func pickArgs(o *op, cur []byte, isMap, remove bool, rts ...int64) (rt int64, v []byte, f flat, ok bool) {
	r := o.argReader()
	rt, err := r.int()
	if err != nil || remove && !o.modify || !slices.Contains(rts, rt) {
		return 0, nil, flat{}, false
	}
	if v, err = r.next(); err != nil || r.left() != 0 {
		return 0, nil, flat{}, false
	}
	f, ok = flatten(cur, isMap)
	return rt, v, f, ok && (!remove || f.asEncoded)
}

// fastListValue reads or removes the items equal to a value: get and
// remove by value ([returnType, value]) answering nothing, a count or the
// values, in index order.
func fastListValue(o *op, cur []byte) (result, bool) {
	remove := o.code == listRemoveByValue
	rt, v, f, ok := pickArgs(o, cur, false, remove, retNone, retCount, retValue)
	if !ok {
		return result{}, false
	}
	var want keyHead
	if _, ok := want.read(v); !ok {
		return result{}, false
	}
	// One pass to count what is picked and check the items are whole, one
	// to copy.
	npicked, pickedBytes, firstPicked, firstKept := 0, 0, -1, -1
	off := 0
	for range f.n {
		var h keyHead
		size, ok := h.read(f.items[off:])
		if !ok {
			return result{}, false
		}
		if h.equal(&want) {
			if firstPicked < 0 {
				firstPicked = off
			}
			npicked++
			pickedBytes += size
		} else if firstKept < 0 {
			firstKept = off
		}
		off += size
	}
	if off != len(f.items) {
		return result{}, false
	}
	if rt == retValue && firstPicked >= 0 && leadsWithExt(f.items[firstPicked:]) ||
		remove && npicked > 0 && f.flags == 0 && firstKept >= 0 && leadsWithExt(f.items[firstKept:]) {
		return result{}, false // the answer or the list left needs a flags header
	}
	var out result
	switch rt {
	case retCount:
		out.res = msgpack.AppendInt(nil, int64(npicked))
	case retValue:
		out.res = msgpack.AppendArrayHeader(o.a.Alloc(5 + pickedBytes)[:0], npicked)
	}
	remove = remove && npicked > 0
	if remove {
		head := f.body[:len(f.body)-len(f.items)]
		out.val = msgpack.AppendArrayHeader(o.a.Alloc(5 + len(f.body) - pickedBytes)[:0], f.count-npicked)
		out.val = append(out.val, head...)
		out.changed = true
	}
	if rt != retValue && !remove {
		return out, true
	}
	off = 0
	for range f.n {
		var h keyHead
		size, _ := h.read(f.items[off:])
		item := f.items[off : off+size]
		switch {
		case h.equal(&want):
			if rt == retValue {
				out.res = append(out.res, item...)
			}
		case remove:
			out.val = append(out.val, item...)
		}
		off += size
	}
	return out, true
}

// findKey looks for key k among a map's pairs, as the general path's
// find does, by a scan of them all (so that a key-ordered map out of
// order, which Stored now prevents, gives the same answer). It returns
// where the pair with k is: its key's offset in items and its value's
// bounds. ok is false when the pairs are not whole.
func (f *flat) findKey(k []byte) (at, vStart, vEnd int, found, ok bool) {
	var want keyHead
	want.read(k) // k is one whole element: the op's argument
	off := 0
	for i := range f.n {
		var have keyHead
		ks, ok := have.read(f.items[off:])
		if !ok {
			return 0, 0, 0, false, false
		}
		vs, ok := msgpack.Skip(f.items[off+ks:])
		if !ok {
			return 0, 0, 0, false, false
		}
		if have.equal(&want) {
			if !whole(f.items[off+ks+vs:], 2*(f.n-i-1)) {
				return 0, 0, 0, false, false
			}
			return off, off + ks, off + ks + vs, true, true
		}
		off += ks + vs
	}
	return off, 0, 0, false, off == len(f.items)
}

// keyHead is a map key read for comparing it with others for equality,
// which for the keys maps hold (integers, strings, blobs) needs no
// ordering: the same type and the same integer or payload, however each
// is encoded.
type keyHead struct {
	b    []byte
	t    msgpack.Type
	data []byte
	u    uint64
}

// read reads the key at the start of b and returns its length.
func (h *keyHead) read(b []byte) (int, bool) {
	t, payload, size, more, u, ok := msgpack.Header(b)
	if !ok {
		return 0, false
	}
	if more > 0 {
		// A collection, which no key should be: its whole length.
		if size, ok = msgpack.Skip(b); !ok {
			return 0, false
		}
	}
	h.b, h.t, h.u = b[:size], t, u
	if payload > 0 {
		h.data = b[payload:size]
	}
	return size, true
}

func (h *keyHead) equal(o *keyHead) bool {
	if !plainKey(h.t) || !plainKey(o.t) {
		// A wildcard equals anything: only the general comparison knows.
		return compare(h.b, o.b) == 0
	}
	switch {
	case h.t != o.t:
		// Integers of either sign are told apart by type.
		return false
	case h.t == msgpack.Int || h.t == msgpack.NegInt:
		return h.u == o.u
	}
	return bytes.Equal(h.data, o.data)
}

// plainKey reports whether t is a type keyHead.equal compares itself.
func plainKey(t msgpack.Type) bool {
	switch t {
	case msgpack.Int, msgpack.NegInt, msgpack.String, msgpack.Bytes:
		return true
	}
	return false
}

// fastMapSize answers how many pairs a map has.
func fastMapSize(o *op, cur []byte) (result, bool) {
	f, ok := flatten(cur, true)
	if !ok || o.nargs != 0 || !whole(f.items, 2*f.n) {
		return result{}, false
	}
	return result{res: msgpack.AppendInt(nil, int64(f.n))}, true
}

// fastMapGet reads, or for remove by key removes, the pair at a key:
// [returnType, key] answering nothing, a count, the value, the key or
// whether it is there.
func fastMapGet(o *op, cur []byte) (result, bool) {
	remove := o.code == mapRemoveByKey
	rt, k, f, ok := pickArgs(o, cur, true, remove, retNone, retCount, retValue, retKey, retExists)
	if !ok {
		return result{}, false
	}
	at, vStart, vEnd, found, ok := f.findKey(k)
	if !ok {
		return result{}, false
	}
	var out result
	switch {
	case rt == retCount && found:
		out.res = msgpack.AppendInt(nil, 1)
	case rt == retCount:
		out.res = msgpack.AppendInt(nil, 0)
	case rt == retValue && found:
		out.res = f.items[vStart:vEnd]
	case rt == retKey && found:
		out.res = f.items[at:vStart]
	case rt == retValue, rt == retKey:
		out.res = nilElem
	case rt == retExists && found:
		out.res = []byte{0xc3}
	case rt == retExists:
		out.res = []byte{0xc2}
	}
	if !remove || !found {
		return out, true
	}
	head := len(f.body) - len(f.items)
	rest := f.items[vEnd:]
	if f.flags == 0 && at == 0 && leadsWithExt(rest) {
		return result{}, false // the map left needs a flags header
	}
	out.val = msgpack.AppendMapHeader(o.a.Alloc(5 + len(f.body))[:0], f.count-1)
	out.val = append(append(out.val, f.body[:head+at]...), rest...)
	out.changed = true
	return out, true
}

// fastMapWrite puts a value at a key ([key, value, order?, flags?]: with
// create-only, a Redis user's HSETNX, the key must be new; with
// update-only, there already), answering the map's new size, or adds to the
// number there ([key, delta?, order?]), answering the new number, in a map
// that has pairs: in place, or for a new key at the end of an unordered
// map. A put the flags deny changes nothing with no-fail, and otherwise
// goes to the general path, which reports it.
func fastMapWrite(o *op, cur []byte) (result, bool) {
	if !o.modify {
		return result{}, false
	}
	r := o.argReader()
	k, err := r.next()
	if err != nil || !keyAllowed(k) {
		return result{}, false
	}
	var v []byte
	if o.code == mapPut {
		if v, err = r.next(); err != nil || !storable(v) {
			return result{}, false
		}
	} else {
		v = []byte{1} // the delta when there is none, or it is nil
		if r.left() > 0 {
			if v, err = r.next(); err != nil {
				return result{}, false
			}
			if bytes.Equal(v, nilElem) {
				v = []byte{1}
			}
		}
	}
	if _, err := r.optInt(0); err != nil {
		return result{}, false
	}
	var flags int64
	if o.code == mapPut {
		if flags, err = r.optInt(0); err != nil || flags&^mapWriteFlags != 0 {
			return result{}, false
		}
	}
	if r.left() != 0 {
		return result{}, false
	}
	f, ok := flatten(cur, true)
	if !ok || !f.asEncoded || f.n == 0 {
		return result{}, false
	}
	at, vStart, vEnd, found, ok := f.findKey(k)
	if !ok {
		return result{}, false
	}
	if found && flags&mapCreateOnly != 0 || !found && flags&mapUpdateOnly != 0 {
		if flags&mapNoFail == 0 {
			return result{}, false // the general path's error
		}
		// Denied without failing: the map as it was, and its size.
		return result{res: msgpack.AppendInt(nil, int64(f.n))}, true
	}
	if !found && f.flags&mapKeyOrdered != 0 {
		// A new key's place in a key-ordered map: the general path's.
		return result{}, false
	}
	var res []byte
	if o.code == mapPut {
		res = msgpack.AppendInt(nil, int64(f.n))
		if !found {
			res = msgpack.AppendInt(nil, int64(f.n+1))
		}
	} else {
		var old []byte
		if found {
			old = f.items[vStart:vEnd]
		}
		if v, err = addNumber(o.a, old, v, o.code == mapDecrement); err != nil {
			return result{}, false
		}
		res = v
	}
	// The pairs before, the new value or pair, the pairs after.
	head := len(f.body) - len(f.items)
	count := f.count
	var before, key, after []byte
	if found {
		before, after = f.body[:head+vStart], f.items[vEnd:]
	} else {
		before, key, after = f.body[:head+at], k, f.items[at:]
		count++
	}
	out := msgpack.AppendMapHeader(o.a.Alloc(5 + len(before) + len(key) + len(v) + len(after))[:0], count)
	out = append(append(append(append(out, before...), key...), v...), after...)
	return result{changed: true, val: out, res: res}, true
}
