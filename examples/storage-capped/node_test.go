package capped_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core"
	"github.com/skiffdb/skiff/core/config"
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
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan *net.TCPAddr, 1)
	done := make(chan error, 1)
	go func() {
		done <- core.Run(ctx, core.Options{Config: cfg, Logger: log, OnListen: func(service, _ net.Addr) {
			listening <- service.(*net.TCPAddr)
		}})
	}()
	var addr *net.TCPAddr
	select {
	case addr = <-listening:
	case err := <-done:
		cancel()
		t.Fatalf("node did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("node did not start within 10s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("node stopped with an error: %v", err)
			}
		case <-time.After(core.ShutdownTimeout + 5*time.Second):
			t.Error("node did not stop")
		}
	})
	return addr
}
