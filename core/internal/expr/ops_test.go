package expr

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/internal/clientpack"
)

// The records of the client's "Expression Operations" tests.
func opsRecords() (keyA, keyB *Record) {
	keyA = &Record{Bins: []bins.Bin{intBin("A", 1), intBin("D", 2)}}
	keyB = &Record{Bins: []bins.Bin{intBin("B", 2), intBin("D", 2)}}
	return keyA, keyB
}

func readOp(t *testing.T, exp *as.Expression, flags as.ExpReadFlags, r *Record) (uint8, []byte, proto.ResultCode) {
	t.Helper()
	e, f, err := ParseReadOp(opBytes(t, exp, int(flags)))
	if err != nil {
		t.Fatalf("ParseReadOp: %v", err)
	}
	var a bins.Arena
	return ApplyRead(e, f, r, &a)
}

type writeResult struct {
	typ  uint8
	val  []byte
	del  bool
	code proto.ResultCode
}

// writeOp applies an expression write to bin of r, updating r's bins as
// the record layer would.
func writeOp(t *testing.T, bin string, exp *as.Expression, flags as.ExpWriteFlags, r *Record) writeResult {
	t.Helper()
	e, f, err := ParseModifyOp(opBytes(t, exp, int(flags)))
	if err != nil {
		t.Fatalf("ParseModifyOp: %v", err)
	}
	var a bins.Arena
	typ, val, del, code := ApplyWrite(e, f, r, []byte(bin), &a)
	switch {
	case code != proto.OK:
	case del:
		r.Bins = bins.Remove(r.Bins, []byte(bin))
	case typ != proto.ParticleNull:
		r.Bins = bins.Set(r.Bins, []byte(bin), typ, bytes.Clone(val))
	}
	return writeResult{typ, val, del, code}
}

func i64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func TestReadOp(t *testing.T) {
	keyA, keyB := opsRecords()
	exp := as.ExpNumAdd(as.ExpIntBin("A"), iv(4))

	// "Read Eval error should work".
	typ, val, code := readOp(t, exp, as.ExpReadFlagDefault, keyA)
	if code != proto.OK || typ != proto.ParticleInteger || !bytes.Equal(val, i64(5)) {
		t.Fatalf("keyA: %d % x %v", typ, val, code)
	}
	if _, _, code := readOp(t, exp, as.ExpReadFlagDefault, keyB); code != proto.OpNotApplicable {
		t.Fatalf("keyB: %v", code)
	}
	typ, val, code = readOp(t, exp, as.ExpReadFlagEvalNoFail, keyB)
	if code != proto.OK || typ != proto.ParticleNull || val != nil {
		t.Fatalf("keyB no fail: %d % x %v", typ, val, code)
	}

	// "Return Nil should work".
	if typ, _, code := readOp(t, as.ExpNilValue(), 0, keyA); code != proto.OK || typ != proto.ParticleNull {
		t.Fatalf("nil: %d %v", typ, code)
	}
	// An unknown literal fails like an unknown result.
	if _, _, code := readOp(t, as.ExpUnknown(), 0, keyA); code != proto.OpNotApplicable {
		t.Fatalf("unknown: %v", code)
	}
}

func TestReturnTypes(t *testing.T) {
	keyA, _ := opsRecords()
	list := []as.Value{as.StringValue("a"), as.StringValue("b"), as.StringValue("c"), as.StringValue("d")}
	for _, tc := range []struct {
		name string
		exp  *as.Expression
		typ  uint8
		val  []byte
	}{
		{"int", as.ExpNumAdd(as.ExpIntBin("A"), iv(4)), proto.ParticleInteger, i64(5)},
		{"float", as.ExpNumAdd(as.ExpToFloat(as.ExpIntBin("A")), fv(4.1)), proto.ParticleFloat,
			binary.BigEndian.AppendUint64(nil, math.Float64bits(1+4.1))},
		{"string", sv("xxx"), proto.ParticleString, []byte("xxx")},
		{"blob", as.ExpBlobVal([]byte{0x78, 0x78, 0x78}), proto.ParticleBlob, []byte{0x78, 0x78, 0x78}},
		{"bool", as.ExpEq(as.ExpIntBin("A"), iv(1)), proto.ParticleBool, []byte{1}},
		{"false", as.ExpEq(as.ExpIntBin("A"), iv(2)), proto.ParticleBool, []byte{0}},
		{"list", as.ExpListVal(list...), proto.ParticleList, clientpack.List(list...)},
		{"map", as.ExpMapVal(as.MapValue{"k": 1}), proto.ParticleMap, mapMsgpack(t, as.MapValue{"k": 1})},
		{"geo literal", as.ExpGeoVal(pointJSON), proto.ParticleGeoJSON, append([]byte{0, 0, 0}, pointJSON...)},
		{"int bin", as.ExpIntBin("D"), proto.ParticleInteger, i64(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Record{Bins: append([]bins.Bin(nil), keyA.Bins...)}
			typ, val, code := readOp(t, tc.exp, 0, r)
			if code != proto.OK || typ != tc.typ || !bytes.Equal(val, tc.val) {
				t.Fatalf("read: %d % x %v; want %d % x", typ, val, code, tc.typ, tc.val)
			}
			w := writeOp(t, "C", tc.exp, 0, r)
			if w.code != proto.OK || w.del || w.typ != tc.typ || !bytes.Equal(w.val, tc.val) {
				t.Fatalf("write: %+v", w)
			}
		})
	}

	// Bin values pass through with their particle, GeoJSON cells included.
	g := bins.Bin{Name: []byte("g"), Type: proto.ParticleGeoJSON,
		Value: append([]byte{1, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}, pointJSON...)}
	r := &Record{Bins: []bins.Bin{g, rawBin("h", proto.ParticleHLL, []byte{0, 4, 0})}}
	if typ, val, code := readOp(t, as.ExpGeoBin("g"), 0, r); code != proto.OK || typ != proto.ParticleGeoJSON || !bytes.Equal(val, g.Value) {
		t.Fatalf("geo bin: %d % x %v", typ, val, code)
	}
	if typ, val, code := readOp(t, as.ExpHLLBin("h"), 0, r); code != proto.OK || typ != proto.ParticleHLL || !bytes.Equal(val, []byte{0, 4, 0}) {
		t.Fatalf("hll bin: %d % x %v", typ, val, code)
	}
}

// TestWriteOp replays the client's expression write tests.
func TestWriteOp(t *testing.T) {
	wexp := as.ExpNumAdd(as.ExpIntBin("A"), iv(4))

	t.Run("read on write eval error", func(t *testing.T) {
		keyA, keyB := opsRecords()
		if w := writeOp(t, "D", as.ExpIntBin("A"), 0, keyA); w.code != proto.OK {
			t.Fatalf("keyA: %+v", w)
		}
		if _, val, _ := readOp(t, as.ExpIntBin("D"), 0, keyA); !bytes.Equal(val, i64(1)) {
			t.Fatalf("D after write: % x", val)
		}
		if w := writeOp(t, "D", as.ExpIntBin("A"), 0, keyB); w.code != proto.OpNotApplicable {
			t.Fatalf("keyB: %+v", w)
		}
		w := writeOp(t, "D", as.ExpIntBin("A"), as.ExpWriteFlagEvalNoFail, keyB)
		if w.code != proto.OK || w.typ != proto.ParticleNull || w.del {
			t.Fatalf("keyB no fail: %+v", w)
		}
	})

	t.Run("write policy errors", func(t *testing.T) {
		keyA, _ := opsRecords()
		steps := []struct {
			name  string
			exp   *as.Expression
			flags as.ExpWriteFlags
			code  proto.ResultCode
			have  bool // whether C exists afterwards
		}{
			{"update only, no bin", wexp, as.ExpWriteFlagUpdateOnly, proto.BinNotFound, false},
			{"update only, no fail", wexp, as.ExpWriteFlagUpdateOnly | as.ExpWriteFlagPolicyNoFail, proto.OK, false},
			{"create only", wexp, as.ExpWriteFlagCreateOnly, proto.OK, true},
			{"create only, bin exists", wexp, as.ExpWriteFlagCreateOnly, proto.BinExists, true},
			{"create only, no fail", wexp, as.ExpWriteFlagCreateOnly | as.ExpWriteFlagPolicyNoFail, proto.OK, true},
			{"update only", wexp, as.ExpWriteFlagUpdateOnly | as.ExpWriteFlagPolicyNoFail, proto.OK, true},
			{"nil", as.ExpNilValue(), as.ExpWriteFlagDefault, proto.OpNotApplicable, true},
			{"nil, no fail", as.ExpNilValue(), as.ExpWriteFlagPolicyNoFail, proto.OK, true},
			{"nil, allow delete", as.ExpNilValue(), as.ExpWriteFlagAllowDelete, proto.OK, false},
			{"nil, no bin", as.ExpNilValue(), as.ExpWriteFlagDefault, proto.OK, false},
			{"create again", wexp, as.ExpWriteFlagCreateOnly, proto.OK, true},
		}
		for _, s := range steps {
			w := writeOp(t, "C", s.exp, s.flags, keyA)
			if w.code != s.code {
				t.Fatalf("%s: code %v, want %v", s.name, w.code, s.code)
			}
			if have := bins.Find(keyA.Bins, []byte("C")) >= 0; have != s.have {
				t.Fatalf("%s: bin C exists %v, want %v", s.name, have, s.have)
			}
		}
	})

	t.Run("return unknown", func(t *testing.T) {
		keyA, keyB := opsRecords()
		exp := as.ExpCond(
			as.ExpEq(as.ExpIntBin("C"), iv(5)), as.ExpUnknown(),
			as.ExpBinExists("A"), iv(5),
			as.ExpUnknown())
		if w := writeOp(t, "C", exp, as.ExpWriteFlagDefault, keyA); w.code != proto.OpNotApplicable {
			t.Fatalf("keyA: %+v", w)
		}
		w := writeOp(t, "C", exp, as.ExpWriteFlagEvalNoFail, keyB)
		if w.code != proto.OK || w.typ != proto.ParticleNull || bins.Find(keyB.Bins, []byte("C")) >= 0 {
			t.Fatalf("keyB: %+v", w)
		}
	})

	t.Run("no bin value", func(t *testing.T) {
		// Unknown and ext values (infinity, wildcard) are no bin values.
		var a bins.Arena
		for _, v := range []Value{{}, bytesValue(Ext, []byte{0xd4, 0xff, 0x01})} {
			if _, _, ok := v.Particle(&a); ok {
				t.Fatalf("%v has a particle", v.Kind())
			}
		}
	})
}

func TestParseOp(t *testing.T) {
	good := wire(t, iv(1))
	for _, tc := range []struct {
		name   string
		value  []byte
		modify bool
		err    error
		flags  uint64
	}{
		{"read", append(append([]byte{0x92}, good...), EvalNoFail), false, nil, EvalNoFail},
		{"no flags", append([]byte{0x91}, good...), false, nil, 0},
		{"flags not int are ignored", append(append([]byte{0x92}, good...), 0xc0), true, nil, 0},
		{"all write flags", append(append([]byte{0x92}, good...), 0x1f), true, nil, 0x1f},
		{"write flag on read", append(append([]byte{0x92}, good...), WriteCreateOnly), false, ErrMalformed, 0},
		{"unknown write flag", append(append([]byte{0x92}, good...), 0x20), true, ErrMalformed, 0},
		{"negative flags", append(append([]byte{0x92}, good...), 0xff), true, ErrMalformed, 0},
		{"not a list", good, false, ErrMalformed, 0},
		{"empty list", []byte{0x90}, false, ErrMalformed, 0},
		{"three elements", append(append([]byte{0x93}, good...), 0, 0), false, ErrMalformed, 0},
		{"truncated", []byte{0x92, 0x93}, false, ErrMalformed, 0},
		{"bad expression", []byte{0x92, 0x91, 0x7f, 0x00}, false, ErrMalformed, 0},
		{"unsupported expression", []byte{0x92, 0x93, opInList, 0x01, 0x92, opQuote, 0x91, 0x01, 0x00}, false, ErrUnsupported, 0},
		{"msgpack expression", opBytes(t, as.ExpWildCardValue(), 0), false, ErrMalformed, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parse := ParseReadOp
			if tc.modify {
				parse = ParseModifyOp
			}
			e, flags, err := parse(tc.value)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || e != nil {
					t.Fatalf("%v, %v; want %v", e, err, tc.err)
				}
				return
			}
			if err != nil || flags != tc.flags {
				t.Fatalf("flags %#x, %v; want %#x", flags, err, tc.flags)
			}
		})
	}
}
