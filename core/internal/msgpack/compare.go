package msgpack

import "bytes"

// mapKeyOrdered is the map ext flag that says a map's keys are sorted.
const mapKeyOrdered = 0x01

// Compare orders two elements the way the server orders list and map
// items: by type first (see Type), then by value; lists element-wise and
// then by length, maps by size and then entry by entry in their stored
// order. A wildcard equals anything. unordered reports that the comparison
// had to look inside a map whose keys are not known to be sorted, which
// makes the result meaningless. ok is false when either element is
// malformed.
//
// Like Skip it walks both elements iteratively, in lockstep.
func Compare(a, b []byte) (cmp int, unordered, ok bool) {
	ca := cursor{b: a, remain: 1}
	cb := cursor{b: b, remain: 1}
	end := 0   // the result if all compared elements are equal
	count := 1 // elements to compare, in depth-first order
	for i := 0; i < count && cmp == 0; i++ {
		var ha, hb Head
		if !ca.next(&ha) || !cb.next(&hb) {
			return 0, false, false
		}
		if ha.Type == Wildcard || hb.Type == Wildcard {
			end = 0
			break
		}
		if ha.Type != hb.Type {
			cmp = order(ha.Type, hb.Type)
			break
		}
		switch ha.Type {
		case NegInt, Int:
			cmp = order(ha.U, hb.U)
		case Double:
			cmp = order(ha.Float(), hb.Float())
		case String, Bytes, GeoJSON, Ext:
			cmp = bytes.Compare(ha.Data, hb.Data)
		case List:
			if ha.N == hb.N {
				count += ha.N
				break
			}
			// Different lengths: the common prefix decides unless it is
			// equal, and then the shorter list is less. Nothing after
			// this list is compared any more.
			count, end = i+1+min(ha.N, hb.N), order(ha.N, hb.N)
		case Map:
			if cmp = order(ha.N, hb.N); cmp == 0 {
				count += ha.N
			}
		}
	}
	if cmp == 0 {
		cmp = end
	}
	// Both elements must still be whole, as the server checks.
	if _, okA := SkipN(ca.b, ca.remain); !okA {
		return 0, false, false
	}
	if _, okB := SkipN(cb.b, cb.remain); !okB {
		return 0, false, false
	}
	return cmp, ca.unordered || cb.unordered, true
}

// cursor walks one side of Compare.
type cursor struct {
	b         []byte
	remain    int // elements left to read to finish the top element
	unordered bool
}

// next reads the next element's header into h. For a
// list or map it also reads past the ext element that carries the
// container's order flags, and leaves in N the number of remaining items.
func (c *cursor) next(h *Head) bool {
	if !h.Parse(c.b) {
		return false
	}
	c.b = c.b[h.Size:]
	c.remain += h.N - 1
	if (h.Type == List || h.Type == Map) && h.N > 0 {
		return c.skipFlags(h)
	}
	return true
}

func (c *cursor) skipFlags(h *Head) bool {
	var first Head
	if !first.Parse(c.b) {
		return false
	}
	if !first.Type.IsExt() {
		if h.Type == Map {
			c.unordered = true
		}
		return true
	}
	if h.Type == Map && first.ExtType&mapKeyOrdered == 0 {
		c.unordered = true
	}
	if first.ExtType == extCmp {
		return true // a comparison value, not flags
	}
	per := 1 // the flags entry: one element in a list, key and value in a map
	if h.Type == Map {
		per = 2
	}
	skip, ok := SkipN(c.b, per)
	if !ok {
		return false
	}
	c.b = c.b[skip:]
	c.remain -= per
	h.N -= per
	return true
}

type ordered interface {
	~int | ~uint8 | ~uint64 | ~float64
}

// order returns -1, 0 or 1 as a is less than, equal to or greater than b.
// NaNs are neither, so they compare equal to anything, as in the server
// (unlike cmp.Compare, which orders them first).
func order[T ordered](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
