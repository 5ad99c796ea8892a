//go:build wasip1

// Aggregate is a UDF module with two aggregations over a scan or query
// (see abi.md, "Aggregations"):
//
//   - sum(bin): the sum of the integer bin over the records that have one;
//   - count_by(bin): a map from each value of the bin (integers and
//     strings) to the number of records holding it, like
//     SELECT bin, COUNT(*) ... GROUP BY bin.
//
// Each is a filter (keep records whose bin has the right type), a map (the
// record to a value: its integer, or {value: 1}) and a reduce (add two
// sums, or merge two count maps).
//
// Build and register it, then run an aggregation with the official Go
// client (github.com/aerospike/aerospike-client-go/v8). The client's
// QueryAggregate runs the final reduce itself, in Lua, so with a .wasm
// module set the aggregation on the statement and read each node's value
// from the SUCCESS bin of the results:
//
//	skiff udf build examples/udf/aggregate       # writes aggregate.wasm
//	client.RegisterUDFFromFile(nil, "examples/udf/aggregate/aggregate.wasm", "aggregate.wasm", as.Language("WASM"))
//	stmt := as.NewStatement("test", "orders")
//	stmt.SetAggregateFunction("aggregate", "count_by", []as.Value{as.StringValue("status")}, true)
//	rs, err := client.Query(nil, stmt)
//	for res := range rs.Results() {
//		fmt.Println(res.Record.Bins["SUCCESS"]) // map[done:12 pending:3]
//	}
//
// With several nodes, combine their values as the reduce does.
package main

import (
	"fmt"

	"github.com/skiffdb/skiff/sdk/udf"
)

func init() {
	udf.RegisterAggregate("sum", udf.Aggregate{
		Filter: func(r *udf.Record, args []udf.Value) (bool, error) {
			v, err := binArg(r, args)
			_, ok := v.(int64)
			return ok, err
		},
		Map: func(r *udf.Record, args []udf.Value) (udf.Value, error) {
			return binArg(r, args)
		},
		Reduce: func(a, b udf.Value, _ []udf.Value) (udf.Value, error) {
			x, _ := a.(int64)
			y, _ := b.(int64)
			return x + y, nil
		},
	})
	udf.RegisterAggregate("count_by", udf.Aggregate{
		Filter: func(r *udf.Record, args []udf.Value) (bool, error) {
			v, err := binArg(r, args)
			switch v.(type) {
			case int64, string:
				return true, err
			}
			return false, err
		},
		Map: func(r *udf.Record, args []udf.Value) (udf.Value, error) {
			v, err := binArg(r, args)
			if err != nil {
				return nil, err
			}
			return map[udf.Value]udf.Value{v: int64(1)}, nil
		},
		Reduce: func(a, b udf.Value, _ []udf.Value) (udf.Value, error) {
			x, _ := a.(map[udf.Value]udf.Value)
			y, _ := b.(map[udf.Value]udf.Value)
			if len(x) < len(y) {
				x, y = y, x
			}
			if x == nil {
				x = map[udf.Value]udf.Value{}
			}
			for k, n := range y {
				c, _ := x[k].(int64)
				d, _ := n.(int64)
				x[k] = c + d
			}
			return x, nil
		},
	})
}

// binArg returns the value of the bin the first argument names (nil when
// the record lacks it).
func binArg(r *udf.Record, args []udf.Value) (udf.Value, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("want the bin name as the first argument")
	}
	bin, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("the bin name is a %T, not a string", args[0])
	}
	v, _ := r.Get(bin)
	return v, nil
}

func main() {}
