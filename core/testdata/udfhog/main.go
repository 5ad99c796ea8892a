//go:build wasip1

// Udfhog is a UDF module for the node's tests: hog(mb) allocates mb
// megabytes, to run into mod-udf max-memory.
package main

import (
	"errors"

	"github.com/skiffdb/skiff/sdk/udf"
)

var kept []byte

func init() {
	udf.Register("hog", func(_ *udf.Record, args []udf.Value) (udf.Value, error) {
		mb, ok := args[0].(int64)
		if !ok {
			return nil, errors.New("hog(mb): mb must be an integer")
		}
		// One allocation: past max-memory, the first grow fails at once.
		kept = make([]byte, mb<<20)
		n := len(kept) >> 20
		kept = nil
		return int64(n), nil
	})
}

func main() {}
