package udf

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// abiVersion is the version of sdk/udf/abi.md this host implements.
const abiVersion = 1

// module is one registered module: its compiled code and idle instances.
type module struct {
	h        *Host
	pkg      string
	info     Info
	compiled wazero.CompiledModule

	// slots holds a token for each instance out of the pool.
	slots chan struct{}

	mu      sync.Mutex
	idle    []*instance
	retired bool
	// running counts instances out of the pool; the compiled code is freed
	// when the last one of a retired module comes back.
	running int
}

// compile validates content as a module of this ABI and compiles it, then
// makes one instance, which checks that it starts and answers the ABI
// version, and keeps it idle.
func (h *Host) compile(ctx context.Context, name string, content []byte) (*module, error) {
	// Go modules are megabytes of code: compile on every core.
	compiled, err := h.rt.CompileModule(experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0)), content)
	if err != nil {
		return nil, fmt.Errorf("module %s is not valid WebAssembly: %w", name, err)
	}
	if err := checkExports(compiled); err != nil {
		compiled.Close(ctx)
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	if err := checkImports(compiled); err != nil {
		compiled.Close(ctx)
		return nil, fmt.Errorf("module %s: %w", name, err)
	}
	m := &module{
		h:        h,
		pkg:      strings.TrimSuffix(name, Extension),
		info:     Info{Name: name, Hash: contentHash(content), Size: len(content)},
		compiled: compiled,
		slots:    make(chan struct{}, h.cfg.MaxInstances),
	}
	inst, err := m.instantiate(ctx)
	if err != nil {
		compiled.Close(ctx)
		return nil, fmt.Errorf("module %s does not start: %w", name, err)
	}
	res, err := inst.m.ExportedFunction("skiff_abi_version").Call(ctx)
	if err != nil || res[0] != abiVersion {
		inst.m.Close(ctx)
		compiled.Close(ctx)
		if err != nil {
			return nil, fmt.Errorf("module %s: skiff_abi_version: %w", name, err)
		}
		return nil, fmt.Errorf("module %s speaks UDF ABI version %d; this node speaks %d", name, int32(res[0]), abiVersion)
	}
	m.idle = append(m.idle, inst)
	return m, nil
}

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

func checkExports(c wazero.CompiledModule) error {
	if _, ok := c.ExportedMemories()["memory"]; !ok {
		return errors.New(`it exports no memory named "memory"`)
	}
	want := map[string][2][]api.ValueType{
		"skiff_abi_version": {nil, {i32}},
		"skiff_call":        {{i32, i32}, {i32}},
	}
	funcs := c.ExportedFunctions()
	for name, sig := range want {
		f, ok := funcs[name]
		if !ok {
			return fmt.Errorf("it does not export %s (see sdk/udf/abi.md)", name)
		}
		if !slices.Equal(f.ParamTypes(), sig[0]) || !slices.Equal(f.ResultTypes(), sig[1]) {
			return fmt.Errorf("its %s has the wrong signature (see sdk/udf/abi.md)", name)
		}
	}
	return nil
}

// checkImports allows imports from the ABI's module, with the ABI's
// signatures, and from WASI.
func checkImports(c wazero.CompiledModule) error {
	for _, f := range c.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case wasiModule:
			continue
		case abiModule:
			sig, ok := abiSignatures[name]
			if !ok {
				return fmt.Errorf("it imports %s.%s, which the UDF ABI does not have", mod, name)
			}
			if !slices.Equal(f.ParamTypes(), sig[0]) || !slices.Equal(f.ResultTypes(), sig[1]) {
				return fmt.Errorf("its import %s.%s has the wrong signature (see sdk/udf/abi.md)", mod, name)
			}
		default:
			return fmt.Errorf("it imports %s.%s: a UDF may import only from %q and %q", mod, name, abiModule, wasiModule)
		}
	}
	for _, m := range c.ImportedMemories() {
		mod, name, _ := m.Import()
		return fmt.Errorf("it imports memory %s.%s: a UDF must define its own", mod, name)
	}
	return nil
}

const wasiModule = "wasi_snapshot_preview1"

// instance is one instantiated module and the state of the call it is
// serving.
type instance struct {
	mod  *module
	m    api.Module
	call api.Function
	// base carries the instance to the host functions.
	base context.Context
	// stderr collects the guest's output of the current call, kept for
	// the error message of a call that dies.
	out guestOutput
	c   callState
}

type instanceKey struct{}

func (m *module) instantiate(ctx context.Context) (*instance, error) {
	inst := &instance{mod: m}
	inst.out.log = m.h.log.With("udf", m.info.Name)
	inst.c.log = inst.out.log
	inst.base = context.WithValue(context.Background(), instanceKey{}, inst)
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		WithStdout(&inst.out).
		WithStderr(&inst.out).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
	startCtx, cancel := context.WithTimeout(inst.base, max(m.h.cfg.MaxCallTime, minStartTime))
	defer cancel()
	mod, err := m.h.rt.InstantiateModule(startCtx, m.compiled, cfg)
	if err != nil {
		return nil, describeExit(err, &inst.out, m.h.cfg)
	}
	inst.m = mod
	inst.call = mod.ExportedFunction("skiff_call")
	return inst, nil
}

// get takes an idle instance or makes one. A module has at most MaxInstances
// instances: a call waits for one to come back rather than start another
// Go runtime (milliseconds, megabytes) for a moment's burst, but no longer
// than a call may run.
func (m *module) get(ctx context.Context) (*instance, error) {
	select {
	case m.slots <- struct{}{}:
	default:
		t := time.NewTimer(m.h.cfg.MaxCallTime)
		select {
		case m.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			return nil, fmt.Errorf("all %d instances stayed busy for %v (mod-udf instances-per-module)", cap(m.slots), m.h.cfg.MaxCallTime)
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	m.mu.Lock()
	if m.retired {
		// Replaced or removed since the caller looked it up: its compiled
		// code may be freed already.
		m.mu.Unlock()
		<-m.slots
		return nil, errRetired
	}
	if n := len(m.idle); n > 0 {
		inst := m.idle[n-1]
		m.idle = m.idle[:n-1]
		m.running++
		m.mu.Unlock()
		return inst, nil
	}
	m.running++
	m.mu.Unlock()
	inst, err := m.instantiate(ctx)
	if err != nil {
		m.put(ctx, nil)
	}
	return inst, err
}

// put returns an instance to the pool; a nil or broken one is dropped.
func (m *module) put(ctx context.Context, inst *instance) {
	defer func() { <-m.slots }()
	m.mu.Lock()
	m.running--
	keep := inst != nil && !inst.broken() && !m.retired
	if keep {
		m.idle = append(m.idle, inst)
	}
	free := m.retired && m.running == 0
	m.mu.Unlock()
	if inst != nil && !keep {
		inst.m.Close(ctx)
	}
	if free {
		m.compiled.Close(ctx)
	}
}

func (inst *instance) broken() bool {
	return inst.m.IsClosed()
}

// errRetired is get's error for a module replaced or removed after the
// caller looked it up.
var errRetired = fmt.Errorf("module replaced or removed: %w", ErrNoModule)

// retire closes the idle instances of a module that was replaced or
// removed; those running close as they come back.
func (m *module) retire(ctx context.Context) {
	m.mu.Lock()
	idle := m.idle
	m.idle, m.retired = nil, true
	free := m.running == 0
	m.mu.Unlock()
	for _, inst := range idle {
		inst.m.Close(ctx)
	}
	if free {
		m.compiled.Close(ctx)
	}
}

// minStartTime bounds an instance's start (a Go module's runtime
// initialization) even when calls are limited to less.
const minStartTime = 5 * time.Second

// guestOutput is a module's stdout and stderr: each write is a line in the
// node's log, and the first of a call (a Go runtime's "panic: ..." or
// "fatal error: ...") is kept for the call's error.
type guestOutput struct {
	log   *slog.Logger
	first []byte
}

func (o *guestOutput) Write(p []byte) (int, error) {
	text := strings.TrimSpace(string(p))
	if text != "" {
		o.log.Info("udf output", "text", text)
		if len(o.first) == 0 {
			o.first = append(o.first, text[:min(len(text), 512)]...)
		}
	}
	return len(p), nil
}

// describeExit turns a call's or a start's failure into a message a UDF
// author can act on.
func describeExit(err error, out *guestOutput, cfg Config) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return fmt.Errorf("interrupted after %v (mod-udf max-call-ms)", cfg.MaxCallTime)
		case sys.ExitCodeContextCanceled:
			return errors.New("interrupted: the node is stopping")
		}
		return errors.New(withOutput(fmt.Sprintf("module exited with code %d", exit.ExitCode()), out, cfg))
	}
	// A trap: its first line ("wasm error: unreachable"), without the
	// stack trace, which the node logs.
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(withOutput(msg, out, cfg))
}

// withOutput adds to a dying call's message what the guest printed first
// (a Go runtime's "panic: ..." or "fatal error: ...").
func withOutput(msg string, out *guestOutput, cfg Config) string {
	if len(out.first) > 0 {
		msg += ": " + string(out.first)
	}
	if strings.Contains(msg, "out of memory") {
		msg += fmt.Sprintf(" (mod-udf max-memory is %d bytes)", cfg.MaxMemory)
	}
	return msg
}
