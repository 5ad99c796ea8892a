// Package nodetest runs a Skiff node inside a test's process, for tests
// that talk to it with the official client or the CLI.
package nodetest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core"
	"github.com/skiffdb/skiff/core/config"
)

// Node is a node started by Start.
type Node struct {
	// Service is the address clients connect to.
	Service *net.TCPAddr
	// Admin is the admin HTTP listener's address, nil when it is off.
	Admin net.Addr

	stop func()
}

// Start runs a node with cfg, as configured (a service or admin port of 0
// is a free one), until Stop or the end of the test. It logs to stderr
// with -v, else nowhere. A node left with a default work-directory gets one
// of the test's own, so that nodes of different tests do not share their
// indexes and truncations.
func Start(t testing.TB, cfg *config.Config) *Node {
	t.Helper()
	if w := cfg.Service.WorkDirectory; w == config.DefaultWorkDirectory || w == config.Default().Service.WorkDirectory {
		cfg.Service.WorkDirectory = t.TempDir()
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan *Node, 1)
	done := make(chan error, 1)
	go func() {
		done <- core.Run(ctx, core.Options{Config: cfg, Logger: log, OnListen: func(s, a net.Addr) {
			listening <- &Node{Service: s.(*net.TCPAddr), Admin: a}
		}})
	}()
	var n *Node
	select {
	case n = <-listening:
	case err := <-done:
		cancel()
		t.Fatalf("node did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("node did not start within 10s")
	}
	stopped := false
	n.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("node stopped with error: %v", err)
			}
		case <-time.After(core.ShutdownTimeout + 5*time.Second):
			t.Error("node did not stop")
		}
	}
	t.Cleanup(n.stop)
	return n
}

// Stop stops the node and waits for it, once; later calls do nothing.
func (n *Node) Stop() { n.stop() }

// FreePort is a port on 127.0.0.1 that was free a moment ago, for a
// listener a configuration names before the node starts (a tls-port, an
// admin port, where 0 means none).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
