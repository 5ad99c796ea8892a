package cdt

import (
	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
)

// Return types: what an operation that selects items answers with. Lists
// and maps share them; key, key-value and the map forms are maps' only.
const (
	retNone         = 0
	retIndex        = 1
	retReverseIndex = 2
	retRank         = 3
	retReverseRank  = 4
	retCount        = 5
	retKey          = 6
	retValue        = 7
	retKeyValue     = 8
	retExists       = 13
	retUnorderedMap = 16
	retOrderedMap   = 17
	// retInverted selects the items the operation does not name.
	retInverted = 0x10000
)

// selection is the items an operation picked out of a collection of n.
type selection struct {
	n int
	// idx holds the picked items' indexes, in the order the result lists
	// them.
	idx []int
	// single marks an operation that names one item: its result is that
	// item's index, rank or value, not a list of them.
	single bool
}

// invert returns the indexes in [0, n) that are not in idx, in order.
func invert(idx []int, n int) []int {
	in := make([]bool, n)
	for _, i := range idx {
		in[i] = true
	}
	out := make([]int, 0, n-len(idx))
	for i, picked := range in {
		if !picked {
			out = append(out, i)
		}
	}
	return out
}

// common builds the result of return type rt (without retInverted) for
// the return types lists and maps share; ok is false for the others.
// rankOf gives an index's rank, value its item (for a map, its value).
func common(a *bins.Arena, rt int64, s selection, rankOf func(int) int, value func(int) []byte) (res []byte, ok bool) {
	switch rt {
	case retNone:
		return nil, true
	case retCount:
		return msgpack.AppendInt(nil, int64(len(s.idx))), true
	case retExists:
		if len(s.idx) > 0 {
			return []byte{0xc3}, true
		}
		return []byte{0xc2}, true
	case retIndex, retReverseIndex, retRank, retReverseRank:
		num := func(i int) int64 {
			switch rt {
			case retReverseIndex:
				return int64(s.n - 1 - i)
			case retRank:
				return int64(rankOf(i))
			case retReverseRank:
				return int64(s.n - 1 - rankOf(i))
			}
			return int64(i)
		}
		if s.single {
			if len(s.idx) == 0 {
				return nilElem, true
			}
			return msgpack.AppendInt(nil, num(s.idx[0])), true
		}
		b := msgpack.AppendArrayHeader(a.Alloc(5 + 9*len(s.idx))[:0], len(s.idx))
		for _, i := range s.idx {
			b = msgpack.AppendInt(b, num(i))
		}
		return b, true
	case retValue:
		if s.single {
			if len(s.idx) == 0 {
				return nilElem, true
			}
			return value(s.idx[0]), true
		}
		size, n := 8, len(s.idx)
		for _, i := range s.idx {
			size += len(value(i))
		}
		header := n > 0 && leadsWithExt(value(s.idx[0]))
		if header {
			n++
		}
		b := msgpack.AppendArrayHeader(a.Alloc(size)[:0], n)
		if header {
			b = appendFlags(b, 0)
		}
		for _, i := range s.idx {
			b = append(b, value(i)...)
		}
		return b, true
	}
	return nil, false
}

// ranks returns, for each index of items, its rank.
func ranks(order []int) []int {
	r := make([]int, len(order))
	for rank, i := range order {
		r[i] = rank
	}
	return r
}
