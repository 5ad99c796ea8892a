//go:build wasip1

// Gonop is a UDF module for the host's benchmarks: nop returns nil, the
// smallest call of a Go module.
package main

import "github.com/skiffdb/skiff/sdk/udf"

func init() {
	udf.Register("nop", func(*udf.Record, []udf.Value) (udf.Value, error) { return nil, nil })
}

func main() {}
