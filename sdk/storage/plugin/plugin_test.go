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

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/internal/syncbuf"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// The tests start this test binary as the plugin (TestMain serves the
// memory backend when a node started it) or, for the orphan test, as a
// node that starts a plugin.
func TestMain(m *testing.M) {
	switch {
	case plugin.IsPluginProcess():
		if v := os.Getenv("TEST_PLUGIN_VERSION"); v != "" {
			n, _ := strconv.Atoi(v)
			plugin.Handshake.ProtocolVersion = uint(n)
		}
		plugin.Serve("memory", func(ns string, settings map[string]string) (storage.Backend, error) {
			slog.Info("opening the test backend", "namespace", ns)
			_, gated := settings["test-gated"]
			_, private := settings["test-private"]
			delete(settings, "test-gated")
			delete(settings, "test-private")
			b, err := memory.Open(ns, settings)
			if err != nil {
				return b, err
			}
			if private {
				// Hides the shared index: every call goes through the
				// data connections.
				return struct{ storage.Backend }{b}, nil
			}
			if !gated {
				return b, nil
			}
			return &gatedBackend{Backend: b, open: make(chan struct{})}, nil
		}, plugin.WithResume(memory.Resume))
	case os.Getenv("TEST_AS_NODE") == "1":
		actAsNode()
	default:
		os.Exit(m.Run())
	}
}

// gateDigest is the record whose Get waits, in a gatedBackend, until it
// is deleted.
var gateDigest = storage.Digest{19: 0xff}

// gatedBackend is an IOBound memory backend whose Get of gateDigest waits
// for a Delete of it, as a device read waits for the device: answering
// requests in order, the plugin would never reach the Delete.
type gatedBackend struct {
	storage.Backend
	once sync.Once
	open chan struct{}
}

func (b *gatedBackend) MaxInFlight() int { return 4 }

func (b *gatedBackend) Get(ctx context.Context, d storage.Digest, buf []byte) (storage.Record, error) {
	if d == gateDigest {
		select {
		case <-b.open:
		case <-time.After(20 * time.Second):
			return storage.Record{}, fmt.Errorf("gate never opened: %w", storage.ErrUnavailable)
		}
	}
	return b.Backend.Get(ctx, d, buf)
}

func (b *gatedBackend) Delete(ctx context.Context, d storage.Digest, durable bool) error {
	if d == gateDigest {
		b.once.Do(func() { close(b.open) })
		return nil
	}
	return b.Backend.Delete(ctx, d, durable)
}

// actAsNode starts a plugin, prints its pid and waits to be killed.
func actAsNode() {
	p, err := plugin.Start(context.Background(), plugin.Config{Path: os.Args[0], Namespace: "test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("pid", p.Pid())
	select {}
}

func start(t *testing.T, logs *syncbuf.Buffer) *plugin.Process {
	t.Helper()
	return startWith(t, logs, map[string]string{"data-size": "67108864"})
}

func startWith(t *testing.T, logs *syncbuf.Buffer, settings map[string]string) *plugin.Process {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := plugin.Start(context.Background(), plugin.Config{
		Path: os.Args[0], Namespace: "test", Settings: settings, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func digest(i int) storage.Digest {
	var d storage.Digest
	d[0], d[1], d[5] = byte(i), byte(i>>8), byte(i>>16)
	return d
}

func record(i int) storage.Record {
	return storage.Record{
		Meta: storage.Meta{Generation: uint32(i), Set: "s"},
		Key:  []byte{3, 'k'},
		Bins: bytes.Repeat([]byte{byte(i)}, 100),
	}
}

func TestPluginLogsReachTheNode(t *testing.T) {
	var logs syncbuf.Buffer
	start(t, &logs)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "opening the test backend") {
		if time.Now().After(deadline) {
			t.Fatalf("the plugin's log line did not reach the node's log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if line := logs.LineWith("opening the test backend"); !strings.Contains(line, "namespace=test") || !strings.Contains(line, "backend=memory") {
		t.Errorf("the plugin's log line lost its attributes: %s", line)
	}
}

func TestWrongBinaryIsRefused(t *testing.T) {
	for name, path := range map[string]string{
		"not a plugin": "/bin/true",
		"missing":      "/nonexistent/skiff-storage-nothing",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := plugin.Start(context.Background(), plugin.Config{Path: path, Logger: slog.New(slog.DiscardHandler), StartTimeout: 3 * time.Second})
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v does not name %s", err, path)
			}
		})
	}
	t.Run("other protocol version", func(t *testing.T) {
		t.Setenv("TEST_PLUGIN_VERSION", "99")
		_, err := plugin.Start(context.Background(), plugin.Config{Path: os.Args[0], Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), "99") || !strings.Contains(err.Error(), os.Args[0]) {
			t.Fatalf("error %v does not name the binary and its version", err)
		}
	})
	t.Run("bad settings", func(t *testing.T) {
		_, err := plugin.Start(context.Background(), plugin.Config{Path: os.Args[0], Namespace: "test",
			Settings: map[string]string{"colour": "blue"}, Logger: slog.New(slog.DiscardHandler)})
		if err == nil || !strings.Contains(err.Error(), `unknown setting "colour"`) {
			t.Fatalf("error %v does not name the setting", err)
		}
	})
}

func TestCrashIsDetected(t *testing.T) {
	p := start(t, nil)
	if sharedindex.Shareable && !p.ReadsSharedIndex() {
		t.Fatal("the memory plugin's index is not shared: Gets after the crash would not test it")
	}
	mapped := indexMappings(t)
	ctx := context.Background()
	if err := p.Put(ctx, digest(1), record(1)); err != nil {
		t.Fatal(err)
	}
	// Calls in flight when the process dies fail rather than hang.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				if err := p.Put(ctx, digest(w*100000+i), record(i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Broken():
	case <-time.After(5 * time.Second):
		t.Fatal("the crash was not noticed within 5s")
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("call in flight: %v, want ErrUnavailable", err)
		}
	}
	if _, err := p.Get(ctx, digest(1), nil); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Get after the crash: %v, want ErrUnavailable", err)
	}
	if _, err := p.Stats(ctx); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("Stats after the crash: %v, want ErrUnavailable", err)
	}
	// The node no longer maps the dead process's records.
	if sharedindex.Shareable {
		if n := indexMappings(t); n != mapped-1 {
			t.Errorf("%d shared index mappings after the crash, %d before", n, mapped)
		}
	}
}

// TestLeftoverIsResumed starts a plugin on the region a killed one left:
// it has the records. A region it cannot take over (here a memory file of
// zeros) leaves it empty, working, and saying why in the log; a plugin
// whose index the node does not map leaves no region.
func TestLeftoverIsResumed(t *testing.T) {
	if !sharedindex.Shareable {
		t.Skip("a region is resumed where the node shares it: linux/amd64")
	}
	ctx := context.Background()
	p := start(t, nil)
	if err := p.Put(ctx, digest(1), record(1)); err != nil {
		t.Fatal(err)
	}
	if p.Leftover() != nil {
		t.Fatal("a region left by a process that still serves")
	}
	syscall.Kill(p.Pid(), syscall.SIGKILL)
	<-p.Broken()
	left := p.Leftover()
	if left == nil {
		t.Fatal("no region left by the killed process")
	}
	defer left.Close()

	resumeFrom := func(f *os.File, logs *syncbuf.Buffer) *plugin.Process {
		p, err := plugin.Start(ctx, plugin.Config{
			Path: os.Args[0], Namespace: "test", Settings: map[string]string{"data-size": "67108864"},
			Logger: slog.New(slog.NewTextHandler(logs, nil)), Resume: f,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	var logs syncbuf.Buffer
	p = resumeFrom(left, &logs)
	if rec, err := p.Get(ctx, digest(1), nil); err != nil || !bytes.Equal(rec.Bins, record(1).Bins) {
		t.Fatalf("resumed record: %v, %v; logs:\n%s", rec, err, logs.String())
	}

	fd, err := unix.MemfdCreate("not-a-region", unix.MFD_CLOEXEC)
	if err != nil {
		t.Skip(err)
	}
	junk := os.NewFile(uintptr(fd), "not-a-region")
	defer junk.Close()
	junk.Truncate(1 << 20)
	var junkLogs syncbuf.Buffer
	p = resumeFrom(junk, &junkLogs)
	if _, err := p.Get(ctx, digest(1), nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get from a plugin given junk: %v", err)
	}
	if err := p.Put(ctx, digest(2), record(2)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junkLogs.String(), "cannot be taken over") {
		t.Errorf("no word of the refused region in the log:\n%s", junkLogs.String())
	}

	p = startWith(t, nil, map[string]string{"data-size": "67108864", "test-private": ""})
	syscall.Kill(p.Pid(), syscall.SIGKILL)
	<-p.Broken()
	if f := p.Leftover(); f != nil {
		t.Error("a region left by a plugin whose index the node did not map")
	}
}

// indexMappings counts this process's mappings of shared indexes.
func indexMappings(t *testing.T) int {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip(err)
	}
	return bytes.Count(maps, []byte("memfd:skiff-storage-index"))
}

func TestNoOrphanWhenTheNodeIsKilled(t *testing.T) {
	node := exec.Command(os.Args[0])
	node.Env = append(os.Environ(), "TEST_AS_NODE=1")
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
	if syscall.Kill(pid, 0) != nil {
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

func TestConcurrentCallsShareTheDataPath(t *testing.T) {
	p := start(t, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			buf := make([]byte, 0, 256)
			for i := range 500 {
				d := digest(w*1000 + i)
				if err := p.Put(ctx, d, record(i)); err != nil {
					t.Error(err)
					return
				}
				rec, err := p.Get(ctx, d, buf)
				if err != nil || rec.Generation != uint32(i) || !bytes.Equal(rec.Bins, record(i).Bins) || rec.Set != "s" {
					t.Errorf("get %d/%d: %+v %v", w, i, rec.Meta, err)
					return
				}
			}
		})
	}
	wg.Wait()
	st, err := p.Stats(ctx)
	if err != nil || st.Records != 16*500 || len(st.Sets) != 1 || st.Sets[0].Records != 16*500 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

// An IOBound backend's requests on one connection run concurrently: a
// request that waits does not hold up those behind it.
func TestIOBoundRequestsRunConcurrently(t *testing.T) {
	p := startWith(t, nil, map[string]string{"test-gated": ""})
	ctx := context.Background()
	got := make(chan error, 1)
	go func() {
		_, err := p.Get(ctx, gateDigest, nil)
		got <- err
	}()
	// The Get is on its way, or already waiting, when the writes go.
	time.Sleep(50 * time.Millisecond)
	for i := range 20 {
		if err := p.Put(ctx, digest(i), record(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Delete(ctx, gateDigest, false); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the waiting Get: %v, want not found", err)
	}
	for i := range 20 {
		if rec, err := p.Get(ctx, digest(i), nil); err != nil || !bytes.Equal(rec.Bins, record(i).Bins) {
			t.Fatalf("get %d: %v", i, err)
		}
	}
}

func TestDataPathAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	p := start(t, nil)
	ctx := context.Background()
	d := digest(7)
	rec := record(7)
	buf := make([]byte, 0, 1024)
	p.Put(ctx, d, rec)
	p.Get(ctx, d, buf)
	if n := testing.AllocsPerRun(200, func() { p.Get(ctx, d, buf) }); n > 0 {
		t.Errorf("Get: %v allocations", n)
	}
	if n := testing.AllocsPerRun(200, func() { p.Put(ctx, d, rec) }); n > 0 {
		t.Errorf("Put: %v allocations", n)
	}
}

func BenchmarkGet(b *testing.B) {
	for _, mode := range []string{"in-process", "process"} {
		b.Run(mode, func(b *testing.B) {
			backend := benchBackend(b, mode)
			defer backend.Close()
			ctx := context.Background()
			for i := range 10000 {
				backend.Put(ctx, digest(i), record(i))
			}
			b.SetParallelism(25)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 0, 256)
				i := 0
				for pb.Next() {
					if _, err := backend.Get(ctx, digest(i%10000), buf); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkLarge gets and puts records of 128 KiB of bins (LARGE_BINS
// bytes if set) from 16 goroutines, linked in and through a plugin
// process, where every record crosses between the processes.
func BenchmarkLarge(b *testing.B) {
	const n = 64
	binsLen := 128 << 10
	if v := os.Getenv("LARGE_BINS"); v != "" {
		binsLen, _ = strconv.Atoi(v)
	}
	for _, mode := range []string{"in-process", "process"} {
		backend := benchBackend(b, mode)
		ctx := context.Background()
		rec := storage.Record{Meta: storage.Meta{Set: "s"}, Bins: bytes.Repeat([]byte{7}, binsLen)}
		for i := range n {
			if err := backend.Put(ctx, digest(i), rec); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("op=get/mode="+mode, func(b *testing.B) {
			b.SetBytes(int64(binsLen))
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 0, 2*binsLen)
				i := 0
				for pb.Next() {
					if r, err := backend.Get(ctx, digest(i%n), buf); err != nil || len(r.Bins) != binsLen {
						b.Errorf("get: %v, %d bytes of bins", err, len(r.Bins))
						return
					}
					i++
				}
			})
		})
		b.Run("op=put/mode="+mode, func(b *testing.B) {
			b.SetBytes(int64(binsLen))
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if err := backend.Put(ctx, digest(i%n), rec); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
		backend.Close()
	}
}

// benchBackend is a memory backend, linked in or served by this test
// binary as a plugin process.
func benchBackend(b *testing.B, mode string) storage.Backend {
	if mode == "in-process" {
		backend, _ := memory.New(memory.Options{})
		return backend
	}
	p, err := plugin.Start(context.Background(), plugin.Config{Path: os.Args[0], Namespace: "test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkScan scans a partition of 16 records of 1 KiB or 128 KiB of
// bins, one scan at a time, linked in and through a plugin process.
func BenchmarkScan(b *testing.B) {
	for _, mode := range []string{"in-process", "process"} {
		backend := benchBackend(b, mode)
		ctx := context.Background()
		for pid, binsLen := range []int{1 << 10, 128 << 10} {
			rec := storage.Record{Meta: storage.Meta{Set: "s"}, Bins: bytes.Repeat([]byte{7}, binsLen)}
			for i := range 16 {
				if err := backend.Put(ctx, storage.Digest{byte(pid), 0, 0, 0, 0, byte(i)}, rec); err != nil {
					b.Fatal(err)
				}
			}
			b.Run(fmt.Sprintf("bins=%d/mode=%s", binsLen, mode), func(b *testing.B) {
				b.SetBytes(int64(16 * binsLen))
				for b.Loop() {
					n := 0
					err := backend.ScanPartition(ctx, uint16(pid), false, func(storage.Digest, *storage.Record) error {
						n++
						return nil
					})
					if err != nil || n != 16 {
						b.Fatalf("scan: %v, %d records", err, n)
					}
				}
			})
		}
		backend.Close()
	}
}
