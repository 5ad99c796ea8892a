package core_test

import (
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core/config"
)

// TestSetLimits holds two sets to their limits, as Aerospike does: at
// stop-writes-count no new record (updates go on), above stop-writes-size
// no write at all (deletes go on), both refused with FORBIDDEN; the limits
// show in the sets info and change with set-config.
func TestSetLimits(t *testing.T) {
	cfg := config.Default()
	cfg.Namespaces[0].Sets = map[string]config.SetSettings{
		"capped": {StopWritesCount: 3},
		"small":  {StopWritesSize: 2000},
	}
	n := startNode(t, cfg)
	c := n.connect(t)
	if got := info(t, c, "sets/test/capped"); !strings.Contains(got, ":stop-writes-count=3:") {
		t.Errorf("sets/test/capped: %q", got)
	}

	// At the count: new records are refused, updates are not.
	for i := range 3 {
		mustOK(t, c.Put(nil, key(t, "capped", i), as.BinMap{"v": i}))
	}
	wantCode(t, c.Put(nil, key(t, "capped", 3), as.BinMap{"v": 3}), types.FAIL_FORBIDDEN)
	mustOK(t, c.Put(nil, key(t, "capped", 0), as.BinMap{"v": 10}))
	_, err := c.Operate(nil, key(t, "capped", 4), as.AddOp(as.NewBin("v", 1)))
	wantCode(t, err, types.FAIL_FORBIDDEN)
	// A delete makes room once the node has read the set's figures again.
	if _, err := c.Delete(nil, key(t, "capped", 1)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() error { return c.Put(nil, key(t, "capped", 3), as.BinMap{"v": 3}) })
	wantCode(t, c.Put(nil, key(t, "capped", 5), as.BinMap{"v": 5}), types.FAIL_FORBIDDEN)

	// set-config raises the count.
	if got := info(t, c, "set-config:context=namespace;id=test;set=capped;stop-writes-count=4"); got != "ok" {
		t.Fatalf("set-config stop-writes-count: %q", got)
	}
	mustOK(t, c.Put(nil, key(t, "capped", 5), as.BinMap{"v": 5}))
	wantCode(t, c.Put(nil, key(t, "capped", 6), as.BinMap{"v": 6}), types.FAIL_FORBIDDEN)

	// Above the size: every write is refused, deletes are not.
	value := strings.Repeat("x", 500)
	written := 0
	for ; written < 10; written++ {
		if err := c.Put(nil, key(t, "small", written), as.BinMap{"v": value}); err != nil {
			wantCode(t, err, types.FAIL_FORBIDDEN)
			break
		}
	}
	if written < 4 || written > 5 {
		t.Fatalf("%d records of 500 bytes written under stop-writes-size 2000, want 4 or 5", written)
	}
	wantCode(t, c.Put(nil, key(t, "small", 0), as.BinMap{"v": "y"}), types.FAIL_FORBIDDEN)
	if _, err := c.Delete(nil, key(t, "small", 0)); err != nil {
		t.Fatal(err)
	}
	if got := info(t, c, "set-config:context=namespace;id=test;set=small;stop-writes-size=0"); got != "ok" {
		t.Fatalf("set-config stop-writes-size: %q", got)
	}
	mustOK(t, c.Put(nil, key(t, "small", 0), as.BinMap{"v": value}))
	// Other sets, and records in no set, have no limit.
	for i := range 10 {
		mustOK(t, c.Put(nil, key(t, "", i), as.BinMap{"v": value}))
	}

	wantAnswers(t, c, map[string]string{
		"set-config:context=namespace;id=test;set=capped;stop-writes-count=-1": `ERROR:4:bad stop-writes-count "-1"`,
		"set-config:context=namespace;id=test;set=small;stop-writes-size=lots": `ERROR:4:bad stop-writes-size "lots"`,
	})
}
