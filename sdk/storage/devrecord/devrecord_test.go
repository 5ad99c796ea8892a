package devrecord

import (
	"bytes"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

const testSeed = 0x5eed1234

func encode(d storage.Digest, set string, key, bins []byte, gen, void uint32, lut, bseq, wseq uint64) []byte {
	buf := make([]byte, EncodedSize(len(set)+len(key)+len(bins)))
	h := Header{Kind: KindRecord, BSeq: bseq, WSeq: wseq, Digest: d, Gen: gen, Void: void, LUT: lut}
	if n := Encode(buf, testSeed, &h, set, key, bins); n != len(buf) {
		panic("Encode size")
	}
	return buf
}

func TestRoundTrip(t *testing.T) {
	d := storage.Digest{1, 2, 3, 19: 9}
	for _, tc := range []struct {
		name      string
		set       string
		key, bins []byte
		gen, void uint32
		lut       uint64
	}{
		{name: "empty"},
		{"set key bins", "users", []byte{3, 'k', 'e', 'y'}, bytes.Repeat([]byte{7}, 100), 3, 400, 5e18},
		{"long set, extreme metadata", strings.Repeat("s", 63), nil, []byte{1}, 1<<32 - 1, 1<<32 - 1, 1<<64 - 1},
		{"no key", "x", nil, make([]byte, 1000), 1, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			buf := encode(d, tc.set, tc.key, tc.bins, tc.gen, tc.void, tc.lut, 77, 99)
			if len(buf)%Align != 0 {
				t.Fatalf("encoded size %d is not aligned", len(buf))
			}
			h, ok := Decode(buf, testSeed)
			if !ok || !BodyOK(buf, &h) {
				t.Fatalf("does not verify: %+v", h)
			}
			set, key, bins := Parts(buf, &h)
			out, k, ok := CopyOut(buf, &h, make([]byte, 0, 1))
			if !ok || !bytes.Equal(out[:k], tc.key) || !bytes.Equal(out[k:], tc.bins) {
				t.Fatalf("CopyOut: key %x, %d bytes of bins", out[:k], len(out)-k)
			}
			if string(set) != tc.set || !bytes.Equal(key, tc.key) || !bytes.Equal(bins, tc.bins) ||
				h.Digest != d || h.BSeq != 77 || h.WSeq != 99 || h.Kind != KindRecord ||
				h.Gen != tc.gen || h.Void != tc.void || h.LUT != tc.lut {
				t.Fatalf("round trip: header %+v, set %q key %x bins %d bytes", h, set, key, len(bins))
			}
			if _, ok := Decode(buf, testSeed+1); ok {
				t.Fatal("a header verifies with another instance's seed")
			}
			Rebase(buf, testSeed, 78)
			if h, ok := Decode(buf, testSeed); !ok || h.BSeq != 78 || !BodyOK(buf, &h) {
				t.Fatalf("after Rebase: %+v %v", h, ok)
			}
		})
	}
}

func TestTombstone(t *testing.T) {
	buf := make([]byte, EncodedSize(TombstoneBodySize))
	body := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	h := Header{Kind: KindTombstone, BSeq: 4, WSeq: 5}
	Encode(buf, testSeed, &h, "", nil, body)
	got, ok := Decode(buf, testSeed)
	if !ok || got.Kind != KindTombstone || TombstoneBelow(buf) != 0x0807060504030201 {
		t.Fatalf("tombstone: %+v %v", got, ok)
	}
	// A tombstone's body has one size.
	buf = make([]byte, EncodedSize(9))
	h = Header{Kind: KindTombstone}
	Encode(buf, testSeed, &h, "", nil, make([]byte, 9))
	if _, ok := Decode(buf, testSeed); ok {
		t.Fatal("a tombstone with a 9-byte body decodes")
	}
}

// TestChecksumDetectsFlips flips each bit of an encoded record in turn:
// every flip must make the header or the body fail.
func TestChecksumDetectsFlips(t *testing.T) {
	buf := encode(storage.Digest{5}, "set", []byte{3, 'k'}, bytes.Repeat([]byte{9}, 200), 3, 4, 5, 6, 7)
	h, _ := Decode(buf, testSeed)
	for i := range int(h.Length) {
		for bit := range 8 {
			buf[i] ^= 1 << bit
			h, ok := Decode(buf, testSeed)
			if ok && BodyOK(buf, &h) {
				t.Fatalf("flip of bit %d of byte %d not detected", bit, i)
			}
			buf[i] ^= 1 << bit
		}
	}
}

// TestDecodeRefusesShortInput cuts a record at every length: none decodes
// past the room it has.
func TestDecodeRefusesShortInput(t *testing.T) {
	buf := encode(storage.Digest{6}, "s", nil, make([]byte, 50), 1, 2, 3, 4, 5)
	for n := range len(buf) {
		if h, ok := Decode(buf[:n], testSeed); ok && int(h.Length) > n {
			t.Fatalf("decoded %d bytes of header and body from %d", h.Length, n)
		}
	}
}
