package sharedindex

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/indexhash"
)

// deviceFixture is a KindDevice region over one file, with one partition's
// table, written the way a device backend lays them out.
type deviceFixture struct {
	t        *testing.T
	region   *Region
	file     *os.File
	table    []byte // the table's slots
	tableOff int
	seed     uint64
	crc      uint32
}

const (
	fixBlockSize = 64 << 10
	fixBlocksOff = 64 << 10
	fixSlots     = 85
)

func newDeviceFixture(t *testing.T) *deviceFixture {
	t.Helper()
	if !Shareable {
		t.Skip("the shared index is read on linux/amd64 only")
	}
	f := &deviceFixture{t: t, seed: 99, crc: 0x1234}
	var err error
	if f.region, err = Create(64<<20, 1, f.seed); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.region.Close() })
	if f.file, err = os.Create(filepath.Join(t.TempDir(), "dev")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.file.Close() })
	if err := f.file.Truncate(fixBlocksOff + 8*fixBlockSize); err != nil {
		t.Fatal(err)
	}
	if err := f.region.ShareDevices(Devices{Files: []int{int(f.file.Fd())}, Blocks: []int{8}, BlockSize: fixBlockSize, BlocksOff: fixBlocksOff, CRCSeed: f.crc}); err != nil {
		t.Fatal(err)
	}
	f.region.PublishSet(1, "users")
	off, err := f.region.Alloc(pageSize)
	if err != nil {
		t.Fatal(err)
	}
	f.table = f.region.Mem()[off : off+fixSlots*EntrySize]
	f.tableOff = off
	return f
}

// entryAt returns d's slot in the fixture's table (no two test digests
// share a home).
func (f *deviceFixture) entryAt(d *storage.Digest) []byte {
	i := indexhash.Home(d, f.seed, fixSlots)
	return f.table[i*EntrySize : (i+1)*EntrySize]
}

// publish tells readers where the table is, in d's partition.
func (f *deviceFixture) publish(d *storage.Digest) {
	pid := d.Partition()
	f.region.BeginWrite(pid)
	f.region.PublishTable(pid, f.tableOff, fixSlots)
	f.region.EndWrite(pid)
}

// put writes a record at block, off of the file and d's entry pointing at
// it, and returns the record's encoded size.
func (f *deviceFixture) put(d *storage.Digest, block, off int, gen, void uint32, lut uint64, key, bins []byte) int {
	n := devrecord.EncodedSize(len("users") + len(key) + len(bins))
	buf := make([]byte, n)
	h := devrecord.Header{Kind: devrecord.KindRecord, BSeq: 7, WSeq: 8, Digest: *d, Gen: gen, Void: void, LUT: lut}
	devrecord.Encode(buf, f.crc, &h, "users", key, bins)
	if _, err := f.file.WriteAt(buf, int64(fixBlocksOff+block*fixBlockSize+off)); err != nil {
		f.t.Fatal(err)
	}
	flags := uint16(1)
	if len(key) > 0 {
		flags |= DeviceHasKey
	}
	f.setEntry(d, flags, gen, void, lut, 0, block, off, n)
	return n
}

func (f *deviceFixture) setEntry(d *storage.Digest, flags uint16, gen, void uint32, lut uint64, file, block, off, size int) {
	e := f.entryAt(d)
	copy(e, d[:])
	binary.LittleEndian.PutUint16(e[dSet:], flags)
	binary.LittleEndian.PutUint32(e[dGeneration:], gen)
	binary.LittleEndian.PutUint32(e[dVoidTime:], void)
	binary.LittleEndian.PutUint64(e[dLastUpdate:], lut)
	lo := uint64(file+1) | uint64(block)<<8 | uint64(off/devrecord.Align)<<40 | uint64(size/devrecord.Align)<<60
	binary.LittleEndian.PutUint64(e[dLoc:], lo)
	binary.LittleEndian.PutUint16(e[dLoc+8:], uint16(size/devrecord.Align>>4))
	f.publish(d)
}

func (f *deviceFixture) open() *Reader {
	r, err := Open(f.region.FD(), f.region.Files())
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { r.Close() })
	return r
}

// TestDeviceReads checks each thing the reader verifies of a record it
// reads from a device file before it returns it: whatever fails leaves
// the read to the backend (ok false).
func TestDeviceReads(t *testing.T) {
	f := newDeviceFixture(t)
	r := f.open()
	d := storage.Digest{1, 2, 3, 4, 5, 19: 1}
	other := storage.Digest{9, 8, 7, 19: 2}
	key, bins := []byte{3, 'k'}, bytes.Repeat([]byte("bins"), 300)
	n := f.put(&d, 2, 64, 5, 600, 7000, key, bins)
	on := f.put(&other, 3, 64, 1, 0, 1, nil, []byte("other"))

	rec, ok, err := r.Get(&d, nil)
	want := storage.Meta{Generation: 5, VoidTime: 600, LastUpdate: 7000, Set: "users", HasKey: true}
	if !ok || err != nil || rec.Meta != want || !bytes.Equal(rec.Key, key) || !bytes.Equal(rec.Bins, bins) {
		t.Fatalf("an intact record: %v, %v, %+v", ok, err, rec.Meta)
	}
	if m, ok, err := r.GetMeta(&d); !ok || err != nil || m != want {
		t.Fatalf("its metadata: %v, %v, %+v", ok, err, m)
	}
	if got := binary.LittleEndian.Uint64(f.region.Mem()[hDeviceReads:]); got != 1 {
		t.Errorf("%d device reads counted, want 1", got)
	}

	for _, tc := range []struct {
		name  string
		entry func()
	}{
		{"another generation", func() { f.setEntry(&d, 1|DeviceHasKey, 6, 600, 7000, 0, 2, 64, n) }},
		{"another void time", func() { f.setEntry(&d, 1|DeviceHasKey, 5, 601, 7000, 0, 2, 64, n) }},
		{"another last-update time", func() { f.setEntry(&d, 1|DeviceHasKey, 5, 600, 7001, 0, 2, 64, n) }},
		{"another record's place", func() { f.setEntry(&d, 1|DeviceHasKey, 1, 0, 1, 0, 3, 64, on) }},
		{"another size", func() { f.setEntry(&d, 1|DeviceHasKey, 5, 600, 7000, 0, 2, 64, n+8) }},
		{"zeros", func() { f.setEntry(&d, 1|DeviceHasKey, 5, 600, 7000, 0, 5, 64, n) }},
		{"no such file", func() { f.setEntry(&d, 1|DeviceHasKey, 5, 600, 7000, 1, 2, 64, n) }},
		{"past the block", func() { f.setEntry(&d, 1|DeviceHasKey, 5, 600, 7000, 0, 2, fixBlockSize-64, n) }},
		{"past the file", func() { f.setEntry(&d, 1|DeviceHasKey, 5, 600, 7000, 0, 1<<20, 64, n) }},
		{"in the backend's memory", func() {
			f.setEntry(&d, 1|DeviceHasKey, 5, 600, 7000, 0, 2, 64, n)
			f.region.SetInMemory(0, 2, true)
		}},
	} {
		tc.entry()
		if rec, ok, err := r.Get(&d, nil); ok {
			t.Errorf("%s: the reader answered %v, %+v", tc.name, err, rec.Meta)
		}
	}
	f.region.SetInMemory(0, 2, false)
	if _, ok, err := r.Get(&d, nil); !ok || err != nil {
		t.Fatalf("a record out of the backend's memory: %v, %v", ok, err)
	}

	// A damaged body.
	f.setEntry(&d, 1|DeviceHasKey, 5, 600, 7000, 0, 2, 64, n)
	at := int64(fixBlocksOff + 2*fixBlockSize + 64 + n - 30)
	if _, err := f.file.WriteAt([]byte{0xff}, at); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Get(&d, nil); ok {
		t.Error("the reader returned a damaged record")
	}
	// Its metadata is the index's, which reads no data.
	if m, ok, err := r.GetMeta(&d); !ok || err != nil || m != want {
		t.Errorf("a damaged record's metadata: %v, %v, %+v", ok, err, m)
	}

	// A tombstone is no record, for reads and for scans.
	f.setEntry(&d, DeviceTombstone, 0, 0, 9, 0, 4, 64, 88)
	if _, ok, err := r.Get(&d, nil); !ok || !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a tombstone: %v, %v; want not found", ok, err)
	}
	if _, ok, err := r.GetMeta(&d); !ok || !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a tombstone's metadata: %v, %v; want not found", ok, err)
	}
	entries, _, ok := r.Partition(d.Partition(), nil, nil)
	for _, e := range entries {
		if e.Digest == d {
			t.Errorf("a partition's copy has the tombstone: %v", ok)
		}
	}
}

// A device region opens with exactly its files; a memory region with none.
func TestDeviceOpenChecksFiles(t *testing.T) {
	f := newDeviceFixture(t)
	fd := int(f.file.Fd())
	for _, files := range [][]int{nil, {fd, fd}} {
		if r, err := Open(f.region.FD(), files); err == nil {
			r.Close()
			t.Errorf("a region of one file opened with %d", len(files))
		}
	}
	m, err := Create(64<<20, 16, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if r, err := Open(m.FD(), []int{fd}); err == nil {
		r.Close()
		t.Error("a memory region opened with a file")
	}
}
