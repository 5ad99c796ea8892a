package core_test

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/config"
)

// BenchmarkXDR measures replication through NATS JetStream (an embedded
// server) between two nodes in this process, with the transport as a
// plugin process as nodes run it by default, and memory namespaces linked
// in:
//
//   - Throughput/Plain and Throughput/XDR: as many writes of 100-byte
//     records as 16 client goroutines make, on a node without xdr and on
//     node A shipping them (the peer not started yet, as if it ran on
//     another machine; the NATS server and the transport plugin share
//     the CPUs): the ratio of their ns/op is what shipping costs.
//   - Lag: once peer B has applied that backlog, A takes writes at 10,000
//     a second from 8 client goroutines for b.N writes; B applies them.
//     Reports the p50 and p99 of the lag B measured (commit on A to apply
//     on B) over the last 16,384 changes.
//
// go test ./core -run '^$' -bench '^BenchmarkXDR$' -benchtime 40000x
//
// (SKIFF_BENCH_XDR_INPROCESS=1 links the transport into the nodes instead.)
func BenchmarkXDR(b *testing.B) {
	url, _ := startNATS(b, b.TempDir(), 0)
	process := func(node string) *config.Config {
		cfg := xdrConfig(node, url, nil)
		if os.Getenv("SKIFF_BENCH_XDR_INPROCESS") == "" {
			cfg.XDR[0].Mode, cfg.XDR[0].Path = config.ModeProcess, os.Args[0]
		}
		return cfg
	}
	a := startNode(b, process("A1")).connect(b)
	value := make([]byte, 100)
	set := uniqueSet(b)

	throughput := func(b *testing.B, c *as.Client) {
		var next atomic.Int64
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.Put(nil, key(b, set, int(next.Add(1)%100000)), as.BinMap{"v": value}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	plain := config.Default()
	plain.Service.NodeID = "P3"
	for _, ns := range plain.Namespaces {
		ns.Storage.Mode = config.ModeInProcess
	}
	p := startNode(b, plain).connect(b)
	b.Run("Throughput/Plain", func(b *testing.B) { throughput(b, p) })
	b.Run("Throughput/XDR", func(b *testing.B) { throughput(b, a) })

	bc := startNode(b, process("B2")).connect(b)
	eventually(b, time.Minute, func() error {
		if st := xdrStats(b, bc); st["pending"] > 0 || st["applied"] == 0 {
			return fmt.Errorf("B has %v changes to apply", st["pending"])
		}
		return nil
	})
	b.Run("Lag", func(b *testing.B) {
		const rate, workers = 10000, 8
		before := xdrStats(b, bc)["applied"]
		var next atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(b.N) {
						return
					}
					if d := time.Until(start.Add(time.Duration(i) * time.Second / rate)); d > 0 {
						time.Sleep(d)
					}
					if err := a.Put(nil, key(b, set, int(i%100000)), as.BinMap{"v": value}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		want := before + float64(b.N)
		eventually(b, 30*time.Second, func() error {
			if got := xdrStats(b, bc)["applied"]; got < want {
				return fmt.Errorf("B applied %v of %v", got, want)
			}
			return nil
		})
		st := xdrStats(b, bc)
		b.ReportMetric(st["lag_p50_ms"], "lag-p50-ms")
		b.ReportMetric(st["lag_p99_ms"], "lag-p99-ms")
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	})

}

// BenchmarkXDRRewind times a rewind of a namespace of 20,000 records on
// node A, from the xdr-rewind command until the transport has taken every
// record: a scan of the namespace, shipped in batches. The storage backend
// runs in each mode, the transport in-process, NATS in this process.
//
// go test ./core -run '^$' -bench '^BenchmarkXDRRewind$' -benchtime 5x
func BenchmarkXDRRewind(b *testing.B) {
	for _, mode := range []string{config.ModeInProcess, config.ModeProcess} {
		b.Run("mode="+mode, func(b *testing.B) {
			url, _ := startNATS(b, b.TempDir(), 0)
			cfg := xdrConfig("R"+mode[:1], url, nil)
			cfg.Namespaces[0].Storage.Mode = mode
			a := startNode(b, cfg).connect(b)
			const records = 20000
			value := make([]byte, 100)
			for i := range records {
				mustOK(b, a.Put(nil, key(b, "rw", i), as.BinMap{"v": value}))
			}
			shipped := func() float64 { return xdrStats(b, a)["success"] }
			eventually(b, time.Minute, func() error {
				if got := shipped(); got < records {
					return fmt.Errorf("%v of %d writes shipped", got, records)
				}
				return nil
			})
			for b.Loop() {
				want := shipped() + records
				if got := info(b, a, "xdr-rewind:dc=hub;namespace=test"); got != "ok" {
					b.Fatalf("xdr-rewind: %q", got)
				}
				for shipped() < want {
					time.Sleep(time.Millisecond)
				}
			}
			b.ReportMetric(records*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
