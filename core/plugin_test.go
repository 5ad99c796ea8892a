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
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
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

// waitRestarted waits until namespace test's plugin, killed once, serves
// again. The restart count is read first: once it is 1, running can only
// mean the new process (a crash sets the count and leaves running at once).
func waitRestarted(t *testing.T, c *as.Client) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for nsInfo(t, c, "test", "storage-restarts") != "1" || nsInfo(t, c, "test", "storage-state") != "running" {
		if time.Now().After(deadline) {
			t.Fatalf("plugin not restarted: %s", info(t, c, "namespace/test"))
		}
		time.Sleep(20 * time.Millisecond)
	}
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

	// Each writer cycles over keys of its own, inserting them, then
	// rewriting them in place and into other size classes, and remembers
	// for each what was acknowledged last, and whether a write failed since
	// (then the write is in doubt: it may or may not have happened).
	const writers, keysEach = 8, 1500
	type state struct {
		acked int // the value acknowledged last; -1 for none
		doubt bool
	}
	states := make([][]state, writers)
	var ok, failed atomic.Int64
	var unexpected atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wp := as.NewWritePolicy(0, 0)
	wp.MaxRetries = 0
	wp.TotalTimeout = 2 * time.Second
	for w := range writers {
		states[w] = make([]state, keysEach)
		for k := range states[w] {
			states[w][k].acked = -1
		}
		wg.Go(func() {
			untilStopped(stop, func(i int) bool {
				st := &states[w][i%keysEach]
				err := c.Put(wp, key(t, set, w*keysEach+i%keysEach), as.BinMap{"i": i, "pad": strings.Repeat("p", i%700)})
				switch {
				case err == nil:
					ok.Add(1)
					st.acked, st.doubt = i, false
				case errors.Is(err, &as.AerospikeError{ResultCode: 11}): // PARTITION_UNAVAILABLE
					failed.Add(1)
					st.doubt = true
				default:
					unexpected.Store(err)
					st.doubt = true
				}
				return true
			})
		})
	}
	time.Sleep(200 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitRestarted(t, c)
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
	// The new process resumed the records from the region the node kept:
	// every write acknowledged before the crash, or after, is there.
	if sharedindex.Shareable {
		kept := 0
		for w := range writers {
			for k, st := range states[w] {
				rec, err := c.Get(nil, key(t, set, w*keysEach+k), "i")
				switch {
				case st.doubt:
				case st.acked < 0 && err == nil:
					t.Fatalf("key %d of writer %d: never written, read %v", k, w, rec.Bins)
				case st.acked >= 0 && (err != nil || rec.Bins["i"] != st.acked):
					t.Fatalf("key %d of writer %d: %d acknowledged, read %v, %v", k, w, st.acked, rec, err)
				case st.acked >= 0:
					kept++
				}
			}
		}
		t.Logf("%d records as acknowledged; %d writes failed while the plugin was down", kept, failed.Load())
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

// TestPluginKilledKeepsIndexes kills a memory plugin while writers change
// an indexed bin. A write the plugin took but could not answer (the client
// got an error) is in the resumed records: queries must find every record
// by the value it holds after the restart.
func TestPluginKilledKeepsIndexes(t *testing.T) {
	if !sharedindex.Shareable {
		t.Skip("a memory plugin's records survive it where the node shares them: linux/amd64")
	}
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	createIndex(t, c, set, set+"_v", "v", as.NUMERIC, as.ICT_DEFAULT)
	pid, _ := strconv.Atoi(nsInfo(t, c, "test", "storage-pid"))
	const writers, keysEach, values = 8, 200, 20
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wp := as.NewWritePolicy(0, 0)
	wp.MaxRetries = 0
	for w := range writers {
		wg.Go(func() {
			untilStopped(stop, func(i int) bool {
				c.Put(wp, key(t, set, w*keysEach+i%keysEach), as.BinMap{"i": w*keysEach + i%keysEach, "v": (i * 7) % values})
				return true
			})
		})
	}
	time.Sleep(200 * time.Millisecond)
	mustOK(t, syscall.Kill(pid, syscall.SIGKILL))
	waitRestarted(t, c)
	close(stop)
	wg.Wait()

	holds := map[int]int{} // record -> its value of v
	for i := range writers * keysEach {
		rec, err := c.Get(nil, key(t, set, i))
		if err == nil {
			holds[i] = rec.Bins["v"].(int)
		}
	}
	for v := range values {
		stmt := as.NewStatement("test", set)
		mustOK(t, stmt.SetFilter(as.NewEqualFilter("v", v)))
		found := map[int]bool{}
		for _, i := range queryInts(t, c, stmt) {
			found[i] = true
		}
		for i, hv := range holds {
			if hv == v && !found[i] {
				t.Errorf("record %d holds v=%d, but a query for %d does not find it", i, v, v)
			}
		}
	}
}
