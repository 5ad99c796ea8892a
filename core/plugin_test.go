package core_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core"
	"github.com/skiffdb/skiff/core/config"
)

// nsInfo returns one field of the namespace/<ns> info command.
func nsInfo(t testing.TB, c *as.Client, ns, field string) string {
	t.Helper()
	for _, kv := range strings.Split(info(t, c, "namespace/"+ns), ";") {
		if k, v, _ := strings.Cut(kv, "="); k == field {
			return v
		}
	}
	return ""
}

func TestPluginKilledUnderLoad(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	if got := nsInfo(t, c, "test", "storage-mode"); got != config.ModeProcess {
		t.Fatalf("storage-mode %q", got)
	}
	pid, _ := strconv.Atoi(nsInfo(t, c, "test", "storage-pid"))
	if pid == 0 {
		t.Fatal("no storage-pid in namespace info")
	}

	var ok, failed atomic.Int64
	var unexpected atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wp := as.NewWritePolicy(0, 0)
	wp.MaxRetries = 0
	wp.TotalTimeout = 2 * time.Second
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := c.Put(wp, key(t, set, w*1_000_000+i), as.BinMap{"i": i})
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, &as.AerospikeError{ResultCode: 11}): // PARTITION_UNAVAILABLE
					failed.Add(1)
				default:
					unexpected.Store(err)
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for nsInfo(t, c, "test", "storage-restarts") != "1" || nsInfo(t, c, "test", "storage-state") != "running" {
		if time.Now().After(deadline) {
			t.Fatalf("plugin not restarted: %s", info(t, c, "namespace/test"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	before := ok.Load()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err := unexpected.Load(); err != nil {
		t.Fatalf("an error other than partition unavailable: %v", err)
	}
	if failed.Load() == 0 {
		t.Error("no request failed while the plugin was down")
	}
	if ok.Load() == before {
		t.Error("no request succeeded after the restart")
	}
	if newPid, _ := strconv.Atoi(nsInfo(t, c, "test", "storage-pid")); newPid == pid || newPid == 0 {
		t.Errorf("storage-pid %d after the restart, was %d", newPid, pid)
	}
	// The node itself never stopped: the admin endpoint shows the restart.
	code, body := get(t, "http://"+n.Admin.String()+"/metrics")
	if code != 200 || !strings.Contains(body, `skiff_storage_plugin_restarts_total{backend="test-backends",mode="process",ns="test"} 1`) {
		t.Errorf("/metrics: %d, restarts missing", code)
	}
}

func TestWrongPluginBinaryIsRefused(t *testing.T) {
	cfg := config.Default()
	cfg.Network.Service.Port = 0
	cfg.Network.Admin.Port = 0
	cfg.Namespaces[0].Storage.Path = "/bin/true"
	err := core.Run(context.Background(), core.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "/bin/true") || !strings.Contains(err.Error(), "namespace test (default.conf:") {
		t.Fatalf("error %v", err)
	}
}

func TestInProcessMode(t *testing.T) {
	cfg := config.Default()
	cfg.Namespaces[0].Storage.Mode = config.ModeInProcess
	n := startNode(t, cfg)
	c := n.connect(t)
	k := key(t, uniqueSet(t), 1)
	mustOK(t, c.Put(nil, k, as.BinMap{"a": 1}))
	assertBins(t, c, k, as.BinMap{"a": 1})
	if got := nsInfo(t, c, "test", "storage-mode"); got != config.ModeInProcess {
		t.Fatalf("storage-mode %q", got)
	}
}
