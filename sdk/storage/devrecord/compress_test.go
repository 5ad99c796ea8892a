package devrecord

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// TestCompressedRecords writes records with compressed bins with each
// codec and reads them back whole: text-like bins shrink, random ones are
// left as they are, and a damaged compressed body does not come out.
func TestCompressedRecords(t *testing.T) {
	d := storage.Digest{4, 19: 2}
	text := bytes.Repeat([]byte(`{"user":"u123","segments":[17,42,99],"ttl":3600}`), 40)
	random := make([]byte, 2000)
	for i := range random {
		random[i] = byte(rand.Uint32())
	}
	for _, c := range []Codec{CodecLZ4, CodecSnappy, CodecZstd} {
		for _, level := range []int{0, 1, 9} {
			t.Run(fmt.Sprintf("%v/level=%d", c, level), func(t *testing.T) {
				z, ok := Compress(c, level, nil, text)
				if !ok || len(z) > len(text)/4 {
					t.Fatalf("%d bytes of text compress to %d (%v), want a quarter at most", len(text), len(z), ok)
				}
				if _, ok := Compress(c, level, nil, random); ok {
					t.Fatal("random bins compressed")
				}
				if _, ok := Compress(c, level, nil, text[:MinCompress-1]); ok {
					t.Fatal("bins under MinCompress compressed")
				}
				buf := make([]byte, EncodedSize(len("users")+2+len(z)))
				h := Header{Kind: KindRecord, Codec: c, BSeq: 1, WSeq: 2, Digest: d}
				Encode(buf, testSeed, &h, "users", []byte{3, 'k'}, z)
				h, ok = Decode(buf, testSeed)
				if !ok || !BodyOK(buf, &h) || h.Codec != c {
					t.Fatalf("does not verify: %+v", h)
				}
				out, k, ok := CopyOut(buf, &h, nil)
				if !ok || string(out[:k]) != "\x03k" || !bytes.Equal(out[k:], text) {
					t.Fatalf("CopyOut: %v, key %q, %d bytes of bins", ok, out[:k], len(out)-k)
				}
				// A body that verifies but does not decompress (a codec
				// bug, or the length word damaged) is refused.
				_, _, bins := Parts(buf, &h)
				bins[0]++
				if _, _, ok := CopyOut(buf, &h, nil); ok {
					t.Fatal("bins of the wrong length came out")
				}
			})
		}
	}
	// A codec the build does not know is not a record.
	buf := encode(d, "", nil, text, 1, 0, 1, 1, 1)
	buf[3] = 9
	Rebase(buf, testSeed, 1)
	if _, ok := Decode(buf, testSeed); ok {
		t.Fatal("a record of codec 9 decodes")
	}
}

// BenchmarkCopyOut reads 1 KiB of JSON-like bins out of a record, stored
// as they are and compressed with each codec.
func BenchmarkCopyOut(b *testing.B) {
	bins := bytes.Repeat([]byte(`{"user":"u123","segments":[17,42,99],"ttl":3600}`), 22)[:1024]
	for _, c := range []Codec{CodecNone, CodecLZ4, CodecSnappy, CodecZstd} {
		b.Run(c.String(), func(b *testing.B) {
			stored := bins
			if c != CodecNone {
				stored, _ = Compress(c, 0, nil, bins)
			}
			buf := make([]byte, EncodedSize(len(stored)))
			h := Header{Kind: KindRecord, Codec: c, BSeq: 1, WSeq: 1}
			Encode(buf, testSeed, &h, "", nil, stored)
			out := make([]byte, 0, 2048)
			for b.Loop() {
				out, _, _ = CopyOut(buf, &h, out)
			}
			b.ReportMetric(float64(len(stored))/float64(len(bins)), "stored/sent")
		})
	}
}

// BenchmarkCompress compresses 1 KiB of JSON-like bins with each codec, as
// a write does before it takes its partition's lock.
func BenchmarkCompress(b *testing.B) {
	bins := bytes.Repeat([]byte(`{"user":"u123","segments":[17,42,99],"ttl":3600}`), 22)[:1024]
	for _, c := range []Codec{CodecLZ4, CodecSnappy, CodecZstd} {
		b.Run(c.String(), func(b *testing.B) {
			dst := make([]byte, 0, 2048)
			for b.Loop() {
				dst, _ = Compress(c, 0, dst[:0], bins)
			}
			b.ReportMetric(float64(len(dst))/float64(len(bins)), "stored/sent")
		})
	}
}
