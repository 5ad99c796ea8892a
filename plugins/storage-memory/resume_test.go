package memory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/skiffdb/skiff/internal/shmtest"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// crash stops using b as its process would by dying, keeping a copy of its
// region's memory file as the node does, and resumes a new backend from it.
func crash(t *testing.T, b *Backend, opts Options) (*Backend, ResumeReport) {
	t.Helper()
	if !sharedindex.Shareable {
		t.Skip("a region is resumed where the node shares it: linux/amd64")
	}
	fd, err := syscall.Dup(b.region.FD())
	if err != nil {
		t.Fatal(err)
	}
	// The dead process's mapping goes; b must not be used again, nor
	// closed (which would write the region).
	b.closed.Store(true)
	b.region.Close()
	region, err := sharedindex.Adopt(fd)
	if err != nil {
		t.Fatal(err)
	}
	nb, rep, err := resume(opts, region)
	if err != nil {
		region.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { nb.Close() })
	return nb, rep
}

// model is what a backend should hold: the records by digest.
type model map[storage.Digest]storage.Record

// churn writes, rewrites (in place and into other size classes and slabs
// of their own) and deletes records across a few partitions, so that
// tables grow and shrink and slabs hold free slots.
func (m model) churn(t *testing.T, b *Backend, rng *rand.Rand, ops int) {
	t.Helper()
	ctx := context.Background()
	for range ops {
		d := storagetest.DigestIn(uint16(rng.IntN(6)*700), uint64(rng.IntN(400)))
		if rng.IntN(5) == 0 {
			err := b.Delete(ctx, d, false)
			if _, ok := m[d]; ok != (err == nil) {
				t.Fatalf("delete %x: %v, present %v", d, err, ok)
			}
			delete(m, d)
			continue
		}
		rec := storagetest.Versioned(d, uint32(rng.IntN(300))+1)
		if err := b.Put(ctx, d, rec); err != nil {
			t.Fatal(err)
		}
		m[d] = rec
	}
}

// check compares b with m: every record read alone, through the node's
// reader of the region, and in scans; and the figures.
func (m model) check(t *testing.T, b *Backend) {
	t.Helper()
	ctx := context.Background()
	r := openReader(t, b)
	defer r.Close() // its mapping would hold a region file's lock
	for d, want := range m {
		got, err := b.Get(ctx, d, nil)
		if err != nil || !sameRecord(got, want) {
			t.Fatalf("get %x: %v, %+v %q; want %+v %q", d, err, got.Meta, got.Key, want.Meta, want.Key)
		}
		got, ok, err := r.Get(&d, nil)
		if !ok || err != nil || !sameRecord(got, want) {
			t.Fatalf("node's read of %x: %v %v", d, ok, err)
		}
	}
	scanned := 0
	var bytes int64
	for pid := range uint16(storage.Partitions) {
		err := b.ScanPartition(ctx, pid, false, func(d storage.Digest, rec *storage.Record) error {
			scanned++
			if want, ok := m[d]; !ok || !sameRecord(*rec, want) {
				t.Errorf("scan of partition %d: %x, in model %v", pid, d, ok)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, rec := range m {
		bytes += int64(slotSizeFor(blobSize(len(rec.Key), len(rec.Bins))))
	}
	st, err := b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if scanned != len(m) || st.Records != uint64(len(m)) || st.DataBytes != uint64(bytes) {
		t.Fatalf("scanned %d, stats %d records of %d bytes; want %d records of %d bytes", scanned, st.Records, st.DataBytes, len(m), bytes)
	}
	var sets []string
	for _, s := range st.Sets {
		sets = append(sets, fmt.Sprintf("%s:%d", s.Name, s.Records))
	}
	count := map[string]int{}
	for _, rec := range m {
		count[rec.Set]++
	}
	var want []string
	for name, n := range count {
		if name != "" {
			want = append(want, fmt.Sprintf("%s:%d", name, n))
		}
	}
	slices.Sort(sets)
	slices.Sort(want)
	if !slices.Equal(sets, want) {
		t.Fatalf("sets %v, want %v", sets, want)
	}
}

func sameRecord(a, b storage.Record) bool {
	return a.Meta == b.Meta && bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Bins, b.Bins)
}

// TestResumeKeepsRecords resumes a region twice, writing between: every
// record comes back as written, figures included, and the resumed
// allocator and tables take new writes (reusing the free slots found).
func TestResumeKeepsRecords(t *testing.T) {
	opts := Options{DataSize: 512 << 20}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	m := model{}
	m.churn(t, b, rng, 6000)
	for round := range 2 {
		var rep ResumeReport
		b, rep = crash(t, b, opts)
		if rep != (ResumeReport{Records: len(m)}) {
			t.Fatalf("round %d: %+v, want %d records kept and nothing else", round, rep, len(m))
		}
		m.check(t, b)
		m.churn(t, b, rng, 3000)
		m.check(t, b)
	}
}

// entries is partition pid's table as the backend holds it.
func entries(b *Backend, pid uint16) []entry { return b.parts[pid].table.slots }

// TestResumeInterruptedChange resumes a region whose writer died while it
// changed a partition: the record it was rewriting in place is half
// written, and a deletion's shift had copied an entry without clearing its
// old place. The record in flight is left out, the copy counted once, and
// everything else kept.
func TestResumeInterruptedChange(t *testing.T) {
	opts := Options{}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	const pid = 77
	m := model{}
	ctx := context.Background()
	for i := range 200 {
		d := storagetest.DigestIn(pid, uint64(i))
		m[d] = storagetest.Versioned(d, uint32(i+1))
		if err := b.Put(ctx, d, m[d]); err != nil {
			t.Fatal(err)
		}
	}
	slots := entries(b, pid)
	var inFlight storage.Digest
	copied, empty := -1, -1
	for i := range slots {
		switch {
		case slots[i].loc == 0 && empty < 0:
			empty = i
		case slots[i].loc != 0 && inFlight == (storage.Digest{}):
			inFlight = slots[i].digest
		case slots[i].loc != 0 && copied < 0:
			copied = i
		}
	}
	b.region.BeginWriteOf(pid, pendingOf(&inFlight))
	i, _ := b.parts[pid].table.find(&inFlight, b.seed)
	torn := b.alloc.slot(slots[i].loc)
	clear(torn[3:min(40, len(torn))])
	slots[empty] = slots[copied]
	delete(m, inFlight)

	b, rep := crash(t, b, opts)
	if rep != (ResumeReport{Records: len(m), InFlight: 1, Rebuilt: 1}) {
		t.Fatalf("%+v, want %d records kept, 1 in flight, 1 table rebuilt", rep, len(m))
	}
	if _, err := b.Get(ctx, inFlight, nil); err != storage.ErrNotFound {
		t.Fatalf("the record in flight: %v", err)
	}
	m.check(t, b)
	m.churn(t, b, rand.New(rand.NewPCG(3, 4)), 2000)
	m.check(t, b)
}

// TestResumeLeavesOutDamage resumes a region with damaged entries, a
// damaged table and a damaged slab directory: each is left out and
// counted, the rest kept, and a region another build laid out is refused.
func TestResumeLeavesOutDamage(t *testing.T) {
	opts := Options{}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	m := model{}
	ctx := context.Background()
	for pid := range uint16(9) {
		for i := range 50 {
			d := storagetest.DigestIn(pid, uint64(i))
			m[d] = storagetest.Versioned(d, uint32(i+1))
			if err := b.Put(ctx, d, m[d]); err != nil {
				t.Fatal(err)
			}
		}
	}
	damage := func(pid uint16, harm func(e *entry)) {
		for i, e := range entries(b, pid) {
			if e.loc != 0 {
				harm(&entries(b, pid)[i])
				delete(m, e.digest)
				return
			}
		}
	}
	damage(1, func(e *entry) { e.digest[0]++ })                           // another partition's digest
	damage(2, func(e *entry) { e.loc = makeLocation(60000, 0) })          // no such slab
	damage(3, func(e *entry) { e.loc = makeLocation(e.loc.slab(), 1e6) }) // past its slab
	damage(4, func(e *entry) {                                            // lengths past the slot
		binary.PutUvarint(b.alloc.slot(e.loc), 1<<40)
	})
	damage(5, func(e *entry) { *(*uint8)(unsafe.Pointer(&e.hasKey)) = 7 })
	damage(7, func(e *entry) { // a record of another size class
		slot := b.alloc.slot(e.loc)
		writeBlob(slot, nil, slot[10:11])
	})
	for _, e := range entries(b, 6) {
		if e.loc != 0 {
			delete(m, e.digest)
		}
	}
	b.region.PublishTable(6, 12345, 10) // a table nowhere
	b.region.PublishSlab(uint32(b.region.DirLen()-1), 1<<50, 64)

	b, rep := crash(t, b, opts)
	if rep != (ResumeReport{Records: len(m), Damaged: 6, DamagedTables: 1, Rebuilt: 6}) {
		t.Fatalf("%+v, want %d records kept, 6 damaged entries, 1 damaged table, 6 tables rebuilt", rep, len(m))
	}
	m.check(t, b)
	m.churn(t, b, rand.New(rand.NewPCG(5, 6)), 2000)
	m.check(t, b)

	b.region.SetFormat(b.region.Format() + 1)
	fd, err := syscall.Dup(b.region.FD())
	if err != nil {
		t.Fatal(err)
	}
	region, err := sharedindex.Adopt(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer region.Close()
	if _, _, err := resume(opts, region); err == nil {
		t.Fatal("resumed a region of another format")
	}
}

// TestResumeAfterKill kills the plugin process at random moments while
// writers put, rewrite and delete records, and starts the next process on
// the region it left, round after round (storagetest.RunKilled). The
// record a partition was writing when its process died is left out.
func TestResumeAfterKill(t *testing.T) {
	if !sharedindex.Shareable {
		t.Skip("a region is resumed where the node shares it: linux/amd64")
	}
	// Few kills land while the process changes a partition; make crash
	// runs 300 rounds, where some 20 do.
	rounds := 6
	if n, err := strconv.Atoi(os.Getenv("MEMORY_KILL_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	storagetest.RunKilled(t, storagetest.KillOptions{
		Path:   os.Args[0],
		Rounds: rounds, Writers: 6, KeysEach: 300, MaxWait: 60 * time.Millisecond,
		InDoubtMayVanish: true,
	})
}

// TestRegionFile keeps a backend's records in a region file: a backend
// opened again on it after a clean close, and after its process died,
// has every record; the file is one process's at a time, and must be on a
// tmpfs; a region another build laid out is replaced by an empty one.
func TestRegionFile(t *testing.T) {
	opts := Options{DataSize: 32 << 20, RegionFile: filepath.Join(shmtest.Dir(t), "made", "test.region")}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	m := model{}
	rng := rand.New(rand.NewPCG(9, 10))
	m.churn(t, b, rng, 4000)
	if _, err := New(opts); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("a second backend on the file: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err = New(opts); err != nil {
		t.Fatal(err)
	}
	m.check(t, b)
	m.churn(t, b, rng, 2000)
	// Dies: no close, its mapping and descriptor gone.
	b.closed.Store(true)
	b.region.Close()
	if b, err = New(opts); err != nil {
		t.Fatal(err)
	}
	m.check(t, b)
	// A larger data-size next time: the file's region holds it.
	if len(b.region.Mem()) < regionSize(4*opts.DataSize) {
		t.Errorf("a region file of %d bytes would not hold four times the data-size", len(b.region.Mem()))
	}
	b.region.SetFormat(b.region.Format() + 1)
	b.Close()
	if b, err = New(opts); err != nil {
		t.Fatal(err)
	}
	model{}.check(t, b)
	b.Close()

	// A tmpfs too small for the data-size: refused, not killed by SIGBUS
	// once it fills.
	size, _, _ := shmtest.Tmpfs(filepath.Dir(opts.RegionFile))
	huge := Options{DataSize: 2 * size, RegionFile: filepath.Join(filepath.Dir(opts.RegionFile), "huge.region")}
	if _, err := New(huge); err == nil || !strings.Contains(err.Error(), "MiB free") {
		t.Errorf("a region file on a tmpfs half the data-size: %v", err)
	}

	disk := t.TempDir()
	if _, _, tmpfs := shmtest.Tmpfs(disk); tmpfs {
		t.Skipf("%s is a tmpfs: no file off one to refuse", disk)
	}
	if _, err := New(Options{RegionFile: filepath.Join(disk, "disk.region")}); err == nil || !strings.Contains(err.Error(), "not on a tmpfs") {
		t.Errorf("a region file off a tmpfs: %v", err)
	}
}

// TestSnapshotFile: a clean close saves the records to the snapshot file,
// in the disk's space they take, and the next backend resumes them and
// removes the file; a crash after that leaves nothing to load, and a saved
// region this build cannot resume is set aside for an empty start.
func TestSnapshotFile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("snapshot files need Linux")
	}
	dir := t.TempDir()
	opts := Options{DataSize: 32 << 20, SnapshotFile: filepath.Join(dir, "saved", "test.snapshot")}
	b := mustOpen(t, opts)
	m := model{}
	rng := rand.New(rand.NewPCG(11, 12))
	m.churn(t, b, rng, 4000)
	used := b.used.Load()
	mustClose(t, b)
	var st syscall.Stat_t
	if err := syscall.Stat(opts.SnapshotFile, &st); err != nil {
		t.Fatal(err)
	}
	// On disk: the records' slots and the index, not the reserved space.
	if onDisk := st.Blocks * 512; onDisk > 3*used+8<<20 {
		t.Errorf("the snapshot takes %d bytes on disk for %d bytes of records", onDisk, used)
	}
	b = mustOpen(t, opts)
	m.check(t, b)
	gone(t, opts.SnapshotFile, "the loaded snapshot is still there")
	m.churn(t, b, rng, 2000)
	mustClose(t, b)
	b = mustOpen(t, opts)
	m.check(t, b)

	// Dies: nothing saved, and the snapshot it started from is gone.
	b.closed.Store(true)
	b.region.Close()
	b = mustOpen(t, opts)
	model{}.check(t, b)

	// A region another build laid out: set aside, and an empty start.
	b.region.SetFormat(b.region.Format() + 1)
	b.Close()
	b = mustOpen(t, opts)
	model{}.check(t, b)
	if _, err := os.Stat(opts.SnapshotFile + ".unusable"); err != nil {
		t.Fatalf("the unusable snapshot was not set aside: %v", err)
	}
	b.Close()

	// Cut short: no region at all.
	data, err := os.ReadFile(opts.SnapshotFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(opts.SnapshotFile, data[:100], 0o600); err != nil {
		t.Fatal(err)
	}
	b = mustOpen(t, opts)
	model{}.check(t, b)
	b.Close()
}

// TestRegionAndSnapshotFile: with both, a restart resumes the region file
// (newer than the snapshot, which it removes), and a reboot, which empties
// the tmpfs, loads the snapshot into it.
func TestRegionAndSnapshotFile(t *testing.T) {
	opts := Options{DataSize: 32 << 20, RegionFile: filepath.Join(shmtest.Dir(t), "test.region"),
		SnapshotFile: filepath.Join(t.TempDir(), "test.snapshot")}
	b := mustOpen(t, opts)
	m := model{}
	rng := rand.New(rand.NewPCG(13, 14))
	m.churn(t, b, rng, 3000)
	mustClose(t, b)
	// A restart: the region file's records; the snapshot goes.
	b = mustOpen(t, opts)
	m.check(t, b)
	gone(t, opts.SnapshotFile, "a snapshot older than the region file is still there")
	m.churn(t, b, rng, 1000)
	mustClose(t, b)
	// A reboot: the tmpfs is empty, the snapshot is loaded into the file.
	if err := os.Remove(opts.RegionFile); err != nil {
		t.Fatal(err)
	}
	b = mustOpen(t, opts)
	m.check(t, b)
	gone(t, opts.SnapshotFile, "the loaded snapshot is still there")
	// Dies: the region file has it all.
	m.churn(t, b, rng, 1000)
	b.closed.Store(true)
	b.region.Close()
	b = mustOpen(t, opts)
	m.check(t, b)
	b.Close()
}

func mustOpen(t *testing.T, opts Options) *Backend {
	t.Helper()
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustClose(t *testing.T, b *Backend) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// gone fails t, saying why, if path exists.
func gone(t *testing.T, path, why string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s: %v", why, err)
	}
}
