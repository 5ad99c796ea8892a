package hll

import (
	"fmt"
	"math"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
)

// The tests below port the client's hll_operation_test.go, each named
// after the spec it follows, on one bin at a time.

const nEntries = 1 << 8

var entries = strings("key ", 0, nEntries)

var noBin binState

// TestInit: "Init should work".
func TestInit(t *testing.T) {
	for _, d := range legalDescriptions() {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			_, outs := run(t, noBin, opInit(0, d[0], d[1]), opCount(), opRefreshCount(), opDescribe())
			if outs[0].HasResult || resultInt(t, outs[1]) != 0 || resultInt(t, outs[2]) != 0 {
				t.Errorf("results %+v", outs)
			}
			checkDescription(t, outs[3], d[0], d[1])
		})
	}
	for _, d := range illegalDescriptions() {
		if _, c := runErr(t, noBin, opInit(0, d[0], d[1])); c != proto.ParameterError {
			t.Errorf("init %v: %v, want PARAMETER_ERROR", d, c)
		}
	}
}

// TestInitFlags: "HLL Flags should work".
func TestInitFlags(t *testing.T) {
	const index = 4
	const c, u, n, f = flagCreateOnly, flagUpdateOnly, flagNoFail, flagAllowFold
	for _, tc := range []struct {
		name  string
		bin   bool
		flags int
		want  proto.ResultCode
		// changes reports that the bin is rewritten.
		changes bool
	}{
		{"create_only/new", false, c, proto.OK, true},
		{"create_only/exists", true, c, proto.BinExists, false},
		{"update_only/exists", true, u, proto.OK, true},
		{"update_only/new", false, u, proto.BinNotFound, false},
		{"create_only no_fail/new", false, c | n, proto.OK, true},
		{"create_only no_fail/exists", true, c | n, proto.OK, false},
		{"update_only no_fail/exists", true, u | n, proto.OK, true},
		{"update_only no_fail/new", false, u | n, proto.OK, false},
		{"allow_fold", true, f, proto.ParameterError, false},
		{"create_only update_only", false, c | u, proto.ParameterError, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := noBin
			if tc.bin {
				st, _ = run(t, noBin, opAdd(0, entries, index, -1))
			}
			var a bins.Arena
			_, out, err := apply(t, &a, st, opInit(tc.flags, index, -1))
			if code(err) != tc.want && (err != nil || tc.want != proto.OK) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if out.Changed != tc.changes {
				t.Fatalf("changed %v, want %v", out.Changed, tc.changes)
			}
		})
	}
}

// TestBadInit: "Bad Init should NOT work".
func TestBadInit(t *testing.T) {
	st, _ := run(t, noBin, opInit(0, testMaxIndexBits, 0))
	if _, c := runErr(t, st, opInit(0, -1, testMaxMinhashBits)); c != proto.OpNotApplicable {
		t.Errorf("got %v, want OP_NOT_APPLICABLE", c)
	}
	if _, c := runErr(t, noBin, opInit(0, -1, -1)); c != proto.OpNotApplicable {
		t.Errorf("init of a new bin without index bits: %v, want OP_NOT_APPLICABLE", c)
	}
}

// TestAddInit: "Add Init should work".
func TestAddInit(t *testing.T) {
	for _, d := range legalDescriptions() {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			_, outs := run(t, noBin, opAdd(0, entries, d[0], d[1]), opCount(), opRefreshCount(),
				opDescribe(), opAdd(0, entries, -1, -1))
			n := resultInt(t, outs[1])
			checkCount(t, d[0], n, nEntries)
			if resultInt(t, outs[2]) != n || resultInt(t, outs[4]) != 0 {
				t.Errorf("refresh %d (count %d), second add %d", resultInt(t, outs[2]), n, resultInt(t, outs[4]))
			}
			checkDescription(t, outs[3], d[0], d[1])
		})
	}
	for _, d := range illegalDescriptions() {
		if _, c := runErr(t, noBin, opAdd(0, entries, d[0], d[1])); c != proto.ParameterError {
			t.Errorf("add %v: %v, want PARAMETER_ERROR", d, c)
		}
	}
}

// TestAddFlags: "Add Flags should work".
func TestAddFlags(t *testing.T) {
	const index = 4
	st, c := runErr(t, noBin, opAdd(flagCreateOnly, entries, index, -1))
	if c != proto.OK {
		t.Fatal(c)
	}
	for _, tc := range []struct {
		name string
		st   binState
		op   wireOp
		want proto.ResultCode
	}{
		{"create_only", st, opAdd(flagCreateOnly, entries, index, -1), proto.BinExists},
		{"update_only", st, opAdd(flagUpdateOnly, entries, index, -1), proto.ParameterError},
		{"create_only no_fail", st, opAdd(flagCreateOnly|flagNoFail, entries, index, -1), proto.OK},
		{"allow_fold", st, opAdd(flagAllowFold, entries, index, -1), proto.ParameterError},
		{"no index bits", noBin, opAdd(0, entries, -1, -1), proto.OpNotApplicable},
		{"empty list", noBin, opAdd(0, nil, index, -1), proto.ParameterError},
		{"list value", noBin, opAdd(0, []as.Value{as.ListValue{1}}, index, -1), proto.ParameterError},
		{"map value", noBin, opAdd(0, []as.Value{as.MapValue{1: 2}}, index, -1), proto.ParameterError},
	} {
		if _, c := runErr(t, tc.st, tc.op); c != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, c, tc.want)
		}
	}
}

// TestFold: "Fold should work".
func TestFold(t *testing.T) {
	vals0, vals1 := strings("key ", 0, nEntries/2), strings("key ", nEntries/2, nEntries)
	for index := 4; index < testMaxIndexBits; index++ {
		for ix := testMinIndexBits; ix <= index; ix++ {
			st, outs := run(t, noBin, opAdd(0, vals0, index, -1), opCount(), opRefreshCount(), opDescribe())
			checkDescription(t, outs[3], index, 0)
			checkCount(t, index, resultInt(t, outs[1]), len(vals0))
			if resultInt(t, outs[1]) != resultInt(t, outs[2]) {
				t.Fatalf("count %d, refresh %d", resultInt(t, outs[1]), resultInt(t, outs[2]))
			}
			_, outs = run(t, st, opFold(ix), opCount(), opAdd(0, vals0, -1, -1), opAdd(0, vals1, -1, -1),
				opCount(), opDescribe())
			if n := resultInt(t, outs[2]); n != 0 {
				t.Errorf("fold %d to %d: adding the folded values again raised %d registers", index, ix, n)
			}
			checkDescription(t, outs[5], ix, 0)
			checkCount(t, ix, resultInt(t, outs[1]), len(vals0))
			checkCount(t, ix, resultInt(t, outs[4]), len(vals0)+len(vals1))
		}
	}
}

// TestFoldExists: "Fold Exists should work".
func TestFoldExists(t *testing.T) {
	st, _ := run(t, noBin, opInit(0, 10, -1))
	run(t, st, opFold(4))
	withMinhash, _ := run(t, noBin, opInit(0, 10, 4))
	for _, tc := range []struct {
		name string
		st   binState
		op   wireOp
		want proto.ResultCode
	}{
		{"fold up", st, opFold(16), proto.OpNotApplicable},
		{"no index bits", st, opFold(-1), proto.OpNotApplicable},
		{"missing bin", noBin, opFold(4), proto.BinNotFound},
		{"minhash bits", withMinhash, opFold(4), proto.OpNotApplicable},
		{"out of range", st, opFold(3), proto.ParameterError},
	} {
		if _, c := runErr(t, tc.st, tc.op); c != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, c, tc.want)
		}
	}
}

// setUnionVals returns the client test's three sets of nEntries/3 values.
func setUnionVals() [][]as.Value {
	var vals [][]as.Value
	for i := range 3 {
		vals = append(vals, strings(fmt.Sprintf("key%d ", i), 0, nEntries/3))
	}
	return vals
}

// TestSetUnion: "Set Union should work".
func TestSetUnion(t *testing.T) {
	vals := setUnionVals()
	for _, index := range []int{4, 8, 12, 16} {
		for _, folding := range []bool{false, true} {
			for _, allowFold := range []bool{false, true} {
				name := fmt.Sprintf("index=%d/folding=%v/allow_fold=%v", index, folding, allowFold)
				t.Run(name, func(t *testing.T) { testSetUnion(t, vals, index, folding, allowFold) })
			}
		}
	}
}

func testSetUnion(t *testing.T, vals [][]as.Value, index int, folding, allowFold bool) {
	flags := 0
	if allowFold {
		flags = flagAllowFold
	}
	var hlls [][]byte
	want, folded := 0, false
	for i, v := range vals {
		ix := index
		if folding {
			ix = max(index-i, testMinIndexBits)
			folded = folded || ix < index
		}
		want += len(v)
		st, outs := run(t, noBin, opAdd(0, v, ix, -1), opCount())
		checkCount(t, ix, resultInt(t, outs[1]), len(v))
		hlls = append(hlls, st.val)
	}
	st, c := runErr(t, noBin, opInit(0, index, -1), opSetUnion(flags, hlls...))
	if folded && !allowFold {
		if c != proto.OpNotApplicable {
			t.Fatalf("got %v, want OP_NOT_APPLICABLE", c)
		}
		return
	}
	_, outs := run(t, st, opCount())
	unionCount := resultInt(t, outs[0])
	_, outs = run(t, noBin, opSetUnion(0, hlls...), opCount())
	if n := resultInt(t, outs[1]); n != unionCount {
		t.Fatalf("union into a new bin counts %d, into an initialized one %d", n, unionCount)
	}
	checkCount(t, index, unionCount, want)
	for _, v := range vals {
		_, outs := run(t, st, opAdd(0, v, index, -1), opCount())
		if n := resultInt(t, outs[0]); n != 0 {
			t.Errorf("adding a set of the union raised %d registers", n)
		}
		if n := resultInt(t, outs[1]); n != unionCount {
			t.Errorf("count %d after adding a set of the union, want %d", n, unionCount)
		}
	}
}

// TestSetUnionFlags: "Set Union Flags should work".
func TestSetUnionFlags(t *testing.T) {
	other, _ := run(t, noBin, opAdd(0, entries, 6, -1))
	hll := other.val
	exists, _ := run(t, noBin, opSetUnion(0, hll))
	high, _ := run(t, noBin, opInit(0, 8, -1))
	low, _ := run(t, noBin, opInit(0, 4, -1))
	withMinhash, _ := run(t, noBin, opInit(0, 4, 4))
	const c, u, n, f = flagCreateOnly, flagUpdateOnly, flagNoFail, flagAllowFold
	for _, tc := range []struct {
		name string
		st   binState
		op   wireOp
		want proto.ResultCode
	}{
		{"create_only/new", noBin, opSetUnion(c, hll), proto.OK},
		{"create_only/exists", exists, opSetUnion(c, hll), proto.BinExists},
		{"update_only/exists", exists, opSetUnion(u, hll), proto.OK},
		{"update_only/new", noBin, opSetUnion(u, hll), proto.BinNotFound},
		{"create_only no_fail/exists", exists, opSetUnion(c|n, hll), proto.OK},
		{"update_only no_fail/new", noBin, opSetUnion(u|n, hll), proto.OK},
		{"fold down", high, opSetUnion(f, hll), proto.OK},
		{"fold up", low, opSetUnion(f, hll), proto.OK},
		{"fold down without allow_fold", high, opSetUnion(0, hll), proto.OpNotApplicable},
		{"drop minhash bits without allow_fold", withMinhash, opSetUnion(0, hll), proto.OpNotApplicable},
		{"drop minhash bits", withMinhash, opSetUnion(f, hll), proto.OK},
		{"empty list", exists, opSetUnion(0), proto.ParameterError},
		{"short HLL", exists, opSetUnion(0, hll[:len(hll)-1]), proto.ParameterError},
		{"flagged HLL", exists, opSetUnion(0, append([]byte{1}, hll[1:]...)), proto.ParameterError},
	} {
		if _, c := runErr(t, tc.st, tc.op); c != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, c, tc.want)
		}
	}
	// Folding keeps the least index bits of bin and HLLs.
	for _, tc := range []struct {
		st    binState
		index int
	}{{high, 6}, {low, 4}} {
		_, outs := run(t, tc.st, opSetUnion(f, hll), opDescribe())
		checkDescription(t, outs[1], tc.index, 0)
	}
}

// TestRefreshCount: "Refresh Count should work". The count it caches is
// the one count and an unchanged bin give back.
func TestRefreshCount(t *testing.T) {
	st, outs := run(t, noBin, opInit(0, 6, -1), opRefreshCount(), opRefreshCount(),
		opAdd(0, entries, -1, -1), opRefreshCount(), opRefreshCount(), opCount())
	if resultInt(t, outs[1]) != 0 || resultInt(t, outs[2]) != 0 {
		t.Errorf("refresh of an empty bin: %+v", outs[1:3])
	}
	n := resultInt(t, outs[4])
	checkCount(t, 6, n, nEntries)
	if resultInt(t, outs[5]) != n || resultInt(t, outs[6]) != n {
		t.Errorf("refresh %d, then %d and count %d", n, resultInt(t, outs[5]), resultInt(t, outs[6]))
	}
	if got := sketch(st.val).cache(); got != uint64(n) {
		t.Errorf("cached %d, want %d", got, n)
	}
	if _, c := runErr(t, noBin, opRefreshCount()); c != proto.BinNotFound {
		t.Errorf("refresh of a missing bin: %v, want BIN_NOT_FOUND", c)
	}
}

// TestGetCount: "Get Count should work".
func TestGetCount(t *testing.T) {
	_, outs := run(t, noBin, opAdd(0, entries, 6, -1), opCount())
	checkCount(t, 6, resultInt(t, outs[1]), nEntries)
	_, outs = run(t, noBin, opCount(), opDescribe(), opUnionCount(outs[0].Value))
	for _, o := range outs {
		if o.HasResult || o.Changed {
			t.Errorf("a read of a missing bin gave %+v", o)
		}
	}
	str := binState{typ: proto.ParticleString, val: []byte("x")}
	if _, c := runErr(t, str, opCount()); c != proto.BinTypeError {
		t.Errorf("count of a string bin: %v, want BIN_TYPE_ERROR", c)
	}
	if _, c := runErr(t, str, opAdd(0, entries, 6, -1)); c != proto.BinTypeError {
		t.Errorf("add to a string bin: %v, want BIN_TYPE_ERROR", c)
	}
	if _, c := runErr(t, hllBin([]byte{0, 4, 0}), opCount()); c != proto.ServerError {
		t.Errorf("count of a damaged HLL: %v, want SERVER_ERROR", c)
	}
}

// TestGetUnion: "Get Union should work".
func TestGetUnion(t *testing.T) {
	const index = 14
	vals := setUnionVals()
	var hlls [][]byte
	want := 0
	for _, v := range vals {
		st, _ := run(t, noBin, opAdd(0, v, index, -1))
		hlls = append(hlls, st.val)
		want += len(v)
	}
	st, _ := run(t, noBin, opAdd(0, vals[0], index, -1))
	_, outs := run(t, st, opUnion(hlls...), opUnionCount(hlls...))
	n := resultInt(t, outs[1])
	checkCount(t, index, n, want)
	_, outs2 := run(t, hllBin(resultHLL(t, outs[0])), opCount())
	if got := resultInt(t, outs2[0]); got != n {
		t.Errorf("count of the union %d, union count %d", got, n)
	}
}

// TestPut: "Put should work": an HLL read back and written as a value
// counts and describes as it did.
func TestPut(t *testing.T) {
	for _, d := range legalDescriptions() {
		st, _ := run(t, noBin, opInit(0, d[0], d[1]))
		if err := Check(st.val); err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		_, outs := run(t, hllBin(st.val), opCount(), opDescribe())
		if resultInt(t, outs[0]) != 0 {
			t.Errorf("%v: count %d", d, resultInt(t, outs[0]))
		}
		checkDescription(t, outs[1], d[0], d[1])
	}
}

// TestSimilarity: "Similarity should work", with 2^15 values rather than
// 2^18 to keep it quick under the race detector.
func TestSimilarity(t *testing.T) {
	if testing.Short() {
		t.Skip("adds millions of values")
	}
	const n = 1 << 15
	for _, overlap := range []float64{0.0001, 0.001, 0.01, 0.1, 0.5} {
		nCommon := int(n * overlap)
		common := packValues(strings("common", 0, nCommon))
		var vals [][]byte
		for i := range 3 {
			vals = append(vals, packValues(strings(fmt.Sprintf("key%d ", i), 0, (n-nCommon)/3)))
		}
		for _, d := range legalDescriptions() {
			if d[1] == 0 {
				continue
			}
			t.Run(fmt.Sprintf("overlap=%v/%v", overlap, d), func(t *testing.T) {
				testSimilarity(t, overlap, nCommon, common, vals, d[0], d[1])
			})
		}
	}
}

func testSimilarity(t *testing.T, overlap float64, nCommon int, common []byte, vals [][]byte, index, minhash int) {
	var hlls [][]byte
	for _, v := range vals {
		st, _ := run(t, noBin, opAddPacked(0, v, index, minhash), opAddPacked(0, common, index, minhash))
		hlls = append(hlls, st.val)
	}
	st, outs := run(t, noBin, opSetUnion(0, hlls...), opDescribe())
	checkDescription(t, outs[1], index, minhash)
	_, outs = run(t, st, opSimilarity(hlls...), opIntersect(hlls...), opUnionCount(hlls...))
	sim, inter, uc := resultFloat(t, outs[0]), resultInt(t, outs[1]), resultInt(t, outs[2])
	// The client test's bound: six times the larger of the index bits'
	// and the minhash bits' error.
	bound := 6 * math.Max(1/math.Sqrt(float64(int(1)<<index)),
		6*math.Exp(-float64(minhash))/overlap)
	if math.Abs(sim-overlap) >= bound {
		t.Errorf("similarity %v, want %v within %v", sim, overlap, bound)
	}
	// The intersection count is similarity times the union count.
	if want := float64(nCommon); math.Abs(float64(inter)-want) > bound*float64(uc) {
		t.Errorf("intersect count %d, want %v within %v", inter, want, bound*float64(uc))
	}
}

// TestEmptySimilarity: "Empty Similarity should work".
func TestEmptySimilarity(t *testing.T) {
	for _, d := range legalDescriptions() {
		st, _ := run(t, noBin, opInit(0, d[0], d[1]))
		_, outs := run(t, st, opSimilarity(st.val), opIntersect(st.val))
		if sim := resultFloat(t, outs[0]); !math.IsNaN(sim) {
			t.Errorf("%v: similarity %v, want NaN", d, sim)
		}
		if n := resultInt(t, outs[1]); n != 0 {
			t.Errorf("%v: intersect count %d, want 0", d, n)
		}
	}
}

// TestIntersect: "Intersect should work": two or three HLLs without
// minhash bits, or any number with.
func TestIntersect(t *testing.T) {
	for _, d := range legalDescriptions() {
		if d[1] != 0 {
			continue
		}
		index := d[0]
		st, _ := run(t, noBin, opAdd(0, entries, index, 0))
		hmh, _ := run(t, noBin, opAdd(0, entries, index, 4))
		hll := st.val
		_, outs := run(t, st, opIntersect(hll, hll), opSimilarity(hll, hll))
		if n := resultInt(t, outs[0]); float64(n) >= 1.8*nEntries {
			t.Errorf("index %d: intersect count %d", index, n)
		}
		if _, c := runErr(t, st, opIntersect(hll, hll, hll)); c != proto.ParameterError {
			t.Errorf("index %d: intersect of three HLLs: %v, want PARAMETER_ERROR", index, c)
		}
		if _, c := runErr(t, st, opSimilarity(hll, hll, hll)); c != proto.ParameterError {
			t.Errorf("index %d: similarity of three HLLs: %v, want PARAMETER_ERROR", index, c)
		}
		_, outs = run(t, st, opIntersect(hmh.val, hmh.val), opSimilarity(hmh.val, hmh.val))
		if n := resultInt(t, outs[0]); float64(n) >= 1.8*nEntries {
			t.Errorf("index %d: intersect count %d with minhash HLLs", index, n)
		}
		if _, c := runErr(t, st, opIntersect(hmh.val, hmh.val, hmh.val)); c != proto.OpNotApplicable {
			t.Errorf("index %d: intersect of three minhash HLLs: %v, want OP_NOT_APPLICABLE", index, c)
		}
		if _, c := runErr(t, st, opSimilarity(hmh.val, hmh.val, hmh.val)); c != proto.OpNotApplicable {
			t.Errorf("index %d: similarity of three minhash HLLs: %v, want OP_NOT_APPLICABLE", index, c)
		}
		// With the bin's minhash bits, any number of HLLs intersect.
		_, outs = run(t, hmh, opIntersect(hmh.val, hmh.val, hmh.val), opSimilarity(hmh.val, hmh.val, hmh.val))
		checkCount(t, index, resultInt(t, outs[0]), nEntries)
		if sim := resultFloat(t, outs[1]); sim != 1 {
			t.Errorf("index %d: similarity of a set with itself %v", index, sim)
		}
	}
}

// TestExpressionSetup replays the setup of the client's exp_hll_test.go
// and exp_bit_test.go, whose expected record counts depend on exactly
// which registers values land in: they hold only if values are encoded,
// hashed and counted as Aerospike does.
func TestExpressionSetup(t *testing.T) {
	var count3, mayContain, union3, unionCount3, intersect2, similar int
	for ii := range 100 {
		bin, _ := run(t, noBin, opAdd(0, []as.Value{as.NewValue("asd"), as.NewValue(ii)}, 8, 0))
		bin2, _ := run(t, noBin, opAdd(0, []as.Value{as.NewValue("asd"), as.NewValue(ii), as.NewValue(ii + 1)}, 8, 0))
		_, outs := run(t, bin, opAdd(0, []as.Value{as.NewValue(48715414)}, 8, 0), opCount())
		if resultInt(t, outs[1]) == 3 {
			count3++
		}
		// The expressions pass one HLL bin, not a list: pack it alone.
		one := oneHLL(bin2.val)
		_, outs = run(t, bin, opMayContain([]as.Value{as.NewValue(55)}), opDescribe(),
			wireOp{arg: one(51)}, wireOp{arg: one(52)}, wireOp{arg: one(53)}, wireOp{arg: one(54)})
		mayContain += resultInt(t, outs[0])
		checkDescription(t, outs[1], 8, 0)
		_, u := run(t, hllBin(resultHLL(t, outs[2])), opCount())
		if resultInt(t, u[0]) == 3 {
			union3++
		}
		if resultInt(t, outs[3]) == 3 {
			unionCount3++
		}
		if resultInt(t, outs[4]) == 2 {
			intersect2++
		}
		if resultFloat(t, outs[5]) > 0.5 {
			similar++
		}
	}
	got := [...]int{count3, mayContain, union3, unionCount3, intersect2, similar}
	if want := [...]int{99, 1, 98, 98, 99, 99}; got != want {
		t.Errorf("records matching: got %v, want %v (count, may contain, union, union count, intersect, similarity)", got, want)
	}
}

// oneHLL returns a packer of [code, hll], an HLL argument not in a list.
func oneHLL(hll []byte) func(code int) []byte {
	return func(code int) []byte {
		return clientPack(code, as.HLLValue(hll)).arg
	}
}
