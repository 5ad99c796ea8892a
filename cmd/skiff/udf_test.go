package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

var wasmMagic = []byte("\x00asm")

// TestUDFBuild builds the Go counter example and the hand-written .wat
// example with `skiff udf build`, checks each is a module with the ABI's
// exports, and runs a few calls through a minimal host.
func TestUDFBuild(t *testing.T) {
	t.Run("counter", func(t *testing.T) {
		if _, err := exec.LookPath("go"); err != nil {
			t.Skip("no go command in PATH")
		}
		out := filepath.Join(t.TempDir(), "counter.wasm")
		wasm := runUDFBuild(t, "../../examples/udf/counter", "-o", out)
		h := newUDFHost(t, wasm)

		args := []byte("\x93\xa5\x03hits\x05\x07") // ["hits", 5, 7]
		h.wantCall(t, "incr", args, 0, "\x05")
		h.wantCall(t, "incr", args, 0, "\x07") // capped at 7
		if got := string(h.bins["hits"]); got != "\x07" {
			t.Errorf("bin hits = %q, want %q", got, "\x07")
		}
		h.bins["hits"] = []byte("\xa2\x03x") // "x"
		h.wantCall(t, "incr", args, 1, "")
		if !strings.Contains(h.failure, "not an integer") {
			t.Errorf("failure %q does not say the bin is not an integer", h.failure)
		}
		h.wantCall(t, "nope", []byte("\x90"), 2, "")
	})
	t.Run("wat", func(t *testing.T) {
		if _, err := exec.LookPath("wat2wasm"); err != nil {
			t.Skip("wat2wasm not installed (apt-get install wabt)")
		}
		dir := t.TempDir()
		src, err := os.ReadFile("../../examples/udf/wat/touch.wat")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "touch.wat"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		wasm := runUDFBuild(t, dir) // the default output: DIR/<base>.wasm
		if _, err := os.Stat(filepath.Join(dir, filepath.Base(dir)+".wasm")); err != nil {
			t.Errorf("default output: %v", err)
		}
		h := newUDFHost(t, wasm)
		h.wantCall(t, "touch_count", []byte("\x90"), 0, "\xd3\x00\x00\x00\x00\x00\x00\x00\x01")
		h.bins["n"] = []byte("\xcd\x01\x00") // 256
		h.wantCall(t, "touch_count", []byte("\x90"), 0, "\xd3\x00\x00\x00\x00\x00\x00\x01\x01")
		h.bins["n"] = []byte("\xa2\x03x")
		h.wantCall(t, "touch_count", []byte("\x90"), 1, "")
		h.wantCall(t, "echo", []byte("\x91\xa3\x03hi"), 0, "\xa3\x03hi")
		h.wantCall(t, "echo", []byte("\x90"), 1, "")
		h.wantCall(t, "nope", []byte("\x90"), 2, "")
	})
}

func TestUDFBuildErrors(t *testing.T) {
	empty := t.TempDir()
	twoWat := t.TempDir()
	for _, name := range []string{"a.wat", "b.wat"} {
		if err := os.WriteFile(filepath.Join(twoWat, name), []byte("(module)"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	oneWat := t.TempDir()
	if err := os.WriteFile(filepath.Join(oneWat, "m.wat"), []byte("(module)"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		emptyEnv bool // PATH without wat2wasm or go
		code     int
		want     string
	}{
		{"no command", nil, false, 2, "usage: skiff udf build"},
		{"no dir", []string{"build"}, false, 2, "usage: skiff udf build"},
		{"two dirs", []string{"build", empty, oneWat}, false, 2, "usage: skiff udf build"},
		{"no sources", []string{"build", empty}, false, 1, "no Go files and no .wat file"},
		{"missing dir", []string{"build", filepath.Join(empty, "nope")}, false, 1, "no such file"},
		{"two wat files", []string{"build", twoWat}, false, 1, "2 .wat files"},
		{"no wat2wasm", []string{"build", oneWat}, true, 1, "apt-get install wabt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.emptyEnv {
				t.Setenv("PATH", t.TempDir())
			}
			var stdout, stderr bytes.Buffer
			code := runUDF(tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("skiff udf %q: code %d, stderr %q; want code %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}

// runUDFBuild runs `skiff udf build DIR FLAGS...` and returns the module,
// checked to start with the wasm magic and to export the ABI.
func runUDFBuild(t *testing.T, dir string, flags ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"udf", "build", dir}, flags...), &stdout, &stderr); code != 0 {
		t.Fatalf("skiff udf build %s: exit %d: %s", dir, code, stderr.String())
	}
	wasm, err := os.ReadFile(strings.TrimSpace(stdout.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(wasm, wasmMagic) {
		t.Fatalf("%s: output does not start with the wasm magic", dir)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	cm, err := r.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatalf("%s: compile: %v", dir, err)
	}
	exports := cm.ExportedFunctions()
	for _, name := range []string{"skiff_abi_version", "skiff_call"} {
		if _, ok := exports[name]; !ok {
			t.Errorf("%s: no export %s", dir, name)
		}
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		t.Errorf("%s: no exported memory", dir)
	}
	for _, f := range cm.ImportedFunctions() {
		if mod, _, _ := f.Import(); mod != "skiff" && mod != "wasi_snapshot_preview1" {
			t.Errorf("%s: imports %s from module %q", dir, f.DebugName(), mod)
		}
	}
	return wasm
}

// udfHost is just enough of the ABI's host to call a module's functions
// on one record with no key: bins as raw msgpack, the call's input,
// result and failure.
type udfHost struct {
	mod     api.Module
	bins    map[string][]byte
	input   []byte
	result  []byte
	failure string
}

func newUDFHost(t *testing.T, wasm []byte) *udfHost {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	t.Cleanup(func() { r.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	h := &udfHost{bins: map[string][]byte{}}
	read := func(m api.Module, ptr, n uint32) []byte {
		b, ok := m.Memory().Read(ptr, n)
		if !ok {
			panic("udf test host: read outside memory")
		}
		return bytes.Clone(b)
	}
	// copyOut writes v to the guest's buffer when it fits and returns its
	// length, as the ABI's buffer-filling imports do.
	copyOut := func(m api.Module, ptr, bufCap uint32, v []byte) int32 {
		if uint32(len(v)) <= bufCap {
			m.Memory().Write(ptr, v)
		}
		return int32(len(v))
	}
	b := r.NewHostModuleBuilder("skiff")
	fn := func(name string, f any) { b = b.NewFunctionBuilder().WithFunc(f).Export(name) }
	fn("call_input", func(_ context.Context, m api.Module, ptr uint32) { m.Memory().Write(ptr, h.input) })
	fn("result", func(_ context.Context, m api.Module, ptr, n uint32) { h.result = read(m, ptr, n) })
	fn("fail", func(_ context.Context, m api.Module, ptr, n uint32) { h.failure = string(read(m, ptr, n)) })
	fn("log", func(_ context.Context, m api.Module, level int32, ptr, n uint32) {
		t.Logf("udf log %d: %s", level, read(m, ptr, n))
	})
	fn("rec_exists", func(context.Context) int32 {
		if len(h.bins) > 0 {
			return 1
		}
		return 0
	})
	fn("bin_get", func(_ context.Context, m api.Module, np, nl, bp, bc uint32) int32 {
		v, ok := h.bins[string(read(m, np, nl))]
		if !ok {
			return -1
		}
		return copyOut(m, bp, bc, v)
	})
	fn("bin_names", func(_ context.Context, m api.Module, bp, bc uint32) int32 {
		var names []byte
		for name := range h.bins {
			names = append(append(names, byte(len(name))), name...)
		}
		return copyOut(m, bp, bc, names)
	})
	fn("bin_set", func(_ context.Context, m api.Module, np, nl, vp, vl uint32) int32 {
		h.bins[string(read(m, np, nl))] = read(m, vp, vl)
		return 0
	})
	fn("bin_remove", func(_ context.Context, m api.Module, np, nl uint32) int32 {
		delete(h.bins, string(read(m, np, nl)))
		return 0
	})
	fn("rec_delete", func(context.Context) int32 { clear(h.bins); return 0 })
	fn("rec_generation", func(context.Context) int32 { return 0 })
	fn("rec_ttl", func(context.Context) int32 { return 0 })
	fn("rec_last_update", func(context.Context) int64 { return 0 })
	fn("rec_set_ttl", func(context.Context, int32) int32 { return 0 })
	fn("rec_key", func(context.Context, uint32, uint32) int32 { return -1 })
	fn("rec_set_name", func(context.Context, uint32, uint32) int32 { return 0 })
	fn("rec_digest", func(_ context.Context, m api.Module, ptr uint32) { m.Memory().Write(ptr, make([]byte, 20)) })
	if _, err := b.Instantiate(ctx); err != nil {
		t.Fatal(err)
	}
	mod, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	h.mod = mod
	res, err := mod.ExportedFunction("skiff_abi_version").Call(ctx)
	if err != nil || res[0] != 1 {
		t.Fatalf("skiff_abi_version() = %v, %v; want 1", res, err)
	}
	return h
}

// wantCall calls function name with the msgpack arguments args and checks
// the status and, on success, the msgpack result.
func (h *udfHost) wantCall(t *testing.T, name string, args []byte, status uint64, result string) {
	t.Helper()
	h.input = append([]byte(name), args...)
	h.result, h.failure = nil, ""
	res, err := h.mod.ExportedFunction("skiff_call").Call(context.Background(), uint64(len(name)), uint64(len(args)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got := uint64(uint32(res[0])); got != status {
		t.Fatalf("%s: status %d (failure %q), want %d", name, got, h.failure, status)
	}
	if status == 0 && string(h.result) != result {
		t.Errorf("%s: result %q, want %q", name, h.result, result)
	}
	if status == 1 && h.failure == "" {
		t.Errorf("%s: status 1 without a failure message", name)
	}
}
