package nvme

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffdb/skiff/internal/shmtest"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// Benchmarks over real files with direct I/O in b.TempDir(). Records have
// a 3-byte key and binsLen bytes of bins; reads and overwrites pick among
// benchRecords records at random, so neither the index nor the devices'
// caches hold what is asked next.
//
//	go test -run '^$' -bench . -benchtime 200000x ./plugins/storage-nvme/
//
// BenchmarkIndexBytesPerRecord, BenchmarkColdStart and BenchmarkWarmStart
// take their record count from -nvme.records, the last two their records'
// bins from -nvme.bins and data-in-memory from -nvme.data-in-memory, and
// BenchmarkColdStart keeps its files in -nvme.dir, for bench/device.sh
// (10M records, then fio on the files):
//
//	go test -run '^$' -bench 'IndexBytesPerRecord|ColdStart' -benchtime 1x ./plugins/storage-nvme/ \
//		-args -nvme.records 10000000 -nvme.dir /var/tmp/coldstart

const benchRecords = 1_000_000

var (
	benchRecordsFlag = flag.Int("nvme.records", 0, "records of BenchmarkIndexBytesPerRecord and BenchmarkColdStart (0: 1M and 4M, and 1M)")
	benchBinsFlag    = flag.Int("nvme.bins", 100, "bytes of bins of each record of BenchmarkColdStart and BenchmarkWarmStart")
	benchDirFlag     = flag.String("nvme.dir", "", "directory for BenchmarkColdStart's files (a.dat, b.dat), kept after it (default: a temporary directory)")
	benchDIMFlag     = flag.Bool("nvme.data-in-memory", false, "BenchmarkColdStart and BenchmarkWarmStart with data-in-memory: each start also fills the copy")
	benchBufferFlag  = flag.String("nvme.write-buffer-dir", "", "directory on a tmpfs for the write-buffer-file of each in-process backend (default: none, the buffers in the shared index)")
)

func benchOptions(dir string, fileSize int64) Options {
	o := DefaultOptions()
	o.Namespace = "bench"
	o.Files = []string{dir + "/a.dat", dir + "/b.dat"}
	o.FileSize = fileSize
	o.Logger = testLogger()
	if *benchBufferFlag != "" {
		o.WriteBufferFile = filepath.Join(*benchBufferFlag, filepath.Base(filepath.Dir(dir))+filepath.Base(dir)+".buffers")
	}
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
	fill(b, be, ds, binsLen)
	return be
}

// restarted returns a backend that held a record for each of ds and was
// restarted: with no post-write queue in o, nothing of them is in memory.
func restarted(b *testing.B, o Options, ds []storage.Digest, binsLen int) *Backend {
	filled(b, o, ds, binsLen).Close()
	be, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

// fill writes a record for each of ds.
func fill(b *testing.B, be storage.Backend, ds []storage.Digest, binsLen int) {
	r := rec(1, binsLen)
	for _, d := range ds {
		if _, err := put(be, d, r); err != nil {
			b.Fatal(err)
		}
	}
}

// put stores r under d as a client would: writes refused because the
// device is behind (max-write-cache) are tried again after a pause, which
// the benchmark's time includes, as it included the wait in the backend
// before writes were refused. It returns how many were refused.
func put(be storage.Backend, d storage.Digest, r storage.Record) (refused int, err error) {
	for {
		err = be.Put(ctx, d, r)
		if !errors.Is(err, storage.ErrOverloaded) {
			return refused, err
		}
		refused++
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkGet reads random records of 100 bytes of bins: from the device
// (no post-write queue, after a restart, so nothing is in memory), from
// the device through the page cache (read-page-cache; the cold start's
// reads leave the file's pages in it), and from the post-write queue.
func BenchmarkGet(b *testing.B) {
	ds := benchDigests(benchRecords)
	for _, tc := range []struct {
		name      string
		pwq       int
		pageCache bool
	}{{"device", 0, false}, {"page-cache", 0, true}, {"cache", 1024, false}} {
		b.Run(tc.name, func(b *testing.B) {
			o := benchOptions(b.TempDir(), 256<<20)
			o.PostWriteQueue = tc.pwq
			o.ReadPageCache = tc.pageCache
			var be *Backend
			if tc.pwq == 0 {
				be = restarted(b, o, ds, 100)
			} else {
				be = filled(b, o, ds, 100)
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

// BenchmarkScan scans every partition of a backend holding 200,000 records
// of 1 KiB of bins, from the device (no post-write queue, after a restart,
// so nothing is in memory), in-process and through a plugin process (a
// node's Process). An op is one record delivered.
func BenchmarkScan(b *testing.B) {
	ds := benchDigests(200_000)
	for _, mode := range []string{"in-process", "process"} {
		b.Run("mode="+mode, func(b *testing.B) {
			o := benchOptions(b.TempDir(), 256<<20)
			o.PostWriteQueue = 0
			var be storage.Backend
			if mode == "process" {
				filled(b, o, ds, 1000).Close()
				be = startPlugin(b, map[string]string{"files": strings.Join(o.Files, ","), "filesize": fmt.Sprint(o.FileSize), "post-write-queue": "0"})
			} else {
				be = restarted(b, o, ds, 1000)
			}
			b.SetBytes(1000)
			b.ResetTimer()
			n := 0
			for n < b.N {
				for pid := uint16(0); pid < storage.Partitions && n < b.N; pid++ {
					err := be.ScanPartition(ctx, pid, false, func(storage.Digest, *storage.Record) error {
						n++
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkGetParallel reads random records of 100 bytes of bins from 8
// goroutines per CPU, after a restart with no post-write queue: from the
// device, where latency hides behind queue depth, or from the copy of
// data-in-memory; in-process and through a plugin process, whose records
// the node (here, the Process) reads itself.
func BenchmarkGetParallel(b *testing.B) {
	ds := benchDigests(benchRecords)
	for _, mode := range []string{"in-process", "process"} {
		for _, dim := range []bool{false, true} {
			b.Run(fmt.Sprintf("mode=%s/data-in-memory=%v", mode, dim), func(b *testing.B) {
				o := benchOptions(b.TempDir(), 256<<20)
				o.PostWriteQueue = 0
				o.DataInMemory = dim
				var be storage.Backend
				if mode == "process" {
					filled(b, o, ds, 100).Close()
					be = startPlugin(b, map[string]string{"files": strings.Join(o.Files, ","), "filesize": fmt.Sprint(o.FileSize),
						"post-write-queue": "0", "data-in-memory": fmt.Sprint(dim)})
				} else {
					be = restarted(b, o, ds, 100)
				}
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
			})
		}
	}
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
				b.SetBytes(int64(binsLen))
				b.ReportAllocs()
				if commit {
					b.SetParallelism(16)
				}
				overwrite(b, be, ds, rec(2, binsLen))
				st, _ := be.Stats(ctx)
				b.ReportMetric(st.Extra["device_syncs"]/float64(b.N), "syncs/op")
				b.ReportMetric(st.Extra["defrag_reads"], "defrag-blocks")
			})
		}
	}
}

// BenchmarkPutLarge overwrites records of 128 KiB of bins from 16
// goroutines: 2,500 of them, a third of two 512 MiB files, so that the
// defragmenter works alongside the writers, as in a sustained update load.
// In process mode the backend is this test binary as a plugin process, and
// every record crosses its data socket.
func BenchmarkPutLarge(b *testing.B) {
	const binsLen = 128 << 10
	ds := benchDigests(2500)
	for _, mode := range []string{"in-process", "process"} {
		b.Run("mode="+mode, func(b *testing.B) {
			dir := b.TempDir()
			o := benchOptions(dir, 512<<20)
			var be storage.Backend
			if mode == "process" {
				be = startPlugin(b, map[string]string{"files": strings.Join(o.Files, ","), "filesize": fmt.Sprint(o.FileSize)})
				fill(b, be, ds, binsLen)
			} else {
				be = filled(b, o, ds, binsLen)
			}
			b.SetBytes(binsLen)
			b.SetParallelism(8)
			overwrite(b, be, ds, rec(2, binsLen))
			st, _ := be.Stats(ctx)
			b.ReportMetric(st.Extra["defrag_reads"]/float64(b.N), "defrag-blocks/op")
		})
	}
}

// startPlugin serves a backend with the given settings from a plugin
// process (this test binary) until b ends.
func startPlugin(b *testing.B, settings map[string]string) *plugin.Process {
	p, err := plugin.Start(ctx, plugin.Config{Path: os.Args[0], Namespace: "bench", Settings: settings, Logger: testLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

// overwrite times b.N Puts of r over random records of ds, from parallel
// goroutines.
func overwrite(b *testing.B, be storage.Backend, ds []storage.Digest, r storage.Record) {
	var seed, refusals atomic.Uint64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 3))
		for pb.Next() {
			refused, err := put(be, ds[rng.IntN(len(ds))], r)
			if err != nil {
				b.Error(err)
				return
			}
			refusals.Add(uint64(refused))
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(refusals.Load())/float64(b.N), "refused/op")
}

// BenchmarkIndexBytesPerRecord fills a backend with 1M and 4M records (or
// -nvme.records) of 8 bytes of bins, with the index in DRAM and on flash
// (index-type flash, its files in a temporary directory: on the disk
// unless TMPDIR says otherwise), and reports, per record:
//
//	index-B/record  Stats.IndexBytes: the index's tables, in DRAM with dram,
//	                in the mapped files of the mount with flash
//	heap-B/record   the Go heap's growth
//	anon-B/record   the growth of the process's anonymous resident memory
//	                (RssAnon, Linux): DRAM the kernel cannot page out to
//	                the index's files (the heap, write buffers)
//	shmem-B/record  the growth of its shared resident memory (RssShmem):
//	                with dram, the index's tables, in the memory file the
//	                node maps (see sharedindex)
//	file-B/record   the growth of its file-backed resident memory (RssFile):
//	                with flash, the index's pages the kernel keeps cached,
//	                which it evicts under memory pressure
//
// The post-write queue is 8 blocks a file (16 MiB for the two files, 1.7
// bytes a record at 10M), so that write buffers weigh little in anon-B.
// Resident memory is read after debug.FreeOSMemory, so that garbage left
// by the fill is not counted.
func BenchmarkIndexBytesPerRecord(b *testing.B) {
	counts := []int{1_000_000, 4_000_000}
	if *benchRecordsFlag > 0 {
		counts = []int{*benchRecordsFlag}
	}
	for _, it := range []IndexType{IndexDRAM, IndexFlash} {
		for _, n := range counts {
			b.Run(fmt.Sprintf("index=%s/records=%d", it, n), func(b *testing.B) {
				ds := benchDigests(n)
				for b.Loop() {
					dir := b.TempDir()
					o := benchOptions(dir, (int64(n)*64/(1<<20)+64)<<20)
					o.PostWriteQueue = 8
					if it == IndexFlash {
						o.IndexType, o.IndexMount = IndexFlash, dir
					}
					debug.FreeOSMemory()
					var before, after runtime.MemStats
					runtime.ReadMemStats(&before)
					rss0 := residentMemory()
					be := filled(b, o, ds, 8)
					debug.FreeOSMemory()
					runtime.ReadMemStats(&after)
					rss1 := residentMemory()
					st, _ := be.Stats(ctx)
					if st.Records != uint64(n) {
						b.Fatalf("%d records, want %d", st.Records, n)
					}
					recs := float64(st.Records)
					b.ReportMetric(float64(st.IndexBytes)/recs, "index-B/record")
					b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/recs, "heap-B/record")
					if rss0.ok && rss1.ok {
						b.ReportMetric(float64(rss1.anon-rss0.anon)/recs, "anon-B/record")
						b.ReportMetric(float64(rss1.shmem-rss0.shmem)/recs, "shmem-B/record")
						b.ReportMetric(float64(rss1.file-rss0.file)/recs, "file-B/record")
					}
					be.Close()
				}
			})
		}
	}
}

// rss is the process's resident memory by kind, in bytes.
type rss struct {
	anon, shmem, file int64
	ok                bool
}

// residentMemory reads RssAnon, RssShmem and RssFile from
// /proc/self/status; ok is false where there are none.
func residentMemory() rss {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return rss{}
	}
	defer f.Close()
	var r rss
	var found int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		var dst *int64
		switch k {
		case "RssAnon":
			dst = &r.anon
		case "RssShmem":
			dst = &r.shmem
		case "RssFile":
			dst = &r.file
		default:
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return rss{}
		}
		*dst = kb << 10
		found++
	}
	r.ok = found == 3
	return r
}

// BenchmarkColdStart measures rebuilding the index of 1M (or
// -nvme.records) records of 100 bytes of bins from two files, sized for
// them with about 10% to spare. The cold start reads every block of each
// file, one reader per file, 8 MiB at a time; scan-MB/s is the files' bytes
// over its time. With -nvme.dir the files are made there (replacing any
// left by an earlier run) and kept, so that bench/device.sh can read them
// with fio and set that figure against the disk's sequential read
// bandwidth.
func BenchmarkColdStart(b *testing.B) {
	o, n, fileBytes := startFiles(b, "")
	for b.Loop() {
		be, el := timeStart(b, o, n, fileBytes, 0)
		b.ReportMetric(float64(fileBytes)/1e6/el.Seconds(), "scan-MB/s")
		be.Close()
	}
	b.Logf("files %s (%d bytes in all)", strings.Join(o.Files, ", "), fileBytes)
}

// BenchmarkWarmStart is BenchmarkColdStart's start after a clean stop,
// which loads the index from the snapshot that stop wrote; it reports the
// stop's time too (writing the snapshot and marking the files).
func BenchmarkWarmStart(b *testing.B) {
	o, n, fileBytes := startFiles(b, "index.snapshot")
	var stop time.Duration
	for b.Loop() {
		be, _ := timeStart(b, o, n, fileBytes, 1)
		start := time.Now()
		be.Close()
		stop += time.Since(start)
	}
	b.ReportMetric(stop.Seconds()*1e3/float64(b.N), "stop-ms")
	if fi, err := os.Stat(o.Snapshot); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(n), "snapshot-B/record")
	}
}

// BenchmarkResume is BenchmarkColdStart's start, then the start of a
// process taking over its index after it died (resume.go), side by side in
// each iteration: cold-ms/1M and resume-ms/1M are their times per million
// records. handed-over: the next plugin process gets the region from the
// node; region-file: the next node's finds it in its region file;
// index=flash: likewise in the index's file on the mount (a temporary
// directory: on the disk unless TMPDIR says otherwise).
func BenchmarkResume(b *testing.B) {
	if !sharedindex.Shareable {
		b.Skip("regions are handed over where the node shares them: linux/amd64")
	}
	for _, kind := range []string{"handed-over", "region-file", "index=flash"} {
		b.Run(kind, func(b *testing.B) {
			o, n, _ := startFiles(b, "")
			switch kind {
			case "region-file":
				o.RegionFile = filepath.Join(shmtest.Dir(b), "bench.region")
			case "index=flash":
				o.IndexType, o.IndexMount = IndexFlash, b.TempDir()
			}
			path, _ := o.regionFile()
			var cold, resume time.Duration
			for b.Loop() {
				if path != "" {
					os.Remove(path) // the last iteration's: this start is cold
				}
				start := time.Now()
				be, err := New(o)
				if err != nil {
					b.Fatal(err)
				}
				cold += time.Since(start)
				left := die(b, be)
				if path != "" {
					left.Close()
					left = nil
				}
				start = time.Now()
				be, err = newBackend(o, left)
				if err != nil {
					b.Fatal(err)
				}
				resume += time.Since(start)
				if st, _ := be.Stats(ctx); st.Records != uint64(n) || !be.resumed {
					b.Fatalf("%d records after the start (resumed %v), want %d", st.Records, be.resumed, n)
				}
				be.Close()
			}
			perM := func(d time.Duration) float64 { return d.Seconds() * 1e3 * 1e6 / float64(n) / float64(b.N) }
			b.ReportMetric(perM(cold), "cold-ms/1M")
			b.ReportMetric(perM(resume), "resume-ms/1M")
			b.ReportMetric(cold.Seconds()/resume.Seconds(), "cold/resume")
		})
	}
}

// timeStart opens a backend over the files of startFiles, checks that it
// holds their n records and started warm (1) or cold (0), and reports the
// start's figures.
func timeStart(b *testing.B, o Options, n int, fileBytes int64, warm float64) (*Backend, time.Duration) {
	start := time.Now()
	be, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	st, _ := be.Stats(ctx)
	if st.Records != uint64(n) || st.Extra["warm_start"] != warm {
		b.Fatalf("%d records after the start (warm_start %v), want %d (%v)", st.Records, st.Extra["warm_start"], n, warm)
	}
	b.ReportMetric(el.Seconds()*1e3*1e6/float64(st.Records), "ms/1M-records")
	b.ReportMetric(float64(st.Records)/el.Seconds(), "records/s")
	b.ReportMetric(float64(fileBytes)/1e6, "files-MB")
	b.ReportMetric(float64(st.IndexBytes)/float64(st.Records), "index-B/record")
	return be, el
}

// startFiles makes BenchmarkColdStart's files and returns their options,
// their record count and their size. With snapshot, the options keep an
// index snapshot of that name beside them, and the files are stopped
// cleanly with one.
func startFiles(b *testing.B, snapshot string) (Options, int, int64) {
	n := benchRecords
	if *benchRecordsFlag > 0 {
		n = *benchRecordsFlag
	}
	dir := *benchDirFlag
	if dir == "" {
		dir = b.TempDir()
	}
	// 184 bytes a record on the device with 100 bytes of bins (a 76-byte
	// header, set "users", a 3-byte key), half of them in each file.
	bins := *benchBinsFlag
	o := benchOptions(dir, (int64(n/2+1)*int64(bins+100)/(1<<20)+64)<<20)
	for _, f := range o.Files {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			b.Fatal(err)
		}
	}
	if snapshot != "" {
		o.Snapshot = filepath.Join(dir, snapshot)
	}
	be := filled(b, o, benchDigests(n), bins)
	be.Close()
	var fileBytes int64
	for _, f := range o.Files {
		st, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		fileBytes += st.Size()
	}
	o.DataInMemory = *benchDIMFlag
	return o, n, fileBytes
}
