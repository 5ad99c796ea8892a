package sindex

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// clientPack returns the msgpack the official client sends for a list or
// map bin value. The client has no exported "pack this value" call, but an
// expression value is packed by the same code (Value.pack → packObject)
// and exported as base64: a map value packs as the map itself, a list value
// as [126 (quoted), list], whose two-byte prefix we strip.
func clientPack(tb testing.TB, v any) []byte {
	tb.Helper()
	var exp *as.Expression
	var prefix []byte
	switch v := v.(type) {
	case map[any]any:
		exp = as.ExpMapVal(as.NewMapValue(v))
	case []any:
		exp, prefix = as.ExpListValueVal(v...), []byte{0x92, 0x7e}
	default:
		tb.Fatalf("clientPack: %T is not a list or map", v)
	}
	s, err := exp.Base64()
	if err != nil {
		tb.Fatal(err)
	}
	b, err2 := base64.StdEncoding.DecodeString(s)
	if err2 != nil {
		tb.Fatal(err2)
	}
	if !bytes.HasPrefix(b, prefix) {
		tb.Fatalf("clientPack: %x does not start with %x", b, prefix)
	}
	return b[len(prefix):]
}

func be8(i int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(i)) }

// geoBin is a GeoJSON bin value as the client writes it: flags, ncells 0,
// then the text.
func geoBin(text string) []byte { return append([]byte{0, 0, 0}, text...) }

const (
	pointA = `{"type": "Point", "coordinates": [-122.0, 37.5]}`
	pointB = `{"type": "Point", "coordinates": [13.4, 52.5]}`
	square = `{"type": "Polygon", "coordinates": [[[-122.5, 37.0], [-121.0, 37.0], [-121.0, 38.08], [-122.5, 38.08], [-122.5, 37.0]]]}`
)

func hashes(ss ...string) []Key {
	var out []Key
	for _, s := range ss {
		out = append(out, HashKey([]byte(s)))
	}
	return out
}

func sorted(keys ...Key) []Key {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	return slices.Compact(keys)
}

func TestKeys(t *testing.T) {
	mixedList := clientPack(t, []any{1, 2, 3, "a", "ab", "abc", 2, "a", []byte{1, 2}, 1.5, true, nil,
		[]any{99, "nested"}, map[any]any{"k": 98}})
	// The client test's map: {"a": "b", 0: 1, 1: "a", "b": 2}.
	mixedMap := clientPack(t, map[any]any{"a": "b", 0: 1, 1: "a", "b": 2, "l": []any{97}, "c": 2})
	// Integers of every width the packer uses, and the unsigned forms.
	ints := []any{0, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1,
		int64(math.MinInt64), int64(math.MaxInt64), uint(5), uint64(math.MaxUint64), int8(-3), uint16(7), int32(-70000)}
	intList := clientPack(t, ints)
	geoList := clientPack(t, []any{as.NewGeoJSONValue(pointA), as.NewGeoJSONValue(pointB), "not geo"})
	blobMap := clientPack(t, map[any]any{"x": []byte("v1"), "y": []byte("v2"), "z": "v1"})

	pA, pB := PointCell(-122, 37.5), PointCell(13.4, 52.5)
	sq, err := ParseGeoJSON([]byte(square))
	if err != nil {
		t.Fatal(err)
	}
	sqKeys := appendCovering(nil, sq.Shape, MaxCovering)

	tests := []struct {
		name  string
		typ   Type
		coll  Collection
		pt    uint8
		value []byte
		want  []Key
	}{
		{"numeric default", Numeric, Default, proto.ParticleInteger, be8(-42), []Key{-42}},
		{"numeric default, string bin", Numeric, Default, proto.ParticleString, []byte("42"), nil},
		{"numeric default, short integer", Numeric, Default, proto.ParticleInteger, []byte{1, 2}, nil},
		{"numeric default, float bin", Numeric, Default, proto.ParticleFloat, be8(int64(math.Float64bits(1.5))), nil},
		{"string default", String, Default, proto.ParticleString, []byte("hello"), hashes("hello")},
		{"string default, blob bin", String, Default, proto.ParticleBlob, []byte("hello"), nil},
		{"blob default", Blob, Default, proto.ParticleBlob, []byte{0, 1, 2}, []Key{HashKey([]byte{0, 1, 2})}},
		{"geo default point", Geo2DSphere, Default, proto.ParticleGeoJSON, geoBin(pointA), []Key{pA}},
		{"geo default region", Geo2DSphere, Default, proto.ParticleGeoJSON, geoBin(square), sqKeys},
		{"geo default, cells in header", Geo2DSphere, Default, proto.ParticleGeoJSON,
			append([]byte{0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8}, pointA...), []Key{pA}},
		{"geo default, bad JSON", Geo2DSphere, Default, proto.ParticleGeoJSON, geoBin(`{"type": "Point"`), nil},
		{"geo default, short header", Geo2DSphere, Default, proto.ParticleGeoJSON, []byte{0, 0}, nil},
		{"list default", Numeric, Default, proto.ParticleList, intList, nil},

		{"numeric list", Numeric, List, proto.ParticleList, mixedList, []Key{1, 2, 3}},
		{"string list", String, List, proto.ParticleList, mixedList, hashes("a", "ab", "abc")},
		{"blob list", Blob, List, proto.ParticleList, mixedList, []Key{HashKey([]byte{1, 2})}},
		{"geo list", Geo2DSphere, List, proto.ParticleList, geoList, sorted(pA, pB)},
		{"list index, integer bin", Numeric, List, proto.ParticleInteger, be8(1), nil},
		{"list index, map bin", Numeric, List, proto.ParticleMap, mixedMap, nil},
		{"numeric list, every width", Numeric, List, proto.ParticleList, intList, sorted(0, 127, 128, 255, 256, 65535, 65536,
			math.MaxUint32, math.MaxUint32+1, -1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32-1,
			math.MinInt64, math.MaxInt64, 5, -1, -3, 7, -70000)},
		{"empty list", Numeric, List, proto.ParticleList, clientPack(t, []any{}), nil},

		{"numeric map keys", Numeric, MapKeys, proto.ParticleMap, mixedMap, []Key{0, 1}},
		{"string map keys", String, MapKeys, proto.ParticleMap, mixedMap, hashes("a", "b", "c", "l")},
		{"numeric map values", Numeric, MapValues, proto.ParticleMap, mixedMap, []Key{1, 2}},
		{"string map values", String, MapValues, proto.ParticleMap, mixedMap, hashes("a", "b")},
		{"blob map values", Blob, MapValues, proto.ParticleMap, blobMap, []Key{HashKey([]byte("v1")), HashKey([]byte("v2"))}},
		{"string map values of blobs", String, MapValues, proto.ParticleMap, blobMap, hashes("v1")},
		{"map index, list bin", String, MapKeys, proto.ParticleList, mixedList, nil},

		{"truncated list", Numeric, List, proto.ParticleList, intList[:len(intList)-3], nil},
		{"list header past the end", Numeric, List, proto.ParticleList, []byte{0xdd, 0xff, 0xff, 0xff, 0xff, 1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := New(Def{Namespace: "test", Name: "i", Bin: "b", Type: tc.typ, Collection: tc.coll})
			want := sorted(tc.want...)
			got := x.Keys(nil, tc.pt, tc.value)
			if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("Keys:\n got %v\nwant %v", got, want)
			}
			// Appending keeps what dst held.
			got = x.Keys([]Key{12345}, tc.pt, tc.value)
			if got[0] != 12345 || !slices.Equal(got[1:], want) && len(want) > 0 {
				t.Fatalf("Keys after a prefix: %v", got)
			}
		})
	}
}

// TestKeysOrderedMap covers what the client never sends but the server
// stores for ordered maps and lists: an ext header first (for a map, as a
// key with a nil value).
func TestKeysOrderedMap(t *testing.T) {
	m := []byte{0x83, 0xc7, 0x00, 0x01, 0xc0, // map of 3 pairs; ext type 0, flags 1 (key ordered): nil
		0x01, 0xa2, 0x03, 'x', // 1: "x"
		0xa2, 0x03, 'y', 0x05, // "y": 5
	}
	l := []byte{0x93, 0xd4, 0x00, 0x01, 0x07, 0x08} // list: fixext1 header, 7, 8
	for _, tc := range []struct {
		coll Collection
		typ  Type
		pt   uint8
		v    []byte
		want []Key
	}{
		{MapKeys, Numeric, proto.ParticleMap, m, []Key{1}},
		{MapKeys, String, proto.ParticleMap, m, hashes("y")},
		{MapValues, Numeric, proto.ParticleMap, m, []Key{5}},
		{MapValues, String, proto.ParticleMap, m, hashes("x")},
		{List, Numeric, proto.ParticleList, l, []Key{7, 8}},
	} {
		x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: tc.typ, Collection: tc.coll})
		if got := x.Keys(nil, tc.pt, tc.v); !slices.Equal(got, sorted(tc.want...)) {
			t.Errorf("%v %v: got %v, want %v", tc.coll, tc.typ, got, tc.want)
		}
	}
}

// TestKeysAllocs pins the allocation-free path of non-geo values.
func TestKeysAllocs(t *testing.T) {
	list := clientPack(t, []any{5, 3, 5, "a", "b", []any{1}, map[any]any{"x": 1}})
	m := clientPack(t, map[any]any{"a": 1, "b": "c"})
	dst := make([]Key, 0, 16)
	for _, tc := range []struct {
		typ  Type
		coll Collection
		pt   uint8
		v    []byte
	}{
		{Numeric, List, proto.ParticleList, list},
		{String, List, proto.ParticleList, list},
		{String, MapKeys, proto.ParticleMap, m},
		{Numeric, MapValues, proto.ParticleMap, m},
		{Numeric, Default, proto.ParticleInteger, be8(7)},
		{String, Default, proto.ParticleString, []byte("hello")},
	} {
		x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: tc.typ, Collection: tc.coll})
		if n := testing.AllocsPerRun(100, func() { dst = x.Keys(dst[:0], tc.pt, tc.v) }); n != 0 {
			t.Errorf("%v %v: %v allocations", tc.typ, tc.coll, n)
		}
	}
}

func TestScalars(t *testing.T) {
	list := clientPack(t, []any{1, "s", []byte{9}, as.NewGeoJSONValue(pointA), 2.5})
	var got []Scalar
	ok := Scalars(List, proto.ParticleList, list, func(v Scalar) bool {
		got = append(got, v)
		return true
	})
	if !ok || len(got) != 4 {
		t.Fatalf("Scalars: ok %v, %d values", ok, len(got))
	}
	if got[0].Type != proto.ParticleInteger || !got[0].IntOK || got[0].Int != 1 ||
		got[1].Type != proto.ParticleString || string(got[1].Bytes) != "s" ||
		got[2].Type != proto.ParticleBlob || !bytes.Equal(got[2].Bytes, []byte{9}) ||
		got[3].Type != proto.ParticleGeoJSON || string(got[3].Bytes) != pointA {
		t.Fatalf("Scalars: %+v", got)
	}
	// Stopping early.
	n := 0
	Scalars(List, proto.ParticleList, list, func(Scalar) bool { n++; return false })
	if n != 1 {
		t.Fatalf("Scalars after false: %d calls", n)
	}
	// A malformed value yields nothing.
	if Scalars(List, proto.ParticleList, list[:len(list)-1], func(Scalar) bool { t.Fatal("called"); return true }) {
		t.Fatal("Scalars of a truncated list reported well formed")
	}
	// Default: the bin's value.
	Scalars(Default, proto.ParticleGeoJSON, geoBin(pointB), func(v Scalar) bool {
		if string(v.Bytes) != pointB {
			t.Fatalf("Default GeoJSON: %q", v.Bytes)
		}
		return true
	})
}

func TestHashKey(t *testing.T) {
	// Pinned: the hash is part of the query resume protocol (bvals).
	for _, tc := range []struct {
		in   string
		want Key
	}{
		{"", 2902805962516761537},
		{"a", -3032913851857787545},
		{"hello", 5052435518971586890},
		{"abcdefghijklmnopq", -3224098342217729365},
	} {
		if got := HashKey([]byte(tc.in)); got != tc.want {
			t.Errorf("HashKey(%q) = %d", tc.in, got)
		}
	}
	seen := map[Key]string{}
	for _, s := range []string{"", "a", "b", "ab", "ba", "abcdefgh", "abcdefgi", "abcdefghi", "\x00", "\x00\x00", "hello world, a longer string"} {
		k := HashKey([]byte(s))
		if prev, ok := seen[k]; ok {
			t.Fatalf("HashKey(%q) == HashKey(%q)", s, prev)
		}
		seen[k] = s
	}
}

func TestUpdate(t *testing.T) {
	x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: Numeric, Collection: List})
	d := digestN(1, 1)
	other := digestN(2, 2)
	x.Insert(other, 2, 3)
	x.Update(d, nil, []Key{1, 2, 3})
	checkEntries(t, x, entry{1, d}, entry{2, d}, entry{2, other}, entry{3, d}, entry{3, other})
	x.Update(d, []Key{1, 2, 3}, []Key{3, 4})
	checkEntries(t, x, entry{2, other}, entry{3, d}, entry{3, other}, entry{4, d})
	// Unsorted, repeated input is sorted in place.
	x.Update(d, []Key{4, 3, 4}, []Key{9, 5, 5})
	checkEntries(t, x, entry{2, other}, entry{3, other}, entry{5, d}, entry{9, d})
	x.Update(d, []Key{5, 9}, nil)
	checkEntries(t, x, entry{2, other}, entry{3, other})
	if n := x.Remove(other, 2, 3, 4); n != 2 {
		t.Fatalf("Remove: %d", n)
	}
	if n, _ := x.Stats(); n != 0 {
		t.Fatalf("Stats: %d entries", n)
	}
}

func checkEntries(tb testing.TB, x *Index, want ...entry) {
	tb.Helper()
	var got []entry
	x.Range(math.MinInt64, math.MaxInt64, nil, nil, func(k Key, d storage.Digest) bool {
		got = append(got, entry{k, d})
		return true
	})
	if !slices.Equal(got, want) {
		tb.Fatalf("entries:\n got %v\nwant %v", got, want)
	}
	if n, _ := x.Stats(); n != uint64(len(want)) {
		tb.Fatalf("Stats: %d entries, want %d", n, len(want))
	}
	if err := x.t.check(); err != nil {
		tb.Fatal(err)
	}
}

// TestMsgpackForms covers every header form the reader knows, with the
// client packing the long ones (str16/str32, array16, map16).
func TestMsgpackForms(t *testing.T) {
	long := make([]any, 20) // array16
	for i := range long {
		long[i] = i
	}
	s300, s70k := strings.Repeat("x", 300), strings.Repeat("y", 70000)
	long[0], long[1] = s300, s70k // str16, str32
	bigMap := map[any]any{}       // map16
	for i := range 20 {
		bigMap[i] = i * 10
	}
	for _, tc := range []struct {
		name string
		typ  Type
		coll Collection
		pt   uint8
		v    []byte
		want []Key
	}{
		{"array16 of ints", Numeric, List, proto.ParticleList, clientPack(t, long), []Key{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}},
		{"str16, str32", String, List, proto.ParticleList, clientPack(t, long), hashes(s300, s70k)},
		{"map16", Numeric, MapValues, proto.ParticleMap, clientPack(t, bigMap), []Key{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 190}},
		{"bin8/16/32 blobs", Blob, List, proto.ParticleList, []byte{0x93,
			0xc4, 0x02, 0x04, 'a',
			0xc5, 0x00, 0x02, 0x04, 'b',
			0xc6, 0x00, 0x00, 0x00, 0x02, 0x04, 'c'}, []Key{HashKey([]byte("a")), HashKey([]byte("b")), HashKey([]byte("c"))}},
		{"str8", String, List, proto.ParticleList, []byte{0x91, 0xd9, 0x02, 0x03, 'z'}, hashes("z")},
		{"array32, map32 nested, skipped", Numeric, List, proto.ParticleList, []byte{0xdd, 0, 0, 0, 3,
			0xdf, 0, 0, 0, 1, 0x01, 0x02, // {1: 2}
			0xdc, 0, 1, 0x05, // [5]
			0x07}, []Key{7}},
		{"floats, bools, nil, exts skipped", Numeric, List, proto.ParticleList, []byte{0x9c,
			0xca, 0, 0, 0, 0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc2, 0xc3, 0xc0,
			0xd5, 1, 0, 0, 0xd6, 1, 0, 0, 0, 0, 0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0xc8, 0, 1, 1, 0, 0xc9, 0, 0, 0, 1, 1, 0, 0x01}, []Key{1}},
		{"empty string element", String, List, proto.ParticleList, []byte{0x91, 0xa0}, nil},
		{"reserved byte c1", Numeric, List, proto.ParticleList, []byte{0x92, 0x01, 0xc1}, nil},
		{"map value past the end", Numeric, MapValues, proto.ParticleMap, []byte{0x81, 0x01}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: tc.typ, Collection: tc.coll})
			if got := x.Keys(nil, tc.pt, tc.v); !slices.Equal(got, sorted(tc.want...)) {
				t.Fatalf("got %v, want %v", got, sorted(tc.want...))
			}
		})
	}
}

func TestStringEquality(t *testing.T) {
	x := New(Def{Namespace: "t", Name: "i", Bin: "b", Type: String})
	a, b := digestN(1, 1), digestN(2, 2)
	x.Insert(a, x.Keys(nil, proto.ParticleString, []byte("Go"))...)
	x.Insert(b, x.Keys(nil, proto.ParticleString, []byte("Java"))...)
	var got []storage.Digest
	x.Equal(HashKey([]byte("Go")), nil, nil, func(_ Key, d storage.Digest) bool {
		got = append(got, d)
		return true
	})
	if !slices.Equal(got, []storage.Digest{a}) {
		t.Fatalf("Equal(Go): %v", got)
	}
}

func TestTypeParticles(t *testing.T) {
	for _, typ := range []Type{Numeric, String, Blob, Geo2DSphere} {
		if got, ok := TypeOfParticle(typ.ParticleType()); !ok || got != typ {
			t.Errorf("%v: round trip gives %v, %v", typ, got, ok)
		}
		if p, err := ParseType(typ.String()); err != nil || p != typ {
			t.Errorf("ParseType(%v) = %v, %v", typ, p, err)
		}
	}
	if _, ok := TypeOfParticle(proto.ParticleFloat); ok {
		t.Error("floats have an index type")
	}
	if Type(9).String() != "Type(9)" || Collection(9).String() != "Collection(9)" || Type(0).ParticleType() != proto.ParticleNull {
		t.Error("out-of-range names")
	}
}
