package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"
)

// skiff bench plays asbenchmark's role: it drives a node with the official
// Go client from many goroutines and reports throughput, errors by result
// code, and latency percentiles.
//
// The workload: integer keys 0..k-1 chosen uniformly at random; a read is a
// Get of the whole record, a write is a Put of one blob bin of -v random
// bytes, part of them new for each write (see freshen). With -w (the
// default) a load phase first inserts every key once, so that reads hit.
// Each goroutine is a closed loop (one request in flight, no pipelining)
// and records latencies in its own histogram; the histograms are merged
// when the phase ends. Only requests that completed without error are in
// the histograms (a read of a missing record counts as completed: it is
// counted in read_misses); errors are counted by result code.

const benchUsage = `usage: skiff bench [FLAGS]

Drive a node with the official Go client and report throughput and latency.
Integer keys 0..k-1 are picked uniformly at random; a read gets the record,
a write puts one bin of -v random bytes (one 8-byte word of every 64 new for
each write); with -map N, a read gets one field of a map bin and a write
increments one. With -w all keys are inserted first.

flags:
`

// benchBin is the name of the bin the benchmark writes.
const benchBin = "b"

// benchOptions are the settings of one benchmark run, from the flags.
type benchOptions struct {
	Host        string        `json:"host"`
	Port        int           `json:"port"`
	Namespace   string        `json:"namespace"`
	Set         string        `json:"set"`
	Concurrency int           `json:"concurrency"`
	Keys        int           `json:"keys"`
	ValueSize   int           `json:"value_size"`
	ReadPct     int           `json:"read_pct"`
	Replace     bool          `json:"replace"`
	MapFields   int           `json:"map_fields"`
	Duration    time.Duration `json:"-"`
	Load        bool          `json:"load"`
	ConnQueue   int           `json:"connq"`
	Timeout     time.Duration `json:"-"`
	Interval    time.Duration `json:"-"`
	Seed        uint64        `json:"seed"`
	JSON        bool          `json:"-"`
	TLS         tlsFlags      `json:"tls"`

	DurationSec float64 `json:"duration_s"`
	TimeoutMs   float64 `json:"timeout_ms"`
}

// parseBenchArgs parses skiff bench's flags. It returns flag.ErrHelp after
// printing the usage for -help, and an error naming the flag for a value out
// of range.
func parseBenchArgs(args []string, stderr io.Writer) (*benchOptions, error) {
	o := &benchOptions{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.Host, "h", "127.0.0.1", "node `host`")
	fs.IntVar(&o.Port, "p", 3000, "node service `port`")
	fs.StringVar(&o.Namespace, "n", "test", "`namespace`")
	fs.StringVar(&o.Set, "s", "bench", "`set` name (empty: no set)")
	fs.IntVar(&o.Concurrency, "c", 50, "number of client goroutines, each with one request in flight")
	fs.IntVar(&o.Keys, "k", 1000000, "number of keys (0..k-1)")
	fs.IntVar(&o.ValueSize, "v", 100, "value size in `bytes`")
	fs.IntVar(&o.ReadPct, "r", 80, "percentage of operations that are reads")
	fs.BoolVar(&o.Replace, "replace", false, "writes replace the record (RecordExistsAction REPLACE) instead of updating it")
	fs.IntVar(&o.MapFields, "map", 0, "map workload: a record holds one map bin of `N` integer fields (f0..fN-1, loaded as 0); a write increments a random field by 1 (MapIncrementOp), a read gets one (MapGetByKeyOp); -v and -replace do not apply. 0: blob workload")
	fs.DurationVar(&o.Duration, "d", 30*time.Second, "`duration` of the measured read/write phase")
	fs.BoolVar(&o.Load, "w", true, "load phase: insert every key once (with -c goroutines) before the measured phase; -w=false skips it")
	fs.IntVar(&o.ConnQueue, "connq", 0, "client connection queue `size`, more than -c: the client counts its cluster-tending connection in it (default: -c + 1)")
	fs.DurationVar(&o.Timeout, "T", time.Second, "total `timeout` of one operation (no retries)")
	fs.DurationVar(&o.Interval, "i", 5*time.Second, "progress report `interval` on stderr (0: none)")
	fs.Uint64Var(&o.Seed, "seed", 0, "random `seed` (0: from the clock)")
	fs.BoolVar(&o.JSON, "json", false, "print the report as JSON")
	fs.StringVar(&o.TLS.CA, "tls-ca", "", "connect over TLS (to the node's tls-port) trusting the CAs of this PEM `file`")
	fs.StringVar(&o.TLS.Name, "tls-name", "", "the `name` the node's certificate must carry (default: the host)")
	fs.StringVar(&o.TLS.Cert, "tls-cert", "", "client certificate PEM `file`, for tls-authenticate-client")
	fs.StringVar(&o.TLS.Key, "tls-key", "", "the client certificate's key PEM `file`")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.ConnQueue == 0 {
		o.ConnQueue = o.Concurrency + 1
	}
	for _, c := range []struct {
		ok   bool
		flag string
		want string
	}{
		{o.Host != "", "h", "a host"},
		{o.Port > 0 && o.Port < 65536, "p", "a port in 1..65535"},
		{o.Namespace != "", "n", "a namespace"},
		{o.Concurrency >= 1, "c", "at least 1"},
		{o.Keys >= 1, "k", "at least 1"},
		{o.ValueSize >= 0, "v", "at least 0"},
		{o.MapFields >= 0, "map", "at least 0"},
		{o.ReadPct >= 0 && o.ReadPct <= 100, "r", "in 0..100"},
		{o.Duration > 0, "d", "positive"},
		// With -connq equal to -c one goroutine would always wait for a
		// connection (the tend connection is counted in the queue size).
		{o.ConnQueue > o.Concurrency, "connq", "more than -c"},
		{o.Timeout >= 0, "T", "at least 0"},
		{o.Interval >= 0, "i", "at least 0"},
	} {
		if !c.ok {
			return nil, fmt.Errorf("-%s must be %s", c.flag, c.want)
		}
	}
	if _, err := o.TLS.config(); err != nil {
		return nil, err
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	o.DurationSec = o.Duration.Seconds()
	o.TimeoutMs = float64(o.Timeout) / float64(time.Millisecond)
	return o, nil
}

func runBench(args []string, stdout, stderr io.Writer) int {
	o, err := parseBenchArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "skiff bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := benchmark(ctx, o, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "skiff bench:", err)
		return 1
	}
	if o.JSON {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "skiff bench:", err)
		return 1
	}
	if ctx.Err() != nil {
		return 1 // interrupted: the report covers what ran
	}
	return 0
}

// benchmark connects to the node, runs the load phase (with o.Load) and the
// measured phase, and returns their results.
func benchmark(ctx context.Context, o *benchOptions, progress io.Writer) (*benchReport, error) {
	b, err := newBench(o)
	if err != nil {
		return nil, err
	}
	defer b.client.Close()
	rep := &benchReport{Options: o}
	if o.Load {
		rep.Load = b.runPhase(ctx, "load", 0, progress, (*benchWorker).load)
		if ctx.Err() != nil {
			return rep, nil
		}
	}
	rep.Run = b.runPhase(ctx, "run", o.Duration, progress, (*benchWorker).mixed)
	return rep, nil
}

// newBench connects a client with o.Concurrency connections open and makes
// the keys. The caller closes b.client.
func newBench(o *benchOptions) (*bench, error) {
	cp := as.NewClientPolicy()
	cp.ConnectionQueueSize = o.ConnQueue
	cp.Timeout = 10 * time.Second
	tc, err := o.TLS.config()
	if err != nil {
		return nil, err
	}
	cp.TlsConfig = tc
	host := as.NewHost(o.Host, o.Port)
	host.TLSName = o.TLS.Name
	if host.TLSName == "" {
		host.TLSName = o.Host
	}
	client, aerr := as.NewClientWithPolicyAndHost(cp, host)
	if aerr != nil {
		return nil, fmt.Errorf("connect to %s:%d: %w", o.Host, o.Port, aerr)
	}
	if _, err := client.WarmUp(o.Concurrency); err != nil {
		client.Close()
		return nil, fmt.Errorf("open %d connections: %w", o.Concurrency, err)
	}
	keys, err := makeKeys(o.Namespace, o.Set, o.Keys)
	if err != nil {
		client.Close()
		return nil, err
	}
	b := &bench{opts: o, client: client, keys: keys}
	b.readPolicy = as.NewPolicy()
	b.writePolicy = as.NewWritePolicy(0, 0)
	if o.Replace {
		b.writePolicy.RecordExistsAction = as.REPLACE
	}
	for _, p := range []*as.BasePolicy{b.readPolicy, &b.writePolicy.BasePolicy} {
		p.TotalTimeout = o.Timeout
		p.SocketTimeout = o.Timeout
		p.MaxRetries = 0
	}
	return b, nil
}

// makeKeys creates the keys 0..n-1 up front, on every CPU, so that the
// measured loop does not compute digests or allocate keys.
func makeKeys(namespace, set string, n int) ([]*as.Key, error) {
	keys := make([]*as.Key, n)
	procs := runtime.GOMAXPROCS(0)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for p := range procs {
		wg.Go(func() {
			for i := p; i < n; i += procs {
				k, err := as.NewKey(namespace, set, i)
				if err != nil {
					errs[p] = fmt.Errorf("make key %d: %w", i, err)
					return
				}
				keys[i] = k
			}
		})
	}
	wg.Wait()
	return keys, errors.Join(errs...)
}

// bench is the state shared, read-only, by the workers of a run.
type bench struct {
	opts        *benchOptions
	client      *as.Client
	keys        []*as.Key
	readPolicy  *as.BasePolicy
	writePolicy *as.WritePolicy

	// stop tells the workers of the current phase to return.
	stop atomic.Bool
	// nextKey hands out the load phase's keys in chunks.
	nextKey atomic.Int64
}

// loadChunk is how many consecutive keys a load worker claims at once.
const loadChunk = 256

// benchWorker is one client goroutine's state. Nothing in it is shared
// except done and failed, which the progress reporter reads.
type benchWorker struct {
	b     *bench
	rng   *rand.Rand
	value []byte
	bins  []*as.Bin // one bin whose value aliases value, or the map the load puts
	// incr and getField are the map workload's operations, one per field.
	incr, getField []*as.Operation
	read           histogram
	write          histogram
	misses         uint64
	errs           map[types.ResultCode]uint64
	other          uint64 // errors that carry no result code

	done   atomic.Uint64
	failed atomic.Uint64
}

func (b *bench) newWorker(i int) *benchWorker {
	w := &benchWorker{
		b:     b,
		rng:   rand.New(rand.NewPCG(b.opts.Seed, uint64(i))),
		value: make([]byte, b.opts.ValueSize),
		errs:  map[types.ResultCode]uint64{},
	}
	fillRandom(w.rng, w.value)
	w.bins = []*as.Bin{as.NewBin(benchBin, w.value)}
	if n := b.opts.MapFields; n > 0 {
		fields := make(map[any]any, n)
		w.incr = make([]*as.Operation, n)
		w.getField = make([]*as.Operation, n)
		for i := range n {
			f := "f" + strconv.Itoa(i)
			fields[f] = 0
			w.incr[i] = as.MapIncrementOp(as.DefaultMapPolicy(), benchBin, f, 1)
			w.getField[i] = as.MapGetByKeyOp(benchBin, f, as.MapReturnType.VALUE)
		}
		w.bins = []*as.Bin{as.NewBin(benchBin, fields)}
	}
	return w
}

// load inserts keys claimed from b.nextKey until none are left or the phase
// is stopped.
func (w *benchWorker) load() {
	b := w.b
	n := int64(len(b.keys))
	for !b.stop.Load() {
		start := b.nextKey.Add(loadChunk) - loadChunk
		if start >= n {
			return
		}
		for i := start; i < min(start+loadChunk, n) && !b.stop.Load(); i++ {
			w.put(b.keys[i])
		}
	}
}

// mixed runs random reads and writes until the phase is stopped.
func (w *benchWorker) mixed() {
	b := w.b
	n, readPct := len(b.keys), b.opts.ReadPct
	for !b.stop.Load() {
		k := b.keys[w.rng.IntN(n)]
		switch read := w.rng.IntN(100) < readPct; {
		case w.incr == nil && read:
			w.get(k)
		case w.incr == nil:
			w.put(k)
		case read:
			w.operate(k, w.getField[w.rng.IntN(len(w.getField))], &w.read)
		default:
			w.operate(k, w.incr[w.rng.IntN(len(w.incr))], &w.write)
		}
	}
}

func (w *benchWorker) get(k *as.Key) {
	start := time.Now()
	_, err := w.b.client.Get(w.b.readPolicy, k)
	elapsed := time.Since(start)
	if err != nil && !err.Matches(types.KEY_NOT_FOUND_ERROR) {
		w.fail(err)
		return
	}
	if err != nil {
		w.misses++
	}
	w.read.Record(int64(elapsed))
	w.done.Add(1)
}

// operate runs one map operation on k, timed in h.
func (w *benchWorker) operate(k *as.Key, op *as.Operation, h *histogram) {
	start := time.Now()
	_, err := w.b.client.Operate(w.b.writePolicy, k, op)
	elapsed := time.Since(start)
	if err != nil {
		w.fail(err)
		return
	}
	h.Record(int64(elapsed))
	w.done.Add(1)
}

// put writes k's record whole: a fresh blob, or in the map workload (the
// load phase's only writes) the map with every field 0.
func (w *benchWorker) put(k *as.Key) {
	if w.incr == nil {
		freshen(w.rng, w.value)
	}
	start := time.Now()
	err := w.b.client.PutBins(w.b.writePolicy, k, w.bins...)
	elapsed := time.Since(start)
	if err != nil {
		w.fail(err)
		return
	}
	w.write.Record(int64(elapsed))
	w.done.Add(1)
}

func (w *benchWorker) fail(err error) {
	var ae *as.AerospikeError
	if errors.As(err, &ae) {
		w.errs[ae.ResultCode]++
	} else {
		w.other++
	}
	w.failed.Add(1)
}

// freshen makes p new for the next write: one random 8-byte word in every
// 64 bytes. Rewriting every byte made the load generator, not the node, the
// bound with large values: half its CPU went to random numbers at 128 KiB.
func freshen(r *rand.Rand, p []byte) {
	for len(p) > 0 {
		v := r.Uint64()
		for i := range min(len(p), 8) {
			p[i] = byte(v >> (8 * i))
		}
		p = p[min(len(p), 64):]
	}
}

// fillRandom overwrites p with random bytes.
func fillRandom(r *rand.Rand, p []byte) {
	for len(p) >= 8 {
		v := r.Uint64()
		for i := range 8 {
			p[i] = byte(v >> (8 * i))
		}
		p = p[8:]
	}
	v := r.Uint64()
	for i := range p {
		p[i] = byte(v >> (8 * i))
	}
}

// runPhase runs fn on opts.Concurrency workers until they all return, or
// limit has passed (0: no limit), or ctx ends, and merges the workers'
// results. Every opts.Interval it prints a progress line.
func (b *bench) runPhase(ctx context.Context, name string, limit time.Duration, progress io.Writer, fn func(*benchWorker)) *phaseResult {
	b.stop.Store(false)
	b.nextKey.Store(0)
	workers := make([]*benchWorker, b.opts.Concurrency)
	for i := range workers {
		workers[i] = b.newWorker(i)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for _, w := range workers {
		wg.Go(func() { fn(w) })
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	var deadline <-chan time.Time
	if limit > 0 {
		t := time.NewTimer(limit)
		defer t.Stop()
		deadline = t.C
	}
	var tick <-chan time.Time
	if b.opts.Interval > 0 {
		t := time.NewTicker(b.opts.Interval)
		defer t.Stop()
		tick = t.C
	}
	var lastOps, lastErrs uint64
	lastTime := start
wait:
	for {
		select {
		case <-finished:
			break wait
		case <-deadline:
			break wait
		case <-ctx.Done():
			break wait
		case now := <-tick:
			var ops, errs uint64
			for _, w := range workers {
				ops += w.done.Load()
				errs += w.failed.Load()
			}
			dt := now.Sub(lastTime).Seconds()
			fmt.Fprintf(progress, "progress phase=%s elapsed_s=%.0f ops_per_sec=%.0f errors_per_sec=%.0f ops=%d errors=%d\n",
				name, now.Sub(start).Seconds(), float64(ops-lastOps)/dt, float64(errs-lastErrs)/dt, ops, errs)
			lastOps, lastErrs, lastTime = ops, errs, now
		}
	}
	b.stop.Store(true)
	<-finished
	elapsed := time.Since(start)

	r := &phaseResult{Name: name, elapsed: elapsed, errs: map[types.ResultCode]uint64{}}
	for _, w := range workers {
		r.read.Merge(&w.read)
		r.write.Merge(&w.write)
		r.misses += w.misses
		r.other += w.other
		for c, n := range w.errs {
			r.errs[c] += n
		}
	}
	return r
}
