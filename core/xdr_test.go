package core_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/skiffdb/skiff/core/config"
	xdrplugin "github.com/skiffdb/skiff/sdk/xdr/plugin"
)

// startNATS runs a NATS server with JetStream on 127.0.0.1 (a free port
// when port is 0), storing its streams in dir, until the test ends or the
// returned function stops it.
func startNATS(t testing.TB, dir string, port int) (url string, stop func()) {
	t.Helper()
	if port == 0 {
		port = freePort(t)
	}
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			s.Shutdown()
			s.WaitForShutdown()
		}
	}
	t.Cleanup(stop)
	return fmt.Sprintf("nats://127.0.0.1:%d", port), stop
}

// xdrConfig is the default configuration for node id node, replicating
// namespace test through the NATS server at url.
func xdrConfig(node, url string, edit func(x *config.XDRNamespace)) *config.Config {
	cfg := config.Default()
	cfg.Service.NodeID = node
	for _, ns := range cfg.Namespaces {
		ns.Storage.Mode = config.ModeInProcess
		ns.NsupPeriod = time.Second
	}
	x := &config.XDRNamespace{Name: "test", BinPolicy: "all", ConflictResolution: "last-update-time", QueueLimit: 64 << 10}
	if edit != nil {
		edit(x)
	}
	cfg.XDR = []*config.DC{{Name: "hub", URLs: []string{url}, Mode: config.ModeInProcess, Settings: map[string]string{},
		Namespaces: []*config.XDRNamespace{x}, File: "test", Line: 1}}
	return cfg
}

// eventually retries check until it returns nil, failing the test with
// its last error after timeout.
func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// binsAre reports how k's record on c differs from want (nil want: the
// record must not exist).
func binsAre(c *as.Client, k *as.Key, want as.BinMap) error {
	rec, err := c.Get(nil, k)
	if want == nil {
		if err == nil {
			return fmt.Errorf("%v: %v still there", k.Value(), rec.Bins)
		}
		if ae, ok := err.(as.Error); ok && ae.Matches(types.KEY_NOT_FOUND_ERROR) {
			return nil
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("%v: %w", k.Value(), err)
	}
	if d := diffBins(rec.Bins, want); d != "" {
		return fmt.Errorf("%v: %s", k.Value(), d)
	}
	return nil
}

func xdrStats(t testing.TB, c *as.Client) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, kv := range strings.Split(info(t, c, "get-stats:context=xdr;dc=hub"), ";") {
		k, v, _ := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("get-stats: %s=%q", k, v)
		}
		out[k] = f
	}
	return out
}

func TestXDRReplication(t *testing.T) {
	url, _ := startNATS(t, t.TempDir(), 0)
	aCfg := xdrConfig("A1", url, nil)
	aNode := startNode(t, aCfg)
	a := aNode.connect(t)
	b := startNode(t, xdrConfig("B2", url, nil)).connect(t)
	set := uniqueSet(t)

	// A write on either side appears on the other.
	ka, kb := key(t, set, "from-a"), key(t, set, "from-b")
	mustOK(t, a.Put(nil, ka, as.BinMap{"v": 1, "s": "a"}))
	mustOK(t, b.Put(nil, kb, as.BinMap{"v": 2, "l": []any{1, "x"}}))
	eventually(t, 10*time.Second, func() error { return binsAre(b, ka, as.BinMap{"v": 1, "s": "a"}) })
	eventually(t, 10*time.Second, func() error { return binsAre(a, kb, as.BinMap{"v": 2, "l": []any{1, "x"}}) })

	// Updates, including operations, replicate the resulting record.
	_, err := b.Operate(nil, ka, as.AddOp(as.NewBin("v", 10)))
	mustOK(t, err)
	eventually(t, 10*time.Second, func() error { return binsAre(a, ka, as.BinMap{"v": 11, "s": "a"}) })

	// Durable deletes too.
	wp := as.NewWritePolicy(0, 0)
	wp.DurableDelete = true
	_, err = a.Delete(wp, kb)
	mustOK(t, err)
	eventually(t, 10*time.Second, func() error { return binsAre(b, kb, nil) })

	// And truncation of a set.
	for i := range 10 {
		mustOK(t, a.Put(nil, key(t, set, i), as.BinMap{"i": i}))
	}
	eventually(t, 10*time.Second, func() error { return binsAre(b, key(t, set, 9), as.BinMap{"i": 9}) })
	mustOK(t, b.Truncate(nil, "test", set, nil))
	eventually(t, 10*time.Second, func() error { return binsAre(a, key(t, set, 5), nil) })
	// A keeps the truncate it applied across its restarts.
	smd, rerr := os.ReadFile(filepath.Join(aCfg.Service.WorkDirectory, "smd", "metadata.json"))
	mustOK(t, rerr)
	if !strings.Contains(string(smd), `"`+set+`"`) {
		t.Fatalf("the applied truncate of %s is not in A's metadata:\n%s", set, smd)
	}

	// No write loops: once quiet, each node has shipped its own changes
	// only, and keeps still.
	time.Sleep(300 * time.Millisecond)
	sa, sb := xdrStats(t, a), xdrStats(t, b)
	time.Sleep(500 * time.Millisecond)
	if sa2, sb2 := xdrStats(t, a), xdrStats(t, b); sa2["success"] != sa["success"] || sb2["success"] != sb["success"] {
		t.Fatalf("still shipping when quiet: A %v → %v, B %v → %v", sa["success"], sa2["success"], sb["success"], sb2["success"])
	}
	// A: 1 put, 1 delete, 10 puts; B: 1 put, 1 operate, 1 truncate.
	if sa["success"] != 12 || sb["success"] != 3 {
		t.Fatalf("shipped A %v, B %v; want 12 and 3", sa["success"], sb["success"])
	}
	if sb["applied"] < 12 || sa["applied"] < 3 {
		t.Fatalf("applied A %v, B %v", sa["applied"], sb["applied"])
	}
	if sa["connected"] != 1 || sa["gap"] != 0 || sa["lag_p99_ms"] <= 0 {
		t.Fatalf("A's figures: %v", sa)
	}
	resp, herr := http.Get("http://" + aNode.Admin.String() + "/metrics")
	if herr != nil {
		t.Fatal(herr)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `aerospike_xdr_success{dc="hub",ns="test"} 12`) {
		t.Fatalf("/metrics lacks the xdr figures:\n%s", grepLines(string(body), "aerospike_xdr_"))
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestXDRConvergence: both sides write the same records at once; every
// record ends the same on both, whatever the order changes arrive in.
func TestXDRConvergence(t *testing.T) {
	for _, rule := range []string{"last-update-time", "generation"} {
		t.Run(rule, func(t *testing.T) {
			url, _ := startNATS(t, t.TempDir(), 0)
			edit := func(x *config.XDRNamespace) { x.ConflictResolution = rule }
			a := startNode(t, xdrConfig("A1", url, edit)).connect(t)
			b := startNode(t, xdrConfig("B2", url, edit)).connect(t)
			set := uniqueSet(t)
			const keys, rounds = 20, 5
			done := make(chan error, 2)
			for _, side := range []struct {
				c    *as.Client
				name string
			}{{a, "a"}, {b, "b"}} {
				go func() {
					for r := range rounds {
						for i := range keys {
							// Each side writes a different number of times to
							// some keys, so that generations differ.
							if side.name == "b" && i%3 == 0 && r%2 == 0 {
								continue
							}
							if err := side.c.Put(nil, key(t, set, i), as.BinMap{"by": side.name, "r": r}); err != nil {
								done <- err
								return
							}
						}
					}
					done <- nil
				}()
			}
			mustOK(t, <-done)
			mustOK(t, <-done)
			eventually(t, 20*time.Second, func() error {
				for i := range keys {
					ra, err := a.Get(nil, key(t, set, i))
					if err != nil {
						return err
					}
					rb, err := b.Get(nil, key(t, set, i))
					if err != nil {
						return err
					}
					if d := diffBins(ra.Bins, rb.Bins); d != "" || ra.Generation != rb.Generation {
						return fmt.Errorf("key %d: A %v gen %d, B %v gen %d", i, ra.Bins, ra.Generation, rb.Bins, rb.Generation)
					}
				}
				return nil
			})
		})
	}
}

func TestXDRSetFilter(t *testing.T) {
	url, _ := startNATS(t, t.TempDir(), 0)
	shipped, other := uniqueSet(t)+"s", uniqueSet(t)+"o"
	edit := func(x *config.XDRNamespace) {
		x.ShipOnlySpecifiedSets = true
		x.ShipSets = []string{shipped}
	}
	a := startNode(t, xdrConfig("A1", url, edit)).connect(t)
	b := startNode(t, xdrConfig("B2", url, edit)).connect(t)
	mustOK(t, a.Put(nil, key(t, other, 1), as.BinMap{"v": 1}))
	mustOK(t, a.Put(nil, key(t, shipped, 1), as.BinMap{"v": 1}))
	eventually(t, 10*time.Second, func() error { return binsAre(b, key(t, shipped, 1), as.BinMap{"v": 1}) })
	// Shipped in order: had the other set's record been shipped, it
	// would be there by now.
	if err := binsAre(b, key(t, other, 1), nil); err != nil {
		t.Fatal(err)
	}
}

// TestXDROutages: NATS restarts and a node restarts mid-stream; nothing
// acknowledged is lost.
func TestXDROutages(t *testing.T) {
	natsDir := t.TempDir()
	url, stopNATS := startNATS(t, natsDir, 0)
	port, _ := strconv.Atoi(url[strings.LastIndex(url, ":")+1:])
	a := startNode(t, xdrConfig("A1", url, nil)).connect(t)
	bNode := startNode(t, xdrConfig("B2", url, nil))
	b := bNode.connect(t)
	set := uniqueSet(t)
	write := func(from, to int) {
		for i := from; i < to; i++ {
			mustOK(t, a.Put(nil, key(t, set, i), as.BinMap{"i": i}))
		}
	}
	all := func(from, to int) func() error {
		return func() error {
			for i := from; i < to; i++ {
				if err := binsAre(b, key(t, set, i), as.BinMap{"i": i}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	write(0, 50)
	eventually(t, 10*time.Second, all(0, 50))

	// NATS goes away; writes go on, queued on the node, and reach B once
	// it is back.
	stopNATS()
	write(50, 100)
	startNATS(t, natsDir, port)
	eventually(t, 30*time.Second, all(0, 100))

	// B goes away; A's changes wait in the stream for B's durable
	// consumer, which resumes where B stopped (B's memory namespace
	// starts empty: the records B had are not shipped again).
	b.Close()
	bNode.Stop()
	write(100, 150)
	b = startNode(t, xdrConfig("B2", url, nil)).connect(t)
	eventually(t, 30*time.Second, all(100, 150))
	if err := binsAre(b, key(t, set, 0), nil); err != nil {
		t.Fatalf("a record from before B's restart was delivered again: %v", err)
	}

	// A rewind of the set on A ships every record of it again.
	if got := info(t, a, "xdr-rewind:dc=hub;namespace=test;set="+set); got != "ok" {
		t.Fatalf("xdr-rewind: %q", got)
	}
	eventually(t, 30*time.Second, all(0, 150))
	if got := info(t, a, "xdr-rewind:dc=nowhere;namespace=test"); !strings.HasPrefix(got, "ERROR:4:") {
		t.Fatalf("rewind of an unknown dc: %q", got)
	}
}

// TestXDRQueueOverflow: while NATS is down, a node takes more writes than
// its queue holds; once NATS is back, a recovery scan ships the records
// whose changes were dropped.
func TestXDRQueueOverflow(t *testing.T) {
	natsDir := t.TempDir()
	url, stopNATS := startNATS(t, natsDir, 0)
	port, _ := strconv.Atoi(url[strings.LastIndex(url, ":")+1:])
	small := func(x *config.XDRNamespace) { x.QueueLimit = 1024 }
	// A's backend runs as a plugin process, where the recovery scans
	// several partitions at once.
	acfg := xdrConfig("A1", url, small)
	acfg.Namespaces[0].Storage.Mode = config.ModeProcess
	a := startNode(t, acfg).connect(t)
	b := startNode(t, xdrConfig("B2", url, small)).connect(t)
	set := uniqueSet(t)
	stopNATS()
	const n = 3000
	for i := range n {
		mustOK(t, a.Put(nil, key(t, set, i), as.BinMap{"i": i}))
	}
	if st := xdrStats(t, a); st["dropped"] == 0 {
		t.Fatalf("no change dropped: %v", st)
	}
	startNATS(t, natsDir, port)
	eventually(t, 60*time.Second, func() error {
		for i := range n {
			if err := binsAre(b, key(t, set, i), as.BinMap{"i": i}); err != nil {
				return err
			}
		}
		return nil
	})
	if st := xdrStats(t, a); st["recoveries"] == 0 {
		t.Fatalf("no recovery counted: %v", st)
	}
}

func TestXDRThreeNodes(t *testing.T) {
	url, _ := startNATS(t, t.TempDir(), 0)
	nodes := []*as.Client{
		startNode(t, xdrConfig("A1", url, nil)).connect(t),
		startNode(t, xdrConfig("B2", url, nil)).connect(t),
		startNode(t, xdrConfig("C3", url, nil)).connect(t),
	}
	set := uniqueSet(t)
	for i, c := range nodes {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{"from": i}))
	}
	for _, c := range nodes {
		for i := range nodes {
			eventually(t, 10*time.Second, func() error { return binsAre(c, key(t, set, i), as.BinMap{"from": i}) })
		}
	}
}

// TestXDRPluginProcess runs the transport as a plugin process, as nodes
// do by default (this test binary serves it: TestMain), and kills it: the
// node starts another and nothing shipped is lost.
func TestXDRPluginProcess(t *testing.T) {
	url, _ := startNATS(t, t.TempDir(), 0)
	process := func(node string) *config.Config {
		cfg := xdrConfig(node, url, nil)
		cfg.XDR[0].Mode, cfg.XDR[0].Path = config.ModeProcess, os.Args[0]
		return cfg
	}
	a := startNode(t, process("A1")).connect(t)
	b := startNode(t, process("B2")).connect(t)
	set := uniqueSet(t)
	mustOK(t, a.Put(nil, key(t, set, 1), as.BinMap{"v": 1}))
	eventually(t, 10*time.Second, func() error { return binsAre(b, key(t, set, 1), as.BinMap{"v": 1}) })

	// Kill the nodes' transport plugins: A's writes wait, then flow
	// through the plugins the nodes start instead.
	pids := pluginPids(t)
	if len(pids) != 2 {
		t.Fatalf("found transport plugin processes %v, want one per node", pids)
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for i := 2; i <= 20; i++ {
		mustOK(t, a.Put(nil, key(t, set, i), as.BinMap{"v": i}))
	}
	eventually(t, 30*time.Second, func() error {
		for i := 1; i <= 20; i++ {
			if err := binsAre(b, key(t, set, i), as.BinMap{"v": i}); err != nil {
				return err
			}
		}
		return nil
	})
}

// pluginPids finds the transport plugin processes the nodes of this test
// started: children of this process whose environment carries the xdr
// plugin cookie.
func pluginPids(t testing.TB) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc")
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if strings.Contains(string(env), xdrplugin.Handshake.MagicCookieKey) {
			out = append(out, pid)
		}
	}
	return out
}
