// Package core assembles a Skiff node from its configuration: namespaces
// with their storage backends, the client service, the admin HTTP endpoint
// and the background work, and runs it until its context ends.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/backends"
	"github.com/skiffdb/skiff/core/internal/metrics"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/internal/replication"
	"github.com/skiffdb/skiff/core/internal/server"
	"github.com/skiffdb/skiff/core/internal/smd"
	"github.com/skiffdb/skiff/core/internal/udf"
	"github.com/skiffdb/skiff/core/logs"
)

// ShutdownTimeout bounds how long a stopping node waits for requests in
// flight before it closes their connections.
const ShutdownTimeout = 30 * time.Second

// Options configure a node.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// Logs are the sinks behind Logger, whose levels the log-set info
	// command changes; nil leaves log-set no sink to change.
	Logs *logs.Logs
	// OnListen, when set, is called with the addresses the node listens on
	// once it accepts requests (the admin address is nil when disabled).
	// Tests use it with port 0.
	OnListen func(service, admin net.Addr)
	// PluginDir holds the first-party storage plugin binaries; empty means
	// the directory of the node's executable.
	PluginDir string
}

// Run runs a node until ctx ends, then shuts it down gracefully: it stops
// accepting connections, finishes the requests in flight and closes the
// storage backends. It returns an error if the node cannot start or fails.
func Run(ctx context.Context, opts Options) error {
	cfg, log := opts.Config, opts.Logger
	if log == nil {
		log = slog.Default()
	}
	meta, err := smd.Open(cfg.Service.WorkDirectory)
	if err != nil {
		return fmt.Errorf("service work-directory: %w", err)
	}
	namespaces, err := openNamespaces(ctx, cfg, opts, meta, log)
	if err != nil {
		return startFailed(ctx, log, err)
	}
	defer closeNamespaces(namespaces, log)
	bg, stopBackground := context.WithCancel(context.Background())
	defer stopBackground()
	if err := restoreNamespaces(bg, namespaces, meta, log); err != nil {
		return err
	}

	udfHost, err := udf.New(ctx, udf.Config{
		Dir:           cfg.UDF.UserPath,
		MaxModuleSize: cfg.UDF.MaxModuleSize,
		MaxMemory:     cfg.UDF.MaxMemory,
		MaxCallTime:   cfg.UDF.MaxCallTime,
		MaxInstances:  cfg.UDF.InstancesPerModule,
	}, log)
	if err != nil {
		return startFailed(ctx, log, err)
	}
	defer udfHost.Close(context.Background())

	srv := server.New(bg, cfg, namespaces, udfHost, log)
	srv.SetLogs(opts.Logs)
	repl, err := startReplication(ctx, cfg, opts, srv, namespaces, log)
	if err != nil {
		return startFailed(ctx, log, err)
	}
	if repl != nil {
		defer repl.Close()
	}
	serviceAddr, err := srv.Listen()
	if err != nil {
		return err
	}
	var extra []prometheus.Collector
	if repl != nil {
		extra = append(extra, replication.NewCollector(repl))
	}
	admin, adminAddr, err := startAdmin(cfg, srv, namespaces, log, extra...)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}

	var wg sync.WaitGroup
	for _, ns := range namespaces {
		wg.Go(func() { ns.RunNsup(bg) })
		wg.Go(func() { ns.RunStopWrites(bg) })
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve() }()
	log.Info("node started", "node", srv.NodeID(), "service", serviceAddr.String(), "tls-port", srv.TLSPort(), "admin", fmt.Sprint(adminAddr), "namespaces", len(namespaces))
	if opts.OnListen != nil {
		opts.OnListen(serviceAddr, adminAddr)
	}

	select {
	case <-ctx.Done():
		log.Info("node stopping")
	case err = <-serveErr:
		log.Error("client service failed", "err", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil {
		log.Warn("requests still in flight at shutdown were cut", "err", serr)
	}
	if admin != nil {
		admin.Shutdown(shutdownCtx)
	}
	stopBackground()
	srv.WaitJobs()
	wg.Wait()
	log.Info("node stopped")
	return err
}

// startFailed is what Run returns when a step of the start that ctx
// governs fails: nil if ctx was cancelled meanwhile (a SIGTERM while
// backends open asks for a stop, which is then done), else err.
func startFailed(ctx context.Context, log *slog.Logger, err error) error {
	if ctx.Err() == nil {
		return err
	}
	log.Info("node stopped while starting", "err", err)
	return nil
}

// openNamespaces opens each namespace's storage backend.
func openNamespaces(ctx context.Context, cfg *config.Config, opts Options, meta *smd.Store, log *slog.Logger) ([]*record.Namespace, error) {
	var out []*record.Namespace
	for _, nc := range cfg.Namespaces {
		b, err := backends.Open(ctx, nc, backends.Options{Logger: log, PluginDir: opts.PluginDir, WorkDirectory: cfg.Service.WorkDirectory})
		if err != nil {
			closeNamespaces(out, log)
			return nil, fmt.Errorf("namespace %s (%s:%d): %w", nc.Name, nc.File, nc.Line, err)
		}
		out = append(out, record.New(nc, record.Options{Backend: b, Metadata: meta, Logger: log}))
	}
	return out, nil
}

// restoreNamespaces applies the truncation points and index definitions
// kept in the system metadata to the namespaces, before the node serves.
func restoreNamespaces(ctx context.Context, namespaces []*record.Namespace, meta *smd.Store, log *slog.Logger) error {
	for _, ns := range namespaces {
		indexes, err := meta.Indexes(ns.Name())
		if err != nil {
			return err
		}
		truncates := meta.Truncates(ns.Name())
		if err := ns.Restore(ctx, truncates, indexes); err != nil {
			return fmt.Errorf("namespace %s: %s: %w", ns.Name(), meta.Path(), err)
		}
		if len(truncates) > 0 || len(indexes) > 0 {
			log.Info("system metadata restored", "namespace", ns.Name(), "truncates", len(truncates), "indexes", len(indexes))
		}
	}
	return nil
}

func closeNamespaces(namespaces []*record.Namespace, log *slog.Logger) {
	for _, ns := range namespaces {
		if err := ns.Close(); err != nil {
			log.Error("closing namespace failed", "namespace", ns.Name(), "err", err)
		}
	}
}

// startAdmin serves /metrics, /healthz and /readyz, unless the admin port is
// 0.
func startAdmin(cfg *config.Config, srv *server.Server, namespaces []*record.Namespace, log *slog.Logger, extra ...prometheus.Collector) (*http.Server, net.Addr, error) {
	ep := cfg.Network.Admin
	if ep.Port == 0 {
		return nil, nil, nil
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(namespaces, srv), metrics.NewExtras(namespaces))
	reg.MustRegister(extra...)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !srv.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	// Profiles, for the operator's `go tool pprof`: the admin port listens
	// on loopback unless configured otherwise.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	addr := net.JoinHostPort(ep.Address, strconv.Itoa(ep.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("admin listener on %s: %w", addr, err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener failed", "err", err)
		}
	}()
	return hs, ln.Addr(), nil
}
