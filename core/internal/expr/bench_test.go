package expr

import (
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
)

// benchRecord is a typical record: ten bins, the compared ones last.
func benchRecord(t testing.TB) *Record {
	r := testRecord(t)
	r.Bins = []bins.Bin{
		strBin("name", "someone"), intBin("age", 42), floatBin("score", 0.5),
		strBin("city", "somewhere"), intBin("visits", 7), blobBin("token", make([]byte, 32)),
		boolBin("active", true), intBin("plan", 3),
		intBin("a", 5), strBin("b", "xyz"),
	}
	return r
}

var filterCases = []struct {
	name string
	exp  *as.Expression
}{
	{"a==5&&b>x", as.ExpAnd(as.ExpEq(binA, iv(5)), as.ExpGreater(binB, sv("x")))},
	{"metadata", as.ExpAnd(as.ExpGreater(as.ExpSinceUpdate(), iv(1000)), as.ExpEq(as.ExpSetName(), sv("people")), as.ExpLess(as.ExpTTL(), iv(86400)))},
	{"let-arith", as.ExpLet(as.ExpDef("v", as.ExpNumMul(binA, iv(3))), as.ExpAnd(as.ExpGreater(as.ExpVar("v"), iv(10)), as.ExpLess(as.ExpVar("v"), iv(20))))},
	{"missing-bin", as.ExpOr(as.ExpEq(as.ExpIntBin("zz"), iv(1)), as.ExpBinExists("a"))},
	{"regex", as.ExpRegexCompare("^x.z$", 0, binB)},
}

// BenchmarkFilter measures a filter over one record, as a scan runs it on
// each record.
func BenchmarkFilter(b *testing.B) {
	r := benchRecord(b)
	for _, bc := range filterCases {
		b.Run(bc.name, func(b *testing.B) {
			e, err := CompileFilter(wire(b, bc.exp))
			if err != nil {
				b.Fatal(err)
			}
			if !e.Filter(r) {
				b.Fatal("no match")
			}
			b.ReportAllocs()
			for b.Loop() {
				e.Filter(r)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	w := wire(b, filterCases[0].exp)
	b.ReportAllocs()
	b.SetBytes(int64(len(w)))
	for b.Loop() {
		if _, err := CompileFilter(w); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFilterAllocs pins the filters over scalar bins and metadata to no
// allocation per record.
func TestFilterAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	r := benchRecord(t)
	for _, fc := range filterCases {
		e, err := CompileFilter(wire(t, fc.exp))
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { e.Filter(r) }); n != 0 {
			t.Errorf("%s: %v allocations per filter", fc.name, n)
		}
	}
}
