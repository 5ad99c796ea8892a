package cdt

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/internal/clientpack"
)

// ol builds an ordered list: its flags element, then items (in order).
func ol(items ...[]byte) []byte {
	b := msgpack.AppendArrayHeader(nil, len(items)+1)
	b = appendFlags(b, listOrdered)
	for _, e := range items {
		b = append(b, e...)
	}
	return b
}

// ints builds an unordered list of integers.
func ints(vs ...int64) []byte {
	items := make([][]byte, len(vs))
	for i, v := range vs {
		items[i] = mi(v)
	}
	return ml(items...)
}

// orderedInts builds an ordered list of integers, given in order.
func orderedInts(vs ...int64) []byte {
	items := make([][]byte, len(vs))
	for i, v := range vs {
		items[i] = mi(v)
	}
	return ol(items...)
}

// clientPack returns the official client's msgpack for v, as it packs an
// operation's values.
func clientPack(v any) []byte { return clientpack.Value(as.NewValue(v)) }

// listStep applies one operation to the bin *bin (nil: none), a list or a
// map holding the list the operation works on, as the node would, a CDT
// modify for a code that writes. It returns the result rendered ("-" for
// none) or the error.
func listStep(t *testing.T, bin *[]byte, arg []byte) (string, error) {
	t.Helper()
	o, err := parseOp(arg)
	if err != nil {
		t.Fatalf("bad test op % x: %v", arg, err)
	}
	var a bins.Arena
	binType := uint8(proto.ParticleNull)
	switch {
	case isMap(*bin):
		binType = proto.ParticleMap
	case *bin != nil:
		binType = proto.ParticleList
	}
	out, err := Apply(&a, listWrites(o.code), binType, *bin, arg)
	if err != nil {
		return "", err
	}
	if out.Changed {
		if binType != proto.ParticleNull && out.Type != binType {
			t.Fatalf("bin of type %d became type %d", binType, out.Type)
		}
		if out.Type == proto.ParticleList {
			checkList(t, out.Value)
		}
		*bin = append([]byte(nil), out.Value...)
	}
	if !out.HasResult {
		return "-", nil
	}
	res, ok := msgpack.AppendParticle(nil, out.ResType, out.Res)
	if !ok {
		t.Fatalf("result type %d % x", out.ResType, out.Res)
	}
	return render(res), nil
}

// checkList fails t unless b is a whole list that, if ordered, is sorted.
func checkList(t *testing.T, b []byte) {
	t.Helper()
	if n, ok := msgpack.Skip(b); !ok || n != len(b) {
		t.Fatalf("list % x is not whole", b)
	}
	l, err := parseList(b)
	if err != nil {
		t.Fatalf("list % x: %v", b, err)
	}
	if l.ordered() && !slices.IsSortedFunc(l.items, compare) {
		t.Fatalf("ordered list %s is not sorted", render(b))
	}
}

// lop builds a list operation's wire value.
func lop(code int, args ...[]byte) []byte { return mop(code, args...) }

var (
	oneToTen = ints(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	// mixed is the batch suite's list: value order differs from index
	// order.
	mixed = ints(7, 6, 5, 8, 9, 10)
	// rel is the list of the clients' relative rank examples.
	rel = orderedInts(0, 4, 5, 9, 11, 15)
)

func TestListWrite(t *testing.T) {
	runSteps(t, listStep, true, []stepCase{{
		name: "append creates an unordered list and answers the size",
		ops: []stepCheck{
			{arg: lop(listAppend, mi(5)), want: "1"},
			{arg: lop(listAppend, mi(3)), want: "2"},
		},
		final: "[5 3]",
	}, {
		name: "append items with an ordered policy creates an ordered list",
		ops: []stepCheck{
			{arg: lop(listAppendItems, ints(5, 1, 3), mi(1), mi(0)), want: "3"},
			{arg: lop(listAppend, mi(4)), want: "4"},
			// The order only applies to a list the write creates.
			{arg: lop(listAppend, mi(0), mi(0), mi(0)), want: "5"},
		},
		final: "[#1 0 1 3 4 5]",
	}, {
		name: "append keeps equal items in arrival order",
		bin:  ol(ml(mi(1), mi(2)), ml(mi(2))),
		ops: []stepCheck{
			{arg: lop(listAppend, ml(mi(1), mi(3))), want: "3"},
		},
		final: "[#1 [1 2] [1 3] [2]]",
	}, {
		name: "add unique refuses a value in the list",
		bin:  ints(1, 2),
		ops: []stepCheck{
			{arg: lop(listAppend, mi(2), mi(0), mi(listAddUnique)), code: proto.ElementExists},
			{arg: lop(listAppend, mi(2), mi(0), mi(listAddUnique|listNoFail)), want: "2"},
			{arg: lop(listAppendItems, ints(3, 2), mi(0), mi(listAddUnique|listNoFail)), want: "2"},
			{arg: lop(listAppendItems, ints(3, 2), mi(0), mi(listAddUnique|listNoFail|listPartial)), want: "3"},
			// Partial without no-fail still fails.
			{arg: lop(listAppendItems, ints(4, 2), mi(0), mi(listAddUnique|listPartial)), code: proto.ElementExists},
			{arg: lop(listAppendItems, ints(4, 4), mi(0), mi(listAddUnique)), code: proto.OpNotApplicable},
		},
		final: "[1 2 3]",
	}, {
		// The client suite's case: the first policy keeps 6 distinct
		// values, the second adds none but still creates the list.
		name: "add unique with partial and no-fail on a new ordered list",
		ops: []stepCheck{
			{arg: lop(listAppendItems, ints(0, 4, 5, 9, 9, 11, 15, 0), mi(1), mi(listAddUnique|listPartial|listNoFail)), want: "6"},
			{arg: lop(listAppendItems, ints(11, 3), mi(1), mi(listAddUnique|listPartial|listNoFail)), want: "7"},
		},
		final: "[#1 0 3 4 5 9 11 15]",
	}, {
		name: "add unique with no-fail alone adds nothing",
		ops: []stepCheck{
			{arg: lop(listAppendItems, ints(0, 4, 9, 9), mi(1), mi(listAddUnique|listNoFail)), want: "0"},
		},
		final: "[#1]",
	}, {
		name: "append items wants a list and storable values",
		bin:  ints(1),
		ops: []stepCheck{
			{arg: lop(listAppendItems, mi(2)), code: proto.ParameterError},
			{arg: lop(listAppend, mAny), code: proto.ParameterError},
			{arg: lop(listAppendItems, ml(mi(2), ml(mInf))), code: proto.ParameterError},
			{arg: lop(listAppend, mi(2), mi(0), mi(64)), code: proto.ParameterError},
			{arg: lop(listAppendItems, ml()), want: "1"},
			// The order attribute only matters to a list the write creates.
			{arg: lop(listAppend, mi(2), mi(4)), want: "2"},
		},
		final: "[1 2]",
	}, {
		name: "insert at an index, from the end, and past it",
		bin:  ints(1, 2, 3),
		ops: []stepCheck{
			{arg: lop(listInsert, mi(1), mi(9)), want: "4"},
			{arg: lop(listInsert, mi(-1), mi(8)), want: "5"},
			{arg: lop(listInsertItems, mi(0), ints(6, 7)), want: "7"},
			{arg: lop(listInsert, mi(9), ms("x")), want: "10"},
			{arg: lop(listInsert, mi(-11), mi(0)), code: proto.OpNotApplicable},
		},
		final: `[6 7 1 9 2 8 3 nil nil "x"]`,
	}, {
		name: "insert bounded and unique",
		bin:  ints(1, 2, 3),
		ops: []stepCheck{
			{arg: lop(listInsert, mi(4), mi(9), mi(listInsertBounded)), code: proto.OpNotApplicable},
			{arg: lop(listInsert, mi(4), mi(9), mi(listInsertBounded|listNoFail)), want: "3"},
			{arg: lop(listInsert, mi(3), mi(9), mi(listInsertBounded)), want: "4"},
			{arg: lop(listInsert, mi(0), mi(9), mi(listAddUnique)), code: proto.ElementExists},
			{arg: lop(listInsertItems, mi(0), ints(9, 0), mi(listAddUnique|listNoFail|listPartial)), want: "5"},
			{arg: lop(listInsertItems, mi(0), ml()), want: "5"},
		},
		final: "[0 1 2 3 9]",
	}, {
		name: "insert refuses an ordered list",
		bin:  orderedInts(1, 2),
		ops: []stepCheck{
			{arg: lop(listInsert, mi(0), mi(9)), code: proto.OpNotApplicable},
			{arg: lop(listSet, mi(0), mi(9)), code: proto.OpNotApplicable},
		},
		final: "[#1 1 2]",
	}, {
		name: "insert creates a list, padded",
		ops: []stepCheck{
			{arg: lop(listInsert, mi(2), mi(9)), want: "3"},
		},
		final: "[nil nil 9]",
	}, {
		name: "insert far past the end is refused",
		bin:  ints(1),
		ops: []stepCheck{
			{arg: lop(listInsert, mi(math.MaxInt64), mi(9)), code: proto.OpNotApplicable},
		},
		final: "[1]",
	}, {
		name: "set replaces, pads and answers nothing",
		bin:  ints(1, 2, 3),
		ops: []stepCheck{
			{arg: lop(listSet, mi(1), mi(9)), want: "-"},
			{arg: lop(listSet, mi(-1), mi(8)), want: "-"},
			{arg: lop(listSet, mi(4), mi(7)), want: "-"},
			{arg: lop(listSet, mi(-6), mi(7)), code: proto.OpNotApplicable},
			{arg: lop(listSet, mi(0), mi(9), mi(listAddUnique)), code: proto.ElementExists},
			// The same value at the same index is no duplicate.
			{arg: lop(listSet, mi(1), mi(9), mi(listAddUnique)), want: "-"},
			{arg: lop(listSet, mi(0), mi(9), mi(listAddUnique|listNoFail)), want: "-"},
			{arg: lop(listSet, mi(9), mi(9), mi(listInsertBounded)), code: proto.OpNotApplicable},
		},
		final: "[1 9 8 nil 7]",
	}, {
		name: "increment answers the new number",
		bin:  ints(1, 2, 3),
		ops: []stepCheck{
			{arg: lop(listIncrement, mi(0), mi(10)), want: "11"},
			{arg: lop(listIncrement, mi(0)), want: "12"},
			{arg: lop(listIncrement, mi(-1), mNil), want: "4"},
			// An integer stays an integer.
			{arg: lop(listIncrement, mi(1), mf(2.7)), want: "4"},
			{arg: lop(listIncrement, mi(4), mi(5)), want: "5"},
			{arg: lop(listIncrement, mi(1), ms("x")), code: proto.ParameterError},
			{arg: lop(listIncrement, mi(1), mAny), code: proto.ParameterError},
			{arg: lop(listIncrement, mi(-9)), code: proto.OpNotApplicable},
			// Increment with policy, as the client packs it: [index,
			// delta, order, flags].
			{arg: lop(listIncrement, mi(0), mi(1), mi(0), mi(0)), want: "13"},
		},
		final: "[13 4 4 nil 5]",
	}, {
		name: "increment a float",
		bin:  ml(mf(1.5)),
		ops: []stepCheck{
			{arg: lop(listIncrement, mi(0), mi(1)), want: "2.5"},
			{arg: lop(listIncrement, mi(0), mf(0.25)), want: "2.75"},
		},
		final: "[2.75]",
	}, {
		name: "increment a string fails",
		bin:  ml(ms("a")),
		ops: []stepCheck{
			{arg: lop(listIncrement, mi(0)), code: proto.ParameterError},
		},
		final: `["a"]`,
	}, {
		name: "increment in an ordered list moves the item",
		bin:  orderedInts(1, 5),
		ops: []stepCheck{
			{arg: lop(listIncrement, mi(0), mi(10)), want: "11"},
			{arg: lop(listIncrement, mi(2), mi(3)), want: "3"},
			{arg: lop(listIncrement, mi(4), mi(3)), code: proto.OpNotApplicable},
			{arg: lop(listIncrement, mi(0), mi(2), mi(0), mi(listAddUnique)), code: proto.ElementExists},
		},
		final: "[#1 3 5 11]",
	}, {
		name: "increment creates a list",
		ops: []stepCheck{
			{arg: lop(listIncrement, mi(0), mi(5), mi(1)), want: "5"},
		},
		final: "[#1 5]",
	}, {
		name: "sort",
		bin:  ints(3, 1, 2, 1),
		ops: []stepCheck{
			{arg: lop(listSort, mi(sortDescending)), want: "-"},
			{arg: lop(listSort, mi(0)), want: "-"},
			{arg: lop(listSort, mi(sortDescending|sortDropDups)), want: "-"},
			{arg: lop(listSort, mi(4)), code: proto.ParameterError},
		},
		final: "[3 2 1]",
	}, {
		name: "sort an ordered list only drops duplicates",
		bin:  orderedInts(1, 1, 2),
		ops: []stepCheck{
			{arg: lop(listSort, mi(sortDescending|sortDropDups)), want: "-"},
		},
		final: "[#1 1 2]",
	}, {
		name: "set type",
		bin:  ints(3, 1, 2),
		ops: []stepCheck{
			{arg: lop(listSetType, mi(listOrdered|listPersistIndex)), want: "-"},
			{arg: lop(listAppend, mi(0)), want: "4"},
			{arg: lop(listSetType, mi(0)), want: "-"},
			{arg: lop(listAppend, mi(0)), want: "5"},
			{arg: lop(listSetType, mi(2)), code: proto.OpNotApplicable},
		},
		final: "[0 1 2 3 0]",
	}, {
		name: "set type creates an empty list",
		ops: []stepCheck{
			{arg: lop(listSetType, mi(listOrdered)), want: "-"},
			{arg: lop(listAppendItems, ints(4, 3, 2, 1)), want: "4"},
		},
		final: "[#1 1 2 3 4]",
	}, {
		name: "pop, remove, trim and clear",
		bin:  oneToTen,
		ops: []stepCheck{
			{arg: lop(listPop, mi(0)), want: "1"},
			{arg: lop(listPopRange, mi(-2)), want: "[9 10]"},
			{arg: lop(listPopRange, mi(0), mi(2)), want: "[2 3]"},
			{arg: lop(listRemove, mi(-1)), want: "1"},
			{arg: lop(listRemoveRange, mi(0), mi(1)), want: "1"},
			{arg: lop(listRemove, mi(9)), code: proto.OpNotApplicable},
			{arg: lop(listPop, mi(3)), code: proto.OpNotApplicable},
			{arg: lop(listTrim, mi(1), mi(1)), want: "2"},
			{arg: lop(listTrim, mi(0), mi(5)), want: "0"},
			{arg: lop(listClear), want: "-"},
			{arg: lop(listSize), want: "0"},
		},
		final: "[]",
	}, {
		name: "trim past the end empties the list",
		bin:  ints(1, 2, 3),
		ops: []stepCheck{
			{arg: lop(listTrim, mi(5), mi(1)), want: "3"},
		},
		final: "[]",
	}, {
		name: "clear keeps the order",
		bin:  orderedInts(1, 2),
		ops: []stepCheck{
			{arg: lop(listClear), want: "-"},
		},
		final: "[#1]",
	}})
}

func TestListMissingBin(t *testing.T) {
	// Reads answer nothing, and writes that only take away do nothing.
	for _, arg := range [][]byte{
		lop(listSize), lop(listGet, mi(0)), lop(listGetRange, mi(0)),
		lop(listGetByRank, mrt(retValue), mi(0)), lop(listGetByValueList, mrt(retCount), ml()),
		lop(listPop, mi(0)), lop(listRemove, mi(0)), lop(listTrim, mi(0), mi(1)),
		lop(listClear), lop(listRemoveByValue, mrt(retCount), mi(1)),
	} {
		var bin []byte
		got, err := listStep(t, &bin, arg)
		if err != nil || got != "-" || bin != nil {
			t.Errorf("% x: %s %v, bin % x", arg, got, err, bin)
		}
	}
	var bin []byte
	if _, err := listStep(t, &bin, lop(listSort, mi(0))); Code(err) != proto.BinTypeError {
		t.Errorf("sort: %v", err)
	}
}

func TestListRead(t *testing.T) {
	type read struct {
		bin  []byte
		arg  []byte
		want string
		code proto.ResultCode
	}
	for name, r := range map[string]read{
		"size":                    {oneToTen, lop(listSize), "10", 0},
		"get last":                {oneToTen, lop(listGet, mi(-1)), "10", 0},
		"get past the end":        {oneToTen, lop(listGet, mi(10)), "", proto.OpNotApplicable},
		"get before the start":    {oneToTen, lop(listGet, mi(-11)), "", proto.OpNotApplicable},
		"get range from the end":  {oneToTen, lop(listGetRange, mi(-3), mi(3)), "[8 9 10]", 0},
		"get range to the end":    {oneToTen, lop(listGetRange, mi(7)), "[8 9 10]", 0},
		"get range negative":      {oneToTen, lop(listGetRange, mi(0), mi(-1)), "[1 2 3 4 5 6 7 8 9 10]", 0},
		"get range before start":  {oneToTen, lop(listGetRange, mi(-12), mi(4)), "[1 2]", 0},
		"get range past the end":  {oneToTen, lop(listGetRange, mi(20), mi(4)), "[]", 0},
		"get range huge count":    {oneToTen, lop(listGetRange, mi(8), mi(math.MaxInt64)), "[9 10]", 0},
		"get range huge index":    {oneToTen, lop(listGetRange, mi(math.MinInt64), mi(math.MaxInt64)), "[1 2 3 4 5 6 7 8 9]", 0},
		"get by index":            {oneToTen, lop(listGetByIndex, mrt(retValue), mi(7)), "8", 0},
		"get by index rank":       {mixed, lop(listGetByIndex, mrt(retRank), mi(0)), "2", 0},
		"get by index rev index":  {mixed, lop(listGetByIndex, mrt(retReverseIndex), mi(0)), "5", 0},
		"get by index rev rank":   {mixed, lop(listGetByIndex, mrt(retReverseRank), mi(0)), "3", 0},
		"get by index inverted":   {mixed, lop(listGetByIndex, mrt(retValue|retInverted), mi(0)), "", proto.OpNotApplicable},
		"get by index key":        {mixed, lop(listGetByIndex, mrt(retKey), mi(0)), "", proto.OpNotApplicable},
		"get by index count":      {mixed, lop(listGetByIndex, mrt(retCount), mi(0)), "1", 0},
		"get by index none":       {mixed, lop(listGetByIndex, mrt(retNone), mi(0)), "-", 0},
		"get by rank":             {mixed, lop(listGetByRank, mrt(retValue), mi(0)), "5", 0},
		"get by rank index":       {mixed, lop(listGetByRank, mrt(retIndex), mi(-1)), "5", 0},
		"get by rank past":        {mixed, lop(listGetByRank, mrt(retValue), mi(6)), "", proto.OpNotApplicable},
		"get by value":            {oneToTen, lop(listGetByValue, mrt(retValue), mi(7)), "[7]", 0},
		"get by value all":        {ints(1, 2, 1), lop(listGetByValue, mrt(retIndex), mi(1)), "[0 2]", 0},
		"get by value none found": {ints(1, 2, 1), lop(listGetByValue, mrt(retIndex), mi(3)), "[]", 0},
		"get by value inverted":   {ints(1, 2, 1), lop(listGetByValue, mrt(retValue|retInverted), mi(1)), "[2]", 0},
		"get by value list":       {oneToTen, lop(listGetByValueList, mrt(retIndex), ints(7, 9)), "[6 8]", 0},
		"get by value list not a list": {oneToTen, lop(listGetByValueList, mrt(retIndex), mi(7)),
			"", proto.ParameterError},
		"interval":                 {oneToTen, lop(listGetByInterval, mrt(retValue), mi(5), mi(9)), "[5 6 7 8]", 0},
		"interval exists":          {oneToTen, lop(listGetByInterval, mrt(retExists), mi(5), mi(9)), "true", 0},
		"interval empty exists":    {oneToTen, lop(listGetByInterval, mrt(retExists), mi(9), mi(5)), "false", 0},
		"interval in index order":  {mixed, lop(listGetByInterval, mrt(retValue), mNil, mi(9)), "[7 6 5 8]", 0},
		"interval to the end":      {mixed, lop(listGetByInterval, mrt(retIndex), mi(7)), "[0 3 4 5]", 0},
		"interval ranks":           {mixed, lop(listGetByInterval, mrt(retRank), mi(7)), "[2 3 4 5]", 0},
		"interval ranks ascending": {ints(8, 7), lop(listGetByInterval, mrt(retRank), mi(7)), "[0 1]", 0},
		"interval rev ranks":       {mixed, lop(listGetByInterval, mrt(retReverseRank), mi(9)), "[1 0]", 0},
		"interval to infinity":     {rel, lop(listGetByInterval, mrt(retValue), mi(10), mInf), "[11 15]", 0},
		"interval inverted":        {mixed, lop(listGetByInterval, mrt(retValue|retInverted), mi(6), mi(9)), "[5 9 10]", 0},
		"interval count":           {mixed, lop(listGetByInterval, mrt(retCount), mi(6), mi(9)), "3", 0},
		"index range":              {oneToTen, lop(listGetByIndexRange, mrt(retIndex), mi(7)), "[7 8 9]", 0},
		"index range count":        {oneToTen, lop(listGetByIndexRange, mrt(retValue), mi(5), mi(2)), "[6 7]", 0},
		"index range ranks":        {mixed, lop(listGetByIndexRange, mrt(retRank), mi(0), mi(3)), "[2 1 0]", 0},
		"index range rev index":    {mixed, lop(listGetByIndexRange, mrt(retReverseIndex), mi(0), mi(2)), "[5 4]", 0},
		"index range inverted":     {mixed, lop(listGetByIndexRange, mrt(retValue|retInverted), mi(1), mi(3)), "[7 9 10]", 0},
		"rank range":               {mixed, lop(listGetByRankRange, mrt(retValue), mi(1), mi(3)), "[6 7 8]", 0},
		"rank range indexes":       {mixed, lop(listGetByRankRange, mrt(retIndex), mi(0), mi(3)), "[0 1 2]", 0},
		"rank range from the end":  {mixed, lop(listGetByRankRange, mrt(retValue), mi(-2)), "[9 10]", 0},
		"rank range inverted":      {mixed, lop(listGetByRankRange, mrt(retValue|retInverted), mi(0), mi(3)), "[8 9 10]", 0},
		"rank range inverted rank": {mixed, lop(listGetByRankRange, mrt(retRank|retInverted), mi(0), mi(3)), "[3 4 5]", 0},
		"relative rank values":     {ints(9, 0, 5, 4), lop(listGetByRelRank, mrt(retValue), mi(5), mi(-1)), "[4 5 9]", 0},
		"relative rank huge":       {rel, lop(listGetByRelRank, mrt(retValue), mi(5), mi(math.MaxInt64)), "[]", 0},
		"relative rank far back":   {rel, lop(listGetByRelRank, mrt(retValue), mi(5), mi(math.MinInt64), mi(math.MaxInt64)), "[0]", 0},
		"wildcard":                 {ml(ml(ms("John"), mi(55)), ml(ms("Jim"), mi(95))), lop(listGetByValue, mrt(retValue), ml(ms("Jim"), mAny)), `[["Jim" 95]]`, 0},
		"return type unknown":      {oneToTen, lop(listGetByValue, mrt(9), mi(1)), "", proto.OpNotApplicable},
		"return type negative":     {oneToTen, lop(listGetByIndexRange, mi(-1), mi(1)), "", proto.OpNotApplicable},
		"extra argument":           {oneToTen, lop(listSize, mi(1)), "", proto.ParameterError},
		"missing argument":         {oneToTen, lop(listGetByRank, mrt(retValue)), "", proto.ParameterError},
		"string index":             {oneToTen, lop(listGet, ms("0")), "", proto.ParameterError},
		"unknown code":             {oneToTen, lop(20, mrt(retValue), mi(1)), "", proto.ParameterError},
	} {
		t.Run(name, func(t *testing.T) {
			var a bins.Arena
			out, err := Apply(&a, false, proto.ParticleList, r.bin, r.arg)
			if r.code != 0 {
				if Code(err) != r.code {
					t.Fatalf("got %v, want %v", err, r.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.Changed {
				t.Fatal("a read changed the list")
			}
			got := "-"
			if out.HasResult {
				res, _ := msgpack.AppendParticle(nil, out.ResType, out.Res)
				got = render(res)
			}
			if got != r.want {
				t.Errorf("got %s, want %s", got, r.want)
			}
		})
	}
}

// TestListRelativeRank runs the client suite's relative rank reads and
// removals on its ordered list, and the same reads on that list
// unordered.
func TestListRelativeRank(t *testing.T) {
	reads := []struct {
		args []int64 // value, rank, count (optional)
		want string
	}{
		{[]int64{5, 0}, "[5 9 11 15]"},
		{[]int64{5, 1}, "[9 11 15]"},
		{[]int64{5, -1}, "[4 5 9 11 15]"},
		{[]int64{3, 0}, "[4 5 9 11 15]"},
		{[]int64{3, 3}, "[11 15]"},
		{[]int64{3, -3}, "[0 4 5 9 11 15]"},
		{[]int64{5, 0, 2}, "[5 9]"},
		{[]int64{5, 1, 1}, "[9]"},
		{[]int64{5, -1, 2}, "[4 5]"},
		{[]int64{3, 0, 1}, "[4]"},
		{[]int64{3, 3, 7}, "[11 15]"},
		{[]int64{3, -3, 2}, "[]"},
	}
	for _, bin := range [][]byte{rel, ints(15, 4, 11, 0, 9, 5)} {
		for _, r := range reads {
			args := [][]byte{mrt(retValue)}
			for _, v := range r.args {
				args = append(args, mi(v))
			}
			b := bin
			if got, err := listStep(t, &b, lop(listGetByRelRank, args...)); err != nil || got != r.want {
				t.Errorf("%s %v: got %s %v, want %s", render(bin), r.args, got, err, r.want)
			}
		}
	}
	runSteps(t, listStep, true, []stepCase{{
		name: "remove by relative rank",
		bin:  rel,
		ops: []stepCheck{
			{arg: lop(listRemoveByRelRank, mrt(retValue), mi(5), mi(0)), want: "[5 9 11 15]"},
			{arg: lop(listRemoveByRelRank, mrt(retValue), mi(5), mi(1)), want: "[]"},
			{arg: lop(listRemoveByRelRank, mrt(retValue), mi(5), mi(-1)), want: "[4]"},
			{arg: lop(listRemoveByRelRank, mrt(retValue), mi(3), mi(-3), mi(1)), want: "[]"},
			{arg: lop(listRemoveByRelRank, mrt(retValue), mi(3), mi(-3), mi(2)), want: "[]"},
			{arg: lop(listRemoveByRelRank, mrt(retValue), mi(3), mi(-3), mi(3)), want: "[0]"},
		},
		final: "[#1]",
	}})
}

func TestListRemove(t *testing.T) {
	runSteps(t, listStep, true, []stepCase{{
		name: "remove by value and value list",
		bin:  oneToTen,
		ops: []stepCheck{
			{arg: lop(listRemoveByValueList, mrt(retValue), ints(1, 2, 3, 4, 5, 6, 7)), want: "[1 2 3 4 5 6 7]"},
			{arg: lop(listRemoveByValue, mrt(retCount), mi(9)), want: "1"},
			{arg: lop(listRemoveByValue, mrt(retCount), mi(9)), want: "0"},
		},
		final: "[8 10]",
	}, {
		name: "remove by interval",
		bin:  mixed,
		ops: []stepCheck{
			{arg: lop(listRemoveByInterval, mrt(retIndex), mi(7)), want: "[0 3 4 5]"},
		},
		final: "[6 5]",
	}, {
		name: "remove by index and range",
		bin:  oneToTen,
		ops: []stepCheck{
			{arg: lop(listRemoveByIndex, mrt(retValue), mi(0)), want: "1"},
			{arg: lop(listRemoveByIndexRange, mrt(retCount), mi(5)), want: "4"},
			{arg: lop(listRemoveByIndexRange, mrt(retCount), mi(2), mi(3)), want: "3"},
			{arg: lop(listRemoveByIndex, mrt(retValue|retInverted), mi(0)), code: proto.OpNotApplicable},
		},
		final: "[2 3]",
	}, {
		name: "remove by rank and rank range",
		bin:  mixed,
		ops: []stepCheck{
			{arg: lop(listRemoveByRank, mrt(retValue), mi(0)), want: "5"},
			{arg: lop(listRemoveByRankRange, mrt(retValue), mi(-2)), want: "[9 10]"},
			{arg: lop(listRemoveByRankRange, mrt(retIndex|retInverted), mi(0), mi(1)), want: "[0 2]"},
		},
		final: "[6]",
	}, {
		name: "remove with return type none",
		bin:  ints(1, 2),
		ops: []stepCheck{
			{arg: lop(listRemoveByIndexRange, mrt(retNone), mi(1)), want: "-"},
		},
		final: "[1]",
	}, {
		name: "inverted index range keeps the range",
		bin:  oneToTen,
		ops: []stepCheck{
			{arg: lop(listRemoveByIndexRange, mrt(retCount|retInverted), mi(2), mi(3)), want: "7"},
		},
		final: "[3 4 5]",
	}, {
		name: "a bad return type removes nothing",
		bin:  ints(1, 2),
		ops: []stepCheck{
			{arg: lop(listRemoveByIndex, mrt(retKeyValue), mi(0)), code: proto.OpNotApplicable},
		},
		final: "[1 2]",
	}})
}

// TestListThroughContext runs list operations on lists nested in a list
// and a map, as the client suite does, with values the client packs.
func TestListThroughContext(t *testing.T) {
	nested := clientPack([]any{[]any{7, 9, 5}, []any{1, 2, 3}, []any{6, 5, 4, 1}})
	ctxOp := func(ctx []byte, code int, args ...[]byte) []byte {
		return ml(mi(ctxMarker), ctx, lop(code, args...))
	}
	runSteps(t, listStep, true, []stepCase{{
		name: "append to the last list",
		bin:  nested,
		ops: []stepCheck{
			{arg: ctxOp(ml(mi(ctxListIndex), mi(-1)), listAppend, mi(11), mi(0), mi(0)), want: "5"},
			{arg: ctxOp(ml(mi(ctxListRank), mi(0)), listGetByRank, mrt(retValue), mi(-1)), want: "3"},
		},
		final: "[[7 9 5] [1 2 3] [6 5 4 1 11]]",
	}, {
		name: "create an ordered list past the end",
		bin:  ol(clientPack([]any{1, 2, 3}), clientPack([]any{6, 5, 4, 1}), clientPack([]any{7, 9, 5})),
		ops: []stepCheck{
			{arg: ctxOp(ml(mi(ctxListIndex|createListOrdered), mi(3)), listAppend, mi(2), mi(1), mi(0)), want: "1"},
		},
		// The parent is ordered, so the new list takes its place in order.
		final: "[#1 [1 2 3] [#1 2] [6 5 4 1] [7 9 5]]",
	}, {
		name: "append to the lowest list of a map entry",
		bin:  clientPack(map[any]any{"key2": []any{[]any{9}, []any{2, 4}}}),
		ops: []stepCheck{
			{arg: ctxOp(ml(mi(ctxMapKey), ms("key2"), mi(ctxListRank), mi(0)), listAppend, mi(11)), want: "3"},
		},
		final: `{"key2":[[9] [2 4 11]]}`,
	}, {
		// As on a server: a step that does not fit the element it meets
		// is not applicable, an operation that does not fit the element
		// the context names is a type error.
		name: "steps that do not fit",
		bin:  clientPack([]any{[]any{1}, "s", map[any]any{"k": 1}}),
		ops: []stepCheck{
			{arg: ctxOp(ml(mi(ctxMapKey), ms("k")), listAppend, mi(1)), code: proto.OpNotApplicable},
			{arg: ctxOp(ml(mi(ctxListIndex), mi(1), mi(ctxListIndex), mi(0)), listSize), code: proto.OpNotApplicable},
			{arg: ctxOp(ml(mi(ctxListIndex), mi(2), mi(ctxListIndex), mi(0)), listSize), code: proto.OpNotApplicable},
			{arg: ctxOp(ml(mi(ctxListIndex), mi(2)), listAppend, mi(1)), code: proto.BinTypeError},
			{arg: ctxOp(ml(mi(ctxListIndex), mi(0)), listSize), want: "1"},
		},
		final: `[[1] "s" {"k":1}]`,
	}})
	var a bins.Arena
	if _, err := Apply(&a, true, proto.ParticleInteger, mi(1), ml(mi(ctxMarker), ml(mi(ctxListIndex), mi(0)), lop(listAppend, mi(1)))); Code(err) != proto.ParameterError {
		t.Errorf("context into an integer bin: %v, want PARAMETER_ERROR", err)
	}
}

// TestListClientValues checks values packed by the official client:
// infinity and wildcards as search values, and a list with a nil.
func TestListClientValues(t *testing.T) {
	bin := clientPack([]any{[]any{"John", 55}, []any{"Jim", 95}, nil, 3.5})
	for _, c := range []struct {
		arg  []byte
		want string
	}{
		{lop(listGetByValue, mrt(retIndex), clientPack([]any{"Jim", as.NewWildCardValue()})), "[1]"},
		{lop(listGetByInterval, mrt(retValue), clientPack([]any{"John"}), clientPack(as.NewInfinityValue())), `[["John" 55] 3.5]`},
		{lop(listGetByValue, mrt(retIndex), clientPack(nil)), "[2]"},
		{lop(listGetByRank, mrt(retValue), mi(-1)), "3.5"},
	} {
		b := bin
		if got, err := listStep(t, &b, c.arg); err != nil || got != c.want {
			t.Errorf("% x: got %s %v, want %s", c.arg, got, err, c.want)
		}
	}
}

// TestListCodesAndTypes checks what each kind of code may do: a write in
// a CDT read is refused, a read in a CDT modify changes nothing, and a
// list code on a map bin or a scalar is a bin type error.
func TestListCodesAndTypes(t *testing.T) {
	var a bins.Arena
	if _, err := Apply(&a, false, proto.ParticleList, oneToTen, lop(listRemoveByIndex, mrt(retValue), mi(0))); Code(err) != proto.ParameterError {
		t.Errorf("remove in a read: %v", err)
	}
	if _, err := Apply(&a, false, proto.ParticleNull, nil, lop(listAppend, mi(1))); Code(err) != proto.ParameterError {
		t.Errorf("append in a read: %v", err)
	}
	for code := listSize; code <= listGetByRelRank; code++ {
		for _, args := range [][][]byte{{mi(0)}, {mrt(retValue), mi(0)}, {mrt(retValue), mi(0), mi(1)}, {mrt(retCount), ml(mi(0))}} {
			out, err := Apply(&a, true, proto.ParticleList, oneToTen, lop(code, args...))
			if err == nil && out.Changed {
				t.Errorf("code %d changed the list", code)
			}
		}
	}
	if _, err := Apply(&a, true, proto.ParticleMap, mm(mi(1), mi(2)), lop(listAppend, mi(1))); Code(err) != proto.BinTypeError {
		t.Errorf("append to a map: %v", err)
	}
	if _, err := Apply(&a, true, proto.ParticleInteger, mi(1), lop(listAppend, mi(1))); Code(err) != proto.BinTypeError {
		t.Errorf("append to an integer: %v", err)
	}
}

// listElems are arguments the random tests draw from.
var listElems = [][]byte{mNil, mInf, mAny, mi(0), mi(1), mi(-1), mi(2), mi(3), mi(16), mi(-100),
	mi(math.MaxInt64), mi(math.MinInt64), ms("a"), mf(0.5), ml(), ml(mi(1), ms("a")), ints(3, 1),
	mm(mi(1), mi(2)), emptyOrderedList, {0xc1}, {0xd9, 9}}

// TestListArgsNeverPanic runs list operations with random and truncated
// arguments on assorted lists: each must give a result or an error, and
// every list written must be whole, and sorted if ordered.
func TestListArgsNeverPanic(t *testing.T) {
	binsToTry := [][]byte{nil, oneToTen, mixed, rel, emptyOrderedList, emptyList,
		ml(mNil, ms("s"), mf(1), ints(2)), ol(mNil, mi(1), ms("s"))}
	randomOps(t, rand.New(rand.NewPCG(3, 4)), 30000, listSetType, listRemoveByRelRank, 6, listElems, binsToTry, proto.ParticleList,
		func(out bins.Outcome) {
			if out.Changed {
				checkList(t, out.Value)
			}
		})
}

func FuzzListApply(f *testing.F) {
	f.Add(true, mixed, lop(listAppendItems, ints(5, 1), mi(1), mi(listAddUnique|listNoFail|listPartial)))
	f.Add(false, rel, lop(listGetByRelRank, mrt(retRank), mi(5), mi(-1), mi(2)))
	f.Add(true, oneToTen, lop(listRemoveByInterval, mrt(retValue|retInverted), mi(3), mInf))
	f.Add(true, []byte(nil), lop(listIncrement, mi(2), mf(1.5), mi(1)))
	f.Add(true, ints(3, 1, 2), lop(listSort, mi(sortDescending|sortDropDups)))
	f.Fuzz(func(t *testing.T, modify bool, bin, arg []byte) {
		var a bins.Arena
		// A bin is a whole list, sorted if ordered, as the node stores
		// it; only arg is the client's.
		binType := uint8(proto.ParticleList)
		if !storedList(bin) {
			bin, binType = nil, proto.ParticleNull
		}
		out, err := Apply(&a, modify, binType, bin, arg)
		if err == nil && out.Changed {
			if !modify {
				t.Fatalf("a read changed the bin")
			}
			if out.Type == proto.ParticleList {
				checkList(t, out.Value)
			}
		}
	})
}

// storedList reports whether b is a list as the node stores one (see
// Stored).
func storedList(b []byte) bool {
	v, err := Stored(proto.ParticleList, b)
	return err == nil && bytes.Equal(v, b)
}

// TestListExtItemFirst sorts an ext item a client stored to the front of
// an unordered list: it must stay an item, not turn into the list's flags.
func TestListExtItemFirst(t *testing.T) {
	ext := []byte{0xd7, 0x31, 0, 0, 0, 0, 0, 0, 0, 0}
	var a bins.Arena
	out, err := Apply(&a, true, proto.ParticleList, ml(mi(48), mi(49), ext), lop(listSort, mi(sortDescending)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := parseList(out.Value)
	if err != nil || l.flags != 0 || len(l.items) != 3 || !bytes.Equal(l.items[0], ext) {
		t.Fatalf("sorted list % x: flags %d, %d items, %v; want the ext item first of 3, unordered", out.Value, l.flags, len(l.items), err)
	}
	// A list of values answered leads with the ext item too.
	got, err := Apply(&a, false, proto.ParticleList, out.Value, lop(listGetByIndexRange, mrt(retValue), mi(0)))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := msgpack.AppendParticle(nil, got.ResType, got.Res)
	if l, err := parseList(res); err != nil || len(l.items) != 3 {
		t.Fatalf("values answered % x: %d items, %v; want 3", res, len(l.items), err)
	}
}
