package udf

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffdb/skiff/internal/syncbuf"
	"github.com/skiffdb/skiff/internal/udftest"
)

// wat assembles a module of testdata with wabt's wat2wasm. make test
// installs wabt and sets SKIFF_REQUIRE_WABT, so that CI never skips these.
func wat(t testing.TB, name string) []byte {
	t.Helper()
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		if os.Getenv("SKIFF_REQUIRE_WABT") != "" {
			t.Fatal("wat2wasm not found: apt-get install wabt")
		}
		t.Skip("wat2wasm not found (apt-get install wabt)")
	}
	out := filepath.Join(t.TempDir(), name+".wasm")
	if b, err := exec.Command(tool, filepath.Join("testdata", name+".wat"), "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testConfig(dir string) Config {
	return Config{Dir: dir, MaxModuleSize: 1 << 20, MaxMemory: 1 << 20, MaxCallTime: 200 * time.Millisecond, MaxInstances: 4}
}

func newHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func call(t testing.TB, h *Host, fn string, args []byte) ([]byte, error) {
	t.Helper()
	return h.Call(context.Background(), []byte("basic"), []byte(fn), args, nil, nil)
}

func TestCalls(t *testing.T) {
	h := newHost(t, testConfig(t.TempDir()))
	if err := h.Put(context.Background(), "basic.wasm", "WASM", wat(t, "basic")); err != nil {
		t.Fatal(err)
	}
	args := []byte{0x92, 0x01, 0xa2, 0x03, 'x'} // [1, "x"]
	out, err := call(t, h, "echo", args)
	if err != nil || string(out) != string(args) {
		t.Fatalf("echo = %x, %v; want %x", out, err, args)
	}
	out, err = call(t, h, "print", []byte{0x90})
	if err != nil || string(out) != "\xc0" {
		t.Fatalf("a call without a result = %x, %v; want nil (c0)", out, err)
	}
	for _, tc := range []struct{ fn, want string }{
		{"fail", "basic.fail: boom"},
		{"nothing", "basic.nothing: no such function"},
		{"trap", "basic.trap: "},
		{"xstatus", "basic.xstatus: skiff_call returned status 7"},
		{"outside", "basic.outside: "},
		{"loop", "basic.loop: interrupted after 200ms"},
	} {
		_, err := call(t, h, tc.fn, []byte{0x90})
		var ce *CallError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a CallError starting %q", tc.fn, err, tc.want)
		}
	}
	// The node goes on: the instance that trapped or looped was dropped.
	if out, err := call(t, h, "echo", args); err != nil || string(out) != string(args) {
		t.Fatalf("echo after failures = %x, %v", out, err)
	}
	// Without a record, bin_set and bin_get answer -3; this module takes
	// -3 for a length, and the host refuses the read outside its memory.
	if _, err = call(t, h, "set", []byte{0x90}); err == nil || !strings.Contains(err.Error(), "outside the module's memory") {
		t.Errorf("set without a record: %v", err)
	}
	if _, err := h.Call(context.Background(), []byte("missing"), []byte("f"), []byte{0x90}, nil, nil); !errors.Is(err, ErrNoModule) {
		t.Errorf("unknown module: %v, want ErrNoModule", err)
	}
}

// TestLog: a module's log lines reach the node's log with the module and
// the function.
func TestLog(t *testing.T) {
	var buf syncbuf.Buffer
	h, err := New(context.Background(), testConfig(t.TempDir()), slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	if err := h.Put(context.Background(), "basic.wasm", "WASM", wat(t, "basic")); err != nil {
		t.Fatal(err)
	}
	if _, err := call(t, h, "print", []byte{0x90}); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	for _, want := range []string{"msg=\"hello from wat\"", "udf=basic.wasm", "function=print"} {
		if !strings.Contains(line, want) {
			t.Fatalf("log %q lacks %s", line, want)
		}
	}
}

func TestMemoryCap(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxMemory = 1 << 20
	h := newHost(t, cfg)
	if err := h.Put(context.Background(), "basic.wasm", "WASM", wat(t, "basic")); err != nil {
		t.Fatal(err)
	}
	out, err := call(t, h, "grow", []byte{0x90})
	if err != nil {
		t.Fatal(err)
	}
	// 0xce then the page count, big-endian.
	if len(out) != 5 || out[0] != 0xce {
		t.Fatalf("grow = %x", out)
	}
	pages := int(out[1])<<24 | int(out[2])<<16 | int(out[3])<<8 | int(out[4])
	if pages != int(cfg.MaxMemory/pageSize) {
		t.Errorf("memory grew to %d pages, want the cap, %d", pages, cfg.MaxMemory/pageSize)
	}
}

func TestRegistration(t *testing.T) {
	dir := t.TempDir()
	h := newHost(t, testConfig(dir))
	ctx := context.Background()
	basic := wat(t, "basic")
	for _, tc := range []struct {
		name, lang string
		content    []byte
		want       string
	}{
		{"a.lua", "LUA", []byte("function f() end"), `Skiff runs WebAssembly UDF modules`},
		{"a.wasm", "WASM", []byte("not wasm"), "module a.wasm is not valid WebAssembly"},
		{"a", "WASM", basic, `want NAME.wasm`},
		{"a/b.wasm", "WASM", basic, `only letters, digits`},
		{"a.wasm", "WASM", make([]byte, 2<<20), "over mod-udf max-module-size"},
		{"a.wasm", "WASM", wat(t, "noexport"), "does not export skiff_call"},
		{"a.wasm", "WASM", wat(t, "badimport"), `imports env.open`},
		{"a.wasm", "WASM", wat(t, "version2"), "speaks UDF ABI version 2"},
	} {
		err := h.Put(ctx, tc.name, tc.lang, tc.content)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Put(%s): %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if len(h.List()) != 0 {
		t.Fatalf("refused modules listed: %v", h.List())
	}
	if err := h.Put(ctx, "basic.wasm", "wasm", basic); err != nil {
		t.Fatal(err)
	}
	info, content, err := h.Get("basic.wasm")
	if err != nil || string(content) != string(basic) || info.Hash != contentHash(basic) {
		t.Fatalf("Get = %v, %d bytes, %v", info, len(content), err)
	}

	// Persisted: a new host on the same directory has it.
	h2 := newHost(t, testConfig(dir))
	if l := h2.List(); len(l) != 1 || l[0].Name != "basic.wasm" {
		t.Fatalf("after restart: %v", l)
	}
	if _, err := h2.Call(ctx, []byte("basic"), []byte("echo"), []byte{0x90}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := h2.Remove(ctx, "basic.wasm"); err != nil {
		t.Fatal(err)
	}
	if err := h2.Remove(ctx, "basic.wasm"); !errors.Is(err, ErrNoModule) {
		t.Fatalf("second remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "basic.wasm")); !os.IsNotExist(err) {
		t.Fatalf("removed module still stored: %v", err)
	}
}

// TestConcurrentCalls runs calls from several goroutines while the module
// is replaced and removed: each call succeeds or fails cleanly.
func TestConcurrentCalls(t *testing.T) {
	h := newHost(t, testConfig(t.TempDir()))
	ctx := context.Background()
	basic := wat(t, "basic")
	if err := h.Put(ctx, "basic.wasm", "WASM", basic); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var out []byte
			for range 200 {
				var err error
				out, err = h.Call(ctx, []byte("basic"), []byte("echo"), []byte{0x91, 0x05}, nil, out[:0])
				if err != nil && !errors.Is(err, ErrNoModule) {
					t.Error(err)
					return
				}
				if err == nil && string(out) != "\x91\x05" {
					t.Errorf("echo = %x", out)
					return
				}
			}
		})
	}
	for range 5 {
		if err := h.Put(ctx, "basic.wasm", "WASM", basic); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Remove(ctx, "basic.wasm"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

// BenchmarkCall is the host's cost of calling a trivial function without
// a record: echo of the hand-written module, and nop of a Go module.
func BenchmarkCall(b *testing.B) {
	cfg := testConfig(b.TempDir())
	cfg.MaxModuleSize, cfg.MaxMemory = 16<<20, 64<<20
	h := newHost(b, cfg)
	ctx := context.Background()
	if err := h.Put(ctx, "basic.wasm", "WASM", wat(b, "basic")); err != nil {
		b.Fatal(err)
	}
	if err := h.Put(ctx, "gonop.wasm", "WASM", udftest.Module(b, "./testdata/gonop")); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, module, fn string }{{"WAT", "basic", "echo"}, {"Go", "gonop", "nop"}} {
		b.Run(tc.name, func(b *testing.B) {
			args := []byte{0x91, 0x01}
			var out []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if out, err = h.Call(ctx, []byte(tc.module), []byte(tc.fn), args, nil, out[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRegister registers the counter example, a Go module of about
// 2.7 MB: Put compiles it on a host with an empty compilation cache;
// Restart starts a host on a directory that holds it, which loads the
// compiled code from the disk cache.
func BenchmarkRegister(b *testing.B) {
	content := udftest.Module(b, "../../../examples/udf/counter")
	newCfg := func(dir string) Config {
		cfg := testConfig(dir)
		cfg.MaxModuleSize, cfg.MaxMemory = 16<<20, 64<<20
		return cfg
	}
	ctx := context.Background()
	b.Run("Put", func(b *testing.B) {
		b.ReportMetric(float64(len(content))/(1<<20), "MB")
		for b.Loop() {
			b.StopTimer()
			h := newHost(b, newCfg(b.TempDir()))
			b.StartTimer()
			if err := h.Put(ctx, "counter.wasm", "WASM", content); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Restart", func(b *testing.B) {
		dir := b.TempDir()
		if err := newHost(b, newCfg(dir)).Put(ctx, "counter.wasm", "WASM", content); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			h, err := New(ctx, newCfg(dir), slog.New(slog.DiscardHandler))
			if err != nil || len(h.List()) != 1 {
				b.Fatal(err, h.List())
			}
			b.StopTimer()
			h.Close(ctx)
			b.StartTimer()
		}
	})
}

// TestInstanceCap: however many calls run at once, a module has at most
// MaxInstances instances; the others wait for one.
func TestInstanceCap(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxInstances = 2
	h := newHost(t, cfg)
	ctx := context.Background()
	if err := h.Put(ctx, "basic.wasm", "WASM", wat(t, "basic")); err != nil {
		t.Fatal(err)
	}
	m := h.lookup("basic")
	var most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				inst, err := m.get(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				m.mu.Lock()
				if r := int32(m.running); r > most.Load() {
					most.Store(r)
				}
				m.mu.Unlock()
				m.put(ctx, inst)
			}
		})
	}
	wg.Wait()
	if most.Load() > 2 || len(m.idle) > 2 {
		t.Fatalf("%d instances ran at once, %d idle; want at most 2", most.Load(), len(m.idle))
	}
}
