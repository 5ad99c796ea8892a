package memory

import (
	"context"
	"errors"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sets"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

func newTestBackend(t testing.TB, dataSize int64) *Backend {
	t.Helper()
	b, err := New(Options{DataSize: dataSize})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// record returns a record with binsLen bytes of bins and a 10-byte key.
func record(gen uint32, binsLen int) storage.Record {
	return storage.Record{
		Meta: storage.Meta{Generation: gen, LastUpdate: uint64(gen), Set: "users"},
		Key:  []byte("\x03user:1234"),
		Bins: make([]byte, binsLen),
	}
}

func TestNewRejectsNegativeDataSize(t *testing.T) {
	if _, err := New(Options{DataSize: -1}); err == nil {
		t.Fatal("New accepted a negative DataSize")
	}
}

// TestZeroAllocs pins the allocation-free paths: reads into a big enough
// buffer, misses, and overwrites, whether they keep their slot size or move
// between classes that have free slots.
func TestZeroAllocs(t *testing.T) {
	ctx := context.Background()
	b := newTestBackend(t, 0)
	// Neighbours keep the partition's table from shrinking or growing.
	for i := range 100 {
		if err := b.Put(ctx, storagetest.DigestIn(1, uint64(i)), record(1, 100)); err != nil {
			t.Fatal(err)
		}
	}
	d, missing := storagetest.DigestIn(1, 0), storagetest.DigestIn(1, 1000)
	small, large := record(2, 100), record(3, 3000)
	buf := make([]byte, 0, 4096)
	for _, tc := range []struct {
		name string
		op   func()
	}{
		{"Get", func() { b.Get(ctx, d, buf) }},
		{"GetMiss", func() { b.Get(ctx, missing, buf) }},
		{"GetMeta", func() { b.GetMeta(ctx, d) }},
		{"PutSameClass", func() { b.Put(ctx, d, small) }},
		{"PutOtherClass", func() { b.Put(ctx, d, large); b.Put(ctx, d, small) }},
		{"DeleteAndPut", func() { b.Delete(ctx, d, false); b.Put(ctx, d, small) }},
	} {
		tc.op() // warm up: the first class change creates slabs
		if n := testing.AllocsPerRun(100, tc.op); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tc.name, n)
		}
	}
}

// TestDataBytes checks that DataBytes counts slots at their class size and
// dedicated allocations at their page-rounded size.
func TestDataBytes(t *testing.T) {
	ctx := context.Background()
	b := newTestBackend(t, 0)
	d := storagetest.DigestIn(0, 0)
	for _, binsLen := range []int{0, 100, 5000, maxSlotSize, 1 << 20, 10} {
		rec := record(1, binsLen)
		if err := b.Put(ctx, d, rec); err != nil {
			t.Fatal(err)
		}
		st, _ := b.Stats(ctx)
		if want := slotSizeFor(blobSize(len(rec.Key), binsLen)); st.DataBytes != uint64(want) {
			t.Fatalf("record with %d bytes of bins: DataBytes = %d, want %d", binsLen, st.DataBytes, want)
		}
	}
	if err := b.Delete(ctx, d, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Stats(ctx); st.DataBytes != 0 || st.Records != 0 {
		t.Fatalf("after deleting the only record: %+v", st)
	}
}

// TestFullStore checks the capacity limit at its edge: a full store still
// takes overwrites that do not grow, and a growing overwrite that does not
// fit leaves the old record.
func TestFullStore(t *testing.T) {
	ctx := context.Background()
	rec := record(1, 100)
	slot := slotSizeFor(blobSize(len(rec.Key), 100))
	b := newTestBackend(t, int64(10*slot))
	for i := range 10 {
		if err := b.Put(ctx, storagetest.DigestIn(0, uint64(i)), rec); err != nil {
			t.Fatalf("put %d of 10 into room for 10: %v", i, err)
		}
	}
	d := storagetest.DigestIn(0, 0)
	if err := b.Put(ctx, storagetest.DigestIn(0, 10), rec); !errors.Is(err, storage.ErrOutOfSpace) {
		t.Fatalf("put into a full store: err = %v, want ErrOutOfSpace", err)
	}
	if err := b.Put(ctx, d, record(2, 90)); err != nil {
		t.Fatalf("same-size overwrite in a full store: %v", err)
	}
	if err := b.Put(ctx, d, record(3, 1)); err != nil {
		t.Fatalf("shrinking overwrite in a full store: %v", err)
	}
	// The shrink freed room: growing back fits, growing further does not.
	if err := b.Put(ctx, d, record(4, 100)); err != nil {
		t.Fatalf("growing back into freed room: %v", err)
	}
	if err := b.Put(ctx, d, record(5, 1000)); !errors.Is(err, storage.ErrOutOfSpace) {
		t.Fatalf("growing overwrite in a full store: err = %v, want ErrOutOfSpace", err)
	}
	if m, _ := b.GetMeta(ctx, d); m.Generation != 4 {
		t.Fatalf("a failed overwrite changed the record: generation %d, want 4", m.Generation)
	}
	if st, _ := b.Stats(ctx); st.DataBytes != uint64(10*slot) {
		t.Fatalf("DataBytes = %d, want %d", st.DataBytes, 10*slot)
	}
}

func TestRecordTooBig(t *testing.T) {
	ctx := context.Background()
	b := newTestBackend(t, 0)
	err := b.Put(ctx, storagetest.DigestIn(0, 0), storage.Record{Bins: make([]byte, MaxRecordSize+1)})
	if !errors.Is(err, storage.ErrRecordTooBig) {
		t.Fatalf("Put of %d bytes: err = %v, want ErrRecordTooBig", MaxRecordSize+1, err)
	}
	small := newTestBackend(t, 1000)
	err = small.Put(ctx, storagetest.DigestIn(0, 0), storage.Record{Bins: make([]byte, 1001)})
	if !errors.Is(err, storage.ErrRecordTooBig) {
		t.Fatalf("Put larger than the capacity: err = %v, want ErrRecordTooBig", err)
	}
}

// TestTooManySets checks that a Put naming one set more than a namespace
// may have fails with ErrOutOfSpace, and says which backend refused it.
func TestTooManySets(t *testing.T) {
	ctx := context.Background()
	b := newTestBackend(t, 0)
	for i := range sets.Max {
		rec := record(1, 10)
		rec.Set = "set" + strconv.Itoa(i)
		if err := b.Put(ctx, storagetest.DigestIn(uint16(i), uint64(i)), rec); err != nil {
			t.Fatalf("set %d of %d: %v", i+1, sets.Max, err)
		}
	}
	rec := record(1, 10)
	rec.Set = "one-too-many"
	err := b.Put(ctx, storagetest.DigestIn(0, 1<<40), rec)
	if !errors.Is(err, storage.ErrOutOfSpace) || !strings.HasPrefix(err.Error(), "memory: ") {
		t.Fatalf("set %d: err = %v, want a memory backend's ErrOutOfSpace", sets.Max+1, err)
	}
}

// TestGCScanDoesNotGrow shows that the heap the garbage collector must scan
// does not grow with the number of records: index entries and record data
// hold no pointers.
func TestGCScanDoesNotGrow(t *testing.T) {
	ctx := context.Background()
	b := newTestBackend(t, 0)
	n := 200_000
	if testing.Short() {
		n = 40_000
	}
	put := func(from, to int) {
		rec := record(1, 100)
		for i := from; i < to; i++ {
			if err := b.Put(ctx, storagetest.DigestIn(uint16(i), uint64(i)), rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(0, n/4)
	before := scannableHeap()
	put(n/4, n)
	after := scannableHeap()
	grown := int64(after) - int64(before)
	t.Logf("scannable heap: %d bytes with %d records, %d with %d", before, n/4, after, n)
	// Slab metadata is scanned: 56 bytes per slab of up to 1 MiB, allotted
	// in chunks of 1024 slabs. Allow one such chunk plus noise.
	if limit := int64(64 << 10); grown > limit {
		t.Fatalf("adding %d records grew the scannable heap by %d bytes (%.2f per record), want under %d in all", n*3/4, grown, float64(grown)/float64(n*3/4), limit)
	}
}

// scannableHeap returns the heap bytes the garbage collector scans, after a
// collection.
func scannableHeap() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestRegionUnderAddressSpaceLimit: a process whose address space is
// limited still opens an unbounded backend, with a smaller region.
func TestRegionUnderAddressSpaceLimit(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector needs address space as it runs")
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	var vmKiB uint64
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			vmKiB, _ = strconv.ParseUint(strings.Fields(rest)[0], 10, 64)
		}
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &old); err != nil {
		t.Skip(err)
	}
	const room = 8 << 30
	limit := old
	limit.Cur = vmKiB<<10 + room
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &limit); err != nil {
		t.Skip(err)
	}
	b, err := New(Options{})
	if rerr := syscall.Setrlimit(syscall.RLIMIT_AS, &old); rerr != nil {
		t.Fatal(rerr)
	}
	if err != nil {
		t.Fatalf("unbounded backend under an address space limit: %v", err)
	}
	defer b.Close()
	if n := len(b.SharedIndex().Mem()); n > room || n < sharedindex.MinReserve {
		t.Errorf("region of %d bytes under a limit leaving %d", n, room)
	}
	ctx := context.Background()
	d := storage.Digest{5}
	if err := b.Put(ctx, d, storage.Record{Bins: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if rec, err := b.Get(ctx, d, nil); err != nil || string(rec.Bins) != "x" {
		t.Fatalf("get: %v, %v", rec, err)
	}
}
