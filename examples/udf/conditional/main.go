//go:build wasip1

// Conditional is a UDF module with one function, set_if(bin, expected,
// new): a compare-and-set. When the bin holds expected (nil matching a
// missing bin) it sets the bin to new (nil removing it) and returns true;
// otherwise it changes nothing and returns false. Values compare by type
// and value: 1 and 1.0 differ, lists and maps compare element by element.
//
// Build and register it, then call it with the official Go client
// (github.com/aerospike/aerospike-client-go/v8):
//
//	skiff udf build examples/udf/conditional     # writes conditional.wasm
//	client.RegisterUDFFromFile(nil, "examples/udf/conditional/conditional.wasm", "conditional.wasm", as.Language("WASM"))
//	ok, err := client.Execute(nil, key, "conditional", "set_if",
//		as.StringValue("state"), as.StringValue("pending"), as.StringValue("done"))
//
// ok is true when this call made the change.
package main

import (
	"fmt"
	"reflect"

	"github.com/skiffdb/skiff/sdk/udf"
)

func init() {
	udf.Register("set_if", setIf)
}

func setIf(r *udf.Record, args []udf.Value) (udf.Value, error) {
	if len(args) != 3 {
		return nil, fmt.Errorf("set_if(bin, expected, new): %d arguments", len(args))
	}
	bin, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("set_if: the bin name is a %T, not a string", args[0])
	}
	expected, next := args[1], args[2]

	current, _ := r.Get(bin) // nil when missing
	if !reflect.DeepEqual(current, expected) {
		return false, nil
	}
	if reflect.DeepEqual(current, next) {
		return true, nil // already so: no write, the generation stays
	}
	if err := r.Set(bin, next); err != nil {
		return nil, err
	}
	return true, nil
}

func main() {}
