package main

import (
	"bytes"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/nodetest"
	"github.com/skiffdb/skiff/internal/tlstest"
)

// TestBenchAgainstNode runs a short skiff bench against a node in this
// process and checks the report: every key loaded, both phases error-free,
// reads and writes in about the asked proportion; writes that update
// records, and writes that replace them.
func TestBenchAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	port := startBenchNode(t)
	for _, workload := range []string{"-replace=false", "-replace", "-map=10"} {
		t.Run(workload, func(t *testing.T) { benchAgainstNode(t, port, workload) })
	}
}

func benchAgainstNode(t *testing.T, port int, workload string) {
	var stdout, stderr bytes.Buffer
	args := []string{"-p", strconv.Itoa(port), "-c", "8", "-k", "2000", "-v", "64", "-r", "80", "-d", "500ms", "-i", "0", "-seed", "1", workload}
	if workload == "-map=10" {
		args = append(args, "-s", "maps") // not the blob runs' records
	}
	if code := runBench(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	kinds, fields := parseText(t, stdout.String())
	var load, run map[string]string
	for i, k := range kinds {
		switch {
		case k == "phase" && fields[i]["name"] == "load":
			load = fields[i]
		case k == "phase" && fields[i]["name"] == "run":
			run = fields[i]
		case k == "error":
			t.Errorf("error record: %v", fields[i])
		}
	}
	if load == nil || run == nil {
		t.Fatalf("missing phase records:\n%s", stdout.String())
	}
	if load["ops"] != "2000" || load["errors"] != "0" {
		t.Errorf("load phase %v, want 2000 ops and no errors", load)
	}
	if run["errors"] != "0" || run["read_misses"] != "0" {
		t.Errorf("run phase %v, want no errors and no misses", run)
	}
	ops, _ := strconv.ParseFloat(run["ops"], 64)
	reads, _ := strconv.ParseFloat(run["reads_per_sec"], 64)
	writes, _ := strconv.ParseFloat(run["writes_per_sec"], 64)
	if ops < 100 {
		t.Fatalf("only %v operations in 500ms", ops)
	}
	if frac := reads / (reads + writes); frac < 0.7 || frac > 0.9 {
		t.Errorf("read fraction %.2f, want about 0.8", frac)
	}
	if !strings.Contains(stdout.String(), "latency phase=run op=all") {
		t.Errorf("no overall latency record:\n%s", stdout.String())
	}
}

// startBenchNode starts a node with the default configuration on a free
// loopback port and stops it when the test ends.
func startBenchNode(t *testing.T) int {
	t.Helper()
	cfg := config.Default()
	cfg.Namespaces[0].Storage.Path = os.Args[0] // TestMain serves the plugin
	return startConfiguredNode(t, cfg)
}

// TestBenchWorkerAllocs pins the hot loop's own cost: a worker's get and
// put allocate no more than the client calls they wrap. AllocsPerRun counts
// the whole process, the in-process node included, on both sides.
func TestBenchWorkerAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	port := startBenchNode(t)
	o, err := parseBenchArgs([]string{"-p", strconv.Itoa(port), "-c", "1", "-k", "100", "-i", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBench(o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.client.Close()
	w := b.newWorker(0)
	k := b.keys[7]
	w.put(k) // so that gets find the record
	// AllocsPerRun counts the node's background work too (stop-writes
	// checks, health checks of the storage plugin), and the client
	// allocates more when calls are slow: worker and bare calls are
	// measured in turns, and the smallest difference of a few turns is the
	// worker's own cost.
	for _, c := range []struct {
		name         string
		worker, bare func()
	}{
		{"get", func() { w.get(k) }, func() { b.client.Get(b.readPolicy, k) }},
		{"put", func() { w.put(k) }, func() { b.client.PutBins(b.writePolicy, k, w.bins...) }},
	} {
		c.worker() // warm up the connection and pools
		c.bare()
		var worker, bare float64
		added := math.Inf(1)
		for range 5 {
			worker, bare = testing.AllocsPerRun(200, c.worker), testing.AllocsPerRun(200, c.bare)
			if added = min(added, worker-bare); added <= 0.5 {
				break
			}
		}
		t.Logf("%s: %.1f allocations per call through the worker, %.1f calling the client", c.name, worker, bare)
		if added > 0.5 {
			t.Errorf("%s: the worker adds %.1f allocations per call", c.name, added)
		}
	}
	if w.failed.Load() > 0 {
		t.Errorf("%d operations failed: %v", w.failed.Load(), w.errs)
	}
}

// TestBenchOverTLS runs skiff bench against a node's tls-port with a client
// certificate, and checks its TLS flags.
func TestBenchOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	dir := t.TempDir()
	f := tlstest.Write(t, dir)
	port := nodetest.FreePort(t)
	cfg := config.Default()
	cfg.Namespaces[0].Storage.Path = os.Args[0] // TestMain serves the plugin
	cfg.Network.TLS = map[string]config.TLS{"node": {CertFile: f.Cert, KeyFile: f.Key, CAFile: f.CA}}
	cfg.Network.ServiceTLS = config.TLSEndpoint{Address: "127.0.0.1", Port: port, Name: "node", AuthenticateClient: []string{config.AuthAny}}
	startConfiguredNode(t, cfg)

	base := []string{"-p", strconv.Itoa(port), "-c", "4", "-k", "500", "-d", "300ms", "-i", "0", "-tls-ca", f.CA, "-tls-name", tlstest.ServerName}
	var stdout, stderr bytes.Buffer
	if code := runBench(append(base, "-tls-cert", f.Client, "-tls-key", f.ClientKey), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "phase name=run") {
		t.Fatalf("no run phase:\n%s", stdout.String())
	}
	for what, args := range map[string][]string{
		"no client certificate":       base,
		"a key without a certificate": append(base, "-tls-key", f.ClientKey),
		"a name without a CA":         {"-p", strconv.Itoa(port), "-tls-name", "x"},
	} {
		stdout.Reset()
		stderr.Reset()
		if code := runBench(args, &stdout, &stderr); code == 0 {
			t.Errorf("%s: exit 0", what)
		}
	}
}
