//go:build wasip1

// Counter is a UDF module with one function, incr(bin, by, cap): it adds
// by to the integer bin, never past cap, and returns the bin's new value.
// A missing bin counts as 0; a bin already past cap stays as it is; a
// negative by counts down. A bin holding anything but an integer fails the
// call and leaves the record alone.
//
// Build and register it, then call it with the official Go client
// (github.com/aerospike/aerospike-client-go/v8):
//
//	skiff udf build examples/udf/counter         # writes counter.wasm
//	client.RegisterUDFFromFile(nil, "examples/udf/counter/counter.wasm", "counter.wasm", as.Language("WASM"))
//	n, err := client.Execute(nil, key, "counter", "incr",
//		as.StringValue("hits"), as.IntegerValue(1), as.IntegerValue(1000))
//
// n is the bin's new value, an int; at the cap further calls return the
// cap and change nothing.
package main

import (
	"fmt"

	"github.com/skiffdb/skiff/sdk/udf"
)

func init() {
	udf.Register("incr", incr)
}

func incr(r *udf.Record, args []udf.Value) (udf.Value, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("incr(bin, by, cap): %d arguments", len(args))
	}
	bin, ok1 := args[0].(string)
	by, ok2 := args[1].(int64)
	limit, ok3 := args[2].(int64)
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("incr(bin, by, cap): want a string and two integers, got %T, %T, %T", args[0], args[1], args[2])
	}

	var n int64
	if v, ok := r.Get(bin); ok {
		if n, ok = v.(int64); !ok {
			return nil, fmt.Errorf("incr: bin %q holds a %T, not an integer", bin, v)
		}
	}
	next := n + by
	if next > limit || (by > 0 && next < n) { // past the cap, or overflowed
		next = max(n, limit)
	}
	if next == n {
		return n, nil // nothing to write: the generation stays
	}
	if err := r.Set(bin, next); err != nil {
		return nil, err
	}
	return next, nil
}

func main() {}
