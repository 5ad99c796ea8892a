//go:build wasip1

// Udfmeta is a UDF module for the node's tests: meta returns what a UDF
// sees of its record, escape tries what the sandbox must refuse, copy and
// sethll move values between bins.
package main

import (
	"fmt"
	"net"
	"os"

	"github.com/skiffdb/skiff/sdk/udf"
)

func init() {
	udf.Register("meta", func(r *udf.Record, _ []udf.Value) (udf.Value, error) {
		key, _ := r.Key()
		d := r.Digest()
		udf.Logf(udf.LevelInfo, "meta of a record in set %q", r.SetName())
		return map[string]any{
			"exists": r.Exists(),
			"gen":    int64(r.Generation()),
			"ttl":    int64(r.TTL()),
			"lut":    r.LastUpdate().UnixNano(),
			"key":    key,
			"set":    r.SetName(),
			"digest": d[:],
			"bins":   fmt.Sprint(r.BinNames()),
		}, nil
	})
	udf.Register("escape", func(*udf.Record, []udf.Value) (udf.Value, error) {
		var refused []any
		if _, err := os.ReadFile("/etc/hostname"); err != nil {
			refused = append(refused, "file")
		}
		if _, err := net.Dial("tcp", "127.0.0.1:22"); err != nil {
			refused = append(refused, "network")
		}
		if os.Getenv("HOME") == "" && len(os.Environ()) == 0 {
			refused = append(refused, "environment")
		}
		return refused, nil
	})
	// copy sets bin args[1] to bin args[0]'s value, and returns it.
	udf.Register("copy", func(r *udf.Record, args []udf.Value) (udf.Value, error) {
		from, _ := args[0].(string)
		to, _ := args[1].(string)
		v, _ := r.Get(from)
		return v, r.Set(to, v)
	})
	// sethll sets bin args[0] to an HLL of the bytes args[1].
	udf.Register("sethll", func(r *udf.Record, args []udf.Value) (udf.Value, error) {
		name, _ := args[0].(string)
		b, _ := args[1].([]byte)
		return nil, r.Set(name, udf.HLL(b))
	})
	udf.Register("expire", func(r *udf.Record, args []udf.Value) (udf.Value, error) {
		ttl, _ := args[0].(int64)
		return nil, r.SetTTL(int32(ttl))
	})
}

func main() {}
