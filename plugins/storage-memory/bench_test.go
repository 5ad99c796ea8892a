package memory

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// benchRecords is how many records the Get and Put benchmarks work over:
// enough that the index does not fit in cache.
const benchRecords = 1_000_000

// benchDigests returns n digests spread over all partitions.
func benchDigests(n int) []storage.Digest {
	ds := make([]storage.Digest, n)
	for i := range ds {
		ds[i] = storagetest.DigestIn(uint16(i), uint64(i))
	}
	return ds
}

// filledBackend returns a backend holding a record with 100 bytes of bins
// and a 10-byte key for each digest.
func filledBackend(b *testing.B, ds []storage.Digest) *Backend {
	be := newTestBackend(b, 0)
	rec := record(1, 100)
	for _, d := range ds {
		if err := be.Put(context.Background(), d, rec); err != nil {
			b.Fatal(err)
		}
	}
	return be
}

func BenchmarkGet(b *testing.B) {
	ds := benchDigests(benchRecords)
	be := filledBackend(b, ds)
	ctx, buf := context.Background(), make([]byte, 0, 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := be.Get(ctx, ds[i%len(ds)], buf); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSharedIndexGet is BenchmarkGet through the node's reader of the
// shared index, its own read-only mapping of the region.
func BenchmarkSharedIndexGet(b *testing.B) {
	if !sharedindex.Shareable {
		b.Skip("the shared index is read on linux/amd64 only")
	}
	ds := benchDigests(benchRecords)
	be := filledBackend(b, ds)
	r, err := sharedindex.Open(be.SharedIndex().FD(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, err := r.Get(&ds[i%len(ds)], buf); !ok || err != nil {
			b.Fatal(ok, err)
		}
		i++
	}
}

func BenchmarkGetParallel(b *testing.B) {
	ds := benchDigests(benchRecords)
	be := filledBackend(b, ds)
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx, buf := context.Background(), make([]byte, 0, 1024)
		i := next.Add(1) * 7919
		for pb.Next() {
			if _, err := be.Get(ctx, ds[i%uint64(len(ds))], buf); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkGetMeta(b *testing.B) {
	ds := benchDigests(benchRecords)
	be := filledBackend(b, ds)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := be.GetMeta(ctx, ds[i%len(ds)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkPut measures overwrites of existing records, in place
// (same-size) and moving between size classes (grow), and inserts of new
// records into a growing store (insert).
func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	b.Run("same-size", func(b *testing.B) {
		ds := benchDigests(benchRecords)
		be := filledBackend(b, ds)
		rec := record(2, 100)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := be.Put(ctx, ds[i%len(ds)], rec); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("grow", func(b *testing.B) {
		ds := benchDigests(benchRecords)
		be := filledBackend(b, ds)
		recs := [2]storage.Record{record(2, 200), record(3, 100)}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := be.Put(ctx, ds[i%len(ds)], recs[i/len(ds)%2]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("insert", func(b *testing.B) {
		be := newTestBackend(b, 0)
		rec := record(1, 100)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := be.Put(ctx, storagetest.DigestIn(uint16(i), uint64(i)), rec); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func BenchmarkPutParallel(b *testing.B) {
	ds := benchDigests(benchRecords)
	be := filledBackend(b, ds)
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx, rec := context.Background(), record(2, 100)
		i := next.Add(1) * 7919
		for pb.Next() {
			if err := be.Put(ctx, ds[i%uint64(len(ds))], rec); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkMemoryPerRecord stores 1M and 3M records of 100 bytes of bins
// and a 10-byte key and reports, per record: the memory they take (the Go
// heap's growth, and the memory file's pages in use, which hold the slabs),
// the index's share (Stats.IndexBytes) and the data's (Stats.DataBytes).
// The index's share varies with how full the partitions' tables happen to
// be.
func BenchmarkMemoryPerRecord(b *testing.B) {
	for _, n := range []int{1_000_000, 3_000_000} {
		ds := benchDigests(n)
		b.Run(fmt.Sprintf("records=%dM", n/1_000_000), func(b *testing.B) {
			rec := record(1, 100)
			ctx := context.Background()
			for b.Loop() {
				before := heapAlloc()
				be, err := New(Options{})
				if err != nil {
					b.Fatal(err)
				}
				for _, d := range ds {
					if err := be.Put(ctx, d, rec); err != nil {
						b.Fatal(err)
					}
				}
				heap := heapAlloc() - before
				region := regionBytes(b, be)
				st, _ := be.Stats(ctx)
				b.ReportMetric(float64(heap)/float64(n), "heap-B/record")
				b.ReportMetric(float64(region)/float64(n), "region-B/record")
				b.ReportMetric(float64(heap+region)/float64(n), "B/record")
				b.ReportMetric(float64(st.IndexBytes)/float64(n), "index-B/record")
				b.ReportMetric(float64(st.DataBytes)/float64(n), "data-B/record")
				be.Close()
			}
		})
	}
}

// BenchmarkGC reports the cost of a full garbage collection with 1M and 4M
// records held, in this backend and, side by side, in a plain
// map[storage.Digest][]byte, whose cost grows with the number of records:
// gc-cpu-µs is the CPU the collector spends per cycle (pauses, dedicated
// and assisting mark workers; idle-time marking left out), scan-MB the heap
// it must scan.
func BenchmarkGC(b *testing.B) {
	for _, n := range []int{1_000_000, 4_000_000} {
		ds := benchDigests(n)
		b.Run(fmt.Sprintf("memory/records=%dM", n/1_000_000), func(b *testing.B) {
			be := filledBackend(b, ds)
			reportGC(b)
			runtime.KeepAlive(be)
		})
		b.Run(fmt.Sprintf("map/records=%dM", n/1_000_000), func(b *testing.B) {
			m := make(map[storage.Digest][]byte)
			for _, d := range ds {
				m[d] = make([]byte, 110)
			}
			reportGC(b)
			runtime.KeepAlive(m)
		})
	}
}

// reportGC runs forced full collections and reports their cost.
func reportGC(b *testing.B) {
	samples := []metrics.Sample{
		{Name: "/cpu/classes/gc/total:cpu-seconds"},
		{Name: "/cpu/classes/gc/mark/idle:cpu-seconds"},
		{Name: "/gc/scan/heap:bytes"},
	}
	gcCPU := func() float64 {
		metrics.Read(samples)
		return samples[0].Value.Float64() - samples[1].Value.Float64()
	}
	runtime.GC()
	start := gcCPU()
	for b.Loop() {
		runtime.GC()
	}
	b.ReportMetric((gcCPU()-start)*1e6/float64(b.N), "gc-cpu-µs")
	b.ReportMetric(float64(samples[2].Value.Uint64())/(1<<20), "scan-MB")
}

// regionBytes is the memory the backend's region holds: its memory file's
// pages.
func regionBytes(b *testing.B, be *Backend) uint64 {
	fd := be.SharedIndex().FD()
	if fd < 0 {
		b.Skip("the region is not a memory file here")
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		b.Fatal(err)
	}
	return uint64(st.Blocks) * 512
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkResume measures a resume of the region a process left with 1M,
// 3M and 10M records of 100 bytes of bins (see Resume), per record, and the
// memory the resumed backend takes on the Go heap (the region's is
// shared with the node and unchanged).
func BenchmarkResume(b *testing.B) {
	if !sharedindex.Shareable {
		b.Skip("a region is resumed where the node shares it: linux/amd64")
	}
	for _, n := range []int{1_000_000, 3_000_000, 10_000_000} {
		ds := benchDigests(n)
		b.Run(fmt.Sprintf("records=%dM", n/1_000_000), func(b *testing.B) {
			be := filledBackend(b, ds)
			for b.Loop() {
				fd, err := unix.Dup(be.region.FD())
				if err != nil {
					b.Fatal(err)
				}
				be.closed.Store(true)
				be.region.Close()
				before := heapAlloc()
				region, err := sharedindex.Adopt(fd)
				if err != nil {
					b.Fatal(err)
				}
				var rep ResumeReport
				if be, rep, err = resume(Options{}, region); err != nil || rep.Records != n {
					b.Fatalf("%+v, %v", rep, err)
				}
				b.ReportMetric(float64(heapAlloc()-before)/float64(n), "heap-B/record")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
			be.Close()
		})
	}
}

// BenchmarkSnapshotFile measures a clean stop that saves 1M and 3M records
// of 100 bytes to a snapshot file (stop-ms) and the start that loads them
// (ms per op), with the file's size on disk per record. The file lives in
// the test's temporary directory: its disk decides the figures.
func BenchmarkSnapshotFile(b *testing.B) {
	if !sharedindex.Shareable {
		b.Skip("snapshot files need Linux")
	}
	for _, n := range []int{1_000_000, 3_000_000} {
		ds := benchDigests(n)
		b.Run(fmt.Sprintf("records=%dM", n/1_000_000), func(b *testing.B) {
			opts := Options{SnapshotFile: filepath.Join(b.TempDir(), "test.snapshot")}
			be, err := New(opts)
			if err != nil {
				b.Fatal(err)
			}
			rec := record(1, 100)
			for _, d := range ds {
				if err := be.Put(context.Background(), d, rec); err != nil {
					b.Fatal(err)
				}
			}
			var stop time.Duration
			var onDisk int64
			for b.Loop() {
				b.StopTimer()
				start := time.Now()
				be.Close()
				stop += time.Since(start)
				var st syscall.Stat_t
				if err := syscall.Stat(opts.SnapshotFile, &st); err != nil {
					b.Fatal(err)
				}
				onDisk = st.Blocks * 512
				b.StartTimer()
				if be, err = New(opts); err != nil {
					b.Fatal(err)
				}
				if st, _ := be.Stats(context.Background()); st.Records != uint64(n) {
					b.Fatalf("%d records loaded, want %d", st.Records, n)
				}
			}
			b.ReportMetric(stop.Seconds()*1e3/float64(b.N), "stop-ms")
			b.ReportMetric(float64(onDisk)/float64(n), "disk-B/record")
			be.Close()
		})
	}
}
