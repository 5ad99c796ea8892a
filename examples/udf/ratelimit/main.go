//go:build wasip1

// Ratelimit is a UDF module with one function, allow(limit,
// window_seconds): a sliding-window rate limiter kept in the record it
// runs on, one record per limited thing (a user, an API key, an IP). It
// returns true and counts the call when fewer than limit calls were
// allowed in the last window_seconds, and false otherwise.
//
// The window slides by weighting: the record holds the start of the
// current fixed window (bin "start", Unix seconds) and the counts of the
// current and previous windows ("cur", "prev"); the calls in the last
// window_seconds are estimated as cur plus the part of prev that still
// overlaps the sliding window. Each allowed call sets the TTL to two
// windows, so limiters that go idle expire; a denied call writes nothing.
//
// Build and register it, then call it with the official Go client
// (github.com/aerospike/aerospike-client-go/v8):
//
//	skiff udf build examples/udf/ratelimit       # writes ratelimit.wasm
//	client.RegisterUDFFromFile(nil, "examples/udf/ratelimit/ratelimit.wasm", "ratelimit.wasm", as.Language("WASM"))
//	key, _ := as.NewKey("test", "limits", "user:42")
//	ok, err := client.Execute(nil, key, "ratelimit", "allow",
//		as.IntegerValue(100), as.IntegerValue(60)) // 100 calls a minute
package main

import (
	"fmt"
	"time"

	"github.com/skiffdb/skiff/sdk/udf"
)

func init() {
	udf.Register("allow", allow)
}

// maxWindow is the longest window, a year: the TTL of two windows fits
// an int32.
const maxWindow = 365 * 24 * 3600

func allow(r *udf.Record, args []udf.Value) (udf.Value, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("allow(limit, window_seconds): %d arguments", len(args))
	}
	limit, ok1 := args[0].(int64)
	window, ok2 := args[1].(int64)
	if !ok1 || !ok2 || limit < 0 || window < 1 || window > maxWindow {
		return nil, fmt.Errorf("allow(limit, window_seconds): want integers, limit >= 0 and a window of 1 to %d s, got %v and %v", maxWindow, args[0], args[1])
	}

	now := time.Now().Unix()
	start := now - now%window // the current fixed window
	stored := intBin(r, "start")
	cur, prev := intBin(r, "cur"), intBin(r, "prev")
	switch {
	case stored == start:
	case stored == start-window: // the window moved on by one
		cur, prev = 0, cur
	default: // new, or idle for two windows or more
		cur, prev = 0, 0
	}
	elapsed := now - start
	estimate := cur + prev*(window-elapsed)/window
	if estimate >= limit {
		return false, nil
	}

	for _, b := range []struct {
		name string
		v    int64
	}{{"start", start}, {"cur", cur + 1}, {"prev", prev}} {
		if err := r.Set(b.name, b.v); err != nil {
			return nil, err
		}
	}
	if err := r.SetTTL(int32(2 * window)); err != nil {
		return nil, err
	}
	return true, nil
}

// intBin returns the integer in bin name, 0 when it is missing or holds
// something else.
func intBin(r *udf.Record, name string) int64 {
	v, _ := r.Get(name)
	n, _ := v.(int64)
	return n
}

func main() {}
