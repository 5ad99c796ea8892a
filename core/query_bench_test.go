package core_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/config"
)

// BenchmarkQuery measures scans, secondary indexes and queries at scale,
// through the official client, against a node in the test process with a
// memory namespace linked in (mode in-process):
//
//	SKIFF_BENCH_RECORDS=10000000 go test ./core -run '^$' -bench '^BenchmarkQuery$' -benchtime 2s -timeout 60m
//
// (make bench-query). Record n of SKIFF_BENCH_RECORDS records (100,000
// unless set; rounded down to a multiple of 100) has two integer bins:
// i = n mod (records/100), so that each value of i is held by exactly 100
// records, and n = n. The sub-benchmarks share the node and its records:
//
//   - Load: every record written with BatchOperate, batches of 1,000 from 8
//     goroutines, as fast as the client loads (if -bench leaves Load out,
//     the records are loaded anyway);
//   - CreateIndex: a numeric index on i built over the existing records,
//     from CreateIndex until the IndexTask reports it complete (ns/op: its
//     IsDone polled every 5 ms; task-s: the client's own OnComplete, which
//     polls every 100 ms, then less and less often). Also the index's
//     memory per entry: the Go heap it added (runtime.MemStats after a GC,
//     before and after the build) and the node's own figure (sindex-stat).
//   - EqualInt: equality queries on that index for random values, each
//     returning 100 records with all their bins; p50 and p99 in ms.
//   - ScanAll: a scan of the whole namespace, all bins, with the client's
//     default scan policy; records/s, client included.
//
// The client and the node share this process, its two CPUs and its
// garbage collector: the client's garbage (the Go client allocates a status
// for each of the 4096 partitions per query, and a map per record scanned)
// starts collections that slow the node too, which a node in its own
// process would not see. The node's goroutines carry the pprof label
// side=server, so that a -cpuprofile splits into the node's share and the
// client's:
//
//	go tool pprof -top -tagfocus side=server core.test cpu.out
func BenchmarkQuery(b *testing.B) {
	records := benchRecords(b)
	var n *testNode
	pprof.Do(context.Background(), pprof.Labels("side", "server"), func(context.Context) {
		n = startNode(b, queryBenchConfig(b))
	})
	c := n.connect(b)
	b.Run(fmt.Sprintf("records=%d", records), func(b *testing.B) {
		loaded := false
		if !b.Run("Load", func(b *testing.B) { benchLoad(b, c, records); loaded = true }) {
			return
		}
		if !loaded { // filtered out by -bench: load anyway
			loadBenchRecords(b, c, records)
		}
		b.Run("CreateIndex", func(b *testing.B) { benchCreateIndex(b, c, records) })
		b.Run("EqualInt", func(b *testing.B) { benchEqualInt(b, c, records) })
		b.Run("ScanAll", func(b *testing.B) { benchScanAll(b, c, records) })
	})
}

const (
	benchSet   = "qbench"
	benchIndex = "qbench_i"
	// benchMatches is how many records hold each value of bin i: what an
	// equality query returns.
	benchMatches = 100
)

// benchRecords is the number of records to load: SKIFF_BENCH_RECORDS, or
// 100,000.
func benchRecords(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("SKIFF_BENCH_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < benchMatches {
			b.Fatalf("SKIFF_BENCH_RECORDS=%q: want a number of records ≥ %d", s, benchMatches)
		}
		n = v
	}
	return n / benchMatches * benchMatches
}

// queryBenchConfig is a single memory namespace linked into the node, with
// room for tens of millions of small records, and the expiry scan (nsup)
// kept out of the measurements.
func queryBenchConfig(b *testing.B) *config.Config {
	b.Helper()
	cfg, err := config.Parse("query-bench.conf", []byte(`
namespace test {
	default-ttl 0
	nsup-period 3600
	storage-engine memory {
		data-size 8G
		mode in-process
	}
}
`))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// Loading: BatchOperate writes of loadBatch records from loadWorkers
// goroutines.
const loadBatch, loadWorkers = 1000, 8

// benchLoad writes every record b.N times (overwriting them after the
// first): how fast the official client loads a namespace.
func benchLoad(b *testing.B, c *as.Client, records int) {
	var cpu cpuMeter
	cpu.start()
	for range b.N {
		loadBenchRecords(b, c, records)
	}
	cpu.stop()
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	cpu.report(b)
	b.Logf("load: batches of %d records from %d goroutines; %s", loadBatch, loadWorkers, loadAverage())
}

// loadBenchRecords writes the records.
func loadBenchRecords(b *testing.B, c *as.Client, records int) {
	b.Helper()
	const batch, workers = loadBatch, loadWorkers
	distinct := records / benchMatches
	bp := as.NewBatchPolicy()
	bp.TotalTimeout, bp.SocketTimeout = 0, 30*time.Second
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			recs := make([]as.BatchRecordIfc, 0, batch)
			for {
				lo := int(next.Add(batch)) - batch
				if lo >= records {
					return
				}
				recs = recs[:0]
				for i := lo; i < min(lo+batch, records); i++ {
					k, err := as.NewKey("test", benchSet, i)
					if err != nil {
						errs <- err
						return
					}
					recs = append(recs, as.NewBatchWrite(nil, k,
						as.PutOp(as.NewBin("i", i%distinct)), as.PutOp(as.NewBin("n", i))))
				}
				if err := c.BatchOperate(bp, recs); err != nil {
					errs <- fmt.Errorf("batch from record %d: %w", lo, err)
					return
				}
				for _, r := range recs {
					if br := r.BatchRec(); br.Err != nil {
						errs <- fmt.Errorf("record %v: %w", br.Key.Value(), br.Err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// benchCreateIndex builds the index on bin i over the loaded records, b.N
// times (dropping it first if it exists), and leaves it in place for
// EqualInt.
func benchCreateIndex(b *testing.B, c *as.Client, records int) {
	var took, taskTook time.Duration
	var heapPerEntry float64
	var cpu cpuMeter
	for range b.N {
		b.StopTimer()
		dropBenchIndex(b, c)
		before := heapInUse()
		b.StartTimer()

		cpu.start()
		start := time.Now()
		task, err := c.CreateIndex(nil, "test", benchSet, benchIndex, "i", as.NUMERIC)
		if err != nil {
			b.Fatal(err)
		}
		// The client's OnComplete polls every 100 ms, then less often:
		// time it, and poll more finely alongside.
		complete := task.OnComplete()
		for {
			done, err := task.IsDone()
			if err != nil {
				b.Fatal(err)
			}
			if done {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		took += time.Since(start)
		b.StopTimer()
		cpu.stop()
		if err := <-complete; err != nil {
			b.Fatal(err)
		}
		taskTook += time.Since(start)
		heapPerEntry = (float64(heapInUse()) - float64(before)) / float64(records)
		b.StartTimer()
	}
	stat := info(b, c, "sindex-stat:namespace=test;indexname="+benchIndex)
	if got := statField(stat, "entries"); got != strconv.Itoa(records) {
		b.Fatalf("index has %s entries, want %d (%s)", got, records, stat)
	}
	statPerEntry, _ := strconv.ParseFloat(statField(stat, "bytes_per_entry"), 64)
	b.ReportMetric(taskTook.Seconds()/float64(b.N), "task-s")
	b.ReportMetric(float64(records)*float64(b.N)/took.Seconds(), "records/s")
	b.ReportMetric(heapPerEntry, "heap-B/entry")
	b.ReportMetric(statPerEntry, "stat-B/entry")
	cpu.report(b)
	b.Logf("create index: %s", loadAverage())
}

// dropBenchIndex drops the benchmark's index if it exists.
func dropBenchIndex(b *testing.B, c *as.Client) {
	b.Helper()
	if info(b, c, "sindex-exists:ns=test;indexname="+benchIndex) == "true" {
		if err := c.DropIndex(nil, "test", benchSet, benchIndex); err != nil {
			b.Fatal(err)
		}
	}
}

// ensureBenchIndex creates the index if CreateIndex did not run.
func ensureBenchIndex(b *testing.B, c *as.Client) {
	b.Helper()
	if info(b, c, "sindex-exists:ns=test;indexname="+benchIndex) == "true" {
		return
	}
	task, err := c.CreateIndex(nil, "test", benchSet, benchIndex, "i", as.NUMERIC)
	if err != nil {
		b.Fatal(err)
	}
	if err := <-task.OnComplete(); err != nil {
		b.Fatal(err)
	}
}

// heapInUse is the live Go heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// statField returns the value of name in an info answer of name=value
// pairs separated by ';' or ':'.
func statField(s, name string) string {
	for _, kv := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ':' }) {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// benchEqualInt runs b.N equality queries for random values of bin i, one
// at a time, each returning all bins of its 100 records.
func benchEqualInt(b *testing.B, c *as.Client, records int) {
	ensureBenchIndex(b, c)
	distinct := records / benchMatches
	rng := rand.New(rand.NewPCG(1, 2))
	qp := as.NewQueryPolicy()
	lat := make([]time.Duration, 0, b.N)
	var cpu cpuMeter
	b.ResetTimer()
	cpu.start()
	for range b.N {
		v := rng.IntN(distinct)
		stmt := as.NewStatement("test", benchSet)
		if err := stmt.SetFilter(as.NewEqualFilter("i", v)); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		rs, err := c.Query(qp, stmt)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for r := range rs.Results() {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			if r.Record.Bins["i"] != v {
				b.Fatalf("query i=%d returned %v", v, r.Record.Bins)
			}
			got++
		}
		lat = append(lat, time.Since(start))
		if got != benchMatches {
			b.Fatalf("query i=%d returned %d records, want %d", v, got, benchMatches)
		}
	}
	b.StopTimer()
	cpu.stop()
	slices.Sort(lat)
	b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
	b.ReportMetric(float64(benchMatches), "records/query")
	cpu.report(b)
	b.Logf("equality queries: %s", loadAverage())
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, (len(sorted)*p+99)/100-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchScanAll scans the whole namespace b.N times, all bins, with the
// client's default scan policy, and checks it sees every record.
func benchScanAll(b *testing.B, c *as.Client, records int) {
	sp := as.NewScanPolicy()
	var cpu cpuMeter
	b.ResetTimer()
	cpu.start()
	for range b.N {
		rs, err := c.ScanAll(sp, "test", "")
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for r := range rs.Results() {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
			if len(r.Record.Bins) != 2 {
				b.Fatalf("record with bins %v", r.Record.Bins)
			}
			got++
		}
		if got != records {
			b.Fatalf("scan returned %d records, want %d", got, records)
		}
	}
	cpu.stop()
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	cpu.report(b)
	b.Logf("scan all: %s", loadAverage())
}

// loadAverage is the machine's load average, to judge how quiet it was.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "load average unknown"
	}
	return "load average " + strings.Join(f[:3], " ")
}

// cpuMeter measures the CPU this process and the rest of the machine use
// while it runs (between start and stop, summed over calls), in cores: the
// rest is other work competing for the two CPUs, which makes a figure noisy.
type cpuMeter struct {
	began               time.Time
	selfAt, machineAt   float64
	wall, self, machine float64
}

func (m *cpuMeter) start() {
	m.began, m.selfAt, m.machineAt = time.Now(), selfCPU(), machineCPU()
}

func (m *cpuMeter) stop() {
	m.wall += time.Since(m.began).Seconds()
	m.self += selfCPU() - m.selfAt
	m.machine += machineCPU() - m.machineAt
}

// report adds the metrics self-cores and other-cores.
func (m *cpuMeter) report(b *testing.B) {
	if m.wall <= 0 {
		return
	}
	b.ReportMetric(m.self/m.wall, "self-cores")
	// /proc/stat counts in hundredths of a second: too coarse for a
	// short run.
	if m.machine > 0 && m.wall >= 1 {
		b.ReportMetric(max(m.machine-m.self, 0)/m.wall, "other-cores")
	}
}

// selfCPU is the CPU time this process has used, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// machineCPU is the CPU time every CPU of the machine has spent busy, in
// seconds, from /proc/stat (0 where there is none).
func machineCPU() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	busy := 0.0
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / 100 // USER_HZ
}
