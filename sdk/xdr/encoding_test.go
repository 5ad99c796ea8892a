package xdr

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sampleChanges covers every Kind and every field, with empty, short and
// long (multi-byte length) values.
func sampleChanges() map[string]Change {
	var digest [20]byte
	for i := range digest {
		digest[i] = byte(0xA0 + i)
	}
	bins := bytes.Repeat([]byte{0x01, 0x03, 'b', 'i', 'n', 0x03, 'v'}, 40) // 280 bytes
	return map[string]Change{
		"zero": {Kind: Write},
		"write": {
			Kind: Write, Namespace: "test", Set: "users", Digest: digest,
			Key: []byte{0x03, 'k', 'e', 'y'}, Bins: bins,
			Generation: 7, VoidTime: 500_000_000, LastUpdate: 1_767_225_600_123_456_789,
			Origin: "BB9020011AC4202",
		},
		"write partial no key": {
			Kind: Write, Namespace: "ns", Set: "", Digest: digest, Bins: []byte{1, 1, 'a', 1, 0, 0, 0, 0, 0, 0, 0, 5},
			Partial: true, Generation: 1, LastUpdate: 1, Origin: "node-a",
		},
		"delete": {
			Kind: Delete, Namespace: "test", Set: "s", Digest: digest, Generation: 8, LastUpdate: 2, Origin: "B",
		},
		"truncate namespace": {Kind: Truncate, Namespace: "test", LastUpdate: 1 << 62, Origin: "A"},
		"truncate set":       {Kind: Truncate, Namespace: "test", Set: "old", LastUpdate: 42, Origin: "A"},
		"max values": {
			Kind: Write, Namespace: strings.Repeat("n", 31), Set: strings.Repeat("s", 63),
			Digest: [20]byte{0xff, 0xff}, Key: bytes.Repeat([]byte{0xff}, 1<<14), Bins: bytes.Repeat([]byte{7}, 1<<21),
			Generation: 1<<32 - 1, VoidTime: 1<<32 - 1, LastUpdate: 1<<64 - 1, Origin: strings.Repeat("o", 200),
		},
		"unicode names": {Kind: Write, Namespace: "ns", Set: "set.with *dots> and ünïcode", Origin: "n\x00de", Bins: []byte{0}},
	}
}

func TestChangeRoundTrip(t *testing.T) {
	for name, c := range sampleChanges() {
		t.Run(name, func(t *testing.T) {
			b := AppendChange(nil, &c)
			if len(b) != EncodedSize(&c) {
				t.Errorf("encoded %d bytes, EncodedSize says %d", len(b), EncodedSize(&c))
			}
			if b[0] != EncodingVersion {
				t.Errorf("first byte %d, want the version %d", b[0], EncodingVersion)
			}
			got, err := DecodeChange(b)
			if err != nil {
				t.Fatalf("DecodeChange: %v", err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, c)
			}
		})
	}
}

func TestAppendChangeAppends(t *testing.T) {
	c := sampleChanges()["write"]
	prefix := []byte("prefix")
	b := AppendChange(append([]byte(nil), prefix...), &c)
	if !bytes.HasPrefix(b, prefix) {
		t.Fatalf("AppendChange overwrote what dst held")
	}
	if got, err := DecodeChange(b[len(prefix):]); err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("decode after a prefix = %+v, %v", got, err)
	}
}

// TestDecodeAliases pins the documented ownership: Key and Bins are slices
// of the input, and appending to one does not overwrite the next field.
func TestDecodeAliases(t *testing.T) {
	c := sampleChanges()["write"]
	b := AppendChange(nil, &c)
	got, err := DecodeChange(b)
	if err != nil {
		t.Fatal(err)
	}
	got.Key[1] = 'K'
	if !bytes.Contains(b, []byte{0x03, 'K', 'e', 'y'}) {
		t.Errorf("Key does not alias the input")
	}
	_ = append(got.Key, 'x', 'x', 'x')
	if !bytes.Equal(got.Bins, c.Bins) {
		t.Errorf("appending to Key overwrote Bins")
	}
}

func TestEmptyIsNil(t *testing.T) {
	c := Change{Kind: Delete, Key: []byte{}, Bins: []byte{}}
	got, err := DecodeChange(AppendChange(nil, &c))
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != nil || got.Bins != nil {
		t.Fatalf("empty Key and Bins decode as %#v, %#v; want nil", got.Key, got.Bins)
	}
}

func TestAppendChangeAllocs(t *testing.T) {
	c := sampleChanges()["write"]
	buf := make([]byte, 0, EncodedSize(&c))
	if n := testing.AllocsPerRun(100, func() { buf = AppendChange(buf[:0], &c) }); n != 0 {
		t.Fatalf("AppendChange into a buffer with room: %v allocations, want 0", n)
	}
}

func TestDecodeMalformed(t *testing.T) {
	valid := AppendChange(nil, &Change{Kind: Write, Namespace: "ns", Set: "s", Origin: "A", Key: []byte{3, 'k'}, Bins: []byte{0}})
	with := func(i int, v byte) []byte {
		b := bytes.Clone(valid)
		b[i] = v
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrMalformed, "malformed change: empty"},
		{"version 0", with(0, 0), ErrVersion, "unknown change encoding version 0 (this build reads 1)"},
		{"version 2", with(0, 2), ErrVersion, "unknown change encoding version 2"},
		{"only the version", []byte{EncodingVersion}, ErrMalformed, "shorter than the 39 of the fixed fields"},
		{"kind 0", with(1, 0), ErrMalformed, "unknown kind 0"},
		{"kind 4", with(1, 4), ErrMalformed, "unknown kind 4"},
		{"unknown flag", with(2, 0x80), ErrMalformed, "unknown flags 0x80"},
		{"no lengths", valid[:fixedSize], ErrMalformed, "missing length of the namespace at byte 39"},
		{"namespace past the end", with(fixedSize, 100), ErrMalformed, "the namespace at byte 40 has 100 bytes"},
		{"truncated bins", valid[:len(valid)-1], ErrMalformed, "the bins"},
		{"missing bins", valid[:len(valid)-2], ErrMalformed, "length of the bins"},
		{"trailing byte", append(bytes.Clone(valid), 0), ErrMalformed, "1 bytes after the change"},
		{"overlong varint", append(bytes.Clone(valid[:fixedSize]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), ErrMalformed, "bad or missing length"},
		{"overlong length", append(bytes.Clone(valid[:fixedSize]), 0x82, 0x00), ErrMalformed, "overlong length of the namespace"},
		{"huge length", append(bytes.Clone(valid[:fixedSize]), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), ErrMalformed, "left"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeChange(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("DecodeChange(% x) = %+v, %v; want an error wrapping %v", tc.in, c, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if !reflect.DeepEqual(c, Change{}) {
				t.Errorf("a failed decode returned %+v, want the zero Change", c)
			}
		})
	}
}

// FuzzDecodeChange checks that no input makes DecodeChange panic, that its
// errors wrap the documented sentinels, and that what it decodes encodes
// back to the same bytes.
func FuzzDecodeChange(f *testing.F) {
	for _, c := range sampleChanges() {
		if len(c.Bins) < 1<<12 {
			f.Add(AppendChange(nil, &c))
		}
	}
	f.Add([]byte{})
	f.Add([]byte{EncodingVersion, 1, 0})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeChange(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
				t.Fatalf("DecodeChange(% x): error %v wraps neither ErrMalformed nor ErrVersion", b, err)
			}
			return
		}
		if again := AppendChange(nil, &c); !bytes.Equal(again, b) {
			t.Fatalf("DecodeChange(% x) = %+v, which encodes as % x", b, c, again)
		}
	})
}
