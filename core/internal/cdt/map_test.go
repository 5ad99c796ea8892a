package cdt

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// mapModifies reports whether a map code needs a CDT modify operation.
func mapModifies(code int) bool { return code < mapSize }

// mapStep applies one operation to the bin *bin (nil: none) as the node
// would, and returns its result rendered ("-" for none) or its error.
func mapStep(t *testing.T, bin *[]byte, arg []byte) (string, error) {
	t.Helper()
	var a bins.Arena
	o, err := parseOp(arg)
	if err != nil {
		t.Fatalf("bad test op % x: %v", arg, err)
	}
	binType := uint8(proto.ParticleNull)
	if *bin != nil {
		binType = proto.ParticleMap
	}
	out, err := Apply(&a, mapModifies(o.code), binType, *bin, arg)
	if err != nil {
		return "", err
	}
	if out.Changed {
		if out.Type != proto.ParticleMap {
			t.Fatalf("bin became type %d", out.Type)
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

// mpol is a put's policy: its order and write flags arguments.
func mpol(order, flags int64) [][]byte { return [][]byte{mi(order), mi(flags)} }

func mput(k, v []byte, policy ...[]byte) []byte {
	return mop(mapPut, append([][]byte{k, v}, policy...)...)
}

func mputItems(m []byte, policy ...[]byte) []byte {
	return mop(mapPutItems, append([][]byte{m}, policy...)...)
}

// mapPeople is an unordered map whose key and value orders differ.
var mapPeople = mm(ms("Jim"), mi(98), ms("Charlie"), mi(55), ms("John"), mi(76), ms("Harry"), mi(82))

// mapNumbers is the map of the clients' relative range examples.
var mapNumbers = mm(mi(0), mi(17), mi(4), mi(2), mi(5), mi(15), mi(9), mi(10))

func TestMapWrite(t *testing.T) {
	runSteps(t, mapStep, false, []stepCase{{
		name: "put creates an unordered map and answers the size",
		ops: []stepCheck{
			{arg: mput(mi(2), mi(20)), want: "1"},
			{arg: mput(mi(1), mi(10)), want: "2"},
			{arg: mput(mi(2), mi(21)), want: "2"},
			// A wildcard or infinity is for searches, not to be stored.
			{arg: mput(mi(3), ml(mAny)), code: proto.ParameterError},
			{arg: mputItems(mm(mi(3), mInf)), code: proto.ParameterError},
		},
		final: "{2:21 1:10}",
	}, {
		name: "a key-ordered map stays sorted",
		ops: []stepCheck{
			{arg: mput(mi(5), mi(1), mi(1)), want: "1"},
			{arg: mput(ms("a"), mi(2)), want: "2"},
			{arg: mput(mi(-3), mi(3)), want: "3"},
			{arg: mputItems(mm(mi(4), mi(4), mi(9), mi(9))), want: "5"},
		},
		final: `{#1 -3:3 4:4 5:1 9:9 "a":2}`,
	}, {
		name: "the policy's order only applies to a new map",
		bin:  mm(mi(2), mi(2), mi(1), mi(1)),
		ops:  []stepCheck{{arg: mput(mi(0), mi(0), mi(1)), want: "3"}},
		// Still unordered: the new key goes last.
		final: "{2:2 1:1 0:0}",
	}, {
		name: "key-value order",
		ops: []stepCheck{
			{arg: mputItems(mm(ms("b"), mi(1), ms("a"), mi(2)), mi(3)), want: "2"},
		},
		final: `{#3 "a":2 "b":1}`,
	}, {
		name: "add and replace",
		bin:  mm(mi(1), mi(1)),
		ops: []stepCheck{
			{arg: mop(mapAdd, mi(1), mi(5)), code: proto.ElementExists},
			{arg: mop(mapAdd, mi(2), mi(2)), want: "2"},
			{arg: mop(mapReplace, mi(3), mi(3)), code: proto.ElementNotFound},
			{arg: mop(mapReplace, mi(1), mi(7)), want: "2"},
			{arg: mop(mapAddItems, mm(mi(3), mi(3), mi(1), mi(0))), code: proto.ElementExists},
			{arg: mop(mapReplaceItems, mm(mi(1), mi(8), mi(4), mi(4))), code: proto.ElementNotFound},
			{arg: mop(mapReplaceItems, mm(mi(1), mi(9), mi(2), mi(9))), want: "2"},
		},
		final: "{1:9 2:9}",
	}, {
		name: "replace does not create a map",
		ops:  []stepCheck{{arg: mop(mapReplace, mi(1), mi(1)), code: proto.ElementNotFound}},
	}, {
		name: "create only fails on an existing key",
		bin:  mapNumbers,
		ops: []stepCheck{
			{arg: mputItems(mm(mi(3), mi(3), mi(5), mi(15)), mpol(0, mapCreateOnly)...), code: proto.ElementExists},
			// No fail without partial: nothing written.
			{arg: mputItems(mm(mi(3), mi(3), mi(5), mi(15)), mpol(0, mapCreateOnly|mapNoFail)...), want: "4"},
			{arg: mputItems(mm(mi(3), mi(3), mi(5), mi(15)), mpol(0, mapCreateOnly|mapNoFail|mapPartial)...), want: "5"},
			{arg: mput(mi(3), mi(0), mpol(0, mapCreateOnly|mapNoFail)...), want: "5"},
		},
		final: "{0:17 4:2 5:15 9:10 3:3}",
	}, {
		name: "update only fails on a missing key",
		bin:  mm(mi(1), mi(1)),
		ops: []stepCheck{
			{arg: mput(mi(2), mi(2), mpol(0, mapUpdateOnly)...), code: proto.ElementNotFound},
			{arg: mput(mi(2), mi(2), mpol(0, mapUpdateOnly|mapNoFail)...), want: "1"},
			{arg: mput(mi(1), mi(5), mpol(0, mapUpdateOnly)...), want: "1"},
		},
		final: "{1:5}",
	}, {
		name: "keys must be integers, strings or blobs",
		ops: []stepCheck{
			{arg: mput(ml(mi(1)), mi(1)), code: proto.ParameterError},
			{arg: mput(mf(1.5), mi(1)), code: proto.ParameterError},
			{arg: mput(mInf, mi(1)), code: proto.ParameterError},
			{arg: mop(mapIncrement, mNil, mi(1)), code: proto.ParameterError},
		},
	}, {
		name: "bad policies",
		ops: []stepCheck{
			{arg: mput(mi(1), mi(1), mi(2)), code: proto.ParameterError},
			{arg: mput(mi(1), mi(1), mpol(0, 16)...), code: proto.ParameterError},
			{arg: mput(mi(1), mi(1), mi(0), mi(0), mi(0)), code: proto.ParameterError},
			{arg: mop(mapReplace, mi(1), mi(1), mi(0)), code: proto.ParameterError},
			{arg: mop(mapPutItems, ml(mi(1))), code: proto.ParameterError},
			{arg: mop(mapPut, mi(1)), code: proto.ParameterError},
		},
	}, {
		name: "increment and decrement",
		bin:  mm(ms("a"), mi(5), ms("f"), mf(1.5), ms("s"), ms("x")),
		ops: []stepCheck{
			{arg: mop(mapIncrement, ms("a"), mi(3)), want: "8"},
			{arg: mop(mapDecrement, ms("a"), mi(10)), want: "-2"},
			{arg: mop(mapIncrement, ms("f"), mf(1)), want: "2.5"},
			{arg: mop(mapIncrement, ms("f"), mi(2)), want: "4.5"},
			{arg: mop(mapIncrement, ms("new"), mi(4)), want: "4"},
			{arg: mop(mapDecrement, ms("newf"), mf(0.5)), want: "-0.5"},
			// A value or delta that is not a number: as a server answers.
			{arg: mop(mapIncrement, ms("s"), mi(1)), code: proto.ParameterError},
			{arg: mop(mapIncrement, ms("a"), ms("1")), code: proto.ParameterError},
			// No delta, or a nil one, is 1.
			{arg: mop(mapIncrement, ms("a")), want: "-1"},
			{arg: mop(mapDecrement, ms("a"), mNil), want: "-2"},
		},
		final: `{"a":-2 "f":4.5 "s":"x" "new":4 "newf":-0.5}`,
	}, {
		name: "increment creates a map with the policy's order",
		ops: []stepCheck{
			{arg: mop(mapIncrement, mi(2), mi(1), mi(1)), want: "1"},
			{arg: mop(mapIncrement, mi(1), mi(1), mi(0)), want: "1"},
		},
		final: "{#1 1:1 2:1}",
	}, {
		name: "set type",
		bin:  mm(mi(3), mi(1), mi(1), mi(2)),
		ops: []stepCheck{
			{arg: mop(mapSetType, mi(1)), want: "-"},
			{arg: mput(mi(2), mi(0)), want: "3"},
			{arg: mop(mapSetType, mi(0)), want: "-"},
			{arg: mput(mi(0), mi(0)), want: "4"},
			{arg: mop(mapSetType, mi(2)), code: proto.ParameterError},
		},
		final: "{1:2 2:0 3:1 0:0}",
	}, {
		name: "clear and size",
		bin:  mapNumbers,
		ops: []stepCheck{
			{arg: mop(mapSize), want: "4"},
			{arg: mop(mapClear), want: "-"},
			{arg: mop(mapSize), want: "0"},
		},
		final: "{}",
	}, {
		name: "clear keeps the order",
		bin:  mm(mi(0), mi(0)),
		ops: []stepCheck{
			{arg: mop(mapSetType, mi(3)), want: "-"},
			{arg: mop(mapClear), want: "-"},
		},
		final: "{#3}",
	}})
}

func TestMapMissingBin(t *testing.T) {
	runSteps(t, mapStep, false, []stepCase{{
		name: "reads and removes answer nil",
		ops: []stepCheck{
			{arg: mop(mapSize), want: "nil"},
			{arg: mop(mapGetByKey, mrt(retValue), mi(1)), want: "nil"},
			{arg: mop(mapGetByIndex, mrt(retKey), mi(3)), want: "nil"},
			{arg: mop(mapGetRankRange, mrt(retCount), mi(0)), want: "nil"},
			{arg: mop(mapRemoveByKey, mrt(retValue), mi(1)), want: "nil"},
			{arg: mop(mapRemoveByKey, mrt(retNone), mi(1)), want: "-"},
			{arg: mop(mapClear), want: "-"},
			{arg: mop(mapGetByKey, mrt(retValue)), code: proto.ParameterError},
		},
	}, {
		name:  "set type creates an empty map",
		ops:   []stepCheck{{arg: mop(mapSetType, mi(1)), want: "-"}},
		final: "{#1}",
	}})
}

func TestMapRead(t *testing.T) {
	// mapPeople in key order: Charlie 55, Harry 82, Jim 98, John 76; in
	// rank order: Charlie, John, Harry, Jim.
	runSteps(t, mapStep, false, []stepCase{{
		name: "by key",
		bin:  mapPeople,
		ops: []stepCheck{
			{arg: mop(mapGetByKey, mrt(retValue), ms("Jim")), want: "98"},
			{arg: mop(mapGetByKey, mrt(retKey), ms("Jim")), want: `"Jim"`},
			{arg: mop(mapGetByKey, mrt(retIndex), ms("Jim")), want: "2"},
			{arg: mop(mapGetByKey, mrt(retReverseIndex), ms("Jim")), want: "1"},
			{arg: mop(mapGetByKey, mrt(retRank), ms("Charlie")), want: "0"},
			{arg: mop(mapGetByKey, mrt(retReverseRank), ms("Charlie")), want: "3"},
			{arg: mop(mapGetByKey, mrt(retCount), ms("Jim")), want: "1"},
			{arg: mop(mapGetByKey, mrt(retExists), ms("Jim")), want: "true"},
			{arg: mop(mapGetByKey, mrt(retExists), ms("Bob")), want: "false"},
			{arg: mop(mapGetByKey, mrt(retValue), ms("Bob")), want: "nil"},
			{arg: mop(mapGetByKey, mrt(retKeyValue), ms("Jim")), want: `{#8 "Jim":98}`},
			{arg: mop(mapGetByKey, mrt(retUnorderedMap), ms("Jim")), want: `{"Jim":98}`},
			{arg: mop(mapGetByKey, mrt(retNone), ms("Jim")), want: "-"},
			{arg: mop(mapGetByKey, mrt(retKey|retInverted), ms("Jim")), want: `["Charlie" "Harry" "John"]`},
			{arg: mop(mapGetByKey, mrt(9), ms("Jim")), code: proto.ParameterError},
		},
		final: render(mapPeople),
	}, {
		name: "by index and rank",
		bin:  mapPeople,
		ops: []stepCheck{
			{arg: mop(mapGetByIndex, mrt(retKey), mi(0)), want: `"Charlie"`},
			{arg: mop(mapGetByIndex, mrt(retKeyValue), mi(-1)), want: `{#8 "John":76}`},
			{arg: mop(mapGetByIndex, mrt(retRank), mi(1)), want: "2"},
			{arg: mop(mapGetByIndex, mrt(retValue), mi(4)), code: proto.OpNotApplicable},
			{arg: mop(mapGetByRank, mrt(retKey), mi(1)), want: `"John"`},
			{arg: mop(mapGetByRank, mrt(retIndex), mi(-1)), want: "2"},
			{arg: mop(mapGetByRank, mrt(retValue), mi(-5)), code: proto.OpNotApplicable},
			{arg: mop(mapGetByIndex, mrt(retKey), ms("0")), code: proto.ParameterError},
		},
	}, {
		name: "ranges",
		bin:  mapPeople,
		ops: []stepCheck{
			{arg: mop(mapGetIndexRange, mrt(retKey), mi(1), mi(2)), want: `["Harry" "Jim"]`},
			{arg: mop(mapGetIndexRange, mrt(retKey), mi(-3)), want: `["Harry" "Jim" "John"]`},
			{arg: mop(mapGetIndexRange, mrt(retKey), mi(-6), mi(3)), want: `["Charlie"]`},
			{arg: mop(mapGetIndexRange, mrt(retKey), mi(9)), want: `[]`},
			{arg: mop(mapGetIndexRange, mrt(retCount), mi(1), mi(math.MaxInt64)), want: "3"},
			{arg: mop(mapGetIndexRange, mrt(retCount), mi(math.MinInt64), mi(math.MaxInt64)), want: "3"},
			{arg: mop(mapGetRankRange, mrt(retKey), mi(-2), mi(2)), want: `["Harry" "Jim"]`},
			{arg: mop(mapGetRankRange, mrt(retKeyValue), mi(0), mi(2)), want: `{#8 "Charlie":55 "John":76}`},
			{arg: mop(mapGetRankRange, mrt(retOrderedMap), mi(0), mi(2)), want: `{#1 "Charlie":55 "John":76}`},
			{arg: mop(mapGetRankRange, mrt(retKey|retInverted), mi(-2), mi(2)), want: `["Charlie" "John"]`},
			{arg: mop(mapGetRankRange, mrt(retIndex), mi(1)), want: `[3 1 2]`},
			{arg: mop(mapGetRankRange, mrt(retReverseRank), mi(1)), want: `[2 1 0]`},
		},
	}, {
		name: "values",
		bin:  mapPeople,
		ops: []stepCheck{
			{arg: mop(mapGetByValue, mrt(retKey), mi(76)), want: `["John"]`},
			{arg: mop(mapGetByValue, mrt(retKey), mi(77)), want: `[]`},
			{arg: mop(mapGetByValue, mrt(retRank), mi(82)), want: `[2]`},
			{arg: mop(mapGetValueList, mrt(retKey), ml(mi(55), mi(98), mi(1))), want: `["Charlie" "Jim"]`},
			{arg: mop(mapGetValueInterval, mrt(retKey), mi(70), mi(90)), want: `["John" "Harry"]`},
			{arg: mop(mapGetValueInterval, mrt(retValue), mi(80)), want: `[82 98]`},
			{arg: mop(mapGetValueInterval, mrt(retCount), mi(90), mi(80)), want: `0`},
			{arg: mop(mapGetValueInterval, mrt(retRank), mi(90), mi(95)), want: `[]`},
			// Inverted: the others, in key order; ranks in rank order.
			{arg: mop(mapGetValueInterval, mrt(retRank|retInverted), mi(70), mi(90)), want: `[0 3]`},
			{arg: mop(mapGetValueInterval, mrt(retRank|retInverted), mi(90), mi(95)), want: `[0 1 2 3]`},
			{arg: mop(mapGetValueInterval, mrt(retKeyValue|retInverted), mi(90), mi(95)), want: `{#8 "Charlie":55 "Harry":82 "Jim":98 "John":76}`},
			{arg: mop(mapGetValueInterval, mrt(retCount|retInverted), mi(90), mi(95)), want: `4`},
		},
	}, {
		name: "keys",
		bin:  mapPeople,
		ops: []stepCheck{
			{arg: mop(mapGetKeyList, mrt(retValue), ml(ms("John"), ms("Bob"), ms("Charlie"))), want: `[55 76]`},
			{arg: mop(mapGetKeyList, mrt(retValue), ms("John")), code: proto.ParameterError},
			{arg: mop(mapGetKeyInterval, mrt(retKey), ms("H"), ms("Jo")), want: `["Harry" "Jim"]`},
			{arg: mop(mapGetKeyInterval, mrt(retKey), ms("Ji")), want: `["Jim" "John"]`},
			{arg: mop(mapGetKeyInterval, mrt(retKey), mNil, ms("D")), want: `["Charlie"]`},
			{arg: mop(mapGetKeyInterval, mrt(retKey), ms("J"), mInf), want: `["Jim" "John"]`},
			{arg: mop(mapGetKeyInterval, mrt(retKey|retInverted), ms("H"), ms("Jo")), want: `["Charlie" "John"]`},
		},
	}, {
		name: "wildcard values",
		bin:  mm(mi(4), ml(ms("John"), mi(55)), mi(5), ml(ms("Jim"), mi(95)), mi(9), ml(ms("Joe"), mi(80))),
		ops: []stepCheck{
			{arg: mop(mapGetByValue, mrt(retKey), ml(ms("Joe"), mAny)), want: `[9]`},
		},
	}, {
		// The clients' documented examples.
		name: "relative ranges",
		bin:  mapNumbers,
		ops: []stepCheck{
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(5), mi(0)), want: `[5 9]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(5), mi(1)), want: `[9]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(5), mi(-1)), want: `[4 5 9]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(3), mi(2)), want: `[9]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(3), mi(-2)), want: `[0 4 5 9]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(5), mi(0), mi(1)), want: `[5]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(5), mi(1), mi(2)), want: `[9]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(5), mi(-1), mi(1)), want: `[4]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(3), mi(2), mi(1)), want: `[9]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(3), mi(-2), mi(2)), want: `[0]`},
			{arg: mop(mapGetKeyRelIndex, mrt(retKey), mi(3), mi(math.MaxInt64), mi(math.MaxInt64)), want: `[]`},
			{arg: mop(mapGetValueRelRank, mrt(retValue), mi(11), mi(1)), want: `[17]`},
			{arg: mop(mapGetValueRelRank, mrt(retValue), mi(11), mi(-1)), want: `[10 15 17]`},
			{arg: mop(mapGetValueRelRank, mrt(retValue), mi(11), mi(1), mi(1)), want: `[17]`},
			{arg: mop(mapGetValueRelRank, mrt(retValue), mi(11), mi(-1), mi(1)), want: `[10]`},
			{arg: mop(mapGetValueRelRank, mrt(retValue), mi(11), mi(math.MinInt64), mi(math.MaxInt64)), want: `[2]`},
		},
	}})
}

func TestMapRemove(t *testing.T) {
	runSteps(t, mapStep, false, []stepCase{{
		name: "by key keeps the map's order",
		bin:  mapPeople,
		ops: []stepCheck{
			{arg: mop(mapRemoveByKey, mrt(retValue), ms("Bob")), want: "nil"},
			{arg: mop(mapRemoveByKey, mrt(retValue), ms("Charlie")), want: "55"},
			{arg: mop(mapRemoveKeyList, mrt(retValue), ml(ms("John"), ms("x"))), want: "[76]"},
		},
		final: `{"Jim":98 "Harry":82}`,
	}, {
		name:  "an emptied map stays",
		bin:   mm(mi(1), mi(1)),
		ops:   []stepCheck{{arg: mop(mapRemoveByKey, mrt(retNone), mi(1)), want: "-"}},
		final: "{}",
	}, {
		name: "ranges",
		bin:  mm(ms("Charlie"), mi(55), ms("Jim"), mi(98), ms("John"), mi(76), ms("Harry"), mi(82), ms("Sally"), mi(79), ms("Lenny"), mi(84), ms("Abe"), mi(88)),
		ops: []stepCheck{
			{arg: mop(mapRemoveKeyInterval, mrt(retCount), ms("J"), ms("K")), want: "2"},
			{arg: mop(mapRemoveValueInterval, mrt(retCount), mi(80), mi(85)), want: "2"},
			{arg: mop(mapRemoveIndexRange, mrt(retCount), mi(0), mi(2)), want: "2"},
			{arg: mop(mapRemoveRankRange, mrt(retCount), mi(0), mi(2)), want: "1"},
		},
		final: "{}",
	}, {
		name: "inverted",
		bin:  mapNumbers,
		ops: []stepCheck{
			{arg: mop(mapRemoveIndexRange, mrt(retKey|retInverted), mi(1), mi(2)), want: "[0 9]"},
		},
		final: "{4:2 5:15}",
	}, {
		name: "by value and rank",
		bin:  mm(mi(1), mi(7), mi(2), mi(7), mi(3), mi(1)),
		ops: []stepCheck{
			{arg: mop(mapRemoveByRank, mrt(retKey), mi(0)), want: "3"},
			{arg: mop(mapRemoveByValue, mrt(retKey), mi(7)), want: "[1 2]"},
			{arg: mop(mapRemoveByIndex, mrt(retKey), mi(0)), code: proto.OpNotApplicable},
		},
		final: "{}",
	}, {
		name: "relative",
		bin:  mapNumbers,
		ops: []stepCheck{
			{arg: mop(mapRemoveKeyRelIndex, mrt(retValue), mi(5), mi(0)), want: "[15 10]"},
			{arg: mop(mapRemoveKeyRelIndex, mrt(retValue), mi(5), mi(1)), want: "[]"},
			{arg: mop(mapRemoveKeyRelIndex, mrt(retValue), mi(5), mi(-1), mi(1)), want: "[2]"},
			{arg: mop(mapRemoveValueRelRank, mrt(retValue), mi(0), mi(0)), want: "[17]"},
		},
		final: "{}",
	}, {
		name: "value list",
		bin:  mapNumbers,
		ops: []stepCheck{
			{arg: mop(mapRemoveValueList, mrt(retKey), ml(mi(2), mi(10))), want: "[4 9]"},
		},
		final: "{0:17 5:15}",
	}})
}

// TestMapArgsNeverPanic runs map operations with random and truncated
// arguments: each must give a result or an error.
func TestMapArgsNeverPanic(t *testing.T) {
	elems := [][]byte{mNil, mInf, mAny, mi(0), mi(1), mi(-1), mi(3), mi(math.MaxInt64), mi(math.MinInt64),
		ms("a"), mf(0.5), ml(), ml(mi(1), ms("a")), mm(mi(1), mi(2)), mm(), emptyKeyOrderedMap, {0xc1}, {0xd9, 9}}
	binsToTry := [][]byte{nil, mapNumbers, mapPeople, emptyKVOrderedMap, mm(ms("s"), ms("x"), mi(1), mf(1))}
	randomOps(t, rand.New(rand.NewPCG(1, 2)), 20000, mapSetType, mapGetValueRelRank, 5, elems, binsToTry, proto.ParticleMap, nil)
}

func FuzzMapApply(f *testing.F) {
	f.Add(true, mapNumbers, mput(mi(1), mi(2), mpol(1, mapCreateOnly)...))
	f.Add(false, mapPeople, mop(mapGetKeyRelIndex, mrt(retKeyValue), ms("J"), mi(-1), mi(2)))
	f.Add(true, mapPeople, mop(mapRemoveValueInterval, mrt(retRank|retInverted), mi(0), mi(80)))
	f.Add(true, []byte(nil), mop(mapIncrement, ms("a"), mf(1.5), mi(3)))
	f.Fuzz(func(t *testing.T, modify bool, bin, arg []byte) {
		var a bins.Arena
		// A bin is a whole map, as the node stores it; only arg is the
		// client's.
		binType := uint8(proto.ParticleMap)
		if v, err := Stored(binType, bin); err != nil || !bytes.Equal(v, bin) {
			bin, binType = nil, proto.ParticleNull
		}
		out, err := Apply(&a, modify, binType, bin, arg)
		if err == nil && out.Changed && !modify {
			t.Fatalf("a read changed the bin")
		}
	})
}

// TestMapReadsNeverChange runs every read code on a map as a modify
// operation: none may change it.
func TestMapReadsNeverChange(t *testing.T) {
	var a bins.Arena
	for code := range mapGets {
		for _, args := range [][][]byte{{mrt(retValue), mi(0)}, {mrt(retKey), mi(0), mi(1)}, {mrt(retCount), ml(mi(0))}} {
			out, err := Apply(&a, true, proto.ParticleMap, mapNumbers, mop(code, args...))
			if err == nil && out.Changed {
				t.Errorf("code %d changed the map", code)
			}
		}
	}
	out, err := Apply(&a, true, proto.ParticleMap, mapNumbers, mop(mapSize))
	if err != nil || out.Changed {
		t.Errorf("size: %v, changed %v", err, out.Changed)
	}
	// And a modify code in a CDT read is refused.
	if _, err := Apply(&a, false, proto.ParticleMap, mapNumbers, mop(mapRemoveByKey, mrt(retValue), mi(0))); Code(err) != proto.ParameterError {
		t.Errorf("remove in a read: %v", err)
	}
}
