package nvme

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/internal/shmtest"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// die stops b as its process's death would leave it, as far as a test in
// one process can: its goroutines end (the flushers' last round writes the
// buffers, which TestPluginKilledKeepsBufferedWrites leaves unwritten), its
// files close, its region stays as it was, and the region returned adopts
// it, as the node hands it to the next process.
func die(t testing.TB, b *Backend) *sharedindex.Region {
	t.Helper()
	b.closed.Store(true)
	for i := range b.parts {
		b.parts[i].mu.Lock()
		b.parts[i].mu.Unlock() //nolint:staticcheck // waits for holders
	}
	close(b.stop)
	for range len(b.devs) + 1 {
		<-b.defragDone
	}
	<-b.sampleDone
	close(b.flushStop)
	for _, dv := range b.devs {
		<-dv.done
		dv.f.Close()
	}
	fd, err := unix.Dup(b.region.FD())
	if err != nil {
		t.Fatal(err)
	}
	b.region.Close()
	left, err := sharedindex.Adopt(fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { left.Close() })
	return left
}

// resumeCapturing starts a backend of o on the region left, as Resume does,
// and returns what its start derived.
func resumeCapturing(t *testing.T, o Options, left *sharedindex.Region) (*Backend, startState) {
	t.Helper()
	var s startState
	o.loaded = func(b *Backend) { s = captureStart(b) }
	b, err := newBackend(o, left)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, s
}

func requireSharedRegion(t *testing.T) {
	t.Helper()
	if !sharedindex.Shareable {
		t.Skip("regions are handed over where the node shares them: linux/amd64")
	}
}

// TestResumeIndex takes over the index of a backend that died, and checks
// that the start derived exactly what reading the devices derives; then
// that writes after it win at the next cold start (the sequences went on
// from the dead process's).
func TestResumeIndex(t *testing.T) {
	requireSharedRegion(t)
	for _, dim := range []bool{false, true} {
		t.Run(fmt.Sprintf("data-in-memory=%v", dim), func(t *testing.T) {
			o := testOptions(t.TempDir(), 32<<20)
			o.DataInMemory = dim
			testResumeIndex(t, o)
		})
	}
	t.Run("index=flash", func(t *testing.T) {
		o := testOptions(t.TempDir(), 32<<20)
		o.IndexType, o.IndexMount = IndexFlash, t.TempDir()
		testResumeIndex(t, o)
	})
}

func testResumeIndex(t *testing.T, o Options) {
	b := mustNew(t, o)
	want := churn(t, b, 3000, 1, 0)
	b, resumed := resumeCapturing(t, o, die(t, b))
	if !b.resumed || stat(t, b).Extra["index_resumed"] != 1 {
		t.Fatal("the start after a death read the devices")
	}
	checkAll(t, b, want)
	for d, r := range churn(t, b, 3000, 5, 1) {
		want[d] = r
	}
	b, resumed = resumeCapturing(t, o, die(t, b))
	if !b.resumed {
		t.Fatal("the second start after a death read the devices")
	}
	checkAll(t, b, want)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if path, _ := o.regionFile(); path != "" {
		os.Remove(path)
	}
	b, cold := openCapturing(t, o)
	if b.resumed || stat(t, b).Extra["index_resumed"] != 0 {
		t.Fatal("a start without a region resumed")
	}
	checkAll(t, b, want)
	sameStart(t, resumed, cold)
}

// leftTable is partition pid's published table in the region left.
func leftTable(left *sharedindex.Region, pid uint16) []entry {
	if left.TableOff(pid) == 0 {
		return nil
	}
	return tableAt(left.Mem(), left.TableOff(pid), left.TableLen(pid))
}

// leftIntent is partition pid's intent in the region left.
func leftIntent(t *testing.T, left *sharedindex.Region, pid uint16) []byte {
	t.Helper()
	st, err := readState(left.ResumeArea())
	if err != nil {
		t.Fatal(err)
	}
	return st.intents[int(pid)*intentSize:][:intentSize]
}

// TestResumeRebuildsChangingPartition leaves a partition as a death in
// the middle of each kind of change would, and checks that the start
// takes the index over with every record as acknowledged: the partition
// is rebuilt from the records its entries, a table being filled and the
// images of the change point at; images of an earlier change are not
// taken for the one in flight.
func TestResumeRebuildsChangingPartition(t *testing.T) {
	requireSharedRegion(t)
	type setup struct {
		left *sharedindex.Region
		pid  uint16
		seq  uint64
		// before and after are d's entries around a put of it, the last
		// change of partition pid.
		d             storage.Digest
		before, after entry
	}
	for _, c := range []struct {
		name  string
		leave func(t *testing.T, s *setup)
	}{
		{"overwrite torn", func(t *testing.T, s *setup) {
			in := leftIntent(t, s.left, s.pid)
			copy(in[iBefore:], s.before[:])
			copy(in[iAfter:], s.after[:])
			binary.LittleEndian.PutUint64(in[iImageTag:], s.seq)
			for i, e := range leftTable(s.left, s.pid) {
				if e.is(&s.d) {
					// The location half the old one, half the new one.
					torn := s.after
					copy(torn[42:], s.before[42:])
					leftTable(s.left, s.pid)[i] = torn
					return
				}
			}
			t.Fatal("not in the table")
		}},
		{"insert shifting", func(t *testing.T, s *setup) {
			// Entries from slot i to an empty one were being shifted on
			// from the last: the one at k is there twice, and the copy
			// into k-1... is torn.
			tb := leftTable(s.left, s.pid)
			for i := 1; i+2 < len(tb); i++ {
				if tb[i-1].used() && tb[i].used() && tb[i+1].used() && !tb[i+2].used() {
					tb[i+2], tb[i+1] = tb[i+1], tb[i]
					copy(tb[i][:24], tb[i-1][:24])
					return
				}
			}
			t.Fatal("no run of three in the table")
		}},
		{"resize, old table freed", func(t *testing.T, s *setup) {
			tb := leftTable(s.left, s.pid)
			mem := s.left.Mem()
			off := (len(mem) - pagesFor(2*len(tb))) &^ (pageSize - 1)
			moved := tableAt(mem, off, 2*len(tb))
			for _, e := range tb {
				if e.used() {
					(&table{slots: moved}).place(e, 0, 99)
				}
			}
			clear(tb)
			in := leftIntent(t, s.left, s.pid)
			binary.LittleEndian.PutUint64(in[iTableOff:], uint64(off))
			binary.LittleEndian.PutUint64(in[iTableLen:], uint64(len(moved)))
			binary.LittleEndian.PutUint64(in[iTableTag:], s.seq)
		}},
		{"resize, new table half filled", func(t *testing.T, s *setup) {
			tb := leftTable(s.left, s.pid)
			mem := s.left.Mem()
			off := (len(mem) - pagesFor(2*len(tb))) &^ (pageSize - 1)
			copy(mem[off:], unsafe.Slice((*byte)(unsafe.Pointer(&tb[0])), len(tb)/2*entrySize))
			in := leftIntent(t, s.left, s.pid)
			binary.LittleEndian.PutUint64(in[iTableOff:], uint64(off))
			binary.LittleEndian.PutUint64(in[iTableLen:], uint64(2*len(tb)))
			binary.LittleEndian.PutUint64(in[iTableTag:], s.seq)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions(t.TempDir(), 32<<20)
			b := mustNew(t, o)
			want := churn(t, b, 3000, 1, 0)
			// Enough records in the partition changed for runs of entries.
			for k := range 40 {
				d, r := storagetest.DigestIn(77, uint64(5000+k)), rec(uint64(k), 300)
				if err := b.Put(ctx, d, r); err != nil {
					t.Fatal(err)
				}
				want[d] = r
			}
			s := &setup{d: storagetest.DigestIn(77, 9001)}
			if err := b.Put(ctx, s.d, rec(1, 700)); err != nil {
				t.Fatal(err)
			}
			p := b.partition(&s.d)
			s.pid = p.pid
			s.before = p.table.slots[p.table.find(&s.d, b.hashSeed)]
			r := rec(2, 900)
			if err := b.Put(ctx, s.d, r); err != nil {
				t.Fatal(err)
			}
			want[s.d] = r
			s.after = p.table.slots[p.table.find(&s.d, b.hashSeed)]
			// A record deleted without a tombstone, its record still on
			// the device, by the last change of another partition: its
			// images must not bring it back.
			var gone storage.Digest
			for d, r := range want {
				if r.Bins != nil && d.Partition() != s.pid {
					gone = d
					break
				}
			}
			if err := b.Delete(ctx, gone, false); err != nil {
				t.Fatal(err)
			}
			want[gone] = storage.Record{}
			s.left = die(t, b)
			s.seq = s.left.BeginWrite(s.pid)
			s.left.BeginWrite(gone.Partition())
			c.leave(t, s)
			b, _ = resumeCapturing(t, o, s.left)
			if !b.resumed {
				t.Fatal("read the devices")
			}
			checkAll(t, b, want)
		})
	}
}

// TestResumeRefused: each way a dead process's index may not be whole or
// may not be this backend's, or may be damaged, makes the start read the
// devices, with every record there.
func TestResumeRefused(t *testing.T) {
	requireSharedRegion(t)
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, left *sharedindex.Region)
	}{
		{"start unfinished", func(t *testing.T, left *sharedindex.Region) {
			binary.LittleEndian.PutUint64(left.ResumeArea()[sComplete:], 0)
		}},
		{"state unreadable", func(t *testing.T, left *sharedindex.Region) {
			binary.LittleEndian.PutUint64(left.ResumeArea()[sMagic:], 0)
		}},
		{"write buffers outside the journal", func(t *testing.T, left *sharedindex.Region) {
			binary.LittleEndian.PutUint64(left.ResumeArea()[sUnlisted:], 1)
		}},
		{"other instance", func(t *testing.T, left *sharedindex.Region) {
			binary.LittleEndian.PutUint64(left.ResumeArea()[sInstance:], 12345)
		}},
		{"block past the last sequence", func(t *testing.T, left *sharedindex.Region) {
			area := left.ResumeArea()
			binary.LittleEndian.PutUint64(area[sBlockSeq:], 1)
		}},
		{"entry past the device", func(t *testing.T, left *sharedindex.Region) {
			for pid := range uint16(storage.Partitions) {
				if off := left.TableOff(pid); off != 0 {
					for i := range left.TableLen(pid) {
						e := (*entry)(left.Mem()[off+i*entrySize:])
						if e.used() {
							l := e.loc()
							l.block = 1 << 30
							e.setLoc(l)
							return
						}
					}
				}
			}
			t.Fatal("no entry")
		}},
		{"entry twice", func(t *testing.T, left *sharedindex.Region) {
			for pid := range uint16(storage.Partitions) {
				tb := leftTable(left, pid)
				for i := 1; i < len(tb); i++ {
					if tb[i-1].used() && !tb[i].used() {
						tb[i] = tb[i-1]
						return
					}
				}
			}
			t.Fatal("no entry before an empty slot")
		}},
		{"table outside the region", func(t *testing.T, left *sharedindex.Region) {
			left.PublishTable(3, len(left.Mem())-pageSize, 1000)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions(t.TempDir(), 32<<20)
			b := mustNew(t, o)
			want := churn(t, b, 2000, 1, 0)
			left := die(t, b)
			c.damage(t, left)
			b, _ = resumeCapturing(t, o, left)
			if b.resumed {
				t.Fatal("resumed")
			}
			checkAll(t, b, want)
		})
	}
}

// TestRegionFile keeps the index in a region file: a start after a clean
// stop takes it over; one after the devices were used without the file
// (a start of another configuration) does not, since the index no longer
// stands for them, and reads them instead.
func TestRegionFile(t *testing.T) {
	o := testOptions(t.TempDir(), 32<<20)
	o.RegionFile = filepath.Join(shmtest.Dir(t), "test.region")
	b := mustNew(t, o)
	want := churn(t, b, 3000, 1, 0)
	b = reopen(t, b)
	if !b.resumed {
		t.Fatal("the start after a clean stop read the devices")
	}
	checkAll(t, b, want)
	for d, r := range churn(t, b, 3000, 3, 1) {
		want[d] = r
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	without := o
	without.RegionFile = ""
	b = mustNew(t, without)
	for d, r := range churn(t, b, 3000, 2, 2) {
		want[d] = r
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b = mustNew(t, o)
	if b.resumed {
		t.Fatal("took over an index the devices were written without")
	}
	checkAll(t, b, want)
	b = reopen(t, b)
	if !b.resumed {
		t.Fatal("the region file made anew was not taken over")
	}
	checkAll(t, b, want)
}

// TestRegionFileTmpfsFull fills the tmpfs a region file is on: writes that
// need index pages fail with storage.ErrOutOfSpace, rather than the
// process be killed (SIGBUS) touching a page the tmpfs cannot give, and
// writes that need none go on (TestJournalTmpfsFull: their buffers);
// once room is made, writes go on. It mounts a tmpfs of its own, so it
// needs the privilege to.
func TestRegionFileTmpfsFull(t *testing.T) {
	mnt := mountTmpfs(t, "200m")
	o := testOptions(t.TempDir(), 16<<20)
	o.Files = o.Files[:1]
	o.WriteBlockSize = 64 << 10
	o.PostWriteQueue = 0
	o.RegionFile = filepath.Join(mnt, "test.region")
	b := mustNew(t, o)
	written := map[storage.Digest]storage.Record{}
	put := func(pid, i, seed int) error {
		d, r := storagetest.DigestIn(uint16(pid), uint64(i)), rec(uint64(seed), 200)
		err := b.Put(ctx, d, r)
		if err == nil {
			written[d] = r
		}
		return err
	}
	for i := range 5000 {
		if err := put(i, i, i); err != nil {
			t.Fatal(err)
		}
	}
	filler := fillTmpfs(t, mnt)
	// Overwrites need write buffers, not index pages.
	for i := range 5000 {
		if err := put(i, i, i+100000); err != nil {
			t.Fatalf("overwrite on a full tmpfs: %v", err)
		}
	}
	// New records in one partition: its table grows.
	var full error
	for i := 5000; i < 10000 && full == nil; i++ {
		full = put(7, i, i)
	}
	if !errors.Is(full, storage.ErrOutOfSpace) {
		t.Fatalf("writes on a full tmpfs: %v, want ErrOutOfSpace", full)
	}
	t.Logf("%d records written before: %v", len(written), full)
	checkAll(t, b, written)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for i := 10000; i < 11000; i++ {
		if err := put(7, i, i); err != nil {
			t.Fatalf("write after room was made: %v", err)
		}
	}
	b = reopen(t, b)
	if !b.resumed {
		t.Fatal("not resumed")
	}
	checkAll(t, b, written)
}

// mountTmpfs mounts a tmpfs of size (as mount's size= option) for the
// test, or skips it without the privilege to.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, 0) })
	return mnt
}

// fillTmpfs fills the tmpfs at mnt with a file, which it returns.
func fillTmpfs(t *testing.T, mnt string) string {
	t.Helper()
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for n := int64(1 << 20); n >= pageSize; n /= 2 {
		for {
			st, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if unix.Fallocate(int(f.Fd()), 0, st.Size(), n) != nil {
				break
			}
		}
	}
	return filler
}

// TestFlashIndexFile: an index on flash lives in a file of the mount, which
// every start takes over: after a clean stop, also once the system has
// restarted (the stop synced the file); after a crash only within the same
// boot, when the page cache still holds every change (a crash of the
// system may leave the file half written back).
func TestFlashIndexFile(t *testing.T) {
	requireSharedRegion(t)
	o := testOptions(t.TempDir(), 32<<20)
	o.IndexType, o.IndexMount = IndexFlash, t.TempDir()
	path, _ := o.regionFile()
	b := mustNew(t, o)
	want := churn(t, b, 3000, 1, 0)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if !synced(t, path) {
		t.Fatal("a clean stop left the index's file unsynced")
	}
	otherBoot(t, path)
	b = mustNew(t, o)
	if !b.resumed {
		t.Fatal("the start after a clean stop and a restart of the system read the devices")
	}
	if synced(t, path) {
		t.Fatal("a start left its index's file marked synced")
	}
	checkAll(t, b, want)

	crash := func(seed int) {
		for d, r := range churn(t, b, 3000, 3, seed) {
			want[d] = r
		}
		die(t, b).Close() // the node, which holds the file, is gone too
	}
	crash(1)
	b = mustNew(t, o)
	if !b.resumed {
		t.Fatal("the start after a crash read the devices")
	}
	checkAll(t, b, want)
	crash(2)
	otherBoot(t, path)
	b = mustNew(t, o)
	if b.resumed {
		t.Fatal("took over the index of a crash followed by a restart of the system")
	}
	checkAll(t, b, want)
}

// resumeAreaOf maps the region file at path, which a backend may hold, and
// calls fn with its resume area.
func resumeAreaOf(t *testing.T, path string, fn func(area []byte)) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	region, err := sharedindex.Adopt(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer region.Close()
	fn(region.ResumeArea())
}

// synced says whether the region file at path is marked synced.
func synced(t *testing.T, path string) (is bool) {
	resumeAreaOf(t, path, func(area []byte) { is = binary.LittleEndian.Uint64(area[sSynced:]) == 1 })
	return is
}

// otherBoot makes the region file at path look written in another boot of
// the system.
func otherBoot(t *testing.T, path string) {
	resumeAreaOf(t, path, func(area []byte) { area[sBoot] ^= 0xff })
}
