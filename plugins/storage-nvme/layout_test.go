package nvme

import (
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

const testSeed = 0x5eed1234

// encodeTest encodes a record into a fresh slice.
func encodeTest(d storage.Digest, r storage.Record, bseq, wseq uint64) []byte {
	n := devrecord.EncodedSize(len(r.Set) + len(r.Key) + len(r.Bins))
	buf := make([]byte, n)
	h := devrecord.Header{Kind: devrecord.KindRecord, BSeq: bseq, WSeq: wseq, Digest: d, Gen: r.Generation, Void: r.VoidTime, LUT: r.LastUpdate}
	if got := devrecord.Encode(buf, testSeed, &h, r.Set, r.Key, r.Bins); got != n {
		panic("encodeRecord size")
	}
	return buf
}

func TestBlockAndDeviceHeaders(t *testing.T) {
	buf := make([]byte, pageSize)
	bh := blockHeader{seq: 42, instance: 0xabc, wbs: 1 << 20, device: 3}
	bh.encode(buf, testSeed)
	if got, ok := decodeBlockHeader(buf, testSeed); !ok || got != bh {
		t.Fatalf("block header: %+v %v", got, ok)
	}
	buf[9] ^= 1
	if _, ok := decodeBlockHeader(buf, testSeed); ok {
		t.Fatal("damaged block header verifies")
	}
	dh := deviceHeader{version: formatVersion, wbs: 128 << 10, index: 1, count: 2, instance: 77, formatted: 123, namespace: "ns1"}
	dh.encode(buf)
	got, ok := decodeDeviceHeader(buf)
	if !ok || got != dh {
		t.Fatalf("device header: %+v %v", got, ok)
	}
	buf[100] ^= 1
	if got, ok := decodeDeviceHeader(buf); !ok || !got.crcCorrupt {
		t.Fatal("damaged device header not flagged")
	}
	if _, ok := decodeDeviceHeader(make([]byte, pageSize)); ok {
		t.Fatal("zeros taken for a header")
	}

	// The marks: outside the header's checksum, so that a header written
	// before marks existed, or with a mark torn, still verifies.
	plain := make([]byte, pageSize)
	dh.encode(plain)
	dh.clean = cleanMark{snapshot: 0xfeed, place: 1}
	dh.region = regionMark{epoch: 0xbeef, place: 1}
	dh.encode(buf)
	if got, ok := decodeDeviceHeader(buf); !ok || got != dh {
		t.Fatalf("marked header: %+v %v", got, ok)
	}
	if string(buf[:markOff]) != string(plain[:markOff]) {
		t.Fatal("marking changed the header's first sectors")
	}
	buf[markOff+9] ^= 1
	buf[regionMarkOff+9] ^= 1
	got, ok = decodeDeviceHeader(buf)
	if want := (deviceHeader{version: formatVersion, wbs: 128 << 10, index: 1, count: 2, instance: 77, formatted: 123, namespace: "ns1"}); !ok || got != want {
		t.Fatalf("header with damaged marks: %+v %v, want it unmarked", got, ok)
	}
}

// buildBlock lays out records in a block of incarnation seq, as a write
// buffer would, and returns the block and the records' offsets.
func buildBlock(t *testing.T, seq uint64, n int) ([]byte, []int, []storage.Record) {
	t.Helper()
	blk := make([]byte, 64<<10)
	(&blockHeader{seq: seq, instance: 1}).encode(blk, testSeed)
	off := blockHeaderSize
	var offs []int
	var recs []storage.Record
	for i := range n {
		r := rec(uint64(i), 50+i*30)
		e := encodeTest(storagetest.DigestIn(uint16(i), uint64(i)), r, seq, uint64(i+1))
		copy(blk[off:], e)
		offs = append(offs, off)
		recs = append(recs, r)
		off += len(e)
	}
	return blk, offs, recs
}

func TestWalkBlock(t *testing.T) {
	walk := func(blk []byte, seq uint64) (map[int]bool, int) {
		seen := map[int]bool{}
		w := walkBlock(blk, testSeed, seq, func(off int, h *devrecord.Header, rec []byte) bool {
			if !devrecord.BodyOK(rec, h) {
				return false
			}
			seen[off] = true
			return true
		})
		return seen, w.corrupt
	}
	t.Run("intact", func(t *testing.T) {
		blk, offs, _ := buildBlock(t, 9, 20)
		seen, corrupt := walk(blk, 9)
		if len(seen) != len(offs) || corrupt != 0 {
			t.Fatalf("saw %d of %d records, %d corrupt", len(seen), len(offs), corrupt)
		}
	})
	t.Run("other incarnation", func(t *testing.T) {
		blk, _, _ := buildBlock(t, 9, 20)
		if seen, corrupt := walk(blk, 10); len(seen) != 0 || corrupt != 0 {
			t.Fatalf("records of incarnation 9 seen as 10: %d, corrupt %d", len(seen), corrupt)
		}
	})
	t.Run("damaged body", func(t *testing.T) {
		blk, offs, _ := buildBlock(t, 9, 20)
		blk[offs[5]+devrecord.HeaderSize+2] ^= 0xff
		seen, corrupt := walk(blk, 9)
		if len(seen) != 19 || seen[offs[5]] || corrupt != 1 {
			t.Fatalf("saw %d, record 5 %v, corrupt %d", len(seen), seen[offs[5]], corrupt)
		}
	})
	t.Run("damaged body not checked", func(t *testing.T) {
		// A record the caller skips without checking is neither counted
		// nor a reason to lose the records after it.
		blk, offs, _ := buildBlock(t, 9, 20)
		blk[offs[5]+devrecord.HeaderSize+2] ^= 0xff
		delivered := 0
		w := walkBlock(blk, testSeed, 9, func(off int, h *devrecord.Header, rec []byte) bool {
			delivered++
			return off == offs[5] || devrecord.BodyOK(rec, h)
		})
		if delivered != 20 || w.corrupt != 0 || w.torn != 0 {
			t.Fatalf("delivered %d, corrupt %d, torn %d", delivered, w.corrupt, w.torn)
		}
	})
	t.Run("damaged header resyncs", func(t *testing.T) {
		blk, offs, _ := buildBlock(t, 9, 20)
		blk[offs[7]+40] ^= 0xff // in the digest
		seen, corrupt := walk(blk, 9)
		if len(seen) != 19 || seen[offs[7]] || !seen[offs[8]] || corrupt != 1 {
			t.Fatalf("saw %d, record 7 %v, record 8 %v, corrupt %d", len(seen), seen[offs[7]], seen[offs[8]], corrupt)
		}
	})
	t.Run("zeros between records", func(t *testing.T) {
		// A zeroed record (a lost write, say) is one damaged stretch, and
		// the record right after it is still found: the walk's skip over
		// zeros stops short of it.
		blk, offs, _ := buildBlock(t, 9, 20)
		clear(blk[offs[10]:offs[11]])
		seen, corrupt := walk(blk, 9)
		if len(seen) != 19 || seen[offs[10]] || !seen[offs[11]] || corrupt != 1 {
			t.Fatalf("saw %d, record 10 %v, record 11 %v, corrupt %d", len(seen), seen[offs[10]], seen[offs[11]], corrupt)
		}
	})
	t.Run("stray bytes in zeros", func(t *testing.T) {
		blk, offs, _ := buildBlock(t, 9, 20)
		clear(blk[offs[10]:offs[11]])
		blk[offs[10]+devrecord.HeaderSize+5] = 0x5a
		seen, corrupt := walk(blk, 9)
		if len(seen) != 19 || !seen[offs[11]] || corrupt != 1 {
			t.Fatalf("saw %d, record 11 %v, corrupt %d", len(seen), seen[offs[11]], corrupt)
		}
	})
	t.Run("torn tail", func(t *testing.T) {
		blk, offs, _ := buildBlock(t, 9, 20)
		// The last record cut in half, garbage after: lost, not counted.
		for i := offs[19] + 30; i < len(blk); i++ {
			blk[i] = byte(i)
		}
		seen, corrupt := walk(blk, 9)
		if len(seen) != 19 || corrupt != 0 {
			t.Fatalf("saw %d, corrupt %d", len(seen), corrupt)
		}
	})
}

// FuzzWalkBlock checks that no input makes the block walk panic or deliver
// a record of another incarnation, or one whose parts lie outside it.
func FuzzWalkBlock(f *testing.F) {
	t := &testing.T{}
	blk, _, _ := buildBlock(t, 3, 5)
	f.Add(blk[:4096], uint64(3))
	f.Add(make([]byte, 512), uint64(0))
	f.Fuzz(func(t *testing.T, blk []byte, seq uint64) {
		walkBlock(blk, testSeed, seq, func(off int, h *devrecord.Header, rec []byte) bool {
			if h.BSeq != seq || len(rec) != int(h.Length) {
				t.Fatalf("walk delivered a record of incarnation %d, %d bytes for %d, at %d", h.BSeq, len(rec), h.Length, off)
			}
			devrecord.Parts(rec, h)
			return devrecord.BodyOK(rec, h)
		})
		guessSeq(blk, testSeed)
		decodeDeviceHeader(blk)
	})
}
