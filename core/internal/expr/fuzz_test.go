package expr

import (
	"errors"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
)

// seedExpressions are client-encoded expressions covering every op, for
// the fuzz corpus.
func seedExpressions() []*as.Expression {
	l := as.ExpListBin("l")
	return []*as.Expression{
		as.ExpEq(binA, iv(5)),
		as.ExpAnd(as.ExpEq(binA, iv(5)), as.ExpGreater(binB, sv("x"))),
		as.ExpOr(as.ExpNot(as.ExpLessEq(binC, fv(1))), as.ExpExclusive(binE, no)),
		as.ExpNotEq(binD, as.ExpBlobVal([]byte{1})),
		as.ExpGreaterEq(as.ExpNilValue(), as.ExpNilValue()),
		as.ExpLess(l, as.ExpListVal(as.IntegerValue(1), as.StringValue("a"))),
		as.ExpEq(as.ExpMapBin("m"), as.ExpMapVal(as.MapValue{"k": 1})),
		as.ExpRegexCompare(`^\(a\|b\)*[[:digit:]]$`, as.ExpRegexFlagICASE|as.ExpRegexFlagNEWLINE, binB),
		as.ExpGeoCompare(as.ExpGeoBin("g"), as.ExpGeoVal(circleJSON)),
		as.ExpGeoCompare(as.ExpGeoBin("r"), as.ExpGeoVal(pointJSON)),
		as.ExpEq(as.ExpNumAdd(binA, iv(1), as.ExpNumSub(binNeg), as.ExpNumMul(iv(2), iv(3)), as.ExpNumDiv(iv(8), iv(2))), iv(0)),
		as.ExpEq(as.ExpNumAdd(as.ExpNumPow(binC, fv(2)), as.ExpNumLog(binC, fv(2)), as.ExpNumFloor(fv(1.5)), as.ExpNumCeil(fv(1.5))), fv(0)),
		as.ExpEq(as.ExpNumMod(binA, iv(3)), as.ExpNumAbs(binNeg)),
		as.ExpEq(as.ExpToInt(binC), as.ExpToInt(as.ExpToFloat(binA))),
		as.ExpEq(as.ExpIntAnd(binA, as.ExpIntOr(iv(1), as.ExpIntXor(iv(2), as.ExpIntNot(iv(3))))), iv(0)),
		as.ExpEq(as.ExpIntLShift(binA, as.ExpIntRShift(iv(8), as.ExpIntARShift(iv(-8), iv(1)))), iv(0)),
		as.ExpEq(as.ExpIntCount(binA), as.ExpMin(as.ExpIntLScan(binA, yes), as.ExpIntRScan(binA, no), as.ExpMax(iv(1), iv(2)))),
		as.ExpEq(as.ExpDigestModulo(3), iv(1)),
		as.ExpGreater(as.ExpNumAdd(as.ExpDeviceSize(), as.ExpMemorySize(), as.ExpRecordSize(), as.ExpLastUpdate(), as.ExpSinceUpdate(), as.ExpVoidTime(), as.ExpTTL()), iv(0)),
		as.ExpAnd(as.ExpEq(as.ExpSetName(), sv("people")), as.ExpKeyExists(), as.ExpNot(as.ExpIsTombstone())),
		as.ExpEq(as.ExpKey(as.ExpTypeSTRING), sv("key1")),
		as.ExpEq(as.ExpKey(as.ExpTypeINT), iv(1)),
		as.ExpBinExists("a"),
		as.ExpEq(as.ExpBinType("l"), iv(20)),
		as.ExpCond(as.ExpEq(binA, iv(5)), as.ExpUnknown(), binE, iv(1), iv(2)),
		as.ExpLet(as.ExpDef("x", binA), as.ExpDef("y", as.ExpVar("x")), as.ExpEq(as.ExpVar("y"), iv(5))),
		as.ExpHLLBin("h"),
		as.ExpFloatBin("f22"),
		as.ExpWildCardValue(),
		as.ExpInfinityValue(),
		as.ExpEq(as.ExpListSize(l), iv(3)),
		as.ExpEq(as.ExpListGetByValueRange(as.ListReturnTypeValue, iv(10), as.ExpInfinityValue(), l, as.CtxListIndex(0)), iv(11)),
		as.ExpMapGetByValue(as.MapReturnType.EXISTS, sv("test"), as.ExpMapBin("m")),
		as.ExpHLLInit(as.DefaultHLLPolicy(), iv(4), as.ExpNilValue()),
		as.ExpEq(as.ExpBitCount(iv(0), iv(8), binD), iv(1)),
	}
}

// FuzzCompile feeds arbitrary bytes to Compile, CompileFilter and the
// operation parsers: they must fail with a sentinel or compile into
// expressions that evaluate, to values of their static type, without
// panicking.
func FuzzCompile(f *testing.F) {
	for _, e := range seedExpressions() {
		f.Add(wire(f, e))
	}
	rec := testRecord(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Compile(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error without a sentinel: %v", err)
			}
		} else {
			v := e.Eval(rec, new(bins.Arena))
			if v.Kind() != Unknown && v.Kind() != e.Type() {
				t.Fatalf("value of kind %v from an expression of type %v", v.Kind(), e.Type())
			}
			var a bins.Arena
			v.Particle(&a)
		}
		if fe, err := CompileFilter(b); err == nil {
			fe.Filter(rec)
			fe.FilterMeta(rec)
		}
		if e, flags, err := ParseModifyOp(append([]byte{0x92}, b...)); err == nil {
			var a bins.Arena
			ApplyWrite(e, flags, rec, []byte("a"), &a)
		}
	})
}
