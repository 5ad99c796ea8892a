package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core"
	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/nodetest"
	"github.com/skiffdb/skiff/internal/tlstest"
)

// BenchmarkNodeMixed is skiff bench's workload against a node in this
// process: concurrency goroutines, each with one request in flight, 80%
// Gets and 20% Puts of one blob bin, uniformly random keys, all inserted
// first. The node's goroutines carry the pprof label side=server, so that
//
//	go test ./bench -run '^$' -bench NodeMixed -benchtime 20s -cpuprofile cpu.out
//	go tool pprof -top -tagfocus side=server bench.test cpu.out
//
// shows where the server spends its time, without the client's share.
var (
	keys        = flag.Int("keys", 1000000, "BenchmarkNodeMixed: number of keys")
	valueSize   = flag.Int("value", 100, "BenchmarkNodeMixed: value size in bytes")
	readPct     = flag.Int("reads", 80, "BenchmarkNodeMixed: percentage of reads")
	concurrency = flag.Int("concurrency", 50, "BenchmarkNodeMixed: client goroutines")
)

// node is the node shared by the rounds of a benchmark (testing calls a
// benchmark function several times with growing b.N), loaded once. Its
// clients connect to its service port and, for BenchmarkNodeTLS, to its
// tls-port.
var node struct {
	once      sync.Once
	err       error
	client    *as.Client
	tlsClient *as.Client
	keys      []*as.Key
	stop      func()
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if node.stop != nil {
		node.stop()
	}
	os.Exit(code)
}

func BenchmarkNodeMixed(b *testing.B) {
	node.once.Do(func() { node.err = startLoadedNode(b) })
	if node.err != nil {
		b.Fatal(node.err)
	}
	mixed(b, node.client)
}

// BenchmarkNodeTLS is BenchmarkNodeMixed over the node's service port and
// over its tls-port (TLS 1.3, a client certificate the node verifies), side
// by side:
//
//	go test ./bench -run '^$' -bench NodeTLS -benchtime 10s -count 2
func BenchmarkNodeTLS(b *testing.B) {
	node.once.Do(func() { node.err = startLoadedNode(b) })
	if node.err != nil {
		b.Fatal(node.err)
	}
	b.Run("conn=plain", func(b *testing.B) { mixed(b, node.client) })
	b.Run("conn=tls", func(b *testing.B) { mixed(b, node.tlsClient) })
}

// mixed runs the workload through client.
func mixed(b *testing.B, client *as.Client) {
	readPolicy := as.NewPolicy()
	writePolicy := as.NewWritePolicy(0, 0)
	readPolicy.MaxRetries = 0

	var errs atomic.Uint64
	var firstErr atomic.Value
	var seq atomic.Uint64
	b.SetParallelism(max(*concurrency/runtime.GOMAXPROCS(0), 1))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seq.Add(1), 0))
		value := make([]byte, *valueSize)
		bins := []*as.Bin{as.NewBin("b", value)}
		for pb.Next() {
			k := node.keys[rng.IntN(len(node.keys))]
			var err as.Error
			if rng.IntN(100) < *readPct {
				_, err = client.Get(readPolicy, k)
			} else {
				fillRandom(rng, value)
				err = client.PutBins(writePolicy, k, bins...)
			}
			if err != nil && !err.Matches(types.KEY_NOT_FOUND_ERROR) {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
	// Errors (timeouts, typically) are worth knowing about but do not
	// spoil a profile: report them rather than fail.
	b.ReportMetric(float64(errs.Load()), "errors")
	if n := errs.Load(); n > 0 {
		b.Logf("%d of %d operations failed, the first with: %v", n, b.N, firstErr.Load())
	}
}

// startLoadedNode starts a node with the default configuration on a free
// loopback port, and a tls-port with certificates of tlstest in b's
// directory, its goroutines labelled side=server, connects a client to
// each and inserts every key.
func startLoadedNode(b *testing.B) error {
	dir, err := os.MkdirTemp("", "skiff-bench-tls-")
	if err != nil {
		return err
	}
	certs := tlstest.Write(b, dir)
	tlsPort := nodetest.FreePort(b)
	cfg := config.Default()
	cfg.Network.Service = config.Endpoint{Address: "127.0.0.1", Port: 0}
	cfg.Network.Admin = config.Endpoint{Address: "127.0.0.1", Port: 0}
	cfg.Network.TLS = map[string]config.TLS{"node": {CertFile: certs.Cert, KeyFile: certs.Key, CAFile: certs.CA}}
	cfg.Network.ServiceTLS = config.TLSEndpoint{Address: "127.0.0.1", Port: tlsPort, Name: "node", AuthenticateClient: []string{config.AuthAny}}
	// Linked in, so that one CPU profile covers the whole server side.
	cfg.Namespaces[0].Storage.Mode = config.ModeInProcess
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan int, 1)
	done := make(chan error, 1)
	pprof.Do(ctx, pprof.Labels("side", "server"), func(ctx context.Context) {
		go func() {
			done <- core.Run(ctx, core.Options{Config: cfg, Logger: log, OnListen: func(s, _ net.Addr) {
				listening <- s.(*net.TCPAddr).Port
			}})
		}()
	})
	var port int
	select {
	case port = <-listening:
	case err := <-done:
		cancel()
		return fmt.Errorf("node did not start: %w", err)
	case <-time.After(10 * time.Second):
		cancel()
		return fmt.Errorf("node did not start within 10s")
	}
	node.stop = func() {
		for _, c := range []*as.Client{node.client, node.tlsClient} {
			if c != nil {
				c.Close()
			}
		}
		cancel()
		<-done
		os.RemoveAll(dir)
	}

	cp := as.NewClientPolicy()
	cp.ConnectionQueueSize = *concurrency + 1 // the client counts its tend connection in it
	c, err := as.NewClientWithPolicy(cp, "127.0.0.1", port)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	node.client = c
	tp := *cp
	tp.TlsConfig = certs.ClientConfig(b, certs.Client, certs.ClientKey)
	host := as.NewHost("127.0.0.1", tlsPort)
	host.TLSName = tlstest.ServerName
	if node.tlsClient, err = as.NewClientWithPolicyAndHost(&tp, host); err != nil {
		return fmt.Errorf("connect over TLS: %w", err)
	}
	node.keys = make([]*as.Key, *keys)
	for i := range node.keys {
		if node.keys[i], err = as.NewKey("test", "bench", i); err != nil {
			return err
		}
	}
	return load(c, node.keys)
}

// load inserts every key once, from concurrency goroutines.
func load(c *as.Client, keys []*as.Key) error {
	var next atomic.Int64
	errs := make([]error, *concurrency)
	var wg sync.WaitGroup
	for g := range *concurrency {
		wg.Go(func() {
			value := make([]byte, *valueSize)
			bins := []*as.Bin{as.NewBin("b", value)}
			p := as.NewWritePolicy(0, 0)
			for i := next.Add(1) - 1; i < int64(len(keys)); i = next.Add(1) - 1 {
				if err := c.PutBins(p, keys[i], bins...); err != nil {
					errs[g] = fmt.Errorf("load key %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// fillRandom overwrites p with random bytes.
func fillRandom(r *rand.Rand, p []byte) {
	for i := 0; i < len(p); i += 8 {
		v := r.Uint64()
		for j := i; j < min(i+8, len(p)); j++ {
			p[j] = byte(v)
			v >>= 8
		}
	}
}
