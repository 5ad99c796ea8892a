// Package udf is the Go SDK for Skiff's WebAssembly user-defined functions
// (UDFs): functions a client runs on a record inside the node, under the
// record's lock, with client.Execute, and aggregations run over a scan or
// query.
//
// # Writing a module
//
// A module is a Go package main that registers its functions from init
// and has an empty main:
//
//	package main
//
//	import "github.com/skiffdb/skiff/sdk/udf"
//
//	func init() {
//		udf.Register("incr", func(r *udf.Record, args []udf.Value) (udf.Value, error) {
//			n, _ := r.Get("n")
//			next, _ := n.(int64)
//			next++
//			return next, r.Set("n", next)
//		})
//	}
//
//	func main() {}
//
// Importing the package is what makes the module a Skiff module: it
// exports the ABI's skiff_abi_version and skiff_call and dispatches each
// call to the function registered under the called name. A function gets
// the record (see Record) and the client's arguments, and returns a result
// or an error; an error fails the call, the record is left as it was, and
// the client sees the error's message. A panic fails the call likewise,
// with a message naming the function and the panic's value; the instance
// lives on (a fatal runtime error, such as running out of memory, still
// ends it, and the node reports that failure itself). Aggregations
// register their filter, map and reduce stages with RegisterAggregate.
//
// Arguments, results and bin values are Values: nil, bool, int64,
// float64, string, []byte, GeoJSON, lists ([]Value) and maps
// (map[Value]Value). Results and Set take other Go integer, slice and map
// types too; see Value.
//
// # Building and registering
//
// Build with the Go toolchain for WASI as a reactor (c-shared, which
// exports _initialize instead of running main):
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o counter.wasm .
//
// or with `skiff udf build DIR`, which runs the same command (and wabt's
// wat2wasm for a directory holding a .wat module). Register the file
// under a name ending in .wasm, with udf-type WASM; clients call its
// functions by the name without the extension:
//
//	client.RegisterUDFFromFile(nil, "counter.wasm", "counter.wasm", as.Language("WASM"))
//	n, err := client.Execute(nil, key, "counter", "incr")
//
// Build the module's files with the constraint //go:build wasip1 so that
// `go vet ./...` and native builds of the surrounding module skip them:
// the package compiles natively, but only a wasip1 build has the
// exports, and natively nothing calls the registered functions.
//
// # Caveats
//
// A *Record, the args slice and the buffers behind them are valid only
// during the call: keep neither. The values in args, and those Get and
// Key return, are the function's own.
//
// The node runs several instances of a module and reuses each for many
// calls, one at a time: package-level variables persist between some
// calls and not others, so keep data in bins, never in variables.
//
// Register and RegisterAggregate must run from init functions (a c-shared
// module never runs main); they panic on an empty, duplicate or
// ill-formed name.
//
// # The ABI
//
// The exports, the imports of module skiff, the msgpack forms of values
// and the commit rules are specified in abi.md beside this file (ABI
// version 1, ABIVersion); any language that produces a module with those
// exports and imports works the same; examples/udf/wat is one written by
// hand in WebAssembly text.
package udf
