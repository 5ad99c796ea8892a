package nvme

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/skiffdb/skiff/internal/shmtest"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// startState is what a start derives from the index: the figures and each
// block's live bytes, captured before the backend's goroutines
// change them.
type startState struct {
	warm                        bool
	records, dataBytes, tombs   int64
	sets                        string
	live                        [][]int32
	entries                     map[storage.Digest]entry
	names                       []string
	freeBlocks, queuedForDefrag []int
}

func captureStart(b *Backend) startState {
	s := startState{warm: b.warm, records: b.records.Load(), dataBytes: b.dataBytes.Load(), tombs: b.tombstones.Load(),
		sets: fmt.Sprint(sortedSets(b.sets.Stats())), names: b.sets.Names(), entries: map[storage.Digest]entry{}}
	for _, dv := range b.devs {
		live := make([]int32, dv.nblocks)
		for i := range live {
			live[i] = dv.live[i].Load()
		}
		s.live = append(s.live, live)
		s.freeBlocks = append(s.freeBlocks, dv.free.n)
		s.queuedForDefrag = append(s.queuedForDefrag, dv.defragQ.n)
	}
	for i := range b.parts {
		t := &b.parts[i].table
		for j := range t.slots {
			if e := t.slots[j]; e.used() {
				s.entries[e.digest()] = e
			}
		}
	}
	return s
}

func sortedSets(s []storage.SetStats) []storage.SetStats {
	slices.SortFunc(s, func(a, b storage.SetStats) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// openCapturing opens a backend with o and returns what its start derived.
func openCapturing(t *testing.T, o Options) (*Backend, startState) {
	t.Helper()
	var s startState
	o.loaded = func(b *Backend) { s = captureStart(b) }
	return mustNew(t, o), s
}

func snapshotOptions(dir string) Options {
	o := testOptions(dir, 32<<20)
	o.Snapshot = filepath.Join(dir, "index", "test.snapshot")
	return o
}

// marks returns the clean-stop mark of each of o's files, read from them.
func marks(t *testing.T, o Options) []cleanMark {
	t.Helper()
	var out []cleanMark
	for _, path := range o.Files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		page := make([]byte, pageSize)
		_, err = f.ReadAt(page, 0)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		h, ok := decodeDeviceHeader(page)
		if !ok || h.crcCorrupt {
			t.Fatalf("%s: header does not verify", path)
		}
		out = append(out, h.clean)
	}
	return out
}

// churn writes every step-th of n records, of several sizes and sets,
// rewrites every other one of those (some into other sizes), and deletes
// every seventh durably, so that blocks hold dead bytes and tombstones; it
// returns what each digest must hold (absent ones map to a zero record).
func churn(t *testing.T, b *Backend, n, step, round int) map[storage.Digest]storage.Record {
	t.Helper()
	want := map[storage.Digest]storage.Record{}
	for i := 0; i < n; i += step {
		d := storagetest.DigestIn(uint16(i*7), uint64(i))
		r := rec(uint64(round*100000+i), 100+(i*37)%3000)
		if err := b.Put(ctx, d, r); err != nil {
			t.Fatal(err)
		}
		want[d] = r
	}
	for i := 0; i < n; i += 2 * step {
		d := storagetest.DigestIn(uint16(i*7), uint64(i))
		r := rec(uint64(round*100000+n+i), 80+(i*53)%5000)
		if err := b.Put(ctx, d, r); err != nil {
			t.Fatal(err)
		}
		want[d] = r
	}
	for i := 3 * step; i < n; i += 7 * step {
		d := storagetest.DigestIn(uint16(i*7), uint64(i))
		if err := b.Delete(ctx, d, true); err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		want[d] = storage.Record{}
	}
	return want
}

func checkAll(t *testing.T, b *Backend, want map[storage.Digest]storage.Record) {
	t.Helper()
	for d, r := range want {
		if r.Bins == nil {
			expectAbsent(t, b, d)
		} else {
			expectRecord(t, b, d, r)
		}
	}
}

// sameStart fails t where two starts derived different states. A record's
// location may differ: of two copies of one write (the defragmenter's and
// the original, not yet overwritten) a scan takes the one in the block
// opened last, which may not be the one the index pointed to.
func sameStart(t *testing.T, warm, cold startState) {
	t.Helper()
	if warm.records != cold.records || warm.dataBytes != cold.dataBytes || warm.tombs != cold.tombs || warm.sets != cold.sets {
		t.Fatalf("figures: warm %d records, %d bytes, %d tombstones, sets %s; cold %d, %d, %d, %s",
			warm.records, warm.dataBytes, warm.tombs, warm.sets, cold.records, cold.dataBytes, cold.tombs, cold.sets)
	}
	if len(warm.entries) != len(cold.entries) {
		t.Fatalf("warm start has %d entries, cold %d", len(warm.entries), len(cold.entries))
	}
	moved := 0
	for d, e := range cold.entries {
		w := warm.entries[d]
		// Set ids are given out in the order sets are met.
		sameSet := warm.names[w.setID()] == cold.names[e.setID()]
		w[20], w[21] = e[20], e[21]
		if !sameSet || [38]byte(w[:38]) != [38]byte(e[:38]) || w.loc().size != e.loc().size {
			t.Fatalf("entry %x: warm %x, cold %x", d[:4], w, e)
		}
		if w.loc() != e.loc() {
			moved++
		}
	}
	for dev := range cold.live {
		var w, c int64
		for blk := range cold.live[dev] {
			w += int64(warm.live[dev][blk])
			c += int64(cold.live[dev][blk])
		}
		if w != c {
			t.Fatalf("device %d: %d live bytes after the warm start, %d after the cold one", dev, w, c)
		}
	}
	if moved == 0 && (!slices.Equal(warm.freeBlocks, cold.freeBlocks) || !slices.Equal(warm.queuedForDefrag, cold.queuedForDefrag)) {
		t.Fatalf("free blocks %v, queued %v after the warm start; %v, %v after the cold one",
			warm.freeBlocks, warm.queuedForDefrag, cold.freeBlocks, cold.queuedForDefrag)
	}
	t.Logf("%d entries, %d pointing at another copy of the same write", len(cold.entries), moved)
}

// TestWarmStart stops a backend cleanly, starts it from its snapshot, and
// checks that the start derived exactly what reading the devices derives;
// then that writes after a warm start win at the next cold start (the
// sequences went on from the snapshot's).
func TestWarmStart(t *testing.T) {
	for _, it := range []IndexType{IndexDRAM, IndexFlash} {
		t.Run(string(it), func(t *testing.T) {
			dir := t.TempDir()
			o := snapshotOptions(dir)
			if it == IndexFlash {
				if runtime.GOOS != "linux" {
					t.Skip("index-type flash is supported on Linux only")
				}
				o.IndexType, o.IndexMount = IndexFlash, t.TempDir()
			}
			testWarmStart(t, o)
		})
	}
}

func testWarmStart(t *testing.T, o Options) {
	// An index on flash is kept in its file, which a start takes over
	// (TestResumeIndex): without it, a start loads the snapshot into a
	// new one, or reads the devices.
	stop := func(t *testing.T, b *Backend) {
		t.Helper()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if path, _ := o.regionFile(); path != "" {
			os.Remove(path)
		}
	}
	b, first := openCapturing(t, o)
	if first.warm {
		t.Fatal("a first start was warm")
	}
	want := churn(t, b, 3000, 1, 0)
	stop(t, b)
	m := marks(t, o)
	if m[0].snapshot == 0 || m[1].snapshot != m[0].snapshot || m[0].place != 0 || m[1].place != 1 {
		t.Fatalf("marks after a clean stop: %+v", m)
	}
	if _, err := os.Stat(o.Snapshot); err != nil {
		t.Fatal(err)
	}

	b, warm := openCapturing(t, o)
	if !warm.warm || stat(t, b).Extra["warm_start"] != 1 {
		t.Fatal("the start after a clean stop read the devices")
	}
	// Nothing may point at the snapshot once the devices can change.
	if m := marks(t, o); m[0] != (cleanMark{}) || m[1] != (cleanMark{}) {
		t.Fatalf("marks left after a start: %+v", m)
	}
	if _, err := os.Stat(o.Snapshot); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the loaded snapshot is still there: %v", err)
	}
	checkAll(t, b, want)
	stop(t, b)
	os.Remove(o.Snapshot)
	b, cold := openCapturing(t, o)
	if cold.warm {
		t.Fatal("a start without the snapshot was warm")
	}
	sameStart(t, warm, cold)

	// Writes after a warm start must win over every older copy at a cold
	// start, and a warm start after them must see them too.
	stop(t, b)
	b, _ = openCapturing(t, o)
	for d, r := range churn(t, b, 3000, 5, 1) {
		want[d] = r
	}
	stop(t, b)
	b, warm = openCapturing(t, o)
	if !warm.warm {
		t.Fatal("not warm")
	}
	checkAll(t, b, want)
	stop(t, b)
	os.Remove(o.Snapshot)
	b, cold = openCapturing(t, o)
	checkAll(t, b, want)
	sameStart(t, warm, cold)
}

// TestWarmStartKeepsNonDurableDeletes: a delete without durable delete
// leaves older copies on the device, which a cold start may bring back; a
// warm start does not.
func TestWarmStartKeepsNonDurableDeletes(t *testing.T) {
	o := snapshotOptions(t.TempDir())
	b := mustNew(t, o)
	d := storagetest.DigestIn(5, 5)
	if err := b.Put(ctx, d, rec(1, 500)); err != nil {
		t.Fatal(err)
	}
	b = reopen(t, b)
	if err := b.Delete(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	b = reopen(t, b)
	if !b.warm {
		t.Fatal("not warm")
	}
	expectAbsent(t, b, d)
}

// TestSnapshotRefused: each way a snapshot may not stand for the devices
// (damaged, cut short, missing, of an earlier stop, holding an entry that
// points outside the devices, a device not marked or moved in the list)
// makes the start read the devices, with every record there and the marks
// cleared.
func TestSnapshotRefused(t *testing.T) {
	damage := func(t *testing.T, o *Options, _ []byte) {
		data := readFile(t, o.Snapshot)
		data[len(data)/2] ^= 0x10
		writeFile(t, o.Snapshot, data)
	}
	cases := []struct {
		name string
		// spoil runs after the second clean stop; older is the snapshot
		// the first one wrote.
		spoil func(t *testing.T, o *Options, older []byte)
		// bufferFile puts the write buffers in a write-buffer-file, which
		// the start that refuses the snapshot gives up before it reads
		// the devices.
		bufferFile bool
	}{
		{"damaged", damage, false},
		{"damaged, write buffers in a file", damage, true},
		{"cut short", func(t *testing.T, o *Options, _ []byte) {
			data := readFile(t, o.Snapshot)
			writeFile(t, o.Snapshot, data[:len(data)-100])
		}, false},
		{"missing", func(t *testing.T, o *Options, _ []byte) {
			if err := os.Remove(o.Snapshot); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"of an earlier stop", func(t *testing.T, o *Options, older []byte) { writeFile(t, o.Snapshot, older) }, false},
		{"of another entry layout", func(t *testing.T, o *Options, _ []byte) {
			data := readFile(t, o.Snapshot)
			binary.LittleEndian.PutUint32(data[12:], entryLayout+1)
			writeFile(t, o.Snapshot, data)
		}, false},
		{"an entry outside the devices", func(t *testing.T, o *Options, _ []byte) {
			data := readFile(t, o.Snapshot)
			writeFile(t, o.Snapshot, entriesInSnapshot(t, data, func(es []entry) []entry { es[0][38] = 99; return es }))
		}, false},
		{"a digest twice", func(t *testing.T, o *Options, _ []byte) {
			data := readFile(t, o.Snapshot)
			writeFile(t, o.Snapshot, entriesInSnapshot(t, data, func(es []entry) []entry { return append(es, es[0]) }))
		}, false},
		{"a device not marked", func(t *testing.T, o *Options, _ []byte) {
			f, err := os.OpenFile(o.Files[1], os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			page := make([]byte, pageSize)
			if _, err := f.ReadAt(page, 0); err != nil {
				t.Fatal(err)
			}
			h, _ := decodeDeviceHeader(page)
			if err := writeMark(f, h, cleanMark{}); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"devices reordered", func(t *testing.T, o *Options, _ []byte) {
			o.Files[0], o.Files[1] = o.Files[1], o.Files[0]
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := snapshotOptions(t.TempDir())
			if c.bufferFile {
				o.WriteBufferFile = filepath.Join(shmtest.Dir(t), "test.buffers")
			}
			b := mustNew(t, o)
			want := churn(t, b, 1500, 1, 0)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			older := readFile(t, o.Snapshot)
			b = mustNew(t, o)
			if !b.warm {
				t.Fatal("not warm")
			}
			for d, r := range churn(t, b, 1500, 5, 1) {
				want[d] = r
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			c.spoil(t, &o, older)
			b = mustNew(t, o)
			if b.warm {
				t.Fatal("the start used the snapshot")
			}
			checkAll(t, b, want)
			if m := marks(t, o); m[0] != (cleanMark{}) || m[1] != (cleanMark{}) {
				t.Fatalf("marks left after a start: %+v", m)
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// entriesInSnapshot replaces the entries of the first partition of
// snapshot data that has any with what change makes of them, and mends the
// section's count and checksum, so that only the entries' checks can refuse
// them.
func entriesInSnapshot(t *testing.T, data []byte, change func([]entry) []entry) []byte {
	t.Helper()
	u16 := func(at int) int { return int(binary.LittleEndian.Uint16(data[at:])) }
	u32 := func(at int) int { return int(binary.LittleEndian.Uint32(data[at:])) }
	at := 8 + 4 + 4 + 4 + 8 + 8 + 4
	devs := u32(at)
	at += 4 + 8 + 8
	names := u32(at)
	at += 4
	for range names {
		at += 2 + u16(at)
	}
	at += 4
	for range devs {
		at += 4 + 8*u32(at) + 4
	}
	for range storage.Partitions {
		n := u32(at)
		end := at + 4 + n*entrySize
		if n == 0 {
			at = end + 4
			continue
		}
		es := change(slices.Clone(unsafe.Slice((*entry)(unsafe.Pointer(&data[at+4])), n)))
		section := binary.LittleEndian.AppendUint32(nil, uint32(len(es)))
		for _, e := range es {
			section = append(section, e[:]...)
		}
		section = binary.LittleEndian.AppendUint32(section, crc32.Checksum(section, castagnoli))
		return slices.Concat(data[:at], section, data[end+4:])
	}
	t.Fatal("no entry in the snapshot")
	return nil
}
