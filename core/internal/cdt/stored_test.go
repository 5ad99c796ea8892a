package cdt

import (
	"bytes"
	"testing"

	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// om builds a key-ordered map of alternating keys and values, in the
// order given.
func om(kv ...[]byte) []byte {
	b := msgpack.AppendMapHeader(nil, len(kv)/2+1)
	b = append(appendFlags(b, mapKeyOrdered), 0xc0)
	for _, e := range kv {
		b = append(b, e...)
	}
	return b
}

func TestStored(t *testing.T) {
	ext := []byte{0xd4, 0x31, 0}
	for _, c := range []struct {
		name  string
		typ   uint8
		value []byte
		want  string // the value stored, rendered; "" when refused
	}{
		{"list", proto.ParticleList, ml(mi(2), ms("a"), mm(ms("k"), ml(mi(1)))), `[2 "a" {"k":[1]}]`},
		{"map", proto.ParticleMap, mm(ms("k"), mi(1), mi(7), ml()), `{"k":1 7:[]}`},
		{"ordered list in order", proto.ParticleList, ol(mi(1), mi(2), mi(2), ms("a")), `[#1 1 2 2 "a"]`},
		{"an ext item", proto.ParticleList, ml(mi(1), ext), "[1 #49]"},
		{"ordered list out of order is sorted", proto.ParticleList, ol(ms("a"), mi(3), mi(1)), `[#1 1 3 "a"]`},
		{"key-ordered map out of order is sorted", proto.ParticleMap, om(ms("b"), mi(1), ms("a"), mi(2)), `{#1 "a":2 "b":1}`},
		{"nested, out of order", proto.ParticleList, ml(mi(9), mm(ms("k"), ol(mi(2), mi(1)))), `[9 {"k":[#1 1 2]}]`},
		{"a map for a list", proto.ParticleList, mm(mi(1), mi(2)), ""},
		{"a list for a map", proto.ParticleMap, ml(mi(1)), ""},
		{"trailing bytes", proto.ParticleList, append(ml(mi(1)), 1), ""},
		{"truncated", proto.ParticleList, ml(ms("abc"))[:3], ""},
		{"a count that cannot fit", proto.ParticleList, []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 1}, ""},
		{"a wildcard", proto.ParticleList, ml(mi(1), ml(mAny)), ""},
		{"infinity as a map value", proto.ParticleMap, mm(mi(1), mInf), ""},
		{"a list as a key", proto.ParticleMap, mm(ml(), mi(1)), ""},
		{"a double as a key", proto.ParticleMap, mm(mi(1), mi(1), mf(1.5), mi(2)), ""},
		{"nil as a nested key", proto.ParticleList, ml(mm(mNil, mi(1))), ""},
		{"flags with no value in a map", proto.ParticleMap, []byte{0x81, 0xc7, 0, 1}, ""},
	} {
		got, err := Stored(c.typ, c.value)
		switch {
		case c.want == "":
			if err == nil || Code(err) != proto.ParameterError {
				t.Errorf("%s: stored as %s, %v; want PARAMETER_ERROR", c.name, render(got), err)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case render(got) != c.want:
			t.Errorf("%s: stored as %s, want %s", c.name, render(got), c.want)
		}
	}
	// Values of other types pass as they are.
	if got, err := Stored(proto.ParticleString, []byte("x")); err != nil || string(got) != "x" {
		t.Errorf("string: %q, %v", got, err)
	}
}

// TestStoredInPlace checks the common case costs no allocation and
// returns the value itself.
func TestStoredInPlace(t *testing.T) {
	v := ml(mi(1), mm(ms("k"), ol(mi(1), mi(2))), ms("s"))
	allocs := testing.AllocsPerRun(100, func() {
		got, err := Stored(proto.ParticleList, v)
		if err != nil || &got[0] != &v[0] {
			t.Fatalf("got % x, %v", got, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations, want 0", allocs)
	}
}

// TestStoredDeep checks that deep nesting neither exhausts the stack nor
// is refused while it is in order.
func TestStoredDeep(t *testing.T) {
	const depth = 200000
	v := bytes.Repeat([]byte{0x91}, depth)
	v = append(v, 0x01)
	if _, err := Stored(proto.ParticleList, v); err != nil {
		t.Fatalf("%d nested lists: %v", depth, err)
	}
	// Out of order that deep, it is refused rather than sorted.
	deep := append(bytes.Repeat([]byte{0x91}, depth), ol(mi(2), mi(1))...)
	if _, err := Stored(proto.ParticleList, deep); Code(err) != proto.ParameterError {
		t.Fatalf("an ordered list out of order %d levels down: %v, want PARAMETER_ERROR", depth, err)
	}
}

func FuzzStored(f *testing.F) {
	f.Add(true, ml(mi(2), ms("a"), mm(ms("k"), ml(mi(1)))))
	f.Add(true, ml(mi(9), mm(ms("k"), ol(mi(2), mi(1)))))
	f.Add(false, om(ms("b"), mi(1), ms("a"), mi(2)))
	f.Fuzz(func(t *testing.T, list bool, value []byte) {
		typ := uint8(proto.ParticleMap)
		if list {
			typ = proto.ParticleList
		}
		got, err := Stored(typ, value)
		if err != nil {
			return
		}
		// What is stored is accepted again as it is.
		again, err := Stored(typ, got)
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("stored % x, then % x, %v", got, again, err)
		}
	})
}
