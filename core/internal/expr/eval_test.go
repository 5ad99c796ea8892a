package expr

import (
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// f22 is a variable so that f22 + 1.1 is rounded as at run time.
var f22 = 2.2

func itoa(i int64) string   { return strconv.FormatInt(i, 10) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

type evalCase struct {
	name string
	exp  *as.Expression
	want any
}

// runEval compiles each case's client-encoded expression and checks its
// value against rec.
func runEval(t *testing.T, rec *Record, cases []evalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile(wire(t, tc.exp))
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			checkValue(t, e.Eval(rec, new(bins.Arena)), tc.want)
			// A boolean expression is also a filter, which keeps the
			// record exactly when it is true.
			if e.Type() == Bool {
				f, err := CompileFilter(wire(t, tc.exp))
				if err != nil {
					t.Fatalf("compile filter: %v", err)
				}
				if got, want := f.Filter(rec), tc.want == true; got != want {
					t.Errorf("Filter = %v, want %v", got, want)
				}
			}
		})
	}
}

var (
	binA   = as.ExpIntBin("a")
	binB   = as.ExpStringBin("b")
	binC   = as.ExpFloatBin("c")
	binD   = as.ExpBlobBin("d")
	binE   = as.ExpBoolBin("e")
	binNeg = as.ExpIntBin("neg")
	binOne = as.ExpIntBin("one")
	yes    = as.ExpBoolVal(true)
	no     = as.ExpBoolVal(false)
	iv     = as.ExpIntVal
	fv     = as.ExpFloatVal
	sv     = as.ExpStringVal
	// missing is an int bin the test record does not have: unknown.
	missing     = as.ExpIntBin("zz")
	unknownBool = as.ExpEq(missing, iv(1))
)

func TestCompareInt(t *testing.T) {
	ops := []struct {
		name string
		fn   func(l, r *as.Expression) *as.Expression
		want [3]bool // a (5) against 4, 5, 6
	}{
		{"eq", as.ExpEq, [3]bool{false, true, false}},
		{"ne", as.ExpNotEq, [3]bool{true, false, true}},
		{"gt", as.ExpGreater, [3]bool{true, false, false}},
		{"ge", as.ExpGreaterEq, [3]bool{true, true, false}},
		{"lt", as.ExpLess, [3]bool{false, false, true}},
		{"le", as.ExpLessEq, [3]bool{false, true, true}},
	}
	var cases []evalCase
	for _, op := range ops {
		for i, v := range []int64{4, 5, 6} {
			cases = append(cases,
				evalCase{op.name + "/int/" + itoa(v), op.fn(binA, iv(v)), op.want[i]},
				evalCase{op.name + "/float/" + itoa(v), op.fn(as.ExpFloatVal(float64(v)/2), fv(2.5)), op.want[2-i]},
				evalCase{op.name + "/missing/" + itoa(v), op.fn(missing, iv(v)), unk},
				evalCase{op.name + "/missing-right/" + itoa(v), op.fn(iv(v), missing), unk},
			)
		}
	}
	runEval(t, testRecord(t), cases)
}

func TestCompareTypes(t *testing.T) {
	rec := testRecord(t)
	runEval(t, rec, []evalCase{
		{"string eq", as.ExpEq(binB, sv("xyz")), true},
		{"string gt prefix", as.ExpGreater(binB, sv("x")), true},
		{"string lt", as.ExpLess(binB, sv("xz")), true},
		{"string gt longer", as.ExpGreater(binB, sv("xyzz")), false},
		{"float eq", as.ExpEq(binC, fv(2.5)), true},
		{"float gt", as.ExpGreater(binC, fv(2)), true},
		{"blob eq", as.ExpEq(binD, as.ExpBlobVal([]byte{1, 2, 3})), true},
		{"blob lt", as.ExpLess(binD, as.ExpBlobVal([]byte{1, 2, 4})), true},
		{"blob lt longer", as.ExpLess(binD, as.ExpBlobVal([]byte{1, 2, 3, 0})), true},
		{"bool eq", as.ExpEq(binE, yes), true},
		{"bool gt", as.ExpGreater(binE, no), true},
		{"bool lt", as.ExpLess(no, yes), true},
		{"nil eq", as.ExpEq(as.ExpNilValue(), as.ExpNilValue()), true},
		{"nil ne", as.ExpNotEq(as.ExpNilValue(), as.ExpNilValue()), false},
		{"nil ge", as.ExpGreaterEq(as.ExpNilValue(), as.ExpNilValue()), true},
		{"nil lt", as.ExpLess(as.ExpNilValue(), as.ExpNilValue()), false},
		{"nil bin", as.ExpEq(as.ExpBinType("zz"), iv(0)), true},
		{"nan ne", as.ExpNotEq(fv(math.NaN()), fv(math.NaN())), true},
		{"nan eq", as.ExpEq(fv(math.NaN()), fv(math.NaN())), false},
		// A bin read with another type is unknown.
		{"string bin holds int", as.ExpEq(as.ExpStringBin("a"), sv("5")), unk},
		{"int bin holds string", as.ExpEq(as.ExpIntBin("b"), iv(0)), unk},
		{"float bin holds int", as.ExpEq(as.ExpFloatBin("a"), fv(5)), unk},
		{"missing string", as.ExpEq(as.ExpStringBin("zz"), sv("")), unk},
		// Lists compare element-wise, then by length.
		{"list eq", as.ExpEq(as.ExpListBin("l"), as.ExpListVal(as.IntegerValue(1), as.StringValue("a"), as.IntegerValue(2))), true},
		{"list lt", as.ExpLess(as.ExpListBin("l"), as.ExpListVal(as.IntegerValue(1), as.StringValue("b"))), true},
		{"list gt prefix", as.ExpGreater(as.ExpListBin("l"), as.ExpListVal(as.IntegerValue(1), as.StringValue("a"))), true},
		{"list lt int < string", as.ExpLess(as.ExpListBin("l"), as.ExpListVal(as.IntegerValue(1), as.IntegerValue(9))), false},
		// Maps the client sends carry no order flag: comparing them is
		// unknown.
		{"map eq unordered", as.ExpEq(as.ExpMapBin("m"), as.ExpMapVal(as.MapValue{"k": 1})), unk},
		{"hll bin is hll", as.ExpEq(as.ExpBinType("h"), iv(proto.ParticleHLL)), true},
	})
}

func TestKeyAndBinMeta(t *testing.T) {
	rec := testRecord(t)
	runEval(t, rec, []evalCase{
		{"string key", as.ExpEq(as.ExpKey(as.ExpTypeSTRING), sv("key1")), true},
		{"int key of string", as.ExpEq(as.ExpKey(as.ExpTypeINT), iv(1)), unk},
		{"blob key of string", as.ExpEq(as.ExpKey(as.ExpTypeBLOB), as.ExpBlobVal([]byte("key1"))), unk},
		{"key exists", as.ExpKeyExists(), true},
		{"bin type int", as.ExpEq(as.ExpBinType("a"), iv(proto.ParticleInteger)), true},
		{"bin type list", as.ExpEq(as.ExpBinType("l"), iv(proto.ParticleList)), true},
		{"bin type missing", as.ExpBinType("zz"), 0},
		{"bin exists", as.ExpBinExists("a"), true},
		{"bin not exists", as.ExpBinExists("zz"), false},
	})

	noKey := testRecord(t)
	noKey.Key = nil
	runEval(t, noKey, []evalCase{
		{"no key exists", as.ExpKeyExists(), false},
		{"no key", as.ExpEq(as.ExpKey(as.ExpTypeSTRING), sv("key1")), unk},
	})

	intKey := testRecord(t)
	intKey.Key = append([]byte{proto.ParticleInteger}, 0, 0, 0, 0, 0, 0, 0, 50)
	runEval(t, intKey, []evalCase{
		{"int key", as.ExpEq(as.ExpKey(as.ExpTypeINT), iv(50)), true},
		{"string key of int", as.ExpEq(as.ExpKey(as.ExpTypeSTRING), sv("2")), unk},
	})

	blobKey := testRecord(t)
	blobKey.Key = []byte{proto.ParticleBlob, 'B'}
	runEval(t, blobKey, []evalCase{
		{"blob key", as.ExpEq(as.ExpKey(as.ExpTypeBLOB), as.ExpBlobVal([]byte("B"))), true},
	})
}

func TestLogic(t *testing.T) {
	runEval(t, testRecord(t), []evalCase{
		{"and true", as.ExpAnd(yes, yes, yes), true},
		{"and false", as.ExpAnd(yes, no), false},
		{"and unknown", as.ExpAnd(yes, unknownBool), unk},
		{"and false decides over unknown", as.ExpAnd(unknownBool, no), false},
		{"and false then unknown", as.ExpAnd(no, unknownBool), false},
		{"or true decides over unknown", as.ExpOr(unknownBool, yes), true},
		{"or unknown", as.ExpOr(no, unknownBool), unk},
		{"or false", as.ExpOr(no, no), false},
		{"not true", as.ExpNot(yes), false},
		{"not unknown", as.ExpNot(unknownBool), unk},
		{"not not unknown", as.ExpNot(as.ExpNot(unknownBool)), unk},
		{"exclusive one", as.ExpExclusive(yes, no, no), true},
		{"exclusive two", as.ExpExclusive(yes, no, yes), false},
		{"exclusive none", as.ExpExclusive(no, no), false},
		{"exclusive unknown", as.ExpExclusive(no, unknownBool), unk},
		{"unknown literal", as.ExpUnknown(), unk},
		{"bool bin", binE, true},
		// The client's test: a || (b && c) with and/or/not over bins.
		{"nested", as.ExpOr(
			as.ExpAnd(as.ExpNot(as.ExpEq(binB, sv("0x0001"))), as.ExpGreaterEq(binA, iv(8))),
			as.ExpEq(binB, sv("xyz"))), true},
	})
}

func TestArithmetic(t *testing.T) {
	runEval(t, testRecord(t), []evalCase{
		{"add", as.ExpNumAdd(binA, binOne, iv(1)), 7},
		{"add one", as.ExpNumAdd(binA), 5},
		{"add wraps", as.ExpNumAdd(iv(math.MaxInt64), iv(1)), int64(math.MinInt64)},
		{"add float", as.ExpNumAdd(as.ExpFloatBin("f22"), fv(1.1)), f22 + 1.1},
		{"sub", as.ExpNumSub(iv(1), binA, binOne), -5},
		{"sub negates one", as.ExpNumSub(binA), -5},
		{"sub negates float", as.ExpNumSub(binC), -2.5},
		{"mul", as.ExpNumMul(iv(2), binA, binNeg), -20},
		{"div", as.ExpNumDiv(iv(8), as.ExpIntBin("neg"), iv(2)), -2},
		{"div truncates", as.ExpNumDiv(iv(-7), iv(2)), -3},
		{"div inverts one", as.ExpNumDiv(binA), 0},
		{"div inverts float", as.ExpNumDiv(fv(4)), 0.25},
		{"div by zero", as.ExpNumDiv(binA, as.ExpIntBin("zero")), unk},
		{"div one by zero", as.ExpNumDiv(as.ExpIntBin("zero")), unk},
		{"div float by zero", as.ExpNumDiv(fv(1), fv(0)), math.Inf(1)},
		{"div min by -1", as.ExpNumDiv(iv(math.MinInt64), iv(-1)), int64(math.MinInt64)},
		{"div unknown", as.ExpNumDiv(binA, missing), unk},
		{"add unknown first", as.ExpNumAdd(missing, binA), unk},
		{"add unknown later", as.ExpNumAdd(binA, missing), unk},
		{"mod", as.ExpNumMod(binA, iv(2)), 1},
		{"mod negative", as.ExpNumMod(iv(-7), iv(3)), -1},
		{"mod by zero", as.ExpNumMod(binA, iv(0)), unk},
		{"mod min by -1", as.ExpNumMod(iv(math.MinInt64), iv(-1)), 0},
		{"pow", as.ExpNumPow(fv(2.2), fv(2)), math.Pow(2.2, 2)},
		{"log", as.ExpNumLog(fv(2.2), fv(2)), math.Log(2.2) / math.Log(2)},
		{"abs", as.ExpNumAbs(binNeg), 2},
		{"abs positive", as.ExpNumAbs(binA), 5},
		{"abs float", as.ExpNumAbs(fv(-1.5)), 1.5},
		{"abs min wraps", as.ExpNumAbs(iv(math.MinInt64)), int64(math.MinInt64)},
		{"abs unknown", as.ExpNumAbs(missing), unk},
		{"floor", as.ExpNumFloor(fv(2.2)), 2.0},
		{"floor negative", as.ExpNumFloor(fv(-2.2)), -3.0},
		{"ceil", as.ExpNumCeil(fv(2.2)), 3.0},
		{"to int", as.ExpToInt(fv(2.9)), 2},
		{"to int negative", as.ExpToInt(fv(-2.9)), -2},
		{"to int nan", as.ExpToInt(fv(math.NaN())), int64(math.MinInt64)},
		{"to int huge", as.ExpToInt(fv(1e300)), int64(math.MinInt64)},
		{"to float", as.ExpToFloat(binA), 5.0},
		{"int and", as.ExpIntAnd(binA, iv(0xFFFF), iv(4)), 4},
		{"int or", as.ExpIntOr(binA, iv(0xF0)), 0xF5},
		{"int xor", as.ExpIntXor(binOne, iv(0xFF)), 0xFE},
		{"int not", as.ExpIntNot(binOne), -2},
		{"lshift", as.ExpIntLShift(binOne, iv(2)), 4},
		{"lshift by 64 wraps to 0", as.ExpIntLShift(binOne, iv(64)), 1},
		{"lshift by -1 is 63", as.ExpIntLShift(binOne, iv(-1)), int64(math.MinInt64)},
		{"rshift", as.ExpIntRShift(binNeg, iv(62)), 3},
		{"arshift", as.ExpIntARShift(binNeg, iv(62)), -1},
		{"count", as.ExpIntCount(binA), 2},
		{"count negative", as.ExpIntCount(iv(-1)), 64},
		{"lscan", as.ExpIntLScan(binOne, yes), 63},
		{"lscan zero bit", as.ExpIntLScan(binOne, no), 0},
		{"lscan none", as.ExpIntLScan(as.ExpIntBin("zero"), yes), -1},
		{"lscan none of -1", as.ExpIntLScan(iv(-1), no), -1},
		{"rscan", as.ExpIntRScan(binOne, yes), 63},
		{"rscan 6", as.ExpIntRScan(iv(6), yes), 62},
		{"rscan zero bit", as.ExpIntRScan(binOne, no), 62},
		{"rscan none", as.ExpIntRScan(as.ExpIntBin("zero"), yes), -1},
		{"scan unknown", as.ExpIntLScan(binA, unknownBool), unk},
		{"min", as.ExpMin(binA, binOne, binNeg), -2},
		{"max", as.ExpMax(binA, binOne, binNeg), 5},
		{"min float", as.ExpMin(fv(1.5), binC), 1.5},
		{"max float", as.ExpMax(fv(1.5), binC), 2.5},
		{"max unknown", as.ExpMax(binA, missing), unk},
		{"bit op unknown", as.ExpIntAnd(binA, missing), unk},
		{"shift unknown", as.ExpIntLShift(missing, iv(1)), unk},
		{"to float unknown", as.ExpToFloat(missing), unk},
	})
}

// TestClientMatrix replays the client's "Expression Filter Operations"
// table: each filter rejects record A and accepts record B (or, reversed,
// the negation accepts A).
func TestClientMatrix(t *testing.T) {
	const A, B, C, D, E = "A", "B", "C", "D", "E"
	recA := &Record{Bins: []bins.Bin{intBin(A, 1), floatBin(B, 1.1), strBin(C, "abcde"), intBin(D, 1), intBin(E, -1)}}
	recB := &Record{Bins: []bins.Bin{intBin(A, 2), floatBin(B, 2.2), strBin(C, "abcdeabcde"), intBin(D, 1), intBin(E, -2)}}
	type tc struct {
		name      string
		exp       *as.Expression
		expB      bool // expect record B to match, else the negation on A
		reverseOn *Record
	}
	bA, bB, bD, bE := as.ExpIntBin(A), as.ExpFloatBin(B), as.ExpIntBin(D), as.ExpIntBin(E)
	matrix := []tc{
		{"Exclusive", as.ExpExclusive(as.ExpEq(bA, iv(1)), as.ExpEq(bD, iv(1))), true, nil},
		{"AddInt", as.ExpEq(as.ExpNumAdd(bA, bD, iv(1)), iv(4)), true, nil},
		{"SubInt", as.ExpEq(as.ExpNumSub(iv(1), bA, bD), iv(-2)), true, nil},
		{"MulInt", as.ExpEq(as.ExpNumMul(iv(2), bA, bD), iv(4)), true, nil},
		{"DivInt", as.ExpEq(as.ExpNumDiv(iv(8), bA, bD), iv(4)), true, nil},
		{"ModInt", as.ExpEq(as.ExpNumMod(bA, iv(2)), iv(0)), true, nil},
		{"AbsInt", as.ExpEq(as.ExpNumAbs(bE), iv(2)), true, nil},
		{"Floor", as.ExpEq(as.ExpNumFloor(bB), fv(2)), true, nil},
		{"Ceil", as.ExpEq(as.ExpNumCeil(bB), fv(3)), true, nil},
		{"ToInt", as.ExpEq(as.ExpToInt(bB), iv(2)), true, nil},
		{"ToFloat", as.ExpEq(as.ExpToFloat(bA), fv(2)), true, nil},
		{"IntAnd", as.ExpNot(as.ExpAnd(
			as.ExpEq(as.ExpIntAnd(bA, iv(0)), iv(0)),
			as.ExpEq(as.ExpIntAnd(bA, iv(0xFFFF)), iv(1)))), false, recA},
		{"IntOr", as.ExpNot(as.ExpAnd(
			as.ExpEq(as.ExpIntOr(bA, iv(0)), iv(1)),
			as.ExpEq(as.ExpIntOr(bA, iv(0xFF)), iv(0xFF)))), false, recA},
		{"IntXor", as.ExpNot(as.ExpAnd(
			as.ExpEq(as.ExpIntXor(bA, iv(0)), iv(1)),
			as.ExpEq(as.ExpIntXor(bA, iv(0xFF)), iv(0xFE)))), false, recA},
		{"IntNot", as.ExpNot(as.ExpEq(as.ExpIntNot(bA), iv(-2))), false, recA},
		{"LShift", as.ExpNot(as.ExpEq(as.ExpIntLShift(bA, iv(2)), iv(4))), false, recA},
		{"RShift", as.ExpNot(as.ExpEq(as.ExpIntRShift(bE, iv(62)), iv(3))), false, recB},
		{"ARShift", as.ExpNot(as.ExpEq(as.ExpIntARShift(bE, iv(62)), iv(-1))), false, recB},
		{"BitCount", as.ExpNot(as.ExpEq(as.ExpIntCount(bA), iv(1))), false, recA},
		{"LScan", as.ExpNot(as.ExpEq(as.ExpIntLScan(bA, yes), iv(63))), false, recA},
		{"RScan", as.ExpNot(as.ExpEq(as.ExpIntRScan(bA, yes), iv(63))), false, recA},
		{"Min", as.ExpNot(as.ExpEq(as.ExpMin(bA, bD, bE), iv(-1))), false, recA},
		{"Max", as.ExpNot(as.ExpEq(as.ExpMax(bA, bD, bE), iv(1))), false, recA},
		{"Cond", as.ExpNot(as.ExpEq(as.ExpCond(
			as.ExpEq(bA, iv(0)), as.ExpNumAdd(bD, bE),
			as.ExpEq(bA, iv(1)), as.ExpNumSub(bD, bE),
			as.ExpEq(bA, iv(2)), as.ExpNumMul(bD, bE),
			iv(-1)), iv(2))), false, recA},
		{"AddFloat", as.ExpLet(
			as.ExpDef("val", as.ExpNumAdd(bB, fv(1.1))),
			as.ExpAnd(as.ExpGreaterEq(as.ExpVar("val"), fv(3.2999)), as.ExpLessEq(as.ExpVar("val"), fv(3.3001)))), true, nil},
		{"LogFloat", as.ExpLet(
			as.ExpDef("val", as.ExpNumLog(bB, fv(2.0))),
			as.ExpAnd(as.ExpGreaterEq(as.ExpVar("val"), fv(1.1374)), as.ExpLessEq(as.ExpVar("val"), fv(1.1376)))), true, nil},
		{"PowFloat", as.ExpLet(
			as.ExpDef("val", as.ExpNumPow(bB, fv(2.0))),
			as.ExpAnd(as.ExpGreaterEq(as.ExpVar("val"), fv(4.8399)), as.ExpLessEq(as.ExpVar("val"), fv(4.8401)))), true, nil},
	}
	for _, m := range matrix {
		t.Run(m.name, func(t *testing.T) {
			f, err := CompileFilter(wire(t, m.exp))
			if err != nil {
				t.Fatal(err)
			}
			if m.expB {
				if f.Filter(recA) || !f.Filter(recB) {
					t.Fatalf("A %v B %v, want false true", f.Filter(recA), f.Filter(recB))
				}
				return
			}
			if f.Filter(m.reverseOn) {
				t.Fatal("filter matches")
			}
			not, err := CompileFilter(wire(t, as.ExpNot(m.exp)))
			if err != nil {
				t.Fatal(err)
			}
			if !not.Filter(m.reverseOn) {
				t.Fatal("negated filter does not match")
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	rec := testRecord(t)
	lutMs := testLastUpdate.UnixNano() / 1e6
	runEval(t, rec, []evalCase{
		{"digest modulo", as.ExpDigestModulo(3), 10000 % 3},
		{"digest modulo negative", as.ExpDigestModulo(-7), 10000 % -7},
		{"record size", as.ExpRecordSize(), 123},
		{"device size", as.ExpDeviceSize(), 123},
		{"memory size", as.ExpMemorySize(), 123},
		{"last update in ms", as.ExpLastUpdate(), lutMs * 1e6},
		{"since update", as.ExpSinceUpdate(), testNow.UnixMilli() - lutMs},
		{"void time", as.ExpVoidTime(), (int64(testVoidTime) + storage.EpochUnix) * 1e9},
		{"ttl", as.ExpTTL(), 3600},
		{"set name", as.ExpSetName(), "people"},
		{"set name eq", as.ExpEq(as.ExpSetName(), sv("people")), true},
		{"is tombstone", as.ExpIsTombstone(), false},
		{"not tombstone", as.ExpNot(as.ExpIsTombstone()), true},
		{"last update gt", as.ExpGreater(as.ExpLastUpdate(), iv(15000)), true},
		{"since update gt", as.ExpGreater(as.ExpSinceUpdate(), iv(150)), true},
	})

	forever := testRecord(t)
	forever.Meta.VoidTime = 0
	forever.Meta.Set = ""
	forever.Meta.LastUpdate = uint64(testNow.Add(time.Hour).UnixNano()) // clock skew
	runEval(t, forever, []evalCase{
		{"void time never", as.ExpVoidTime(), -1},
		{"ttl never", as.ExpTTL(), -1},
		{"no set", as.ExpSetName(), ""},
		{"since future update", as.ExpSinceUpdate(), 0},
	})

	expired := testRecord(t)
	expired.Meta.VoidTime = uint32(testNow.Unix()-storage.EpochUnix) - 10
	runEval(t, expired, []evalCase{{"ttl expired", as.ExpTTL(), 1}})
}

func TestCondLetVar(t *testing.T) {
	runEval(t, testRecord(t), []evalCase{
		{"cond first", as.ExpCond(as.ExpEq(binA, iv(5)), iv(1), iv(2)), 1},
		{"cond default", as.ExpCond(as.ExpEq(binA, iv(6)), iv(1), iv(2)), 2},
		{"cond second", as.ExpCond(no, sv("x"), yes, sv("y"), sv("z")), "y"},
		{"cond unknown condition", as.ExpCond(unknownBool, iv(1), iv(2)), unk},
		{"cond unknown branch", as.ExpCond(yes, as.ExpUnknown(), iv(2)), unk},
		{"cond unknown default", as.ExpCond(no, iv(1), as.ExpUnknown()), unk},
		{"cond skips unknown later", as.ExpCond(yes, iv(1), unknownBool, iv(2), iv(3)), 1},
		{"let", as.ExpLet(as.ExpDef("x", binA), as.ExpDef("y", as.ExpNumMul(as.ExpVar("x"), iv(2))),
			as.ExpNumAdd(as.ExpVar("x"), as.ExpVar("y"))), 15},
		{"let unknown var", as.ExpLet(as.ExpDef("x", missing), as.ExpNumAdd(as.ExpVar("x"), iv(1))), unk},
		{"let unused unknown var", as.ExpLet(as.ExpDef("x", missing), iv(1)), 1},
		{"nested lets reuse slots", as.ExpNumAdd(
			as.ExpLet(as.ExpDef("x", iv(1)), as.ExpDef("y", iv(2)), as.ExpNumAdd(as.ExpVar("x"), as.ExpVar("y"))),
			as.ExpLet(as.ExpDef("z", iv(10)), as.ExpLet(as.ExpDef("w", iv(20)), as.ExpNumAdd(as.ExpVar("z"), as.ExpVar("w"))))), 33},
		{"let bool var", as.ExpLet(as.ExpDef("ok", as.ExpEq(binA, iv(5))), as.ExpAnd(as.ExpVar("ok"), yes)), true},
		{"string var", as.ExpLet(as.ExpDef("s", binB), as.ExpVar("s")), "xyz"},
	})
}

func TestRegex(t *testing.T) {
	// The client's test: "[1-5]" case-insensitively over "0".."99".
	e, err := CompileFilter(wire(t, as.ExpRegexCompare("[1-5]", as.ExpRegexFlagICASE, as.ExpStringBin("s"))))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; i < 100; i++ {
		if e.Filter(&Record{Bins: []bins.Bin{strBin("s", strconv.Itoa(i))}}) {
			n++
		}
	}
	if n != 75 {
		t.Fatalf("%d matches, want 75", n)
	}

	re := func(pattern string, flags as.ExpRegexFlags, subject string) *as.Expression {
		return as.ExpRegexCompare(pattern, flags, sv(subject))
	}
	ext, icase, nl := as.ExpRegexFlagEXTENDED, as.ExpRegexFlagICASE, as.ExpRegexFlagNEWLINE
	runEval(t, testRecord(t), []evalCase{
		{"bin", as.ExpRegexCompare("^x.z$", 0, binB), true},
		{"case", re("^XY", 0, "xyz"), false},
		{"icase", re("^XY", icase, "xyz"), true},
		{"basic plus is literal", re("a+", 0, "aa"), false},
		{"basic plus literal match", re("a+", 0, "a+"), true},
		{"basic escaped plus", re(`ba\+c`, 0, "baaac"), true},
		{"extended plus", re("a+", ext, "aa"), true},
		{"basic group", re(`^\(ab\)*c$`, 0, "ababc"), true},
		{"basic parens literal", re(`(ab)`, 0, "x(ab)"), true},
		{"extended group", re(`^(ab)*c$`, ext, "ababc"), true},
		{"basic interval", re(`^a\{2\}$`, 0, "aa"), true},
		{"basic braces literal", re(`a{2}`, 0, "a{2}"), true},
		{"extended interval", re(`^a{2}$`, ext, "aa"), true},
		{"basic alternation", re(`^cat\|dog$`, 0, "dog"), true},
		{"extended alternation", re(`^(cat|dog)$`, ext, "dog"), true},
		{"basic caret literal inside", re(`a^b`, 0, "a^b"), true},
		{"basic dollar literal inside", re(`a$b`, 0, "a$b"), true},
		{"leading star literal", re(`*a`, 0, "*a"), true},
		{"dot matches newline", re("a.b", 0, "a\nb"), true},
		{"newline: dot does not", re("a.b", nl, "a\nb"), false},
		{"anchor at text start", re("^b", 0, "a\nb"), false},
		{"newline: anchor at lines", re("^b", nl, "a\nb"), true},
		{"newline: negated bracket", re("a[^x]b", nl, "a\nb"), false},
		{"negated bracket", re("a[^x]b", 0, "a\nb"), true},
		{"backslash in bracket is literal", re(`[\]`, 0, `\`), true},
		{"class in bracket", re(`^[[:digit:]]+$`, ext, "123"), true},
		{"leading ] in bracket", re(`[]a]`, 0, "]"), true},
		{"word boundary", re(`\<dog\>`, 0, "a dog b"), true},
		{"word class", re(`^\w\W\s\S$`, 0, "a- b"), true},
		{"escaped dot", re(`a\.b`, ext, "a.b"), true},
		{"escaped dot is no wildcard", re(`a\.b`, 0, "axb"), false},
		{"buffer anchors", re("\\`a.*b\\'", 0, "axxb"), true},
		{"escaped ordinary", re(`\a`, 0, "a"), true},
		{"extended leading plus", re(`+a`, ext, "+a"), true},
		{"subject cut at NUL", re(`b$`, 0, "a\x00b"), false},
		{"missing bin", as.ExpRegexCompare("x", 0, as.ExpStringBin("zz")), unk},
		{"bin of another type", as.ExpRegexCompare("x", 0, as.ExpStringBin("a")), unk},
	})
}

func TestGeo(t *testing.T) {
	geo := func(bin string, json string) *as.Expression {
		return as.ExpGeoCompare(as.ExpGeoBin(bin), as.ExpGeoVal(json))
	}
	square := `{"type":"Polygon","coordinates":[[[-123,37],[-121,37],[-121,38],[-123,38],[-123,37]]]}`
	squareCW := `{"type":"Polygon","coordinates":[[[-123,37],[-123,38],[-121,38],[-121,37],[-123,37]]]}`
	holed := `{"type":"Polygon","coordinates":[[[-123,37],[-121,37],[-121,38],[-123,38],[-123,37]],
		[[-122.1,37.4],[-121.9,37.4],[-121.9,37.6],[-122.1,37.6],[-122.1,37.4]]]}`
	multi := `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],
		[[[-123,37],[-121,37],[-121,38],[-123,38],[-123,37]]]]}`
	far := `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}`
	feature := `{"type":"Feature","properties":{},"geometry":` + square + `}`
	runEval(t, testRecord(t), []evalCase{
		{"point in circle", geo("g", `{"type":"AeroCircle","coordinates":[[-122.0,37.52],3000]}`), true},
		{"point outside circle", geo("g", `{"type":"AeroCircle","coordinates":[[-122.0,37.6],3000]}`), false},
		{"point in polygon", geo("g", square), true},
		{"point in clockwise polygon", geo("g", squareCW), true},
		{"point in feature", geo("g", feature), true},
		{"point in hole", geo("g", holed), false},
		{"point in multipolygon", geo("g", multi), true},
		{"point outside polygon", geo("g", far), false},
		{"region contains point", geo("r", `{"type":"Point","coordinates":[-122.01,37.51]}`), true},
		{"region misses point", geo("r", `{"type":"Point","coordinates":[-121.9,37.5]}`), false},
		{"point vs point", geo("g", pointJSON), false},
		{"region vs region", geo("r", square), false},
		{"missing bin", geo("zz", square), unk},
		{"bin of another type", geo("a", square), unk},
	})

	bad := &Record{Bins: []bins.Bin{geoBin("g", `{"type":"Point"}`)}}
	runEval(t, bad, []evalCase{{"invalid stored GeoJSON", geo("g", square), unk}})
}

func TestFilterMeta(t *testing.T) {
	rec := testRecord(t)
	for _, tc := range []struct {
		name           string
		exp            *as.Expression
		match, decided bool
	}{
		{"metadata true", as.ExpGreater(as.ExpRecordSize(), iv(0)), true, true},
		{"metadata false", as.ExpEq(as.ExpSetName(), sv("other")), false, true},
		{"bin", as.ExpEq(binA, iv(5)), false, false},
		{"key", as.ExpKeyExists(), false, false},
		{"false and bin", as.ExpAnd(as.ExpEq(as.ExpSetName(), sv("other")), as.ExpEq(binA, iv(5))), false, true},
		{"true or bin", as.ExpOr(as.ExpEq(as.ExpSetName(), sv("people")), as.ExpEq(binA, iv(5))), true, true},
		{"true and bin", as.ExpAnd(as.ExpEq(as.ExpSetName(), sv("people")), as.ExpEq(binA, iv(5))), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := CompileFilter(wire(t, tc.exp))
			if err != nil {
				t.Fatal(err)
			}
			match, decided := e.FilterMeta(rec)
			if match != tc.match || decided != tc.decided {
				t.Fatalf("FilterMeta = %v, %v; want %v, %v", match, decided, tc.match, tc.decided)
			}
		})
	}
}

// TestConcurrentEval runs one Expr from many goroutines (run with -race).
func TestConcurrentEval(t *testing.T) {
	e, err := CompileFilter(wire(t, as.ExpAnd(
		as.ExpRegexCompare("^x", 0, binB),
		as.ExpLet(as.ExpDef("v", binA), as.ExpEq(as.ExpVar("v"), iv(5))),
		as.ExpGeoCompare(as.ExpGeoBin("g"), as.ExpGeoVal(circleJSON)))))
	if err != nil {
		t.Fatal(err)
	}
	rec := testRecord(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if !e.Filter(rec) {
					t.Error("no match")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestMalformedBins(t *testing.T) {
	// Stored values that do not match their type read as unknown.
	r := &Record{Bins: []bins.Bin{
		rawBin("i", proto.ParticleInteger, []byte{1, 2}),
		rawBin("f", proto.ParticleFloat, []byte{1}),
		rawBin("t", proto.ParticleBool, nil),
		rawBin("g", proto.ParticleGeoJSON, []byte{0, 0}),
		rawBin("g2", proto.ParticleGeoJSON, []byte{0, 0, 1, 1}),
		rawBin("x", 99, []byte{1}),
	}}
	runEval(t, r, []evalCase{
		{"int", as.ExpIntBin("i"), unk},
		{"float", as.ExpFloatBin("f"), unk},
		{"bool", as.ExpBoolBin("t"), unk},
		{"geo", as.ExpGeoCompare(as.ExpGeoBin("g"), as.ExpGeoVal(circleJSON)), unk},
		{"geo cells", as.ExpGeoCompare(as.ExpGeoBin("g2"), as.ExpGeoVal(circleJSON)), unk},
		{"nil bin", as.ExpEq(as.ExpBinType("x"), iv(99)), true},
	})
}

func TestExprType(t *testing.T) {
	for _, tc := range []struct {
		exp  *as.Expression
		want Kind
	}{
		{as.ExpNilValue(), Nil}, {yes, Bool}, {iv(1), Int}, {sv("x"), String},
		{as.ExpListVal(), List}, {as.ExpMapVal(as.MapValue{}), Map}, {as.ExpBlobVal([]byte{1}), Blob},
		{fv(1), Float}, {as.ExpGeoVal(pointJSON), GeoJSON}, {as.ExpHLLBin("h"), HLL},
	} {
		e, err := Compile(wire(t, tc.exp))
		if err != nil {
			t.Fatal(err)
		}
		if e.Type() != tc.want {
			t.Errorf("%v, want %v", e.Type(), tc.want)
		}
		if s := tc.want.String(); s == "" || s[0] == 'k' {
			t.Errorf("kind name %q", s)
		}
	}
	if Kind(99).String() != "kind(99)" {
		t.Error(Kind(99).String())
	}
}
