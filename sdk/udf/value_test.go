package udf

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestRoundTrip encodes each value form, decodes it, and checks the
// decoded value: the same, or the decoded form of an encode-only type.
func TestRoundTrip(t *testing.T) {
	type myInt int16
	type myString string
	tests := []struct {
		name string
		in   Value
		want Value // nil means in itself
	}{
		{"nil", nil, nil},
		{"true", true, nil},
		{"false", false, nil},
		{"float", 1.5, nil},
		{"float negative zero", math.Copysign(0, -1), nil},
		{"float inf", math.Inf(-1), nil},
		{"float max", math.MaxFloat64, nil},
		{"float32", float32(0.25), 0.25},
		{"string empty", "", nil},
		{"string fixstr", strings.Repeat("a", 30), nil},
		{"string str8", strings.Repeat("a", 31), nil},
		{"string str16", strings.Repeat("a", 255), nil},
		{"string str32", strings.Repeat("a", 65535), nil},
		{"string utf8", "héllo, 世界", nil},
		{"bytes empty", []byte{}, nil},
		{"bytes bin8", []byte{0, 1, 2, 0xff}, nil},
		{"bytes bin16", bytes.Repeat([]byte{7}, 300), nil},
		{"bytes bin32", bytes.Repeat([]byte{7}, 70000), nil},
		{"geojson", GeoJSON(`{"type":"Point","coordinates":[1.5,2]}`), nil},
		{"hll", HLL{0, 4, 8, 1, 2}, nil},
		{"list empty", []Value{}, nil},
		{"list", []Value{int64(1), "a", []byte{2}, nil, true, 2.5, GeoJSON("{}")}, nil},
		{"list 16", make([]Value, 16), nil},
		{"list 65536", make([]Value, 65536), nil},
		{"list nested", []Value{[]Value{[]Value{int64(1)}}, map[Value]Value{"k": []Value{}}}, nil},
		{"map empty", map[Value]Value{}, nil},
		{"map keys", map[Value]Value{int64(-1): "a", "s": int64(2), BytesKey("\x00b"): []byte{1}}, nil},
		{"map 16", map[Value]Value{int64(0): nil, int64(1): nil, int64(2): nil, int64(3): nil, int64(4): nil,
			int64(5): nil, int64(6): nil, int64(7): nil, int64(8): nil, int64(9): nil, int64(10): nil,
			int64(11): nil, int64(12): nil, int64(13): nil, int64(14): nil, int64(15): nil}, nil},
		{"int", 7, int64(7)},
		{"int32", int32(-70000), int64(-70000)},
		{"uint8", uint8(200), int64(200)},
		{"uint64", uint64(math.MaxInt64), int64(math.MaxInt64)},
		{"uint", uint(3), int64(3)},
		{"named int", myInt(-3), int64(-3)},
		{"named string", myString("x"), "x"},
		{"bytes key", BytesKey("ab"), []byte("ab")},
		{"any slice", []any{int64(1)}, []Value{int64(1)}},
		{"string slice", []string{"a", "b"}, []Value{"a", "b"}},
		{"int slice", []int{1, 2}, []Value{int64(1), int64(2)}},
		{"byte array", [3]byte{1, 2, 3}, []byte{1, 2, 3}},
		{"string map", map[string]any{"a": 1, "b": []string{"c"}}, map[Value]Value{"a": int64(1), "b": []Value{"c"}}},
		{"int map", map[int]string{1: "x"}, map[Value]Value{int64(1): "x"}},
	}
	for _, i := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		tests = append(tests, struct {
			name string
			in   Value
			want Value
		}{"int64 " + string(appendInt(nil, i)), i, nil})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := appendValue(nil, tt.in)
			if err != nil {
				t.Fatalf("encode %v: %v", tt.in, err)
			}
			got, err := decodeValue(b)
			if err != nil {
				t.Fatalf("decode % x: %v", b, err)
			}
			want := tt.want
			if want == nil {
				want = tt.in
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip of %v (%T) = %v (%T), want %v", tt.in, tt.in, got, got, want)
			}
		})
	}
}

// TestEncodeBytes pins the exact encodings: smallest int forms, the
// particle-type byte of strings, bytes and GeoJSON, float64 always.
func TestEncodeBytes(t *testing.T) {
	tests := []struct {
		in   Value
		want string
	}{
		{nil, "\xc0"},
		{(*int)(nil), "\xc0"},
		{true, "\xc3"},
		{int64(5), "\x05"},
		{int64(127), "\x7f"},
		{int64(200), "\xcc\xc8"},
		{int64(256), "\xcd\x01\x00"},
		{int64(65536), "\xce\x00\x01\x00\x00"},
		{int64(1 << 32), "\xcf\x00\x00\x00\x01\x00\x00\x00\x00"},
		{int64(-1), "\xff"},
		{int64(-32), "\xe0"},
		{int64(-33), "\xd0\xdf"},
		{int64(-129), "\xd1\xff\x7f"},
		{int64(-32769), "\xd2\xff\xff\x7f\xff"},
		{int64(math.MinInt64), "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"},
		{1.0, "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"},
		{float32(1), "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"},
		{"hi", "\xa3\x03hi"},
		{[]byte("hi"), "\xc4\x03\x04hi"},
		{GeoJSON("{}"), "\xa3\x17{}"},
		{HLL("hl"), "\xc4\x03\x12hl"},
		{[]Value{int64(1), "a"}, "\x92\x01\xa2\x03a"},
		{map[Value]Value{"a": int64(1)}, "\x81\xa2\x03a\x01"},
		{make([]Value, 16), "\xdc\x00\x10" + strings.Repeat("\xc0", 16)},
	}
	for _, tt := range tests {
		got, err := appendValue(nil, tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("encode %v (%T) = % x, %v; want % x", tt.in, tt.in, got, err, tt.want)
		}
	}
}

func TestEncodeErrors(t *testing.T) {
	self := []Value{nil}
	self[0] = self
	one := 1
	tests := []struct {
		name string
		in   Value
	}{
		{"uint64 over int64", uint64(math.MaxInt64) + 1},
		{"channel", make(chan int)},
		{"struct", struct{ A int }{1}},
		{"pointer", &one},
		{"func", func() {}},
		{"float key", map[Value]Value{1.5: int64(1)}},
		{"nil key", map[Value]Value{nil: int64(1)}},
		{"bool key", map[bool]int{true: 1}},
		{"geojson key", map[Value]Value{GeoJSON("{}"): int64(1)}},
		{"nested bad", []Value{map[string]any{"a": make(chan int)}}},
		{"self reference", self},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := appendValue(nil, tt.in)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("encode %s: error %v, want ErrInvalid", tt.name, err)
			}
		})
	}
}

// TestDecodeForms checks forms the SDK reads but does not write: every
// int width, float32, str and bin swapped, the flags ext of ordered lists
// and maps.
func TestDecodeForms(t *testing.T) {
	tests := []struct {
		in   string
		want Value
	}{
		{"\xcc\x05", int64(5)},
		{"\xcd\x00\x05", int64(5)},
		{"\xce\x00\x00\x00\x05", int64(5)},
		{"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", int64(-1)},
		{"\xd0\x05", int64(5)},
		{"\xd1\xff\xfe", int64(-2)},
		{"\xd2\xff\xff\xff\xfe", int64(-2)},
		{"\xd3\x00\x00\x00\x00\x00\x00\x00\x05", int64(5)},
		{"\xca\x3f\x80\x00\x00", 1.0},
		{"\xc4\x02\x03x", "x"},
		{"\xd9\x02\x03x", "x"},
		{"\xda\x00\x02\x03x", "x"},
		{"\xdb\x00\x00\x00\x02\x03x", "x"},
		{"\xa2\x04x", []byte("x")},
		{"\xc5\x00\x02\x17x", GeoJSON("x")},
		{"\xa3\x12hl", HLL("hl")},
		{"\xa0", ""},
		{"\xdd\x00\x00\x00\x01\x01", []Value{int64(1)}},
		{"\xdf\x00\x00\x00\x01\x01\x02", map[Value]Value{int64(1): int64(2)}},
		{"\x93\xc7\x00\x01\x01\x02", []Value{int64(1), int64(2)}}, // ordered list
		{"\x93\xd4\x01\x00\x01\x02", []Value{int64(1), int64(2)}}, // fixext flags
		{"\x83\xc7\x00\x01\xc0\xa2\x03a\x01\xa2\x03b\x02", map[Value]Value{"a": int64(1), "b": int64(2)}}, // ordered map
		{"\x81\xc7\x00\x03\xc0", map[Value]Value{}},
		{"\x82\xc4\x02\x04k\x01\x01\x02", map[Value]Value{BytesKey("k"): int64(1), int64(1): int64(2)}},
	}
	for _, tt := range tests {
		got, err := decodeValue([]byte(tt.in))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("decode % x = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"never used", "\xc1"},
		{"trailing", "\x01\x02"},
		{"short uint16", "\xcd\x01"},
		{"short float", "\xcb\x00\x00"},
		{"short str", "\xa5\x03ab"},
		{"short str8 length", "\xd9"},
		{"short bin", "\xc4\x05\x04"},
		{"unknown particle", "\xa2\x07x"},
		{"short list", "\x92\x01"},
		{"huge list", "\xdd\xff\xff\xff\xff\x01"},
		{"huge map", "\xdf\xff\xff\xff\xff\x01\x01"},
		{"short map", "\x82\x01\x01\x02"},
		{"nil key", "\x81\xc0\x01"},
		{"float key", "\x81\xcb\x00\x00\x00\x00\x00\x00\x00\x00\x01"},
		{"list key", "\x81\x90\x01"},
		{"geojson key", "\x81\xa2\x17x\x01"},
		{"ext value", "\xd4\x01\x00"},
		{"ext not first", "\x92\x01\xd4\x01\x00"},
		{"ext key not first", "\x82\x01\x01\xd4\x01\x00\xc0"},
		{"short ext", "\x91\xc7\x05\x01"},
		{"short ext value", "\x81\xc7\x00\x01"},
		{"too deep", strings.Repeat("\x91", maxDepth+1) + "\x01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := decodeValue([]byte(tt.in))
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("decode % x = %v, %v; want an ErrInvalid error", tt.in, v, err)
			}
		})
	}
}

func TestDecodeArgs(t *testing.T) {
	tests := []struct {
		in      string
		want    []Value
		wantErr bool
	}{
		{"", nil, false},
		{"\x90", nil, false},
		{"\x92\x01\xa2\x03a", []Value{int64(1), "a"}, false},
		{"\xdc\x00\x01\x01", []Value{int64(1)}, false},
		{"\x01", nil, true},
		{"\x91", nil, true},
		{"\x91\x01\x02", nil, true},
	}
	for _, tt := range tests {
		got, err := decodeArgs([]byte(tt.in), nil)
		if (err != nil) != tt.wantErr || (!tt.wantErr && !reflect.DeepEqual(got, tt.want)) {
			t.Errorf("decodeArgs(% x) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// FuzzDecode checks that no input makes the decoder panic, and that what
// it decodes encodes to something that decodes to the same value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"\xc0", "\x05", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", "\xa3\x03hi", "\xc4\x03\x04hi", "\xa3\x17{}",
		"\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", "\x92\x01\xa2\x03a", "\x83\xc7\x00\x01\xc0\xa2\x03a\x01\xa2\x03b\x02",
		"\x93\xc7\x00\x01\x01\x02", "\x81\xc4\x02\x04k\x91\x90", "\xdd\xff\xff\xff\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeValue(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("decode % x: error %v does not wrap ErrInvalid", b, err)
			}
			return
		}
		enc, err := appendValue(nil, v)
		if err != nil {
			t.Fatalf("decode % x = %#v, which does not encode: %v", b, v, err)
		}
		again, err := decodeValue(enc)
		if err != nil {
			t.Fatalf("re-encoding % x of %#v does not decode: %v", enc, v, err)
		}
		if !sameValue(v, again) {
			t.Fatalf("decode % x = %#v; after a round trip %#v", b, v, again)
		}
	})
}

// sameValue is reflect.DeepEqual with NaN equal to itself.
func sameValue(a, b Value) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && (a == b || (math.IsNaN(a) && math.IsNaN(b)))
	case []Value:
		b, ok := b.([]Value)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !sameValue(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[Value]Value:
		b, ok := b.(map[Value]Value)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, v := range a {
			w, ok := b[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
