package capped_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/nodetest"
)

// TestNode runs a node with a namespace on this backend, served by this
// test binary as its plugin (see TestMain), and drives it with the official
// Go client: the path an operator takes, end to end.
func TestNode(t *testing.T) {
	addr := startNode(t, fmt.Sprintf(`
network {
	service {
		address 127.0.0.1
		port 3000
	}
	admin {
		address 127.0.0.1
		port 0
	}
}

namespace capped {
	storage-engine plugin {
		path %s
		max-records 10
	}
}
`, os.Args[0]))

	cp := as.NewClientPolicy()
	cp.Timeout = 5 * time.Second
	c, err := as.NewClientWithPolicy(cp, addr.IP.String(), addr.Port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key := func(i int) *as.Key {
		k, err := as.NewKey("capped", "sessions", i)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	wp := as.NewWritePolicy(0, 0)
	wp.MaxRetries = 0

	for i := range 10 {
		if err := c.Put(wp, key(i), as.BinMap{"i": i}); err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	err = c.Put(wp, key(10), as.BinMap{"i": 10})
	if !errors.Is(err, &as.AerospikeError{ResultCode: types.SERVER_MEM_ERROR}) {
		t.Fatalf("11th new record: err = %v, want SERVER_MEM_ERROR", err)
	}
	if err := c.Put(wp, key(3), as.BinMap{"i": 33}); err != nil {
		t.Fatalf("overwrite at the cap: %v", err)
	}
	if rec, err := c.Get(nil, key(3)); err != nil || rec.Bins["i"] != 33 {
		t.Fatalf("Get of the overwritten record: %v, %v", rec, err)
	}
	if _, err := c.Delete(wp, key(0)); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(wp, key(10), as.BinMap{"i": 10}); err != nil {
		t.Fatalf("new record after a delete: %v", err)
	}

	info, err := c.GetNodes()[0].RequestInfo(as.NewInfoPolicy(), "namespace/capped")
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, kv := range strings.Split(info["namespace/capped"], ";") {
		k, v, _ := strings.Cut(kv, "=")
		fields[k] = v
	}
	for k, want := range map[string]string{
		"storage-engine":  "plugin",
		"storage-backend": "capped",
		"storage-mode":    "process",
		"storage-state":   "running",
		"storage-path":    os.Args[0],
		"objects":         "10",
	} {
		if fields[k] != want {
			t.Errorf("namespace/capped: %s=%q, want %q", k, fields[k], want)
		}
	}
	if fields["storage-pid"] == "" || fields["storage-pid"] == "0" {
		t.Errorf("namespace/capped: storage-pid=%q, want the plugin's pid", fields["storage-pid"])
	}
	if t.Failed() {
		t.Logf("namespace/capped: %s", info["namespace/capped"])
	}
}

// startNode runs a node with the configuration text, on a free service
// port, until the test ends, and returns its service address.
func startNode(t *testing.T, text string) *net.TCPAddr {
	t.Helper()
	cfg, err := config.Parse("test.conf", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Network.Service.Port = 0 // the file cannot say 0; OnListen tells the port
	return nodetest.Start(t, cfg).Service
}
