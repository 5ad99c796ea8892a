package nvme

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// Benchmarks over real files with direct I/O in b.TempDir(). Records have
// a 3-byte key and binsLen bytes of bins; reads and overwrites pick among
// benchRecords records at random, so neither the index nor the devices'
// caches hold what is asked next.
//
//	go test -run '^$' -bench . -benchtime 200000x ./plugins/storage-nvme/

const benchRecords = 1_000_000

func benchOptions(dir string, fileSize int64) Options {
	o := DefaultOptions()
	o.Namespace = "bench"
	o.Files = []string{dir + "/a.dat", dir + "/b.dat"}
	o.FileSize = fileSize
	o.Logger = testLogger()
	return o
}

func benchDigests(n int) []storage.Digest {
	ds := make([]storage.Digest, n)
	for i := range ds {
		ds[i] = storagetest.DigestIn(uint16(i), uint64(i))
	}
	return ds
}

// filled returns a backend holding a record for each of ds.
func filled(b *testing.B, o Options, ds []storage.Digest, binsLen int) *Backend {
	be, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	r := rec(1, binsLen)
	for _, d := range ds {
		if err := be.Put(ctx, d, r); err != nil {
			b.Fatal(err)
		}
	}
	return be
}

// BenchmarkGet reads random records of 100 bytes of bins: from the device
// (no post-write queue, after a restart, so nothing is in memory), and
// from the post-write queue.
func BenchmarkGet(b *testing.B) {
	ds := benchDigests(benchRecords)
	for _, tc := range []struct {
		name string
		pwq  int
	}{{"device", 0}, {"cache", 1024}} {
		b.Run(tc.name, func(b *testing.B) {
			o := benchOptions(b.TempDir(), 256<<20)
			o.PostWriteQueue = tc.pwq
			be := filled(b, o, ds, 100)
			if tc.pwq == 0 {
				be.Close()
				var err error
				if be, err = New(o); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { be.Close() })
			}
			buf := make([]byte, 0, 1024)
			rng := rand.New(rand.NewPCG(1, 2))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := be.Get(ctx, ds[rng.IntN(len(ds))], buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st, _ := be.Stats(ctx)
			b.ReportMetric(st.Extra["cache_read_pct"], "cache-%")
		})
	}
}

// BenchmarkGetParallel reads from the device from 16 goroutines: NVMe
// latency hides behind queue depth.
func BenchmarkGetParallel(b *testing.B) {
	ds := benchDigests(benchRecords)
	o := benchOptions(b.TempDir(), 256<<20)
	o.PostWriteQueue = 0
	be := filled(b, o, ds, 100)
	be.Close()
	be, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	var seed atomic.Uint64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 2))
		buf := make([]byte, 0, 1024)
		for pb.Next() {
			if _, err := be.Get(ctx, ds[rng.IntN(len(ds))], buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPut overwrites random records among benchRecords, buffered and
// with commit-to-device (from 32 goroutines, so that group commit has
// writers to group).
func BenchmarkPut(b *testing.B) {
	ds := benchDigests(benchRecords)
	for _, binsLen := range []int{100, 1000} {
		for _, commit := range []bool{false, true} {
			b.Run(fmt.Sprintf("bins=%d/commit=%v", binsLen, commit), func(b *testing.B) {
				o := benchOptions(b.TempDir(), 1<<30)
				o.CommitToDevice = commit
				be := filled(b, o, ds, binsLen)
				r := rec(2, binsLen)
				var seed atomic.Uint64
				b.SetBytes(int64(binsLen))
				b.ReportAllocs()
				if commit {
					b.SetParallelism(16)
				}
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					rng := rand.New(rand.NewPCG(seed.Add(1), 3))
					for pb.Next() {
						if err := be.Put(ctx, ds[rng.IntN(len(ds))], r); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				st, _ := be.Stats(ctx)
				b.ReportMetric(st.Extra["device_syncs"]/float64(b.N), "syncs/op")
				b.ReportMetric(st.Extra["defrag_reads"], "defrag-blocks")
			})
		}
	}
}

// BenchmarkIndexBytesPerRecord fills a backend with 1M and 4M records and
// reports the index's bytes per record (Stats.IndexBytes, which is all the
// DRAM the index takes: tables and partition headers) and the Go heap's
// growth per record (the index plus per-block state; write buffers are
// outside the heap).
func BenchmarkIndexBytesPerRecord(b *testing.B) {
	for _, n := range []int{1_000_000, 4_000_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				o := benchOptions(b.TempDir(), (int64(n)*64/(1<<20)+64)<<20)
				be := filled(b, o, benchDigests(n), 8)
				runtime.GC()
				runtime.ReadMemStats(&after)
				st, _ := be.Stats(ctx)
				b.ReportMetric(float64(st.IndexBytes)/float64(st.Records), "index-B/record")
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(st.Records), "heap-B/record")
				be.Close()
			}
		})
	}
}

// BenchmarkColdStart measures rebuilding the index of 1M records of 100
// bytes of bins from two files.
func BenchmarkColdStart(b *testing.B) {
	o := benchOptions(b.TempDir(), 256<<20)
	be := filled(b, o, benchDigests(benchRecords), 100)
	be.Close()
	for b.Loop() {
		start := time.Now()
		be, err := New(o)
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		st, _ := be.Stats(ctx)
		if st.Records != benchRecords {
			b.Fatalf("%d records after cold start", st.Records)
		}
		b.ReportMetric(el.Seconds()*1e3*1e6/float64(st.Records), "ms/1M-records")
		b.ReportMetric(float64(st.Records)/el.Seconds(), "records/s")
		be.Close()
	}
}
