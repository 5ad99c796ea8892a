package core_test

import (
	"sync/atomic"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/udftest"
)

// BenchmarkUDF compares a record UDF with the plain operation it stands
// for, through the official client, against a node in the test process
// with an in-process memory namespace: Operate adds 1 to an integer bin;
// Execute calls the counter example's incr, which does the same in a Go
// module (read the bin, check the cap, write it back); ExecuteWAT calls the
// hand-written module's touch_count. Each runs on 1,000 records,
//
//   - Seq: one client goroutine, one call at a time: the difference between
//     Execute's and Operate's ns/op is the time the UDF adds to a call;
//   - Par: 16 goroutines: the ratio of ns/op is the ratio of throughput.
//
// go test ./core -run '^$' -bench '^BenchmarkUDF$' -benchtime 3s
func BenchmarkUDF(b *testing.B) {
	cfg := config.Default()
	for _, ns := range cfg.Namespaces {
		ns.Storage.Mode = config.ModeInProcess
	}
	n := startNode(b, cfg)
	c := n.connect(b)
	registerUDF(b, c, "counter.wasm", udftest.Module(b, "../examples/udf/counter"))
	registerUDF(b, c, "wat.wasm", udftest.Module(b, "../examples/udf/wat/touch.wat"))
	const records = 1000
	keys := make([]*as.Key, records)
	set := uniqueSet(b)
	for i := range keys {
		keys[i] = key(b, set, i)
		mustOK(b, c.Put(nil, keys[i], as.BinMap{"n": 0, "hits": 0}))
	}
	wp := as.NewWritePolicy(0, 0)
	incr := as.AddOp(as.NewBin("n", 1))
	calls := map[string]func(k *as.Key) error{
		"Operate": func(k *as.Key) error {
			_, err := c.Operate(wp, k, incr)
			return err
		},
		"Execute": func(k *as.Key) error {
			_, err := c.Execute(wp, k, "counter", "incr", as.StringValue("hits"), as.IntegerValue(1), as.IntegerValue(1<<62))
			return err
		},
		"ExecuteWAT": func(k *as.Key) error {
			_, err := c.Execute(wp, k, "wat", "touch_count")
			return err
		},
	}
	for _, name := range []string{"Operate", "Execute", "ExecuteWAT"} {
		call := calls[name]
		b.Run(name+"/Seq", func(b *testing.B) {
			i := 0
			for b.Loop() {
				if err := call(keys[i%records]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		b.Run(name+"/Par", func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism(8) // 16 goroutines on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := call(keys[next.Add(1)%records]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
