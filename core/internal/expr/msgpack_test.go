package expr

import (
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"
)

// mp builds msgpack for the comparison tests: the client's packing of v.
func mp(t *testing.T, v as.Value) []byte {
	t.Helper()
	return listMsgpack(t, v)[1:] // strip the one-element list header
}

func TestMsgpackOrder(t *testing.T) {
	// Values in increasing order, by type first as the server orders them.
	ordered := []as.Value{
		as.NewNullValue(),
		as.BoolValue(false),
		as.BoolValue(true),
		as.IntegerValue(-1000),
		as.IntegerValue(-1),
		as.IntegerValue(0),
		as.IntegerValue(1),
		as.IntegerValue(1 << 40),
		as.StringValue(""),
		as.StringValue("a"),
		as.StringValue("ab"),
		as.StringValue("b"),
		as.ValueArray{},
		as.ValueArray{as.IntegerValue(1)},
		as.ValueArray{as.IntegerValue(1), as.IntegerValue(0)},
		as.ValueArray{as.IntegerValue(2)},
		as.BytesValue([]byte{}),
		as.BytesValue([]byte{1}),
		as.FloatValue(-1.5),
		as.FloatValue(2.5),
		as.NewGeoJSONValue(`{}`),
		as.NewInfinityValue(),
	}
	for i := range ordered {
		for j := range ordered {
			a, b := mp(t, ordered[i]), mp(t, ordered[j])
			cmp, unordered, ok := mpCompare(a, b)
			if !ok || unordered {
				t.Fatalf("%v vs %v: ok %v unordered %v", ordered[i], ordered[j], ok, unordered)
			}
			if want := order(i, j); cmp != want {
				t.Errorf("%v vs %v: %d, want %d", ordered[i], ordered[j], cmp, want)
			}
		}
	}
}

func TestMsgpackCompare(t *testing.T) {
	wild := mp(t, as.NewWildCardValue())
	one := mp(t, as.IntegerValue(1))
	if cmp, _, ok := mpCompare(wild, one); !ok || cmp != 0 {
		t.Fatalf("wildcard: %d %v", cmp, ok)
	}
	// A wildcard inside a list matches the rest.
	l1 := mp(t, as.ValueArray{as.IntegerValue(1), as.NewWildCardValue()})
	l2 := mp(t, as.ValueArray{as.IntegerValue(1), as.StringValue("x"), as.IntegerValue(3)})
	if cmp, _, ok := mpCompare(l1, l2); !ok || cmp != 0 {
		t.Fatalf("wildcard in list: %d %v", cmp, ok)
	}
	// Integer encodings do not matter.
	if cmp, _, ok := mpCompare([]byte{0x05}, []byte{0xd3, 0, 0, 0, 0, 0, 0, 0, 5}); !ok || cmp != 0 {
		t.Fatalf("int encodings: %d %v", cmp, ok)
	}
	// A map without order flags makes a comparison that reaches it
	// unordered; one decided before it does not.
	m := mp(t, as.MapValue{"k": 1})
	if _, unordered, ok := mpCompare(m, m); !ok || !unordered {
		t.Fatalf("map: unordered %v ok %v", unordered, ok)
	}
	lm1 := mp(t, as.ValueArray{as.IntegerValue(1), as.MapValue{"k": 1}})
	lm2 := mp(t, as.ValueArray{as.IntegerValue(2), as.MapValue{"k": 1}})
	if cmp, unordered, ok := mpCompare(lm1, lm2); !ok || unordered || cmp != -1 {
		t.Fatalf("list decided before its map: %d %v %v", cmp, unordered, ok)
	}
	// Key-ordered maps carry an ext flags entry, which is skipped.
	ordered1 := []byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0x02}
	ordered2 := []byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0x03}
	if cmp, unordered, ok := mpCompare(ordered1, ordered2); !ok || unordered || cmp != -1 {
		t.Fatalf("ordered maps: %d %v %v", cmp, unordered, ok)
	}
	// Maps compare by size first.
	small := []byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0x09, 0x09}
	big := []byte{0x83, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0x01, 0x02, 0x02}
	if cmp, _, ok := mpCompare(small, big); !ok || cmp != -1 {
		t.Fatalf("map sizes: %d %v", cmp, ok)
	}
	// Malformed elements fail, even after the decision.
	for _, pair := range [][2][]byte{
		{{0x92, 0x01}, {0x92, 0x01, 0x02}},
		{{0x92, 0x01, 0x02}, {0x92, 0x02}},
		{{0xc1}, {0x01}},
		{nil, {0x01}},
	} {
		if _, _, ok := mpCompare(pair[0], pair[1]); ok {
			t.Errorf("% x vs % x compared", pair[0], pair[1])
		}
	}
}

func TestMsgpackSkip(t *testing.T) {
	for _, tc := range []struct {
		b []byte
		n int
	}{
		{[]byte{0x01, 0xff}, 1},
		{[]byte{0x92, 0x01, 0x91, 0xc0, 0xff}, 4},
		{[]byte{0x81, 0xa1, 'a', 0x01}, 4},
		{[]byte{0xd4, 0xff, 0x01}, 3},
		{[]byte{0xc7, 0x02, 0x05, 1, 2}, 5},
		{[]byte{0xcb, 0, 0, 0, 0, 0, 0, 0, 0}, 9},
		{[]byte{0xdc, 0x00, 0x01, 0xc3}, 4},
	} {
		if n, ok := mpSkip(tc.b); !ok || n != tc.n {
			t.Errorf("% x: %d %v, want %d", tc.b, n, ok, tc.n)
		}
	}
	for _, b := range [][]byte{nil, {0x92, 0x01}, {0xdd, 0xff, 0xff, 0xff, 0xff}, {0xa3, 'a'}, {0xcd, 0x01}} {
		if _, ok := mpSkip(b); ok {
			t.Errorf("% x skipped", b)
		}
	}
}

func TestMsgpackParse(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		typ  mpType
		size int
		u    uint64
		n    int
	}{
		{[]byte{0xcc, 0xff}, mpInt, 2, 255, 0},
		{[]byte{0xcd, 0x01, 0x00}, mpInt, 3, 256, 0},
		{[]byte{0xce, 0, 1, 0, 0}, mpInt, 5, 1 << 16, 0},
		{[]byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mpInt, 9, 1<<64 - 1, 0},
		{[]byte{0xd0, 0x80}, mpNegInt, 2, 1<<64 - 128, 0},
		{[]byte{0xd0, 0x7f}, mpInt, 2, 127, 0},
		{[]byte{0xd1, 0xff, 0x00}, mpNegInt, 3, 1<<64 - 256, 0},
		{[]byte{0xd2, 0xff, 0xff, 0xff, 0xff}, mpNegInt, 5, 1<<64 - 1, 0},
		{[]byte{0xd3, 0, 0, 0, 0, 0, 0, 0, 7}, mpInt, 9, 7, 0},
		{[]byte{0xe0}, mpNegInt, 1, 1<<64 - 32, 0},
		{[]byte{0xca, 0x3f, 0xc0, 0, 0}, mpDouble, 5, 0x3ff8000000000000, 0},
		{[]byte{0xd9, 0x02, 0x03, 'a'}, mpString, 4, 0, 0},
		{[]byte{0xda, 0x00, 0x01, 0x04}, mpBytes, 4, 0, 0},
		{[]byte{0xdb, 0, 0, 0, 1, 0x17}, mpGeoJSON, 6, 0, 0},
		{[]byte{0xc4, 0x01, 0x04}, mpBytes, 3, 0, 0},
		{[]byte{0xc5, 0x00, 0x00}, mpBytes, 3, 0, 0},
		{[]byte{0xc6, 0, 0, 0, 1, 0x03}, mpString, 6, 0, 0},
		{[]byte{0xdc, 0x00, 0x02}, mpList, 3, 0, 2},
		{[]byte{0xdd, 0, 0, 0, 3}, mpList, 5, 0, 3},
		{[]byte{0xde, 0x00, 0x02}, mpMap, 3, 0, 4},
		{[]byte{0xdf, 0, 0, 0, 1}, mpMap, 5, 0, 2},
		{[]byte{0xd4, 0xff, 0x00}, mpWildcard, 3, 0, 0},
		{[]byte{0xc7, 0x01, 0xff, 0x01}, mpInf, 4, 0, 0},
		{[]byte{0xd5, 0x01, 0, 0}, mpExt, 4, 0, 0},
		{[]byte{0xd6, 0x01, 0, 0, 0, 0}, mpExt, 6, 0, 0},
		{[]byte{0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}, mpExt, 10, 0, 0},
		{append([]byte{0xd8, 0x01}, make([]byte, 16)...), mpExt, 18, 0, 0},
		{[]byte{0xc8, 0x00, 0x01, 0x05, 0x00}, mpExt, 5, 0, 0},
		{[]byte{0xc9, 0, 0, 0, 0, 0x05}, mpExt, 6, 0, 0},
	} {
		h, ok := mpParse(tc.b)
		if !ok || h.typ != tc.typ || h.size != tc.size || h.u != tc.u || h.n != tc.n {
			t.Errorf("% x: %+v %v", tc.b, h, ok)
		}
		// Every truncation fails.
		for i := 0; i < tc.size; i++ {
			if _, ok := mpParse(tc.b[:i]); ok {
				t.Errorf("% x parsed from %d bytes", tc.b, i)
			}
		}
	}
}
