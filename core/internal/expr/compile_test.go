package expr

import (
	"errors"
	"strings"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
)

// TestWireForms pins the client's encodings this package decodes.
func TestWireForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		exp  *as.Expression
		want []byte
	}{
		{"int", iv(5), []byte{0x05}},
		{"negative int", iv(-200), []byte{0xd1, 0xff, 0x38}},
		{"float", fv(1.5), []byte{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}},
		{"string has its particle type", sv("ab"), []byte{0xa3, proto.ParticleString, 'a', 'b'}},
		{"blob has its particle type", as.ExpBlobVal([]byte{9}), []byte{0xa2, proto.ParticleBlob, 9}},
		{"geo has its particle type", as.ExpGeoVal("{}"), []byte{0xa3, proto.ParticleGeoJSON, '{', '}'}},
		{"bool", yes, []byte{0xc3}},
		{"nil", as.ExpNilValue(), []byte{0xc0}},
		{"list is quoted", as.ExpListVal(as.IntegerValue(1)), []byte{0x92, opQuote, 0x91, 0x01}},
		{"map is bare", as.ExpMapVal(as.MapValue{1: 2}), []byte{0x81, 0x01, 0x02}},
		{"unknown", as.ExpUnknown(), []byte{0x91, opUnknown}},
		{"infinity", as.ExpInfinityValue(), []byte{0xd4, 0xff, 0x01}},
		{"wildcard", as.ExpWildCardValue(), []byte{0xd4, 0xff, 0x00}},
		{"bin name is raw", as.ExpIntBin("a"), []byte{0x93, opBin, byte(tInt), 0xa1, 'a'}},
		{"bin type", as.ExpBinType("a"), []byte{0x92, opBinType, 0xa1, 'a'}},
		{"key", as.ExpKey(as.ExpTypeSTRING), []byte{0x92, opKey, byte(tStr)}},
		{"eq", as.ExpEq(binA, iv(5)), []byte{0x93, opEq, 0x93, opBin, byte(tInt), 0xa1, 'a', 0x05}},
		{"regex", as.ExpRegexCompare("x", 2, binB), []byte{0x94, opRegex, 0x02, 0xa1, 'x', 0x93, opBin, byte(tStr), 0xa1, 'b'}},
		{"let flattens defs", as.ExpLet(as.ExpDef("v", iv(1)), as.ExpVar("v")),
			[]byte{0x94, opLet, 0xa1, 'v', 0x01, 0x92, opVar, 0xa1, 'v'}},
		{"metadata", as.ExpTTL(), []byte{0x91, opTTL}},
		{"digest modulo", as.ExpDigestModulo(3), []byte{0x92, opDigestModulo, 0x03}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wire(t, tc.exp); string(got) != string(tc.want) {
				t.Fatalf("% x, want % x", got, tc.want)
			}
		})
	}
}

func TestCompileMalformed(t *testing.T) {
	geoVal := as.ExpGeoVal(pointJSON)
	for _, tc := range []struct {
		name string
		exp  *as.Expression
	}{
		{"compare int with string", as.ExpEq(binA, sv("5"))},
		{"compare int with float", as.ExpLess(binA, fv(5))},
		{"compare int with unknown", as.ExpEq(binA, as.ExpUnknown())},
		{"compare geo", as.ExpEq(as.ExpGeoBin("g"), geoVal)},
		{"compare hll", as.ExpEq(as.ExpHLLBin("h"), as.ExpHLLBin("h"))},
		{"geo compare int", as.ExpGeoCompare(binA, geoVal)},
		{"and of one", as.ExpAnd(yes)},
		{"and of int", as.ExpAnd(yes, iv(1))},
		{"or of string", as.ExpOr(sv("x"), yes)},
		{"exclusive of one", as.ExpExclusive(yes)},
		{"not of int", as.ExpNot(iv(1))},
		{"add nothing", as.ExpNumAdd()},
		{"add mixed", as.ExpNumAdd(iv(1), fv(1))},
		{"add string", as.ExpNumAdd(sv("1"))},
		{"min mixed", as.ExpMin(fv(1), iv(1))},
		{"pow of ints", as.ExpNumPow(iv(2), iv(2))},
		{"log of ints", as.ExpNumLog(iv(2), fv(2))},
		{"mod of floats", as.ExpNumMod(fv(2), fv(2))},
		{"abs of string", as.ExpNumAbs(sv("x"))},
		{"floor of int", as.ExpNumFloor(iv(1))},
		{"to int of int", as.ExpToInt(iv(1))},
		{"to float of float", as.ExpToFloat(fv(1))},
		{"int and of float", as.ExpIntAnd(iv(1), fv(1))},
		{"int and of nothing", as.ExpIntAnd()},
		{"int not of float", as.ExpIntNot(fv(1))},
		{"shift by float", as.ExpIntLShift(iv(1), fv(1))},
		{"scan for int", as.ExpIntLScan(iv(1), iv(1))},
		{"cond condition not bool", as.ExpCond(iv(1), iv(2), iv(3))},
		{"cond mixed actions", as.ExpCond(yes, iv(1), sv("x"))},
		{"cond mixed default", as.ExpCond(yes, iv(1), no, iv(2), fv(3))},
		{"cond without default", as.ExpCond(yes, iv(1))},
		{"cond of msgpack", as.ExpCond(yes, as.ExpInfinityValue(), as.ExpInfinityValue())},
		{"undefined var", as.ExpVar("x")},
		{"var out of scope", as.ExpAnd(as.ExpLet(as.ExpDef("x", yes), as.ExpVar("x")), as.ExpVar("x"))},
		{"var in own definition", as.ExpLet(as.ExpDef("x", as.ExpVar("x")), as.ExpVar("x"))},
		{"var of msgpack", as.ExpLet(as.ExpDef("x", as.ExpInfinityValue()), as.ExpVar("x"))},
		{"shadowing var", as.ExpLet(as.ExpDef("x", iv(1)), as.ExpLet(as.ExpDef("x", iv(2)), as.ExpVar("x")))},
		{"duplicate var", as.ExpLet(as.ExpDef("x", iv(1)), as.ExpDef("x", iv(2)), as.ExpVar("x"))},
		{"var name with digit first", as.ExpLet(as.ExpDef("1x", iv(1)), iv(1))},
		{"var name with dash", as.ExpLet(as.ExpDef("a-b", iv(1)), iv(1))},
		{"empty var name", as.ExpLet(as.ExpDef("", iv(1)), iv(1))},
		{"let without defs", as.ExpLet(iv(1))},
		{"digest modulo zero", as.ExpDigestModulo(0)},
		{"digest modulo zero in 32 bits", as.ExpDigestModulo(1 << 32)},
		{"key of list", as.ExpKey(as.ExpTypeLIST)},
		{"bin name too long", as.ExpIntBin("sixteen-chars-xx")},
		{"bin name with NUL", as.ExpIntBin("a\x00")},
		{"bin type name too long", as.ExpBinType("sixteen-chars-xx")},
		{"regex on int", as.ExpRegexCompare("x", 0, binA)},
		{"regex unbalanced", as.ExpRegexCompare("(", as.ExpRegexFlagEXTENDED, binB)},
		{"regex back-reference", as.ExpRegexCompare(`\(a\)\1`, 0, binB)},
		{"regex unterminated bracket", as.ExpRegexCompare(`[a`, 0, binB)},
		{"invalid GeoJSON literal", as.ExpGeoCompare(as.ExpGeoBin("g"), as.ExpGeoVal(`{"type":"Point"}`))},
		{"msgpack result", as.ExpInfinityValue()},
		// The client's scan and query tests expect PARAMETER_ERROR for a
		// list call compared with an int: its static type is list.
		{"list call compared with int", as.ExpEq(as.ExpListGetByValueRange(as.ListReturnTypeValue, iv(10), iv(13), as.ExpListBin("l")), iv(11))},
		{"list call on int bin", as.ExpListSize(binA)},
		{"hll call on list bin", as.ExpHLLGetCount(as.ExpListBin("l"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile(wire(t, tc.exp))
			if !errors.Is(err, ErrMalformed) || e != nil {
				t.Fatalf("Compile = %v, %v; want ErrMalformed", e, err)
			}
			if Code(err) != proto.ParameterError {
				t.Fatalf("code %v", Code(err))
			}
		})
	}
}

func TestCompileFilterNotBool(t *testing.T) {
	// The client's "server error with top level expression value node".
	for _, exp := range []*as.Expression{iv(8), binA, as.ExpNumAdd(binA, iv(1)), sv("x"), as.ExpNilValue()} {
		b := wire(t, exp)
		if _, err := CompileFilter(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("% x: CompileFilter: %v", b, err)
		}
		if _, err := Compile(b); err != nil {
			t.Errorf("% x: Compile: %v", b, err)
		}
	}
}

func TestCompileBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"empty instruction", []byte{0x90}},
		{"op not an int", []byte{0x91, 0xc0}},
		{"negative op", []byte{0x91, 0xff}},
		{"unknown op", []byte{0x91, 10}},
		{"op over 127", []byte{0x91, 0xcc, 200}},
		{"missing argument", []byte{0x92, opEq, 0x01}},
		{"extra argument", []byte{0x94, opEq, 0x01, 0x01, 0x01}},
		{"unknown with argument", []byte{0x92, opUnknown, 0x01}},
		{"trailing bytes", []byte{0xc3, 0xc3}},
		{"truncated", []byte{0x93, opEq, 0x01}},
		{"truncated string", []byte{0xa5, proto.ParticleString, 'a'}},
		{"empty string", []byte{0xa0}},
		{"blob of unknown particle", []byte{0xa2, 99, 1}},
		{"reserved byte", []byte{0xc1}},
		{"bin type not int", []byte{0x93, opBin, 0xa1, 'a', 0xa1, 'a'}},
		{"bin type too big", []byte{0x93, opBin, 10, 0xa1, 'a'}},
		{"bin name not string", []byte{0x93, opBin, byte(tInt), 0x01}},
		{"quote of a map", []byte{0x92, opQuote, 0x80}},
		{"quote of truncated list", []byte{0x92, opQuote, 0x92, 0x01}},
		{"truncated map", []byte{0x81, 0x01}},
		{"regex flags not int", []byte{0x94, opRegex, 0xc0, 0xa1, 'x', 0xa2, proto.ParticleString, 'y'}},
		{"call of unknown module", []byte{0x95, opCall, byte(tInt), 9, 0x91, 0x01, 0x93, opBin, byte(tList), 0xa1, 'l'}},
		{"call params not a list", []byte{0x95, opCall, byte(tInt), 0, 0x01, 0x93, opBin, byte(tList), 0xa1, 'l'}},
		{"deep nesting", deepNot(maxDepth + 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Compile(tc.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Compile(% x) = %v, want ErrMalformed", tc.b, err)
			}
		})
	}
	if _, err := Compile(deepNot(maxDepth - 1)); err != nil {
		t.Fatalf("nesting %d: %v", maxDepth-1, err)
	}
}

// deepNot is not(not(...(true))) nested n deep.
func deepNot(n int) []byte {
	var b []byte
	for i := 0; i < n-1; i++ {
		b = append(b, 0x92, opNot)
	}
	return append(b, 0xc3)
}

func TestCompileUnsupported(t *testing.T) {
	// and(in_list(1, [1]), 1): in_list is unsupported, and an integer
	// argument of and is malformed, which wins.
	inList := []byte{0x93, opInList, 0x01, 0x92, opQuote, 0x91, 0x01}
	_, err := Compile(append(append([]byte{0x93, opAnd}, inList...), 0x01))
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("%v, want ErrMalformed", err)
	}
	_, err = Compile(inList)
	if !errors.Is(err, ErrUnsupported) || Code(err) != proto.UnsupportedFeature {
		t.Fatalf("%v (code %v), want ErrUnsupported", err, Code(err))
	}
	if Code(nil) != proto.OK {
		t.Fatal("Code(nil)")
	}
}

func TestCompileCopiesInput(t *testing.T) {
	b := wire(t, as.ExpEq(binB, sv("xyz")))
	e, err := Compile(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	checkValue(t, e.Eval(testRecord(t), new(bins.Arena)), true)
}

func TestCondUnknownBranches(t *testing.T) {
	// Unknown branches take any type; the cond's type is the others'.
	for _, tc := range []struct {
		exp  *as.Expression
		want Kind
	}{
		{as.ExpCond(yes, as.ExpUnknown(), iv(1)), Int},
		{as.ExpCond(yes, sv("x"), as.ExpUnknown()), String},
		{as.ExpCond(yes, as.ExpUnknown(), no, as.ExpUnknown(), as.ExpUnknown()), Bool},
		{as.ExpCond(yes, as.ExpLet(as.ExpDef("x", iv(1)), as.ExpUnknown()), fv(1)), Float},
	} {
		e, err := Compile(wire(t, tc.exp))
		if err != nil {
			t.Fatal(err)
		}
		if e.Type() != tc.want {
			t.Errorf("type %v, want %v", e.Type(), tc.want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	_, err := Compile(wire(t, as.ExpEq(binA, sv("5"))))
	if err == nil || !strings.Contains(err.Error(), "eq compares int with str") {
		t.Fatalf("%v", err)
	}
}

func TestCompileSelect(t *testing.T) {
	// Server 8.1's select call: [127, type, module, [0xfe, ctx, flags], bin].
	bin := []byte{0x93, opBin, byte(tList), 0xa1, 'l'}
	call := func(params ...byte) []byte {
		b := append([]byte{0x95, opCall, byte(tList), moduleCDT}, params...)
		return append(b, bin...)
	}
	if _, err := Compile(call(0x93, 0xcc, cdtSelect, 0x92, 0x10, 0x00, 0x01)); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("select: %v", err)
	}
	if _, err := Compile(call(0x94, 0xcc, cdtSelect, 0x92, 0x10, 0x00, 0x01, 0x91, opUnknown)); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("select with modify expression: %v", err)
	}
	for _, params := range [][]byte{
		{0x92, 0xcc, cdtSelect, 0x90},                  // too short
		{0x93, 0xcc, cdtSelect, 0x01, 0x01},            // context not a list
		{0x93, 0xcc, cdtSelect, 0x90, 0xc0},            // flags not an integer
		{0x92, 0xcc, cdtContextEval, 0x90},             // context eval too short
		{0x93, 0xcc, cdtContextEval, 0x90, 0x01},       // no parameter list
		{0x93, 0xcc, cdtContextEval, 0x90, 0x91, 0xc0}, // no op code
		{0x92, 0x01, 0xc1},                             // bad raw parameter
		{0x92, 0x01, 0x91, 0xcc, 0xc8},                 // bad sub-expression
	} {
		if _, err := Compile(call(params...)); !errors.Is(err, ErrMalformed) {
			t.Errorf("% x: %v", params, err)
		}
	}
}

func TestCompileServer81Ops(t *testing.T) {
	mapBin := []byte{0x93, opBin, byte(tMap), 0xa1, 'm'}
	for _, tc := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"in_list", []byte{0x93, opInList, 0x01, 0x92, opQuote, 0x91, 0x01}, ErrUnsupported},
		{"in_list of int", []byte{0x93, opInList, 0x01, 0x02}, ErrMalformed},
		{"result_remove", []byte{0x91, opResultRemove}, ErrUnsupported},
		{"map_keys", append([]byte{0x92, opMapKeys}, mapBin...), ErrUnsupported},
		{"var_builtin", []byte{0x93, opVarBuiltin, byte(tInt), 0x00}, ErrUnsupported},
		{"var_builtin of bad type", []byte{0x93, opVarBuiltin, 20, 0x00}, ErrMalformed},
		{"var_builtin without index", []byte{0x93, opVarBuiltin, byte(tInt), 0xc0}, ErrMalformed},
	} {
		if _, err := Compile(tc.b); !errors.Is(err, tc.err) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
	if _, err := CompileFilter([]byte{0x91, opResultRemove}); !errors.Is(err, ErrMalformed) {
		t.Errorf("result_remove filter: %v", err)
	}
}

func TestManyVariables(t *testing.T) {
	// More variables than evaluation keeps on the stack.
	var defs []*as.Expression
	var sum []*as.Expression
	for i := 0; i < 12; i++ {
		name := "v" + itoa(int64(i))
		defs = append(defs, as.ExpDef(name, iv(int64(i))))
		sum = append(sum, as.ExpVar(name))
	}
	e, err := Compile(wire(t, as.ExpLet(append(defs, as.ExpNumAdd(sum...))...)))
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, e.Eval(testRecord(t), new(bins.Arena)), 66)
}
