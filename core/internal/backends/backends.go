// Package backends opens each namespace's storage backend as its
// configuration says: linked into the node, or as a plugin process that it
// supervises, restarting it with back-off when it crashes or stops
// answering.
package backends

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/skiffdb/skiff/core/config"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
)

// Status is what operators see of a namespace's backend in info and
// /metrics.
type Status struct {
	// Backend is the backend's name: "memory", or the name a third-party
	// plugin gives itself.
	Backend string
	// Mode is config.ModeProcess or config.ModeInProcess.
	Mode string
	// Path is the plugin binary, in process mode.
	Path string
	// Pid is the plugin process's id, 0 while none runs.
	Pid int
	// Restarts counts the plugin's restarts since the node started.
	Restarts uint64
	// State is "running", "restarting", "crash-looping" or "closed".
	State string
	// LastError is why the plugin last stopped or failed to start.
	LastError string
}

// Backend is a namespace's storage with its status.
type Backend interface {
	storage.Backend
	Status() Status
}

// Options are what opening a backend needs besides its configuration.
type Options struct {
	Logger *slog.Logger
	// PluginDir holds the first-party plugin binaries
	// (skiff-storage-memory); empty means the directory of the node's
	// executable.
	PluginDir string
}

// Open opens the backend of namespace ns.
func Open(ctx context.Context, ns *config.Namespace, opts Options) (Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	st := ns.Storage
	if st.Mode == config.ModeInProcess {
		if st.Type != "memory" {
			return nil, fmt.Errorf("storage-engine %s cannot run in-process", st.Type)
		}
		b, err := memory.New(memory.Options{DataSize: st.DataSize})
		if err != nil {
			return nil, err
		}
		return &linked{Backend: b, status: Status{Backend: "memory", Mode: config.ModeInProcess, State: "running"}}, nil
	}
	cfg := plugin.Config{
		Path:      st.Path,
		Namespace: ns.Name,
		Settings:  st.Settings,
	}
	if st.Type == "memory" {
		cfg.Settings = map[string]string{"data-size": strconv.FormatInt(st.DataSize, 10)}
		if cfg.Path == "" {
			dir, err := pluginDir(opts.PluginDir)
			if err != nil {
				return nil, err
			}
			cfg.Path = filepath.Join(dir, "skiff-storage-memory")
		}
	}
	cfg.Logger = log.With("namespace", ns.Name, "storage", filepath.Base(cfg.Path))
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("storage plugin binary: %w (build it with `make build`, or set the namespace's storage-engine mode to in-process)", err)
	}
	return startSupervised(ctx, cfg, log)
}

func pluginDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the plugin directory: %w", err)
	}
	return filepath.Dir(exe), nil
}

// linked is a backend linked into the node.
type linked struct {
	storage.Backend
	status Status
}

func (l *linked) Status() Status { return l.status }

// errUnavailable is returned while no plugin process serves the namespace.
var errUnavailable = errors.New("storage plugin not running")
