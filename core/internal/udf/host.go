// Package udf runs user-defined functions: WebAssembly modules, registered
// through the info protocol, compiled once by wazero (and cached on disk),
// run from pools of instances under per-call time and memory limits. The
// ABI between node and module is sdk/udf/abi.md; this package is its host
// side. A record UDF works on a Record the caller provides: the record
// layer, which commits the changes through its normal write path.
package udf

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/skiffdb/skiff/internal/atomicfile"
)

// Config is the mod-udf block.
type Config struct {
	// Dir holds the registered modules (user-path); they are loaded from
	// it at startup. Its .cache subdirectory holds compiled code.
	Dir string
	// MaxModuleSize is the largest module registration accepts.
	MaxModuleSize int64
	// MaxMemory is the most linear memory one instance may grow to.
	MaxMemory int64
	// MaxCallTime bounds one call; a call still running then is
	// interrupted and fails.
	MaxCallTime time.Duration
	// MaxInstances is the most instances of a module, each serving one call
	// at a time; they are kept for reuse.
	MaxInstances int
}

// Language is the udf-type registration accepts and listings show.
const Language = "WASM"

// Extension ends every module's file name; clients name a module by the
// file name without it.
const Extension = ".wasm"

const pageSize = 64 << 10

// Host owns the registered modules.
type Host struct {
	cfg Config
	log *slog.Logger

	// startMu guards the making of rt and cache; both are set before the
	// first module exists, and never change after.
	startMu sync.Mutex
	rt      wazero.Runtime
	cache   wazero.CompilationCache

	mu   sync.RWMutex
	mods map[string]*module // by package name
}

// Info describes a registered module as udf-list shows it.
type Info struct {
	Name string // file name, with Extension
	Hash string // SHA-1 of the content, hex
	Size int
}

// Errors of registration and calls.
var (
	ErrNoModule   = errors.New("no such UDF module")
	ErrNoFunction = errors.New("no such function")
)

// New starts a host and loads the modules stored in cfg.Dir. The
// directory and the WebAssembly runtime are made when the first module
// needs them, so that a node without UDFs neither writes to the disk nor
// pays for a runtime. A module that does not load is logged, not fatal.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Host, error) {
	if cfg.MaxMemory < pageSize {
		return nil, fmt.Errorf("udf: max-memory %d is under one 64 KiB page", cfg.MaxMemory)
	}
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = 1
	}
	h := &Host{cfg: cfg, log: log.With("module", "udf"), mods: make(map[string]*module)}
	if _, err := os.Stat(cfg.Dir); err != nil {
		return h, nil
	}
	if err := h.start(ctx); err != nil {
		return nil, err
	}
	h.loadAll(ctx)
	return h, nil
}

// start makes the module directory and the runtime, once.
func (h *Host) start(ctx context.Context) error {
	h.startMu.Lock()
	defer h.startMu.Unlock()
	if h.rt != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(h.cfg.Dir, ".cache"), 0o755); err != nil {
		return fmt.Errorf("mod-udf user-path %s is not usable: %w", h.cfg.Dir, err)
	}
	rc := wazero.NewRuntimeConfigCompiler().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(min(h.cfg.MaxMemory/pageSize, 65536)))
	if cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(h.cfg.Dir, ".cache")); err != nil {
		h.log.Warn("compiled UDF code will not be cached on disk", "err", err)
	} else {
		h.cache = cache
		rc = rc.WithCompilationCache(cache)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return fmt.Errorf("udf: wasi: %w", err)
	}
	if err := instantiateABI(ctx, rt); err != nil {
		rt.Close(ctx)
		return fmt.Errorf("udf: host module: %w", err)
	}
	h.rt = rt
	return nil
}

// loadAll registers the modules stored in the directory.
func (h *Host) loadAll(ctx context.Context) {
	entries, err := os.ReadDir(h.cfg.Dir)
	if err != nil {
		h.log.Error("reading UDF modules", "dir", h.cfg.Dir, "err", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || checkName(name) != nil {
			continue
		}
		content, err := os.ReadFile(filepath.Join(h.cfg.Dir, name))
		if err == nil {
			var m *module
			if m, err = h.compile(ctx, name, content); err == nil {
				h.mods[m.pkg] = m
				h.log.Info("UDF module loaded", "name", name, "bytes", len(content))
				continue
			}
		}
		h.log.Error("UDF module not loaded", "name", name, "err", err)
	}
}

// Close stops every instance and the runtime.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	for _, m := range h.mods {
		m.retire(ctx)
	}
	h.mods = map[string]*module{}
	h.mu.Unlock()
	h.startMu.Lock()
	defer h.startMu.Unlock()
	if h.rt == nil {
		return nil
	}
	err := h.rt.Close(ctx)
	if h.cache != nil {
		h.cache.Close(ctx)
	}
	return err
}

// checkName accepts a module file name: letters, digits, '_', '-' and '.',
// not starting with '.', ending in Extension.
func checkName(name string) error {
	pkg, ok := strings.CutSuffix(name, Extension)
	if !ok || pkg == "" || len(name) > 128 || name[0] == '.' {
		return fmt.Errorf("module name %q: want NAME%s, at most 128 bytes", name, Extension)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("module name %q: only letters, digits, '_', '-' and '.'", name)
		}
	}
	return nil
}

// Put validates, compiles and stores a module, replacing one of the same
// name. Calls already running finish on the old one.
func (h *Host) Put(ctx context.Context, name, language string, content []byte) error {
	if !strings.EqualFold(language, Language) {
		return fmt.Errorf("udf-type %q: Skiff runs WebAssembly UDF modules (udf-type=%s), not Lua", language, Language)
	}
	if err := checkName(name); err != nil {
		return err
	}
	if int64(len(content)) > h.cfg.MaxModuleSize {
		return fmt.Errorf("module %s is %d bytes, over mod-udf max-module-size %d", name, len(content), h.cfg.MaxModuleSize)
	}
	if err := h.start(ctx); err != nil {
		return err
	}
	m, err := h.compile(ctx, name, content)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(h.cfg.Dir, name), content); err != nil {
		m.retire(ctx)
		return fmt.Errorf("store module %s: %w", name, err)
	}
	h.mu.Lock()
	old := h.mods[m.pkg]
	h.mods[m.pkg] = m
	h.mu.Unlock()
	if old != nil {
		old.retire(ctx)
	}
	h.log.Info("UDF module registered", "name", name, "bytes", len(content), "hash", m.info.Hash)
	return nil
}

// Remove deletes a module.
func (h *Host) Remove(ctx context.Context, name string) error {
	pkg, _ := strings.CutSuffix(name, Extension)
	h.mu.Lock()
	m := h.mods[pkg]
	if m == nil || m.info.Name != name {
		h.mu.Unlock()
		return fmt.Errorf("module %s: %w", name, ErrNoModule)
	}
	delete(h.mods, pkg)
	h.mu.Unlock()
	m.retire(ctx)
	if err := os.Remove(filepath.Join(h.cfg.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove module %s: %w", name, err)
	}
	h.log.Info("UDF module removed", "name", name)
	return nil
}

// List returns the registered modules by name.
func (h *Host) List() []Info {
	h.mu.RLock()
	out := make([]Info, 0, len(h.mods))
	for _, m := range h.mods {
		out = append(out, m.info)
	}
	h.mu.RUnlock()
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Get returns a module's content as registered.
func (h *Host) Get(name string) (Info, []byte, error) {
	pkg, _ := strings.CutSuffix(name, Extension)
	h.mu.RLock()
	m := h.mods[pkg]
	h.mu.RUnlock()
	if m == nil || m.info.Name != name {
		return Info{}, nil, fmt.Errorf("module %s: %w", name, ErrNoModule)
	}
	content, err := os.ReadFile(filepath.Join(h.cfg.Dir, name))
	if err != nil {
		return Info{}, nil, fmt.Errorf("read module %s: %w", name, err)
	}
	return m.info, content, nil
}

// lookup returns the module clients call pkg.
func (h *Host) lookup(pkg string) *module {
	h.mu.RLock()
	m := h.mods[pkg]
	h.mu.RUnlock()
	return m
}

func contentHash(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}
