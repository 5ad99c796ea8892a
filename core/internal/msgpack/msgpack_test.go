package msgpack

import (
	"bytes"
	"cmp"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/internal/clientpack"
)

func TestOrder(t *testing.T) {
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
			a, b := clientpack.Value(ordered[i]), clientpack.Value(ordered[j])
			c, unordered, ok := Compare(a, b)
			if !ok || unordered {
				t.Fatalf("%v vs %v: ok %v unordered %v", ordered[i], ordered[j], ok, unordered)
			}
			if want := cmp.Compare(i, j); c != want {
				t.Errorf("%v vs %v: %d, want %d", ordered[i], ordered[j], c, want)
			}
		}
	}
}

func TestCompare(t *testing.T) {
	wild := clientpack.Value(as.NewWildCardValue())
	one := clientpack.Value(as.IntegerValue(1))
	if c, _, ok := Compare(wild, one); !ok || c != 0 {
		t.Fatalf("wildcard: %d %v", c, ok)
	}
	// A wildcard inside a list matches the rest.
	l1 := clientpack.Value(as.ValueArray{as.IntegerValue(1), as.NewWildCardValue()})
	l2 := clientpack.Value(as.ValueArray{as.IntegerValue(1), as.StringValue("x"), as.IntegerValue(3)})
	if c, _, ok := Compare(l1, l2); !ok || c != 0 {
		t.Fatalf("wildcard in list: %d %v", c, ok)
	}
	// Integer encodings do not matter.
	if c, _, ok := Compare([]byte{0x05}, []byte{0xd3, 0, 0, 0, 0, 0, 0, 0, 5}); !ok || c != 0 {
		t.Fatalf("int encodings: %d %v", c, ok)
	}
	// A map without order flags makes a comparison that reaches it
	// unordered; one decided before it does not.
	m := clientpack.Value(as.MapValue{"k": 1})
	if _, unordered, ok := Compare(m, m); !ok || !unordered {
		t.Fatalf("map: unordered %v ok %v", unordered, ok)
	}
	lm1 := clientpack.Value(as.ValueArray{as.IntegerValue(1), as.MapValue{"k": 1}})
	lm2 := clientpack.Value(as.ValueArray{as.IntegerValue(2), as.MapValue{"k": 1}})
	if c, unordered, ok := Compare(lm1, lm2); !ok || unordered || c != -1 {
		t.Fatalf("list decided before its map: %d %v %v", c, unordered, ok)
	}
	// Key-ordered maps carry an ext flags entry, which is skipped.
	ordered1 := []byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0x02}
	ordered2 := []byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0x03}
	if c, unordered, ok := Compare(ordered1, ordered2); !ok || unordered || c != -1 {
		t.Fatalf("ordered maps: %d %v %v", c, unordered, ok)
	}
	// Maps compare by size first.
	small := []byte{0x82, 0xc7, 0x00, 0x01, 0xc0, 0x09, 0x09}
	big := []byte{0x83, 0xc7, 0x00, 0x01, 0xc0, 0x01, 0x01, 0x02, 0x02}
	if c, _, ok := Compare(small, big); !ok || c != -1 {
		t.Fatalf("map sizes: %d %v", c, ok)
	}
	// Malformed elements fail, even after the decision.
	for _, pair := range [][2][]byte{
		{{0x92, 0x01}, {0x92, 0x01, 0x02}},
		{{0x92, 0x01, 0x02}, {0x92, 0x02}},
		{{0xc1}, {0x01}},
		{nil, {0x01}},
	} {
		if _, _, ok := Compare(pair[0], pair[1]); ok {
			t.Errorf("% x vs % x compared", pair[0], pair[1])
		}
	}
}

func TestSkip(t *testing.T) {
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
		if n, ok := Skip(tc.b); !ok || n != tc.n {
			t.Errorf("% x: %d %v, want %d", tc.b, n, ok, tc.n)
		}
	}
	for _, b := range [][]byte{nil, {0x92, 0x01}, {0xdd, 0xff, 0xff, 0xff, 0xff}, {0xa3, 'a'}, {0xcd, 0x01}} {
		if _, ok := Skip(b); ok {
			t.Errorf("% x skipped", b)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		typ  Type
		size int
		u    uint64
		n    int
	}{
		{[]byte{0xcc, 0xff}, Int, 2, 255, 0},
		{[]byte{0xcd, 0x01, 0x00}, Int, 3, 256, 0},
		{[]byte{0xce, 0, 1, 0, 0}, Int, 5, 1 << 16, 0},
		{[]byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, Int, 9, 1<<64 - 1, 0},
		{[]byte{0xd0, 0x80}, NegInt, 2, 1<<64 - 128, 0},
		{[]byte{0xd0, 0x7f}, Int, 2, 127, 0},
		{[]byte{0xd1, 0xff, 0x00}, NegInt, 3, 1<<64 - 256, 0},
		{[]byte{0xd2, 0xff, 0xff, 0xff, 0xff}, NegInt, 5, 1<<64 - 1, 0},
		{[]byte{0xd3, 0, 0, 0, 0, 0, 0, 0, 7}, Int, 9, 7, 0},
		{[]byte{0xe0}, NegInt, 1, 1<<64 - 32, 0},
		{[]byte{0xca, 0x3f, 0xc0, 0, 0}, Double, 5, 0x3ff8000000000000, 0},
		{[]byte{0xd9, 0x02, 0x03, 'a'}, String, 4, 0, 0},
		{[]byte{0xda, 0x00, 0x01, 0x04}, Bytes, 4, 0, 0},
		{[]byte{0xdb, 0, 0, 0, 1, 0x17}, GeoJSON, 6, 0, 0},
		{[]byte{0xc4, 0x01, 0x04}, Bytes, 3, 0, 0},
		{[]byte{0xc5, 0x00, 0x00}, Bytes, 3, 0, 0},
		{[]byte{0xc6, 0, 0, 0, 1, 0x03}, String, 6, 0, 0},
		{[]byte{0xdc, 0x00, 0x02}, List, 3, 0, 2},
		{[]byte{0xdd, 0, 0, 0, 3}, List, 5, 0, 3},
		{[]byte{0xde, 0x00, 0x02}, Map, 3, 0, 4},
		{[]byte{0xdf, 0, 0, 0, 1}, Map, 5, 0, 2},
		{[]byte{0xd4, 0xff, 0x00}, Wildcard, 3, 0, 0},
		{[]byte{0xc7, 0x01, 0xff, 0x01}, Inf, 4, 0, 0},
		{[]byte{0xd5, 0x01, 0, 0}, Ext, 4, 0, 0},
		{[]byte{0xd6, 0x01, 0, 0, 0, 0}, Ext, 6, 0, 0},
		{[]byte{0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}, Ext, 10, 0, 0},
		{append([]byte{0xd8, 0x01}, make([]byte, 16)...), Ext, 18, 0, 0},
		{[]byte{0xc8, 0x00, 0x01, 0x05, 0x00}, Ext, 5, 0, 0},
		{[]byte{0xc9, 0, 0, 0, 0, 0x05}, Ext, 6, 0, 0},
	} {
		var h Head
		ok := h.Parse(tc.b)
		if !ok || h.Type != tc.typ || h.Size != tc.size || h.U != tc.u || h.N != tc.n {
			t.Errorf("% x: %+v %v", tc.b, h, ok)
		}
		// Every truncation fails.
		for i := 0; i < tc.size; i++ {
			if h.Parse(tc.b[:i]) {
				t.Errorf("% x parsed from %d bytes", tc.b, i)
			}
		}
	}
}

// benchList is a list of the shape the index and filter benchmarks use:
// integers, strings, a nested list and map, a double.
func benchList(tb testing.TB) []byte {
	var items as.ValueArray
	for i := range 16 {
		if i%2 == 0 {
			items = append(items, as.IntegerValue(i*1000))
		} else {
			items = append(items, as.StringValue("value-"+string(rune('a'+i))))
		}
	}
	items = append(items, as.ValueArray{as.IntegerValue(1), as.StringValue("x")},
		as.MapValue{"k": 1}, as.FloatValue(2.5), as.NewNullValue())
	return clientpack.Value(items)
}

// TestAllocs pins the reader to no allocation.
func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	a := benchList(t)
	b := bytes.Clone(a)
	b[len(b)-1] = 0xc3 // true instead of nil: decided by the last item
	if n := testing.AllocsPerRun(100, func() { Skip(a) }); n != 0 {
		t.Errorf("Skip: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { Compare(a, b) }); n != 0 {
		t.Errorf("Compare: %v allocations", n)
	}
}

func BenchmarkSkip(b *testing.B) {
	v := benchList(b)
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Skip(v); !ok {
			b.Fatal("malformed")
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	x := benchList(b)
	y := bytes.Clone(x)
	y[len(y)-1] = 0xc3
	b.SetBytes(int64(len(x)))
	b.ReportAllocs()
	for b.Loop() {
		if c, _, ok := Compare(x, y); !ok || c != -1 {
			b.Fatalf("compare: %d %v", c, ok)
		}
	}
}
