package core_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/config"
)

// The benchmarks of reads that wait: on a device, or across a plugin's
// socket.

// BenchmarkBatchGet times batch reads of 100 random keys among 10,000
// records of 1 KiB through the official client, from one goroutine (ns/op
// is a batch's latency) and from four: in a device namespace whose
// post-write queue is off, so that every read goes to the file, and in a
// memory namespace; in-process, and with the backend a plugin process,
// where each read crosses its socket.
//
//	go test -run '^$' -bench BatchGet -benchtime 1000x ./core
func BenchmarkBatchGet(b *testing.B) {
	const records, batch = 10000, 100
	for _, tc := range []struct{ storage, mode string }{
		{"device", config.ModeInProcess}, {"device", config.ModeProcess},
		{"memory", config.ModeInProcess}, {"memory", config.ModeProcess},
	} {
		b.Run("storage="+tc.storage+"/mode="+tc.mode, func(b *testing.B) {
			var c *as.Client
			if tc.storage == "device" {
				c = startNodeProcess(b, deviceConfig(b, b.TempDir(), tc.mode, freePort(b), "post-write-queue 0", "")).connect(b)
			} else {
				cfg := config.Default()
				cfg.Namespaces[0].Storage.Mode = tc.mode
				c = startNode(b, cfg).connect(b)
			}
			keys := make([]*as.Key, records)
			pad := strings.Repeat("x", 1000)
			for i := range keys {
				keys[i] = key(b, "bench", i)
				mustOK(b, c.Put(nil, keys[i], as.BinMap{"i": i, "pad": pad}))
			}
			var seed atomic.Uint64
			// get reads one batch of random keys.
			get := func(rng *rand.Rand, ks []*as.Key) bool {
				for j := range ks {
					ks[j] = keys[rng.IntN(records)]
				}
				recs, err := c.BatchGet(nil, ks)
				if err != nil {
					b.Error(err)
					return false
				}
				for j, r := range recs {
					if r == nil {
						b.Errorf("key %v: no record", ks[j])
						return false
					}
				}
				return true
			}
			b.Run("clients=1", func(b *testing.B) {
				rng := rand.New(rand.NewPCG(seed.Add(1), 7))
				ks := make([]*as.Key, batch)
				for b.Loop() {
					if !get(rng, ks) {
						return
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "keys/s")
			})
			b.Run("clients=4", func(b *testing.B) {
				b.SetParallelism(2)
				b.RunParallel(func(pb *testing.PB) {
					rng := rand.New(rand.NewPCG(seed.Add(1), 7))
					ks := make([]*as.Key, batch)
					for pb.Next() {
						if !get(rng, ks) {
							return
						}
					}
				})
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "keys/s")
			})
		})
	}
}

// indexedDeviceNode starts a node whose device namespace has no post-write
// queue, and stores records of 1 KiB in set bench, with bin v, i%100 for
// record i, under a numeric index.
func indexedDeviceNode(b *testing.B, mode string, records int) *as.Client {
	// Background jobs as fast as they go, not Aerospike's default 10,000
	// records a second.
	c := startNodeProcess(b, deviceConfig(b, b.TempDir(), mode, freePort(b), "post-write-queue 0", "background-query-max-rps 1000000")).connect(b)
	pad := strings.Repeat("x", 1000)
	for i := range records {
		mustOK(b, c.Put(nil, key(b, "bench", i), as.BinMap{"v": i % 100, "pad": pad}))
	}
	task, err := c.CreateIndex(nil, "test", "bench", "bench_v", "v", as.NUMERIC)
	mustOK(b, err)
	mustOK(b, <-task.OnComplete())
	return c
}

// BenchmarkDeviceQuery times a secondary-index query that returns 1,000 of
// 10,000 records of 1 KiB in a device namespace whose post-write queue is
// off, through the official client; an op is one query.
//
//	go test -run '^$' -bench DeviceQuery -benchtime 100x ./core
func BenchmarkDeviceQuery(b *testing.B) {
	const records = 10000
	for _, mode := range []string{config.ModeInProcess, config.ModeProcess} {
		b.Run("mode="+mode, func(b *testing.B) {
			c := indexedDeviceNode(b, mode, records)
			stmt := as.NewStatement("test", "bench")
			stmt.SetFilter(as.NewRangeFilter("v", 20, 29))
			for b.Loop() {
				rs, err := c.Query(nil, stmt)
				mustOK(b, err)
				n := 0
				for r := range rs.Results() {
					mustOK(b, r.Err)
					n++
				}
				if n != records/10 {
					b.Fatalf("%d records, want %d", n, records/10)
				}
			}
			b.ReportMetric(float64(b.N*records/10)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkDeviceBackground times a background job that adds to a bin of
// each of 10,000 records of 1 KiB in a device namespace whose post-write
// queue is off, over a scan of their set and over a query that finds 1,000
// of them; an op is one job, from its start to query-show reporting it
// done.
//
//	go test -run '^$' -bench DeviceBackground -benchtime 10x ./core
func BenchmarkDeviceBackground(b *testing.B) {
	const records = 10000
	for _, mode := range []string{config.ModeInProcess, config.ModeProcess} {
		b.Run("mode="+mode, func(b *testing.B) {
			c := indexedDeviceNode(b, mode, records)
			for _, tc := range []struct {
				name   string
				filter *as.Filter
				n      int
			}{{"scan", nil, records}, {"query", as.NewRangeFilter("v", 20, 29), records / 10}} {
				b.Run("job="+tc.name, func(b *testing.B) {
					stmt := as.NewStatement("test", "bench")
					if tc.filter != nil {
						mustOK(b, stmt.SetFilter(tc.filter))
					}
					for b.Loop() {
						task, err := c.QueryExecute(nil, nil, stmt, as.AddOp(as.NewBin("n", 1)))
						mustOK(b, err)
						// The client's task polls every 100 ms: poll
						// more often, so that the job's time is measured.
						cmd := fmt.Sprintf("query-show:trid=%d", task.TaskId())
						for !strings.Contains(info(b, c, cmd), "status=done") {
							time.Sleep(time.Millisecond)
						}
						if got := info(b, c, cmd); !strings.Contains(got, fmt.Sprintf("recs-succeeded=%d:", tc.n)) {
							b.Fatalf("job: %s, want %d records", got, tc.n)
						}
					}
					b.ReportMetric(float64(b.N*tc.n)/b.Elapsed().Seconds(), "records/s")
				})
			}
		})
	}
}

// BenchmarkScanSmallSet times a scan of a set of 10 records through the
// official client, on the default memory namespace, in-process and with the
// backend a plugin process, where the scan of each of the 4,096 partitions
// crosses the plugin's socket; an op is one scan.
//
//	go test -run '^$' -bench ScanSmallSet -benchtime 50x ./core
func BenchmarkScanSmallSet(b *testing.B) {
	for _, mode := range []string{config.ModeInProcess, config.ModeProcess} {
		b.Run("mode="+mode, func(b *testing.B) {
			cfg := config.Default()
			cfg.Namespaces[0].Storage.Mode = mode
			c := startNode(b, cfg).connect(b)
			for i := range 10 {
				mustOK(b, c.Put(nil, key(b, "small", i), as.BinMap{"i": i}))
			}
			for b.Loop() {
				n := 0
				eachPage(b, nil, func() (*as.Recordset, as.Error) { return c.ScanAll(nil, "test", "small") }, func(*as.Record) { n++ })
				if n != 10 {
					b.Fatalf("%d records, want 10", n)
				}
			}
		})
	}
}

// BenchmarkTruncateRemoval times a set's truncate until the node has
// removed its records: one pass over the namespace's metadata, which
// through a plugin process asks for each of the 4,096 partitions.
func BenchmarkTruncateRemoval(b *testing.B) {
	for _, mode := range []string{config.ModeInProcess, config.ModeProcess} {
		b.Run("mode="+mode, func(b *testing.B) {
			cfg := config.Default()
			cfg.Namespaces[0].Storage.Mode = mode
			c := startNode(b, cfg).connect(b)
			const records = 2000
			for b.Loop() {
				b.StopTimer()
				for i := range records {
					mustOK(b, c.Put(nil, key(b, "gone", i), as.BinMap{"i": i}))
				}
				b.StartTimer()
				mustOK(b, c.Truncate(nil, "test", "gone", nil))
				for nsInfo(b, c, "test", "objects") != "0" {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
}
