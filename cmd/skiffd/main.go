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
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/skiffdb/skiff/core"
	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/logs"
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
	sinks, err := logs.Open(cfg.Logging)
	if err != nil {
		return err
	}
	defer sinks.Close()
	log := sinks.Logger()
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	if reexecErr != nil {
		log.Warn("running with the Go runtime's default sysmon, which costs CPU per request when the node idles between them", "err", reexecErr)
	}
	setMemoryLimit(log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// Once the pidfile is there, a signal to its pid is a stop.
	if path := cfg.Service.PidFile; path != "" {
		if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("service pidfile: %w", err)
		}
		defer os.Remove(path)
	}
	return core.Run(ctx, core.Options{Config: cfg, Logger: log, Logs: sinks})
}
