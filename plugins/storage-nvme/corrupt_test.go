package nvme

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// where returns the file and offset of d's record.
func where(t *testing.T, b *Backend, d storage.Digest) (string, int64) {
	t.Helper()
	e, _, err := b.lookup(&d)
	if err != nil {
		t.Fatal(err)
	}
	l := e.loc()
	dv := b.devs[l.dev]
	return dv.path, dv.blockOffset(l.block) + int64(l.off)
}

// damage flips the bits of the byte at off of path, behind the backend's
// back.
func damage(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// waitOnDevice waits until d's record is read from the device, its block
// written and no longer held in memory.
func waitOnDevice(t *testing.T, b *Backend, d storage.Digest) {
	t.Helper()
	waitFor(t, "a record's block to be written and evicted", func() bool {
		e, seq, _ := b.lookup(&d)
		l := e.loc()
		wb := b.devs[l.dev].cachedLocked(l.block, seq)
		if wb != nil {
			b.devs[l.dev].cmu.RUnlock()
		}
		return wb == nil
	})
}

// putRecords stores n records: record i holds rec(i, 400) under the digest
// the returned function gives for i.
func putRecords(t *testing.T, b *Backend, n int) func(i int) storage.Digest {
	t.Helper()
	d := func(i int) storage.Digest { return storagetest.DigestIn(uint16(i), uint64(i)) }
	for i := range n {
		if err := b.Put(ctx, d(i), rec(uint64(i), 400)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// TestCorruptionAtColdStart damages a record's body, another's header,
// another's length and a block's header in the files of a closed backend:
// after a restart the three records are missing and counted, every other
// record (those of the damaged block included) is intact, nothing panics.
func TestCorruptionAtColdStart(t *testing.T) {
	o := testOptions(t.TempDir(), 32<<20)
	b := mustNew(t, o)
	const n = 3000
	d := putRecords(t, b, n)
	body, hdr, length, inBlock := d(100), d(1000), d(2000), d(2500)
	type spot struct {
		path string
		off  int64
	}
	var spots []spot
	for _, x := range []struct {
		d     storage.Digest
		delta int64
	}{{body, devrecord.HeaderSize + 20}, {hdr, 35}, {length, 5}} {
		p, off := where(t, b, x.d)
		spots = append(spots, spot{p, off + x.delta})
	}
	// The header of the block that holds inBlock.
	p, off := where(t, b, inBlock)
	blockStart := off - (off % int64(o.WriteBlockSize))
	spots = append(spots, spot{p, blockStart + 9})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range spots {
		damage(t, s.path, s.off)
	}
	b = mustNew(t, o)
	for i := range n {
		switch d(i) {
		case body, hdr, length:
			expectAbsent(t, b, d(i))
		default:
			expectRecord(t, b, d(i), rec(uint64(i), 400))
		}
	}
	st := stat(t, b)
	// Three records, and the block header.
	if got := st.Extra["device_corrupt_records"]; got != 4 {
		t.Fatalf("device_corrupt_records = %v, want 4", got)
	}
	if st.Records != n-3 {
		t.Fatalf("Records = %d, want %d", st.Records, n-3)
	}
}

// TestCorruptionOnRead damages a record on the device while the backend
// runs: Get returns ErrNotFound, the record is counted and removed, scans
// and Stats agree, and other records are unaffected.
func TestCorruptionOnRead(t *testing.T) {
	o := testOptions(t.TempDir(), 32<<20)
	o.PostWriteQueue = 0 // reads go to the device
	b := mustNew(t, o)
	const n = 4000 // several blocks per file
	d := putRecords(t, b, n)
	victim := d(10) // in one of the first, sealed, blocks
	waitOnDevice(t, b, victim)
	p, off := where(t, b, victim)
	damage(t, p, off+devrecord.HeaderSize+50)
	before := stat(t, b)
	if _, err := b.Get(ctx, victim, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get of a damaged record: %v, want ErrNotFound", err)
	}
	after := stat(t, b)
	if after.Extra["device_corrupt_records"] != 1 || after.Records != before.Records-1 {
		t.Fatalf("after a corrupt read: corrupt %v, Records %d (was %d)", after.Extra["device_corrupt_records"], after.Records, before.Records)
	}
	if err := b.ScanPartition(ctx, victim.Partition(), true, func(got storage.Digest, _ *storage.Record) error {
		if got == victim {
			t.Fatal("a scan delivered the corrupt record")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if d(i) != victim {
			expectRecord(t, b, d(i), rec(uint64(i), 400))
		}
	}
	// Defrag and restart do not bring it back or trip over it.
	for i := range n {
		if i%10 != 0 {
			if err := b.Delete(ctx, d(i), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(100 * time.Millisecond)
	b = reopen(t, b)
	for i := 0; i < n; i += 10 {
		if d(i) != victim {
			expectRecord(t, b, d(i), rec(uint64(i), 400))
		}
	}
}

// TestCorruptionInDefrag damages a record on the device, then deletes most
// of the records around it, so that its block is defragmented: the damaged
// record is checked before it would be copied and left where it is, the
// block's other records move intact, and the damaged one is reported
// missing when read, then and after a restart.
func TestCorruptionInDefrag(t *testing.T) {
	o := testOptions(t.TempDir(), 32<<20)
	o.PostWriteQueue = 0
	b := mustNew(t, o)
	const n = 4000
	d := putRecords(t, b, n)
	victim := d(10)
	waitOnDevice(t, b, victim)
	path, off := where(t, b, victim)
	block := off / int64(o.WriteBlockSize)
	// The records kept beside the victim in its block.
	var neighbours []int
	for i := 0; i < n; i += 10 {
		if p, o2 := where(t, b, d(i)); i != 10 && p == path && o2/int64(o.WriteBlockSize) == block {
			neighbours = append(neighbours, i)
		}
	}
	if len(neighbours) == 0 {
		t.Fatal("no record kept beside the victim")
	}
	damage(t, path, off+devrecord.HeaderSize+50)
	for i := range n {
		if i%10 != 0 {
			if err := b.Delete(ctx, d(i), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "the victim's block to be defragmented", func() bool {
		for _, i := range neighbours {
			if p, o2 := where(t, b, d(i)); p == path && o2/int64(o.WriteBlockSize) == block {
				return false
			}
		}
		return true
	})
	if p, o2 := where(t, b, victim); p != path || o2 != off {
		t.Fatalf("the damaged record moved from %s:%d to %s:%d", path, off, p, o2)
	}
	if _, err := b.Get(ctx, victim, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get of the damaged record: %v, want ErrNotFound", err)
	}
	if c := stat(t, b).Extra["device_corrupt_records"]; c != 1 {
		t.Fatalf("device_corrupt_records %v, want 1", c)
	}
	check := func() {
		t.Helper()
		for i := 0; i < n; i += 10 {
			if i != 10 {
				expectRecord(t, b, d(i), rec(uint64(i), 400))
			}
		}
	}
	check()
	b = reopen(t, b)
	check()
	if _, err := b.Get(ctx, victim, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get of the damaged record after a restart: %v, want ErrNotFound", err)
	}
}
