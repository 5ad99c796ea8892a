package plugin_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/skiffdb/skiff/internal/syncbuf"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	xdrnats "github.com/skiffdb/skiff/plugins/xdr-nats"
	storageplugin "github.com/skiffdb/skiff/sdk/storage/plugin"
	"github.com/skiffdb/skiff/sdk/xdr"
	"github.com/skiffdb/skiff/sdk/xdr/plugin"
)

// The tests start this test binary as the plugin (TestMain serves the NATS
// transport when a node started it), as a storage plugin given as a
// transport by mistake, or, for the orphan test, as a node that starts a
// plugin. Each test runs its own NATS server in this process.
func TestMain(m *testing.M) {
	switch {
	case os.Getenv("TEST_AS_STORAGE_PLUGIN") == "1":
		storageplugin.Serve("memory", memory.Open, storageplugin.WithResume(memory.Resume))
	case plugin.IsPluginProcess():
		if v := os.Getenv("TEST_PLUGIN_VERSION"); v != "" {
			n, _ := strconv.Atoi(v)
			plugin.Handshake.ProtocolVersion = uint(n)
		}
		plugin.Serve("nats", func(ctx context.Context, cfg xdr.Config) (xdr.Transport, error) {
			slog.Info("opening the test transport", "node", cfg.Node)
			return xdrnats.Open(ctx, cfg)
		})
	case os.Getenv("TEST_AS_NODE") != "":
		actAsNode(os.Getenv("TEST_AS_NODE"))
	default:
		os.Exit(m.Run())
	}
}

// actAsNode starts a plugin for the NATS server at url, prints its pid and
// waits to be killed.
func actAsNode(url string) {
	p, err := plugin.Start(context.Background(), plugin.Config{
		Path: os.Args[0], Name: "nats", Logger: slog.New(slog.DiscardHandler), Transport: transportConfig(url, "orphan"),
	})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("pid", p.Pid())
	select {}
}

// startNATS runs a NATS server with JetStream for the test.
func startNATS(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("the NATS server did not start within 10s")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s.ClientURL()
}

func transportConfig(url, node string) xdr.Config {
	return xdr.Config{DC: "dc2", Namespace: "test", Node: node, URLs: []string{url}}
}

// start starts this binary as the plugin for node, closed at the test's
// end.
func start(t *testing.T, url, node string, logs *syncbuf.Buffer) *plugin.Process {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := plugin.Start(context.Background(), plugin.Config{
		Path: os.Args[0], Name: "nats", Logger: log, Transport: transportConfig(url, node),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func change(i int, origin string) xdr.Change {
	c := xdr.Change{
		Kind: xdr.Write, Namespace: "test", Set: "s",
		Key:        []byte{3, 'k', byte(i)},
		Bins:       bytes.Repeat([]byte{byte(i)}, 100),
		Generation: uint32(i + 1), LastUpdate: uint64(1_700_000_000_000_000_000 + i), Origin: origin,
	}
	c.Digest[0], c.Digest[1] = byte(i), byte(i>>8)
	if i%10 == 9 {
		c.Kind, c.Key, c.Bins = xdr.Delete, nil, nil
	}
	return c
}

// ship ships changes 0 to n-1 of origin, in batches of batch.
func ship(t *testing.T, p *plugin.Process, origin string, n, batch int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < n; i += batch {
		var changes []xdr.Change
		for j := i; j < min(i+batch, n); j++ {
			changes = append(changes, change(j, origin))
		}
		if err := p.Ship(ctx, changes); err != nil {
			t.Fatalf("ship changes %d to %d: %v", i, i+len(changes)-1, err)
		}
	}
}

// collector is an apply callback that records the changes it applies, and
// fails the first batch it sees holding failOn.
type collector struct {
	origin string
	failOn int // -1: never

	mu       sync.Mutex
	applied  map[int]xdr.Change // by change number
	failed   bool
	redone   bool // failOn came again after its batch failed
	sameBins bool // and with the same content
	done     chan struct{}
	want     int
}

func newCollector(origin string, want, failOn int) *collector {
	return &collector{origin: origin, failOn: failOn, applied: map[int]xdr.Change{}, want: want, done: make(chan struct{})}
}

func (c *collector) apply(changes []xdr.Change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range changes {
		if n := int(ch.Digest[0]) | int(ch.Digest[1])<<8; n == c.failOn {
			if !c.failed {
				c.failed = true
				return errors.New("test: apply fails once")
			}
			c.redone = true
		}
	}
	for _, ch := range changes {
		n := int(ch.Digest[0]) | int(ch.Digest[1])<<8
		c.applied[n] = ch
	}
	if len(c.applied) == c.want {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
	return nil
}

func (c *collector) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.want {
		got, ok := c.applied[i]
		want := change(i, c.origin)
		if !ok {
			t.Errorf("change %d not received", i)
			continue
		}
		if got.Kind != want.Kind || got.Generation != want.Generation || got.LastUpdate != want.LastUpdate ||
			got.Origin != want.Origin || got.Set != want.Set || !bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Bins, want.Bins) {
			t.Errorf("change %d: got %+v, want %+v", i, got, want)
		}
	}
	if c.failOn >= 0 && !c.redone {
		t.Errorf("change %d, whose batch failed to apply, was not delivered again", c.failOn)
	}
}

// receive runs p.Receive with c.apply until the test ends.
func receive(t *testing.T, p *plugin.Process, c *collector) <-chan error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- p.Receive(ctx, c.apply)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return done
}

func TestShipAndReceiveAcrossPlugins(t *testing.T) {
	url := startNATS(t)
	a := start(t, url, "a", nil)
	b := start(t, url, "b", nil)
	const n = 500
	got := newCollector("a", n, 123)
	ended := receive(t, b, got)
	ship(t, a, "a", n, 50)

	select {
	case <-got.done:
	case err := <-ended:
		t.Fatalf("Receive ended: %v", err)
	case <-time.After(20 * time.Second):
		got.mu.Lock()
		t.Fatalf("%d of %d changes received within 20s", len(got.applied), n)
	}
	got.check(t)

	// Stats cross the boundary: a shipped n; b received n, once the
	// transport has counted the last acknowledgement.
	ctx := context.Background()
	st, err := a.Stats(ctx)
	if err != nil || st.Shipped != n || !st.Connected {
		t.Errorf("a's stats %+v %v, want %d shipped, connected", st, err, n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err = b.Stats(ctx)
		if err != nil || st.Received >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || st.Received < n || !st.Connected {
		t.Errorf("b's stats %+v %v, want %d received, connected", st, err, n)
	}
}

func TestReceiveEndsWithItsContext(t *testing.T) {
	url := startNATS(t)
	p := start(t, url, "b", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Receive(ctx, func([]xdr.Change) error { return nil }) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Receive returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Receive did not return within 5s of its context's end")
	}
	// An expired context fails Ship before it sends anything.
	if err := p.Ship(ctx, []xdr.Change{change(1, "b")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Ship with an ended context: %v, want context.Canceled", err)
	}
}

func TestPluginLogsReachTheNode(t *testing.T) {
	var logs syncbuf.Buffer
	start(t, startNATS(t), "a", &logs)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "opening the test transport") {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin's log line did not reach the node's log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if line := logs.LineWith("opening the test transport"); !strings.Contains(line, "node=a") ||
		!strings.Contains(line, "transport=nats") || !strings.Contains(line, "plugin=nats") {
		t.Errorf("the plugin's log line lost its attributes: %s", line)
	}
}

func TestWrongBinaryIsRefused(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	for name, path := range map[string]string{
		"not a plugin": "/bin/true",
		"missing":      "/nonexistent/skiff-xdr-nothing",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := plugin.Start(context.Background(), plugin.Config{Path: path, Logger: quiet, StartTimeout: 3 * time.Second})
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v does not name %s", err, path)
			}
			t.Log(err)
		})
	}
	t.Run("storage plugin", func(t *testing.T) {
		t.Setenv("TEST_AS_STORAGE_PLUGIN", "1")
		_, err := plugin.Start(context.Background(), plugin.Config{Path: os.Args[0], Logger: quiet, StartTimeout: 5 * time.Second})
		if err == nil || !strings.Contains(err.Error(), os.Args[0]) || !strings.Contains(err.Error(), "not a Skiff xdr transport plugin") {
			t.Fatalf("error %v does not name the binary and say it is no xdr plugin", err)
		}
		t.Log(err)
	})
	t.Run("other protocol version", func(t *testing.T) {
		t.Setenv("TEST_PLUGIN_VERSION", "99")
		_, err := plugin.Start(context.Background(), plugin.Config{Path: os.Args[0], Logger: quiet})
		if err == nil || !strings.Contains(err.Error(), "99") || !strings.Contains(err.Error(), os.Args[0]) {
			t.Fatalf("error %v does not name the binary and its version", err)
		}
		t.Log(err)
	})
	t.Run("bad settings", func(t *testing.T) {
		cfg := transportConfig(startNATS(t), "a")
		cfg.Settings = map[string]string{"colour": "blue"}
		_, err := plugin.Start(context.Background(), plugin.Config{Path: os.Args[0], Logger: quiet, Transport: cfg})
		if err == nil || !strings.Contains(err.Error(), "colour") || !strings.Contains(err.Error(), os.Args[0]) {
			t.Fatalf("error %v does not name the binary and the setting", err)
		}
		t.Log(err)
	})
}

func TestCrashIsDetected(t *testing.T) {
	url := startNATS(t)
	a := start(t, url, "a", nil)
	b := start(t, url, "b", nil)
	got := newCollector("a", -1, -1)
	ended := receive(t, b, got)
	ship(t, a, "a", 10, 10)

	// Ships in flight when the process dies fail rather than hang.
	shipErr := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for i := 0; ; i++ {
			if err := a.Ship(ctx, []xdr.Change{change(i%1000, "a")}); err != nil {
				shipErr <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	for _, p := range []*plugin.Process{a, b} {
		if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	killed := time.Now()
	for name, p := range map[string]*plugin.Process{"a": a, "b": b} {
		select {
		case <-p.Broken():
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the crash was not noticed within 5s", name)
		}
	}
	for name, ch := range map[string]<-chan error{"Ship": shipErr, "Receive": ended} {
		select {
		case err := <-ch:
			if !errors.Is(err, plugin.ErrUnavailable) || !strings.Contains(err.Error(), os.Args[0]) {
				t.Errorf("%s in flight: %v, want ErrUnavailable naming the binary", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s in flight did not return within 5s of the crash", name)
		}
	}
	t.Logf("calls in flight failed %v after the kill", time.Since(killed))
	ctx := context.Background()
	if err := a.Ship(ctx, []xdr.Change{change(1, "a")}); !errors.Is(err, plugin.ErrUnavailable) {
		t.Errorf("Ship after the crash: %v, want ErrUnavailable", err)
	}
	if err := b.Receive(ctx, got.apply); !errors.Is(err, plugin.ErrUnavailable) {
		t.Errorf("Receive after the crash: %v, want ErrUnavailable", err)
	}
	if _, err := a.Stats(ctx); !errors.Is(err, plugin.ErrUnavailable) {
		t.Errorf("Stats after the crash: %v, want ErrUnavailable", err)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	url := startNATS(t)
	p := start(t, url, "a", nil)
	ship(t, p, "a", 10, 5)
	pid := p.Pid()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Broken():
	default:
		t.Error("Broken is not closed after Close")
	}
	// Close waits for the process: it is gone, and reaped.
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("plugin %d after Close: kill -0 says %v, want ESRCH", pid, err)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	ctx := context.Background()
	if err := p.Ship(ctx, []xdr.Change{change(1, "a")}); !errors.Is(err, plugin.ErrClosed) {
		t.Errorf("Ship after Close: %v, want ErrClosed", err)
	}
	if err := p.Receive(ctx, func([]xdr.Change) error { return nil }); !errors.Is(err, plugin.ErrClosed) {
		t.Errorf("Receive after Close: %v, want ErrClosed", err)
	}
	if _, err := p.Stats(ctx); !errors.Is(err, plugin.ErrClosed) {
		t.Errorf("Stats after Close: %v, want ErrClosed", err)
	}
	if err := p.Close(); !errors.Is(err, plugin.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}

func TestNoOrphanWhenTheNodeIsKilled(t *testing.T) {
	node := exec.Command(os.Args[0])
	node.Env = append(os.Environ(), "TEST_AS_NODE="+startNATS(t))
	out, err := node.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	defer node.Process.Kill()
	var pid int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "pid %d", &pid); err == nil {
			break
		}
		t.Fatalf("node: %s", sc.Text())
	}
	if pid == 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("plugin %d is not running", pid)
	}
	node.Process.Signal(syscall.SIGKILL)
	node.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin %d still runs 5s after its node was killed", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
