package aggregate_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/nodetest"
	"github.com/skiffdb/skiff/internal/udftest"
	"github.com/skiffdb/skiff/sdk/aggregate"
)

// TestAggregate runs the aggregations of examples/udf/aggregate on a node
// in this process. The module is built and registered once: compiling it
// takes seconds under the race detector.
func TestAggregate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node and builds a module")
	}
	c := connect(t, startNode(t))
	register(t, c, "aggregate.wasm", udftest.Module(t, "../../examples/udf/aggregate"))

	// orders: amount 0..99; every fourth record pending, the rest done.
	for i := range 100 {
		status := "done"
		if i%4 == 0 {
			status = "pending"
		}
		k, err := as.NewKey("test", "orders", i)
		mustOK(t, err)
		mustOK(t, c.Put(nil, k, as.BinMap{"amount": i, "status": status}))
	}
	orders := func() *as.Statement { return as.NewStatement("test", "orders") }
	bin := as.NewStringValue

	t.Run("ReduceSum", func(t *testing.T) {
		got, err := aggregate.Reduce(c, nil, orders(), "aggregate", "sum", bin("amount"))
		mustOK(t, err)
		if got != 4950 {
			t.Fatalf("sum = %#v, want 4950", got)
		}
	})

	t.Run("RunCountBy", func(t *testing.T) {
		got, err := aggregate.Run(c, nil, orders(), "aggregate", "count_by", bin("status"))
		mustOK(t, err)
		want := []any{map[any]any{"done": 75, "pending": 25}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("count_by = %#v, want %#v", got, want)
		}
	})

	t.Run("IndexQuery", func(t *testing.T) {
		task, err := c.CreateIndex(nil, "test", "orders", "orders_amount", "amount", as.NUMERIC)
		mustOK(t, err)
		mustOK(t, <-task.OnComplete())
		stmt := orders()
		mustOK(t, stmt.SetFilter(as.NewRangeFilter("amount", 10, 19)))
		got, aerr := aggregate.Reduce(c, nil, stmt, "aggregate", "sum", bin("amount"))
		mustOK(t, aerr)
		if got != 145 {
			t.Fatalf("sum of amounts 10..19 = %#v, want 145", got)
		}
		stmt = orders()
		mustOK(t, stmt.SetFilter(as.NewRangeFilter("amount", 1000, 2000)))
		got, aerr = aggregate.Reduce(c, nil, stmt, "aggregate", "sum", bin("amount"))
		if aerr != nil || got != nil {
			t.Fatalf("sum over a query that matches nothing = %#v, %v; want nil, nil", got, aerr)
		}
	})

	t.Run("NoRecords", func(t *testing.T) {
		empty := as.NewStatement("test", "nothing-here")
		got, err := aggregate.Reduce(c, nil, empty, "aggregate", "sum", bin("amount"))
		if err != nil || got != nil {
			t.Fatalf("Reduce over no records = %#v, %v; want nil, nil", got, err)
		}
		all, err := aggregate.Run(c, nil, empty, "aggregate", "count_by", bin("status"))
		if err != nil || len(all) != 0 {
			t.Fatalf("Run over no records = %#v, %v; want no values", all, err)
		}
	})

	t.Run("NoReduce", func(t *testing.T) {
		// A name the module does not define has no stages: each record
		// leaves as the map of its bins, and nothing reduces them.
		stmt := orders()
		mustOK(t, stmt.SetFilter(as.NewEqualFilter("amount", 7)))
		got, err := aggregate.Run(c, nil, stmt, "aggregate", "undefined")
		mustOK(t, err)
		want := []any{map[any]any{"amount": 7, "status": "done"}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Run without stages = %#v, want %#v", got, want)
		}
		_, err = aggregate.Reduce(c, nil, orders(), "aggregate", "undefined")
		if err == nil || !strings.Contains(err.Error(), "the node sent 100 values, not one: the aggregation has no reduce function") {
			t.Fatalf("Reduce without a reduce function: %v", err)
		}
	})

	t.Run("Failure", func(t *testing.T) {
		// The bin name must be a string.
		_, err := aggregate.Reduce(c, nil, orders(), "aggregate", "sum", as.IntegerValue(1))
		var ae *aggregate.Error
		if !errors.As(err, &ae) {
			t.Fatalf("error %v (%T), want an *aggregate.Error", err, err)
		}
		if ae.Module != "aggregate" || ae.Name != "sum" || !strings.Contains(ae.Message, "the bin name is a int64, not a string") {
			t.Fatalf("error %+v", ae)
		}
		if want := "aggregate aggregate.sum:filter: the bin name is a int64, not a string"; err.Error() != want {
			t.Fatalf("error %q, want %q", err, want)
		}
		wantCode(t, err, types.UDF_BAD_RESPONSE)
		// Run fails alike, although some values may have left before.
		if _, err := aggregate.Run(c, nil, orders(), "aggregate", "count_by", as.IntegerValue(1)); !errors.As(err, &ae) {
			t.Fatalf("Run: error %v, want an *aggregate.Error", err)
		}
	})

	t.Run("UnknownModule", func(t *testing.T) {
		_, err := aggregate.Reduce(c, nil, orders(), "nosuch", "sum", bin("amount"))
		if err == nil || err.Error() != "aggregate nosuch.sum: no such UDF module" {
			t.Fatalf("error %v", err)
		}
		wantCode(t, err, types.UDF_BAD_RESPONSE)
		var ae *aggregate.Error
		if !errors.As(err, &ae) || ae.Message != "nosuch.sum: no such UDF module" {
			t.Fatalf("error %v, want an *aggregate.Error with the node's message", err)
		}
	})

	t.Run("OtherQueryError", func(t *testing.T) {
		_, err := aggregate.Run(c, nil, as.NewStatement("nonamespace", "s"), "aggregate", "sum", bin("amount"))
		if err == nil || !strings.HasPrefix(err.Error(), "aggregate aggregate.sum: ") {
			t.Fatalf("error %v, want the client's error with the aggregation's name", err)
		}
	})

	t.Run("StatementUnchanged", func(t *testing.T) {
		stmt := orders()
		mustOK(t, stmt.SetFilter(as.NewRangeFilter("amount", 0, 3)))
		before := *stmt
		_, aerr := aggregate.Reduce(c, nil, stmt, "aggregate", "sum", bin("amount"))
		mustOK(t, aerr)
		if !reflect.DeepEqual(*stmt, before) {
			t.Fatalf("statement changed:\n%v\nwas\n%v", stmt, &before)
		}
		// The statement still runs as a plain query.
		rs, err := c.Query(nil, stmt)
		mustOK(t, err)
		n := 0
		for r := range rs.Results() {
			mustOK(t, r.Err)
			if _, ok := r.Record.Bins["amount"]; !ok {
				t.Fatalf("query after Reduce returned %v", r.Record.Bins)
			}
			n++
		}
		if n != 4 {
			t.Fatalf("query after Reduce returned %d records, want 4", n)
		}
	})
}

// startNode runs a node on a free loopback port, its namespaces linked in
// and its modules in a temporary directory, and returns the port. The node
// stops when the test ends.
func startNode(t *testing.T) int {
	t.Helper()
	cfg := config.Default()
	cfg.Network.Service = config.Endpoint{Address: "127.0.0.1", Port: 0}
	cfg.Network.Admin = config.Endpoint{Address: "127.0.0.1", Port: 0}
	cfg.UDF.UserPath = t.TempDir()
	for _, ns := range cfg.Namespaces {
		ns.Storage.Mode = config.ModeInProcess
	}
	return nodetest.Start(t, cfg).Service.Port
}

func connect(t *testing.T, port int) *as.Client {
	t.Helper()
	p := as.NewClientPolicy()
	p.Timeout = 5 * time.Second
	c, err := as.NewClientWithPolicy(p, "127.0.0.1", port)
	mustOK(t, err)
	t.Cleanup(c.Close)
	return c
}

func register(t *testing.T, c *as.Client, name string, wasm []byte) {
	t.Helper()
	// Compiling a Go module takes about a second, more under -race.
	p := as.NewWritePolicy(0, 0)
	p.TotalTimeout = time.Minute
	task, err := c.RegisterUDF(p, wasm, name, as.Language("WASM"))
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())
}

func wantCode(t *testing.T, err error, code types.ResultCode) {
	t.Helper()
	var ae *as.AerospikeError
	if !errors.As(err, &ae) || ae.ResultCode != code {
		t.Fatalf("error %v, want result code %v", err, code)
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
