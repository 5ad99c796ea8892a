// Command skiffd runs a Skiff node.
//
//	skiffd [--config FILE] [--print-default-config]
//
// Without --config it runs the embedded default configuration: namespace
// "test" in memory, clients on 127.0.0.1:3000, metrics on 127.0.0.1:9145.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/skiffdb/skiff/core"
	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/sysmon"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "skiffd:", err)
		os.Exit(1)
	}
}

func run() error {
	// Before anything starts: on success the process begins again.
	reexecErr := sysmon.Reexec()
	configPath := flag.String("config", "", "configuration `file` in the aerospike.conf dialect (default: the embedded configuration)")
	printDefault := flag.Bool("print-default-config", false, "print the embedded default configuration and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if *printDefault {
		_, err := os.Stdout.Write(config.DefaultText())
		return err
	}

	cfg := config.Default()
	if *configPath != "" {
		var err error
		if cfg, err = config.Load(*configPath); err != nil {
			return err
		}
	}
	log, closeLogs, err := newLogger(cfg.Logging)
	if err != nil {
		return err
	}
	defer closeLogs()
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	if reexecErr != nil {
		log.Warn("running with the Go runtime's default sysmon, which costs CPU per request when the node idles between them", "err", reexecErr)
	}
	setMemoryLimit(log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return core.Run(ctx, core.Options{Config: cfg, Logger: log})
}

// newLogger builds the node's logger from the logging sinks.
func newLogger(sinks []config.LogSink) (*slog.Logger, func(), error) {
	var handlers []slog.Handler
	var files []io.Closer
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, s := range sinks {
		var w io.Writer = os.Stderr
		if s.Path != "" {
			f, err := os.OpenFile(s.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("open log file: %w", err)
			}
			files = append(files, f)
			w = f
		}
		handlers = append(handlers, slog.NewTextHandler(w, &slog.HandlerOptions{Level: level(s.Level)}))
	}
	if len(handlers) == 0 {
		handlers = append(handlers, slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewMultiHandler(handlers...)), closeAll, nil
}

// level maps Aerospike's log levels to slog's.
func level(s string) slog.Level {
	switch s {
	case "critical":
		return slog.LevelError + 4
	case "warning":
		return slog.LevelWarn
	case "debug":
		return slog.LevelDebug
	case "detail":
		return slog.LevelDebug - 4
	}
	return slog.LevelInfo
}
