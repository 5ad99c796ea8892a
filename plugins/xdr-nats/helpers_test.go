package xdrnats

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/skiffdb/skiff/sdk/xdr"
)

// waitTimeout bounds every wait for a condition: generous, for a loaded
// 2-core machine.
const waitTimeout = 20 * time.Second

// testServer is an embedded nats-server with JetStream on 127.0.0.1, which
// a test can restart on the same port and store.
type testServer struct {
	t    testing.TB
	dir  string
	port int
	srv  *server.Server
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	s := &testServer{t: t, dir: t.TempDir(), port: -1}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *testServer) start() {
	s.t.Helper()
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: s.port, JetStream: true, StoreDir: s.dir,
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		s.t.Fatalf("nats-server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(waitTimeout) {
		s.t.Fatalf("nats-server not ready in %v", waitTimeout)
	}
	s.srv = srv
	s.port = srv.Addr().(*net.TCPAddr).Port
}

func (s *testServer) stop() {
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
		s.srv = nil
	}
}

func (s *testServer) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

func (s *testServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// open opens a transport of node for namespace "test", closed at the end
// of the test.
func open(t testing.TB, s *testServer, node string, settings map[string]string) *transport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	tr, err := Open(ctx, xdr.Config{DC: "dc1", Namespace: "test", Node: node, URLs: []string{s.url()}, Settings: settings})
	if err != nil {
		t.Fatalf("Open %s: %v", node, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr.(*transport)
}

// change returns change i of origin: a write of a record of its own, with
// about 100 bytes of bins.
func change(origin string, i int) xdr.Change {
	var d [20]byte
	binary.BigEndian.PutUint64(d[:], uint64(i))
	copy(d[8:], origin)
	bins := make([]byte, 100)
	binary.BigEndian.PutUint64(bins, uint64(i))
	return xdr.Change{
		Kind: xdr.Write, Namespace: "test", Set: "set", Digest: d,
		Key: []byte{1, byte(i)}, Bins: bins, Generation: 1,
		LastUpdate: uint64(time.Now().UnixNano()), Origin: origin,
	}
}

func changes(origin string, from, n int) []xdr.Change {
	cs := make([]xdr.Change, n)
	for i := range cs {
		cs[i] = change(origin, from+i)
	}
	return cs
}

// index is the i of a change made by change.
func index(c xdr.Change) int { return int(binary.BigEndian.Uint64(c.Digest[:])) }

func ship(t testing.TB, tr *transport, cs []xdr.Change) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := tr.Ship(ctx, cs); err != nil {
		t.Fatalf("Ship: %v", err)
	}
}

// receiver runs Receive on a transport and collects what apply gets;
// fail, when set, decides whether apply fails a batch.
type collector struct {
	mu      sync.Mutex
	got     []xdr.Change
	batches int
	fail    func(batch []xdr.Change) bool
	done    chan error
	cancel  context.CancelFunc
	stopped sync.Once
}

func receive(t testing.TB, tr *transport, fail func([]xdr.Change) bool) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{fail: fail, done: make(chan error, 1), cancel: cancel}
	go func() {
		c.done <- tr.Receive(ctx, func(batch []xdr.Change) error {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.batches++
			if c.fail != nil && c.fail(batch) {
				return errors.New("test: apply fails")
			}
			c.got = append(c.got, batch...)
			return nil
		})
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop ends Receive and checks that it returns.
func (c *collector) stop(t testing.TB) {
	c.stopped.Do(func() {
		c.cancel()
		select {
		case <-c.done:
		case <-time.After(waitTimeout):
			t.Errorf("Receive did not return after its context ended")
		}
	})
}

func (c *collector) changes() []xdr.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]xdr.Change(nil), c.got...)
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stats(t testing.TB, tr *transport) xdr.Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	s, err := tr.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return s
}

// indexes lists the indexes of cs in order.
func indexes(cs []xdr.Change) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = index(c)
	}
	return out
}

func seq(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}
