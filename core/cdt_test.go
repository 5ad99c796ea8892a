package core_test

import (
	"fmt"
	"reflect"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"
)

// emptyHLL is an HLL bin of no values with 4 index bits: a header (flags,
// index bits, minhash bits, an 8-byte count) and 16 registers of 6 bits.
var emptyHLL = append([]byte{0, 4, 0}, make([]byte, 8+12)...)

// TestClientCollections drives list, map, bit and HLL operations, nested
// contexts and list, map, bit and HLL expressions through the official
// client.
func TestClientCollections(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	k := key(t, uniqueSet(t), "c")
	wp := as.NewWritePolicy(0, 0)

	// A list built by operations, then read by index, rank and range.
	rec, err := c.Operate(wp, k,
		as.ListAppendOp("l", 3, 1, 2),
		as.ListAppendOp("l", 9),
		as.ListGetByIndexOp("l", -1, as.ListReturnTypeValue),
		as.ListGetByRankOp("l", 0, as.ListReturnTypeValue),
		as.ListSizeOp("l"),
	)
	mustOK(t, err)
	// Several results for one bin come back as the client's OpResults.
	if got, want := rec.Bins["l"], (as.OpResults{3, 4, 9, 1, 4}); !reflect.DeepEqual(got, want) {
		t.Fatalf("list results %v, want %v", got, want)
	}
	assertBins(t, c, k, as.BinMap{"l": []any{3, 1, 2, 9}})

	// A map, with an increment and a nested key-ordered map (the client
	// reads it as MapPairs) created through a context.
	mp := as.DefaultMapPolicy()
	_, err = c.Operate(wp, k,
		as.MapPutItemsOp(mp, "m", map[any]any{"a": 1, "b": 2}),
		as.MapIncrementOp(mp, "m", "a", 10),
		as.MapPutOp(mp, "m", "x", 7, as.CtxMapKeyCreate(as.StringValue("c"), as.MapOrder.KEY_ORDERED)),
	)
	mustOK(t, err)
	rec, err = c.Operate(nil, k,
		as.MapGetByKeyOp("m", "a", as.MapReturnType.VALUE),
		as.MapGetByKeyOp("m", "x", as.MapReturnType.VALUE, as.CtxMapKey(as.StringValue("c"))),
		as.MapSizeOp("m"),
	)
	mustOK(t, err)
	if got, want := rec.Bins["m"], (as.OpResults{11, 7, 3}); !reflect.DeepEqual(got, want) {
		t.Fatalf("map results %v, want %v", got, want)
	}

	// Wrong types and missing context elements fail with their codes and
	// leave the record as it was.
	_, err = c.Operate(wp, k, as.ListAppendOp("m", 1))
	wantCode(t, err, types.BIN_TYPE_ERROR)
	_, err = c.Operate(wp, k, as.ListAppendOp("l", 1), as.MapPutOp(mp, "l", "x", 1))
	wantCode(t, err, types.BIN_TYPE_ERROR)
	// As on a server: incrementing what is not a number is a parameter
	// error, a context step that does not fit is not applicable.
	_, err = c.Operate(wp, k, as.MapIncrementOp(mp, "m", "c", 1))
	wantCode(t, err, types.PARAMETER_ERROR)
	_, err = c.Operate(wp, k, as.ListAppendOp("l", 1), as.ListSizeOp("m", as.CtxListIndex(0)))
	wantCode(t, err, types.OP_NOT_APPLICABLE)
	// A list or map written whole holds only what may be stored.
	wantCode(t, c.Put(wp, k, as.BinMap{"l": []any{1, []any{as.NewWildCardValue()}}}), types.PARAMETER_ERROR)
	wantCode(t, c.Put(wp, k, as.BinMap{"m": map[any]any{1.5: 1}}), types.PARAMETER_ERROR)
	assertBins(t, c, k, as.BinMap{"l": []any{3, 1, 2, 9}, "m": map[any]any{"a": 11, "b": 2, "c": []as.MapPair{{Key: "x", Value: 7}}}})

	// Expressions: a filter on a list's size, a read of a map value, and a
	// write that appends through an expression.
	rp := as.NewPolicy()
	rp.FilterExpression = as.ExpEq(as.ExpListSize(as.ExpListBin("l")), as.ExpIntVal(4))
	if _, err := c.Get(rp, k); err != nil {
		t.Fatalf("list size filter: %v", err)
	}
	rp.FilterExpression = as.ExpGreater(as.ExpMapGetByKey(as.MapReturnType.VALUE, as.ExpTypeINT, as.ExpStringVal("a"), as.ExpMapBin("m")), as.ExpIntVal(20))
	_, err = c.Get(rp, k)
	wantCode(t, err, types.FILTERED_OUT)
	rec, err = c.Operate(wp, k,
		as.ExpWriteOp("l", as.ExpListAppend(as.DefaultListPolicy(), as.ExpIntVal(5), as.ExpListBin("l")), as.ExpWriteFlagDefault),
		as.ExpReadOp("v", as.ExpMapGetByKey(as.MapReturnType.VALUE, as.ExpTypeINT, as.ExpStringVal("b"), as.ExpMapBin("m")), as.ExpReadFlagDefault),
	)
	mustOK(t, err)
	if got := rec.Bins["v"]; got != 2 {
		t.Fatalf("expression read of a map value: %v", got)
	}
	assertBins(t, c, k, as.BinMap{"l": []any{3, 1, 2, 9, 5}, "m": map[any]any{"a": 11, "b": 2, "c": []as.MapPair{{Key: "x", Value: 7}}}})

	// Bit operations on a blob, and a bit expression.
	bp := as.DefaultBitPolicy()
	rec, err = c.Operate(wp, k,
		as.BitResizeOp(bp, "b", 2, as.BitResizeFlagsDefault),
		as.BitSetOp(bp, "b", 4, 8, []byte{0xff}),
		as.BitCountOp("b", 0, 16),
		as.BitGetOp("b", 0, 16),
	)
	mustOK(t, err)
	if got, want := rec.Bins["b"], (as.OpResults{nil, nil, 8, []byte{0x0f, 0xf0}}); !reflect.DeepEqual(got, want) {
		t.Fatalf("bit results %#v, want %#v", got, want)
	}
	_, err = c.Operate(wp, k, as.BitSetOp(bp, "l", 0, 8, []byte{1}))
	wantCode(t, err, types.BIN_TYPE_ERROR)
	rp.FilterExpression = as.ExpEq(as.ExpBitCount(as.ExpIntVal(0), as.ExpIntVal(8), as.ExpBlobBin("b")), as.ExpIntVal(4))
	if _, err := c.Get(rp, k); err != nil {
		t.Fatalf("bit count filter: %v", err)
	}

	// HLL operations, and an HLL expression; a malformed HLL value is
	// refused.
	hp := as.DefaultHLLPolicy()
	var users []as.Value
	for i := range 1000 {
		users = append(users, as.StringValue(fmt.Sprintf("user-%d", i)))
	}
	rec, err = c.Operate(wp, k, as.HLLAddOp(hp, "h", users, 12, 0), as.HLLGetCountOp("h"))
	mustOK(t, err)
	res := rec.Bins["h"].(as.OpResults)
	if n := res[1].(int); n < 950 || n > 1050 {
		t.Fatalf("HLL count %d of 1000 values (results %v)", n, res)
	}
	rp.FilterExpression = as.ExpGreater(as.ExpHLLGetCount(as.ExpHLLBin("h")), as.ExpIntVal(900))
	if _, err := c.Get(rp, k); err != nil {
		t.Fatalf("HLL count filter: %v", err)
	}
	wantCode(t, c.Put(wp, k, as.BinMap{"bad": as.NewHLLValue([]byte{1, 2, 3})}), types.PARAMETER_ERROR)
	_, err = c.Operate(wp, k, as.HLLGetCountOp("b"))
	wantCode(t, err, types.BIN_TYPE_ERROR)
}
