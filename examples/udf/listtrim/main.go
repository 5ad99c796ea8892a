//go:build wasip1

// Listtrim is a UDF module with one function, push_trim(bin, value, max):
// it appends value to the list bin, keeps only the last max items, and
// returns the list's length. A missing bin starts an empty list; a bin
// holding anything but a list fails the call. Use it for capped histories:
// the last N events, recent prices, a bounded log.
//
// Build and register it, then call it with the official Go client
// (github.com/aerospike/aerospike-client-go/v8):
//
//	skiff udf build examples/udf/listtrim        # writes listtrim.wasm
//	client.RegisterUDFFromFile(nil, "examples/udf/listtrim/listtrim.wasm", "listtrim.wasm", as.Language("WASM"))
//	n, err := client.Execute(nil, key, "listtrim", "push_trim",
//		as.StringValue("recent"), as.StringValue("login"), as.IntegerValue(10))
package main

import (
	"fmt"

	"github.com/skiffdb/skiff/sdk/udf"
)

func init() {
	udf.Register("push_trim", pushTrim)
}

func pushTrim(r *udf.Record, args []udf.Value) (udf.Value, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("push_trim(bin, value, max): %d arguments", len(args))
	}
	bin, ok1 := args[0].(string)
	limit, ok2 := args[2].(int64)
	if !ok1 || !ok2 || limit < 1 {
		return nil, fmt.Errorf("push_trim(bin, value, max): want a bin name and a max of at least 1, got %v (%T) and %v (%T)",
			args[0], args[0], args[2], args[2])
	}

	var list []udf.Value
	if v, ok := r.Get(bin); ok {
		if list, ok = v.([]udf.Value); !ok {
			return nil, fmt.Errorf("push_trim: bin %q holds a %T, not a list", bin, v)
		}
	}
	list = append(list, args[1])
	if int64(len(list)) > limit {
		list = list[int64(len(list))-limit:]
	}
	if err := r.Set(bin, list); err != nil {
		return nil, err
	}
	return len(list), nil
}

func main() {}
