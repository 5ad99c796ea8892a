package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/internal/udf"
	"github.com/skiffdb/skiff/core/logs"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
)

// FuzzInfo sends any text as an info command to a node with a namespace,
// a UDF host and a log sink: every command, known or not, well formed or
// not, gets an answer and never a panic. A fuzzed command may change the
// node (truncate, sindex-create, set-config, log-set, udf-put); later
// inputs then meet a node in that state, as a hostile client's would.
func FuzzInfo(f *testing.F) {
	for _, cmd := range []string{
		"", "node", "namespaces", "namespace/test", "namespace/", "sets/test/s", "bins/test",
		"statistics", "replicas", "peers-clear-std", "service", "latencies:", "latencies:hist=test-read",
		"truncate:namespace=test;set=s", "truncate:namespace=test;set=s;lut=12", "truncate-namespace:namespace=test",
		"sindex-create:ns=test;set=s;indexname=i;indexdata=b,numeric", "sindex-create:namespace=test;indexname=j;bin=b;type=string;indextype=list",
		"sindex-delete:ns=test;indexname=i", "sindex-exists:ns=test;indexname=i", "sindex-list:ns=test", "sindex/test/i", "sindex-stat:ns=test;indexname=i",
		"query-show", "scan-show", "jobs:module=query;cmd=kill-job;trid=1", "query-abort:trid=1",
		"udf-put:filename=m.wasm;content=AGFzbQEAAAA=;content-len=8;udf-type=WASM", "udf-list", "udf-get:filename=m.wasm", "udf-remove:filename=m.wasm",
		"get-config", "get-config:context=namespace;id=test", "get-config:context=network", "get-config:context=mod-udf",
		"set-config:context=namespace;id=test;default-ttl=1D;nsup-period=0", "set-config:context=namespace;namespace=test;evict-used-pct=80;stop-writes-used-pct=95", "set-config:context=service;proto-fd-max=100", "set-config:context=namespace;id=test;set=s;disable-eviction=true",
		"logs", "log/0", "log-set:id=0;any=debug",
		"namespace/test;x", ":::", "get-config:context=namespace;id", "set-config:;;=;=", "truncate:lut=;namespace=",
	} {
		f.Add(cmd)
	}
	cfg := config.Default()
	cfg.Namespaces[0].Storage.DataSize = 64 << 20
	b, err := memory.New(memory.Options{DataSize: cfg.Namespaces[0].Storage.DataSize})
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ns := record.New(cfg.Namespaces[0], record.Options{Backend: b, Logger: log})
	f.Cleanup(func() { ns.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	dir := f.TempDir()
	host, err := udf.New(ctx, udf.Config{Dir: filepath.Join(dir, "udf"), MaxModuleSize: 1 << 20, MaxMemory: 1 << 20, MaxCallTime: 100 * time.Millisecond, MaxInstances: 2}, log)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { host.Close(context.Background()) })
	sinks, err := logs.Open([]config.LogSink{{Path: filepath.Join(dir, "node.log"), Level: "info"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sinks.Close() })
	s := New(ctx, cfg, []*record.Namespace{ns}, host, log)
	s.SetLogs(sinks)

	f.Fuzz(func(t *testing.T, cmd string) {
		// The protocol separates commands with newlines: one never holds one.
		if strings.ContainsRune(cmd, '\n') {
			return
		}
		s.runInfo(cmd)
	})
}
