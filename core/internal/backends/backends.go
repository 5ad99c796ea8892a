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
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/core/config"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	nvme "github.com/skiffdb/skiff/plugins/storage-nvme"
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
	// SharedIndex reports that the node reads the plugin's index and
	// records itself (see sdk/storage/sharedindex).
	SharedIndex bool
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
	// WorkDirectory is the service's work-directory, where a device
	// namespace's index snapshot is kept between a clean stop and the next
	// start (see IndexSnapshot); empty means none is kept.
	WorkDirectory string
}

// IndexSnapshot is where a device namespace's backend writes its index when
// it stops cleanly, for a warm start: under the work-directory, one file a
// namespace (its name escaped, as a name may hold a slash).
func IndexSnapshot(workDir, namespace string) string {
	return filepath.Join(workDir, "index", url.PathEscape(namespace)+".snapshot")
}

// Open opens the backend of namespace ns.
func Open(ctx context.Context, ns *config.Namespace, opts Options) (Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	st := ns.Storage
	if st.Mode == config.ModeInProcess {
		var b storage.Backend
		var err error
		switch st.Type {
		case "memory":
			b, err = memory.New(memory.Options{DataSize: st.DataSize, RegionFile: st.RegionFile, SnapshotFile: st.SnapshotFile})
		case "device":
			var o nvme.Options
			if o, err = nvme.ParseSettings(ns.Name, deviceSettings(ns, opts.WorkDirectory)); err == nil {
				o.Logger = log.With("namespace", ns.Name, "storage", "device")
				b, err = nvme.New(o)
			}
		default:
			return nil, fmt.Errorf("storage-engine %s cannot run in-process", st.Type)
		}
		if err != nil {
			return nil, err
		}
		return &linked{Backend: b, status: Status{Backend: st.Type, Mode: config.ModeInProcess, State: "running"}}, nil
	}
	cfg := plugin.Config{
		Path:      st.Path,
		Namespace: ns.Name,
		Settings:  st.Settings,
	}
	firstParty := ""
	switch st.Type {
	case "memory":
		cfg.Settings = map[string]string{"data-size": strconv.FormatInt(st.DataSize, 10)}
		if st.RegionFile != "" {
			cfg.Settings["region-file"] = st.RegionFile
		}
		if st.SnapshotFile != "" {
			cfg.Settings["snapshot-file"] = st.SnapshotFile
		}
		firstParty = "skiff-storage-memory"
	case "device":
		cfg.Settings = deviceSettings(ns, opts.WorkDirectory)
		firstParty = "skiff-storage-nvme"
		// The device plugin serves requests concurrently (it is
		// storage.IOBound), so few connections suffice: each carries many
		// requests per write.
		cfg.Conns = deviceConns
	}
	if cfg.Path == "" && firstParty != "" {
		dir, err := PluginDir(opts.PluginDir)
		if err != nil {
			return nil, err
		}
		cfg.Path = filepath.Join(dir, firstParty)
	}
	cfg.Logger = log.With("namespace", ns.Name, "storage", filepath.Base(cfg.Path))
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("storage plugin binary: %w (build it with `make build`, or set the namespace's storage-engine mode to in-process)", err)
	}
	return startSupervised(ctx, cfg, log)
}

// deviceConns is how many data connections a device plugin gets: with one
// or two, 16 clients' reads went 7–16% faster than with 16 connections
// (bench/RESULTS.md, "Device backend").
const deviceConns = 2

// deviceSettings are the device backend's settings for namespace ns, its
// index snapshot under workDir, in the
// form nvme.Open takes them in both modes: plain numbers, lists joined with
// commas.
func deviceSettings(ns *config.Namespace, workDir string) map[string]string {
	d := ns.Storage.Device
	s := map[string]string{
		"write-block-size":   strconv.FormatInt(d.WriteBlockSize, 10),
		"direct-io":          strconv.FormatBool(d.DirectIO),
		"post-write-queue":   strconv.Itoa(d.PostWriteQueue),
		"max-write-cache":    strconv.FormatInt(d.MaxWriteCache, 10),
		"flush-max-ms":       strconv.Itoa(d.FlushMaxMs),
		"defrag-lwm-pct":     strconv.Itoa(d.DefragLWMPct),
		"defrag-sleep":       strconv.Itoa(d.DefragSleepUs),
		"tomb-raider-period": strconv.FormatInt(int64(ns.TombRaiderPeriod/time.Second), 10),
		"commit-to-device":   strconv.FormatBool(d.CommitToDevice),
		"data-in-memory":     strconv.FormatBool(d.DataInMemory),
		"cold-start-empty":   strconv.FormatBool(d.ColdStartEmpty),
		"read-page-cache":    strconv.FormatBool(d.ReadPageCache),
		"compression":        d.Compression,
		"compression-level":  strconv.Itoa(d.CompressionLevel),
	}
	if len(d.Devices) > 0 {
		s["devices"] = strings.Join(d.Devices, ",")
	}
	if len(d.Files) > 0 {
		s["files"] = strings.Join(d.Files, ",")
		s["filesize"] = strconv.FormatInt(d.FileSize, 10)
	}
	if workDir != "" {
		s["index-snapshot"] = IndexSnapshot(workDir, ns.Name)
	}
	if d.WriteBufferFile != "" {
		s["write-buffer-file"] = d.WriteBufferFile
	}
	if ns.Storage.RegionFile != "" {
		s["region-file"] = ns.Storage.RegionFile
	}
	// No max-record-size: the node enforces the namespace's, which
	// set-config may raise, and the backend takes the largest record its
	// write blocks hold.
	if ns.IndexType == "flash" {
		s["index-type"] = "flash"
		s["index-mount"] = ns.IndexMount
		if ns.IndexMountsSizeLimit > 0 {
			s["index-mount-size-limit"] = strconv.FormatInt(ns.IndexMountsSizeLimit, 10)
		}
	}
	return s
}

// PluginDir is the directory of the first-party plugin binaries: dir, or
// the node binary's own directory when dir is empty.
func PluginDir(dir string) (string, error) {
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
