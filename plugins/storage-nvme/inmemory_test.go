package nvme

import (
	"fmt"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// TestDataInMemory: with data-in-memory a restarted backend copies the
// blocks in use into memory and reads only the copy (records damaged in
// the files behind its back still read whole, and no read reaches the
// files), and the copy gives back the memory of blocks that empty.
func TestDataInMemory(t *testing.T) {
	o := sharedOptions(t)
	o.DataInMemory = true
	b := mustNew(t, o)
	const n = 300
	d := putRecords(t, b, n)
	put := func(d storage.Digest, r storage.Record) error { return b.Put(ctx, d, r) }
	pushOut(t, put, o.WriteBlockSize)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = mustNew(t, o)
	used := func() float64 {
		st, err := b.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Extra["memory_used_data_bytes"]
	}
	full := used()
	if blocks := full / float64(o.WriteBlockSize); blocks < 6 {
		t.Fatalf("after the restart the copies take %v bytes, %.1f blocks; the records fill at least 6", full, blocks)
	}
	for i := range n {
		path, off := where(t, b, d(i))
		damage(t, path, off+int64(i%64))
	}
	reads := b.devReads.Load()
	for i := range n {
		got, err := b.Get(ctx, d(i), nil)
		if err != nil || !same(got, rec(uint64(i), 400)) {
			t.Fatalf("record %d: %v, %+v: not read from the copy", i, err, got.Meta)
		}
	}
	if r := b.devReads.Load() - reads; r != 0 || b.corrupt.Load() != 0 {
		t.Errorf("%d reads went to the files, %d records found corrupt", r, b.corrupt.Load())
	}

	for i := range n {
		if err := b.Delete(ctx, d(i), false); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2 * 3 * o.WriteBlockSize / (40 << 10) {
		if err := b.Delete(ctx, fillerDigest(i), false); err != nil {
			t.Fatal(err)
		}
	}
	// Left: each file's header block and its open write buffers.
	most := float64(2 * 3 * o.WriteBlockSize)
	waitFor(t, fmt.Sprintf("the copies to give back emptied blocks (%v bytes of %v)", used(), full), func() bool { return used() <= most })
}
