package expr

import (
	"bytes"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/internal/clientpack"
)

// TestCalls evaluates list, map, bit and HLL calls on the test record's
// bins l = [1, "a", 2], m = {"k": 1}, nest = [1, [2, 3]] and d = 01 02 03,
// and on values they create.
func TestCalls(t *testing.T) {
	l, m := as.ExpListBin("l"), as.ExpMapBin("m")
	rec := testRecord(t)
	rec.Bins = append(rec.Bins, rawBin("nest", proto.ParticleList, clientpack.List(as.IntegerValue(1), as.ListValue{2, 3})))
	runEval(t, rec, []evalCase{
		{"list size", as.ExpListSize(l), 3},
		{"list size in a filter", as.ExpEq(as.ExpListSize(l), iv(3)), true},
		{"list item by index", as.ExpListGetByIndex(as.ListReturnTypeValue, as.ExpTypeSTRING, iv(-2), l), "a"},
		{"list count by value", as.ExpListGetByValue(as.ListReturnTypeCount, iv(2), l), 1},
		{"list item of an appended list", as.ExpListGetByIndex(as.ListReturnTypeValue, as.ExpTypeINT, iv(-1),
			as.ExpListAppend(as.DefaultListPolicy(), iv(9), l)), 9},
		{"list value from a bin param", as.ExpListGetByValue(as.ListReturnTypeExists, as.ExpIntBin("one"), l), true},
		{"map value by key", as.ExpMapGetByKey(as.MapReturnType.VALUE, as.ExpTypeINT, sv("k"), m), 1},
		{"map size after a put", as.ExpMapSize(as.ExpMapPut(as.DefaultMapPolicy(), sv("j"), iv(2), m)), 2},
		{"nested through a context", as.ExpListSize(as.ExpListBin("nest"), as.CtxListIndex(1)), 2},
		{"missing bin", as.ExpListSize(as.ExpListBin("none")), unk},
		{"missing context element", as.ExpListSize(as.ExpListBin("nest"), as.CtxListIndex(5)), unk},
		{"unknown param", as.ExpListGetByIndex(as.ListReturnTypeValue, as.ExpTypeINT, as.ExpIntBin("none"), l), unk},
		{"call inside let", as.ExpLet(as.ExpDef("n", as.ExpListSize(l)), as.ExpEq(as.ExpVar("n"), iv(3))), true},
		// d = 01 02 03
		{"bit count", as.ExpBitCount(iv(0), iv(24), as.ExpBlobBin("d")), 4},
		{"bit get int", as.ExpBitGetInt(iv(8), iv(16), false, as.ExpBlobBin("d")), 0x0203},
		{"bit count of a changed blob", as.ExpBitCount(iv(0), iv(24), as.ExpBitNot(as.DefaultBitPolicy(), iv(0), iv(8), as.ExpBlobBin("d"))), 10},
		{"bit call on a missing bin", as.ExpBitCount(iv(0), iv(8), as.ExpBlobBin("none")), unk},
		{"hll count of a new sketch", as.ExpHLLGetCount(as.ExpHLLInit(as.DefaultHLLPolicy(), iv(4), as.ExpNilValue())), 0},
		{"hll count after adds", as.ExpHLLGetCount(as.ExpHLLAdd(as.DefaultHLLPolicy(), as.ExpListVal(as.StringValue("a"), as.StringValue("b")), as.ExpHLLInit(as.DefaultHLLPolicy(), iv(8), as.ExpNilValue()))), 2},
		{"list append to nil", as.ExpListSize(as.ExpListAppend(as.DefaultListPolicy(), iv(1), as.ExpNilValue())), 1},
	})
}

// TestCallModifyValue checks that a modify call's value is the whole
// changed collection, leaving the record's bin as it was.
func TestCallModifyValue(t *testing.T) {
	rec := testRecord(t)
	before := bytes.Clone(rec.Bins[9].Value)
	e, err := Compile(wire(t, as.ExpListAppend(as.DefaultListPolicy(), iv(7), as.ExpListBin("l"))))
	if err != nil {
		t.Fatal(err)
	}
	v := e.Eval(rec, new(bins.Arena))
	want := clientpack.List(as.IntegerValue(1), as.StringValue("a"), as.IntegerValue(2), as.IntegerValue(7))
	if v.Kind() != List || !bytes.Equal(v.Bytes(), want) {
		t.Fatalf("got %s, want list % x", describe(v), want)
	}
	if !bytes.Equal(rec.Bins[9].Value, before) {
		t.Fatal("the call changed the record's bin")
	}
}

// TestFilterCallsAllocs bounds the allocations of a filter with a list
// call: its values live in a pooled arena, and what is left is the
// operation's decoding (the operation, the list's items, the selection).
func TestFilterCallsAllocs(t *testing.T) {
	rec := testRecord(t)
	f, err := CompileFilter(wire(t, as.ExpEq(as.ExpListGetByIndex(as.ListReturnTypeValue, as.ExpTypeINT, iv(0), as.ExpListBin("l")), iv(1))))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Filter(rec) {
		t.Fatal("filter does not match")
	}
	if n := testing.AllocsPerRun(100, func() { f.Filter(rec) }); n > 4 {
		t.Errorf("%v allocations per filter", n)
	}
}
