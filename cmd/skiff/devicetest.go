package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	nvme "github.com/skiffdb/skiff/plugins/storage-nvme"
)

// skiff device-test plays the role of Aerospike's ACT (its storage test):
// it certifies a device or file for the device backend by putting on it,
// at the same time, the two loads a device namespace puts on its media:
//
//   - small random reads, one per record read: -record-bytes rounded up to
//     a multiple of 4 KiB (1536 B: one 4 KiB page), at a random 4 KiB-
//     aligned offset, at -read-rate reads per second from -threads
//     goroutines (at most that many reads in flight);
//   - large sequential writes, one per filled write buffer: -write-block-size
//     blocks written one after the other by one goroutine (the backend has
//     one flusher per device), as many per second as -write-rate records of
//     -record-bytes fill.
//
// Both are open loops with a fixed schedule: operation i is due at
// start + i/rate, whether or not the ones before it have completed (a
// worker that falls behind issues the next due operation at once). A read's
// latency is counted from when it was due, so time spent queued behind a
// slow device (or a busy CPU) is counted, as a client would see it; the
// "-dev" figures count from issue to completion, the device alone. Every
// read and write uses O_DIRECT and page-aligned buffers, so the page cache
// is never involved; the workers do not allocate.
//
// Readers block in pread (and, between reads, in nanosleep: Go's timers
// fire up to a millisecond late), so device-test runs with GOMAXPROCS at
// least -threads + 2, unless the GOMAXPROCS environment variable is set: a
// P for every blocked worker, as fio has a thread for every job.
//
// A real record straddles a page boundary now and then and is read as
// 8 KiB; device-test's reads never do (ACT's neither): its figures are
// those of 4 KiB reads, like fio's --bs=4k.
//
// The report, in ACT's style, gives for each slice of -i and for the whole
// run the percentage of operations slower than 1, 2, 4, 8, 16, 32 and 64 ms,
// then p50/p99/p99.9 of each kind, and the verdict: PASS when the read p99
// (from the schedule) is under -max-p99 and both rates were sustained (at
// least 95% of the target completed).
//
// Exit status: 0 PASS, 3 FAIL, 2 bad flags, 1 an unusable target, an I/O
// error or an interrupt.

const deviceTestUsage = `usage: skiff device-test [FLAGS] PATH

Certify a device or file for the device backend, as Aerospike's ACT does:
random reads of records and sequential writes of write blocks, at the same
time, at fixed rates, with O_DIRECT, for -d. Prints the share of operations
slower than 1, 2, 4, ... 64 ms per slice of -i, p50/p99/p99.9, and PASS when
the read p99 is under -max-p99 and both rates were sustained.

PATH is a block device (used whole) or a file, created with -size bytes if
missing. EVERYTHING ON PATH IS OVERWRITTEN. A target that holds a Skiff
namespace's data is refused unless -force.

Exit status: 0 PASS, 3 FAIL, 2 bad flags, 1 unusable target or I/O error.

flags:
`

// Defaults and limits of skiff device-test.
const (
	// dtAlign is the unit of direct I/O: offsets, lengths and buffer
	// addresses are multiples of it.
	dtAlign         = 4096
	dtDefaultSize   = 4 << 30
	dtMaxThreads    = 4096
	dtMaxRecord     = 8 << 20
	dtSustainedFrac = 0.95
	// skiffDeviceMagic starts the header of a device or file formatted by
	// the device backend (plugins/storage-nvme/layout.go, deviceMagic).
	skiffDeviceMagic = "SKIFFDEV"
)

// deviceTestOptions are the settings of a device test, from the flags.
type deviceTestOptions struct {
	Path           string
	Size           int64 // -size; 0: not given
	Duration       time.Duration
	Interval       time.Duration
	ReadRate       int
	RecordBytes    int
	WriteRate      int
	WriteBlockSize int64
	Threads        int
	MaxP99         time.Duration
	Fill           string // auto, always, never
	DSync          bool
	Force          bool
	Seed           uint64

	// ReadBytes is RecordBytes rounded up to dtAlign.
	ReadBytes int
}

// sizeFlag is a flag.Value of a byte count: a number with an optional K,
// M, G or T suffix (either case, 1024-based), as in the configuration.
type sizeFlag struct{ n *int64 }

func (s sizeFlag) String() string {
	if s.n == nil {
		return ""
	}
	return formatSize(*s.n)
}

func (s sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s.n = n
	return nil
}

// parseSize parses a byte count such as 4096, 128K, 1M or 4G.
func parseSize(v string) (int64, error) {
	num, shift := v, 0
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		case 't', 'T':
			shift = 40
		}
		if shift > 0 {
			num = v[:n-1]
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is not a size: want bytes, or a number with a K, M, G or T suffix", v)
	}
	return n << shift, nil
}

// formatSize prints n with the largest suffix that divides it exactly.
func formatSize(n int64) string {
	for _, u := range []struct {
		shift  int
		suffix string
	}{{40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// parseDeviceTestArgs parses skiff device-test's flags and its PATH, which
// may come before, between or after the flags. It returns flag.ErrHelp
// after printing the usage for -help, and an error naming the flag for a
// value out of range.
func parseDeviceTestArgs(args []string, stderr io.Writer) (*deviceTestOptions, error) {
	o := &deviceTestOptions{WriteBlockSize: 1 << 20}
	fs := flag.NewFlagSet("device-test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, deviceTestUsage)
		fs.PrintDefaults()
	}
	fs.Var(sizeFlag{&o.Size}, "size", "`size` of PATH when it is created (default 4G); an existing file keeps its size, and a different -size is an error; a block device is used whole")
	fs.DurationVar(&o.Duration, "d", time.Minute, "`duration` of the test (a certification runs for hours)")
	fs.DurationVar(&o.Interval, "i", 10*time.Second, "histogram slice `interval`")
	fs.IntVar(&o.ReadRate, "read-rate", 2000, "random reads per second (0: none); ACT's \"1x\" load is 2000")
	fs.IntVar(&o.RecordBytes, "record-bytes", 1536, "record size in `bytes`: each read is this rounded up to a multiple of 4096")
	fs.IntVar(&o.WriteRate, "write-rate", 1000, "records written per second (0: none), as write blocks: -write-rate × -record-bytes / -write-block-size blocks a second; ACT's \"1x\" load is 1000")
	fs.Var(sizeFlag{&o.WriteBlockSize}, "write-block-size", "`size` of each sequential write: a power of two from 4K to 8M, as the namespace's write-block-size")
	fs.IntVar(&o.Threads, "threads", 16, "reader goroutines: at most this many reads in flight")
	fs.DurationVar(&o.MaxP99, "max-p99", time.Millisecond, "PASS needs the read p99 under this `latency`")
	fs.StringVar(&o.Fill, "fill", "auto", "`mode` of writing PATH before the test: auto fills the parts of a file not yet written (reads of never-written space do not reach the device), always the whole target, never nothing")
	fs.BoolVar(&o.DSync, "dsync", false, "open with O_DSYNC: each write is durable when it returns (as with commit-to-device)")
	fs.BoolVar(&o.Force, "force", false, "overwrite a target that holds a Skiff namespace's data")
	fs.Uint64Var(&o.Seed, "seed", 0, "random `seed` (0: from the clock)")
	var paths []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(paths) {
	case 0:
		return nil, errors.New("no PATH: name the device or file to test")
	case 1:
		o.Path = paths[0]
	default:
		return nil, fmt.Errorf("one PATH only, got %q", paths)
	}
	wbs := o.WriteBlockSize
	for _, c := range []struct {
		ok   bool
		flag string
		want string
	}{
		{o.Path != "", "PATH", "not empty"},
		{o.Size == 0 || o.Size%dtAlign == 0, "size", "a multiple of 4096"},
		{o.Duration > 0, "d", "positive"},
		{o.Interval > 0, "i", "positive"},
		{o.ReadRate >= 0, "read-rate", "at least 0"},
		{o.WriteRate >= 0, "write-rate", "at least 0"},
		{o.ReadRate > 0 || o.WriteRate > 0, "read-rate", "positive when -write-rate is 0 (nothing to do)"},
		{o.RecordBytes >= 1 && o.RecordBytes <= dtMaxRecord, "record-bytes", "in 1..8388608"},
		{wbs >= nvme.MinWriteBlockSize && wbs <= nvme.MaxWriteBlockSize && wbs&(wbs-1) == 0, "write-block-size", "a power of two from 4K to 8M"},
		{o.Threads >= 1 && o.Threads <= dtMaxThreads, "threads", "in 1..4096"},
		{o.MaxP99 > 0, "max-p99", "positive"},
		{o.Fill == "auto" || o.Fill == "always" || o.Fill == "never", "fill", "auto, always or never"},
	} {
		if !c.ok {
			if c.flag == "PATH" {
				return nil, fmt.Errorf("PATH must be %s", c.want)
			}
			return nil, fmt.Errorf("-%s must be %s", c.flag, c.want)
		}
	}
	o.ReadBytes = (o.RecordBytes + dtAlign - 1) &^ (dtAlign - 1)
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	return o, nil
}

func runDeviceTest(args []string, stdout, stderr io.Writer) int {
	o, err := parseDeviceTestArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "skiff device-test:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := deviceTest(ctx, o, stdout, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "skiff device-test:", err)
		return 1
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "skiff device-test: interrupted: the report covers what ran")
		return 1
	case !res.pass:
		return 3
	}
	return 0
}

// Kinds of operation measured.
const (
	dtRead    = iota // from the read's scheduled time to its completion
	dtReadDev        // from issue to completion
	dtWrite
	dtWriteDev
	dtKinds
)

var dtKindNames = [dtKinds]string{"read", "read-dev", "write", "write-dev"}

// dtClasses are the latency classes of ACT's histogram: at most 1 ms, then
// over 1, 2, 4, 8, 16, 32 and 64 ms.
const dtClasses = 8

var dtThresholdsMs = [dtClasses - 1]int{1, 2, 4, 8, 16, 32, 64}

// latencyClass returns how many of dtThresholdsMs a latency exceeds.
func latencyClass(ns int64) int {
	if ns <= 1e6 {
		return 0
	}
	return min(bits.Len64(uint64((ns-1)/1e6)), dtClasses-1)
}

// dtRun is one device test in progress: the schedule, read-only while the
// workers run, and the counters of the current slice, which the workers add
// to and the reporter swaps out.
type dtRun struct {
	o          *deviceTestOptions
	t          *target
	start, end time.Time
	// readPeriod and writePeriod are the nanoseconds between two reads and
	// between two block writes.
	readPeriod, writePeriod float64
	readSlots               uint64 // 4 KiB-aligned offsets a read may start at
	blocks                  int64  // write blocks in the target
	firstBlock              int64  // where the writes start

	nextRead atomic.Int64
	slice    [dtKinds][dtClasses]atomic.Uint64

	// halt is closed to stop the workers early: on an I/O error (the first
	// is kept in failure) or an interrupt.
	halt     chan struct{}
	haltOnce sync.Once
	failure  atomic.Pointer[error]
}

func (r *dtRun) stop(err error) {
	if err != nil {
		r.failure.CompareAndSwap(nil, &err)
	}
	r.haltOnce.Do(func() { close(r.halt) })
}

func (r *dtRun) record(kind int, h *histogram, lat time.Duration) {
	h.Record(int64(lat))
	r.slice[kind][latencyClass(int64(lat))].Add(1)
}

// dtWorker is a reader or the writer. Nothing in it is shared: its
// histograms are read once it has returned.
type dtWorker struct {
	r     *dtRun
	rng   *rand.Rand
	buf   []byte // aligned
	sleep sleeper
	next  int64 // the writer's next block, counted from the start
	hist  [2]histogram
}

func (r *dtRun) newWorker(i int, buf []byte) *dtWorker {
	return &dtWorker{r: r, rng: rand.New(rand.NewPCG(r.o.Seed, uint64(i))), buf: buf}
}

// dtMaxSleep bounds one sleep, so that a halt is noticed soon.
const dtMaxSleep = 50 * time.Millisecond

// waitUntil waits for due, and reports false if the test was halted
// meanwhile. It sleeps in the thread (sleeper), not on a Go timer: the
// runtime's timers fire up to a millisecond late on Linux (its netpoller
// waits in whole milliseconds), which would be counted in the latencies.
func (w *dtWorker) waitUntil(due time.Time) bool {
	for {
		select {
		case <-w.r.halt:
			return false
		default:
		}
		d := time.Until(due)
		if d <= 0 {
			return true
		}
		w.sleep.sleep(min(d, dtMaxSleep))
	}
}

// readStep waits for the next read due and does it. It reports false when
// no read is due before the end, or the test was halted.
func (w *dtWorker) readStep() bool {
	r := w.r
	i := r.nextRead.Add(1) - 1
	due := r.start.Add(time.Duration(float64(i) * r.readPeriod))
	if !due.Before(r.end) || !w.waitUntil(due) {
		return false
	}
	off := int64(w.rng.Uint64N(r.readSlots)) * dtAlign
	issued := time.Now()
	if err := r.t.readAt(w.buf, off); err != nil {
		r.stop(err)
		return false
	}
	done := time.Now()
	r.record(dtRead, &w.hist[0], done.Sub(due))
	r.record(dtReadDev, &w.hist[1], done.Sub(issued))
	return true
}

// writeStep waits for the next block write due and does it.
func (w *dtWorker) writeStep() bool {
	r := w.r
	due := r.start.Add(time.Duration(float64(w.next) * r.writePeriod))
	if !due.Before(r.end) || !w.waitUntil(due) {
		return false
	}
	off := (r.firstBlock + w.next) % r.blocks * r.o.WriteBlockSize
	w.next++
	issued := time.Now()
	if err := r.t.writeAt(w.buf, off); err != nil {
		r.stop(err)
		return false
	}
	done := time.Now()
	r.record(dtWrite, &w.hist[0], done.Sub(due))
	r.record(dtWriteDev, &w.hist[1], done.Sub(issued))
	return true
}

// dtResult is the outcome of a device test.
type dtResult struct {
	elapsed time.Duration
	hist    [dtKinds]histogram
	pass    bool
	reasons []string
}

// deviceTest opens (or creates) the target, fills it if asked, runs the
// test and prints the report to out; progress goes to progress.
func deviceTest(ctx context.Context, o *deviceTestOptions, out, progress io.Writer) (*dtResult, error) {
	t, err := openTarget(o)
	if err != nil {
		return nil, err
	}
	defer t.close()
	// A goroutine blocked in pread or nanosleep keeps its P until the
	// runtime hands it off (sysmon, every 20 µs to 10 ms), so with one P
	// a core, readers wait for Ps: on 2 cores, 16 readers saw device
	// p99s of 8-12 ms where fio's threads saw 1 ms. A P per worker makes
	// them what fio's threads are, threads the kernel schedules.
	procs := runtime.GOMAXPROCS(0)
	if os.Getenv("GOMAXPROCS") == "" {
		procs = max(procs, o.Threads+2)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
	}
	wbuf, err := alignedBuffer(int(o.WriteBlockSize))
	if err != nil {
		return nil, err
	}
	defer freeAligned(wbuf)
	fillRandom(rand.New(rand.NewPCG(o.Seed, 1<<32)), wbuf)

	fmt.Fprintf(out, "target path=%s kind=%s size=%d created=%t direct_io=true dsync=%t\n", t.path, t.kind, t.size, t.created, o.DSync)
	if err := fillTarget(ctx, t, o.Fill, wbuf, out, progress); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return &dtResult{}, nil
	}

	r := &dtRun{o: o, t: t, halt: make(chan struct{})}
	r.blocks = t.size / o.WriteBlockSize
	r.readSlots = uint64((t.size-int64(o.ReadBytes))/dtAlign) + 1
	r.firstBlock = int64(rand.New(rand.NewPCG(o.Seed, 2)).Uint64N(uint64(r.blocks)))
	blocksPerSec := float64(o.WriteRate) * float64(o.RecordBytes) / float64(o.WriteBlockSize)
	if o.ReadRate > 0 {
		r.readPeriod = 1e9 / float64(o.ReadRate)
	}
	if blocksPerSec > 0 {
		r.writePeriod = 1e9 / blocksPerSec
	}
	fmt.Fprintf(out, "load reads_per_sec=%d read_bytes=%d record_bytes=%d threads=%d write_records_per_sec=%d write_block_bytes=%d write_blocks_per_sec=%.3f write_mib_per_sec=%.2f duration_s=%g interval_s=%g max_p99_us=%.0f gomaxprocs=%d seed=%d\n",
		o.ReadRate, o.ReadBytes, o.RecordBytes, o.Threads, o.WriteRate, o.WriteBlockSize, blocksPerSec,
		blocksPerSec*float64(o.WriteBlockSize)/(1<<20), o.Duration.Seconds(), o.Interval.Seconds(), float64(o.MaxP99)/1e3, procs, o.Seed)

	var bufs [][]byte
	defer func() {
		for _, b := range bufs {
			freeAligned(b)
		}
	}()
	var readers []*dtWorker
	if o.ReadRate > 0 {
		for i := range o.Threads {
			b, err := alignedBuffer(o.ReadBytes)
			if err != nil {
				return nil, err
			}
			bufs = append(bufs, b)
			readers = append(readers, r.newWorker(i, b))
		}
	}
	var writer *dtWorker
	if blocksPerSec > 0 {
		writer = r.newWorker(-1, wbuf)
	}

	printSliceHeader(out, o.Interval)
	var wg sync.WaitGroup
	r.start = time.Now()
	r.end = r.start.Add(o.Duration)
	for _, w := range readers {
		wg.Go(func() {
			for w.readStep() {
			}
		})
	}
	if writer != nil {
		wg.Go(func() {
			for writer.writeStep() {
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	// Slices end every Interval from the start; the last one ends when the
	// workers have finished (at the end of the test, or when halted).
	var total [dtKinds][dtClasses]uint64
	last := r.start
	printSlice := func(now time.Time) {
		var s [dtKinds][dtClasses]uint64
		for k := range dtKinds {
			for c := range dtClasses {
				s[k][c] = r.slice[k][c].Swap(0)
				total[k][c] += s[k][c]
			}
		}
		at := min(now.Sub(r.start), o.Duration).Round(time.Millisecond)
		printSliceRows(out, strconv.FormatFloat(at.Seconds(), 'f', -1, 64)+"s", &s, now.Sub(last), o)
		last = now
	}
	boundary := time.NewTimer(o.Interval)
	defer boundary.Stop()
	nextBoundary := o.Interval
	interrupted := ctx.Done()
wait:
	for {
		select {
		case <-boundary.C:
			if nextBoundary < o.Duration {
				printSlice(r.start.Add(nextBoundary))
				nextBoundary += o.Interval
				boundary.Reset(time.Until(r.start.Add(nextBoundary)))
			}
		case <-finished:
			break wait
		case <-interrupted:
			r.stop(nil)
			interrupted = nil
		}
	}
	// The test spans the schedule, [start, end), even if the last
	// operation completed before its end; an interrupted one, what ran.
	now := time.Now()
	if ctx.Err() == nil && now.Before(r.end) {
		now = r.end
	}
	printSlice(now)
	if p := r.failure.Load(); p != nil {
		return nil, *p
	}
	res := &dtResult{elapsed: min(now.Sub(r.start), o.Duration)}
	for _, w := range readers {
		res.hist[dtRead].Merge(&w.hist[0])
		res.hist[dtReadDev].Merge(&w.hist[1])
	}
	if writer != nil {
		res.hist[dtWrite].Merge(&writer.hist[0])
		res.hist[dtWriteDev].Merge(&writer.hist[1])
	}
	fmt.Fprintln(out, strings.Repeat("-", 84))
	printSliceRows(out, "all", &total, res.elapsed, o)
	res.verdict(o, blocksPerSec)
	res.print(out, o, blocksPerSec)
	return res, nil
}

// dtRowNames are the kinds' names in the histogram table, in ACT's words.
var dtRowNames = [dtKinds]string{"reads", "reads-dev", "writes", "writes-dev"}

func printSliceHeader(out io.Writer, interval time.Duration) {
	fmt.Fprintf(out, "\n%% of operations slower than N ms, per slice of %v; reads and writes from their scheduled time, -dev from issue\n", interval)
	fmt.Fprintf(out, "%6s  %-10s %10s", "slice", "op", "ops/s")
	for _, ms := range dtThresholdsMs {
		fmt.Fprintf(out, " %7s", ">"+strconv.Itoa(ms)+"ms")
	}
	fmt.Fprintln(out)
}

// printSliceRows prints one slice's rows: for each kind measured, its rate
// and the percentage of its operations over each threshold.
func printSliceRows(out io.Writer, label string, s *[dtKinds][dtClasses]uint64, d time.Duration, o *deviceTestOptions) {
	for k := range dtKinds {
		if (k == dtRead || k == dtReadDev) && o.ReadRate == 0 || (k == dtWrite || k == dtWriteDev) && o.WriteRate == 0 {
			continue
		}
		var n uint64
		for _, c := range s[k] {
			n += c
		}
		rate := 0.0
		if d > 0 {
			rate = float64(n) / d.Seconds()
		}
		fmt.Fprintf(out, "%6s  %-10s %10.1f", label, dtRowNames[k], rate)
		over := n - s[k][0]
		for c := 1; c < dtClasses; c++ {
			pct := 0.0
			if n > 0 {
				pct = 100 * float64(over) / float64(n)
			}
			fmt.Fprintf(out, " %7.2f", pct)
			over -= s[k][c]
		}
		fmt.Fprintln(out)
	}
}

// verdict decides PASS or FAIL: the read p99 under MaxP99, and both loads
// sustained: at least dtSustainedFrac of the operations due completed.
func (res *dtResult) verdict(o *deviceTestOptions, blocksPerSec float64) {
	secs := res.elapsed.Seconds()
	if o.ReadRate > 0 {
		reads := res.hist[dtRead].Count()
		if p99 := time.Duration(res.hist[dtRead].Percentile(99)); reads == 0 || p99 >= o.MaxP99 {
			res.reasons = append(res.reasons, fmt.Sprintf("read p99 %v is not under %v", p99, o.MaxP99))
		}
		if due := math.Ceil(secs * float64(o.ReadRate)); float64(reads) < dtSustainedFrac*due {
			res.reasons = append(res.reasons, fmt.Sprintf("reads were not sustained: %.0f/s of %d/s", float64(reads)/secs, o.ReadRate))
		}
	}
	if blocksPerSec > 0 {
		n := float64(res.hist[dtWrite].Count())
		if due := math.Ceil(secs * blocksPerSec); n < dtSustainedFrac*due {
			res.reasons = append(res.reasons, fmt.Sprintf("writes were not sustained: %.2f blocks/s of %.2f/s", n/secs, blocksPerSec))
		}
	}
	res.pass = len(res.reasons) == 0
}

func (res *dtResult) print(out io.Writer, o *deviceTestOptions, blocksPerSec float64) {
	fmt.Fprintln(out)
	for k := range dtKinds {
		if res.hist[k].Count() == 0 {
			continue
		}
		l := latencyOf(dtKindNames[k], &res.hist[k])
		fmt.Fprintf(out, "latency op=%s count=%d min_us=%.1f mean_us=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n",
			l.Op, l.Count, l.Min, l.Mean, l.P50, l.P90, l.P99, l.P999, l.Max)
	}
	secs := res.elapsed.Seconds()
	writes := float64(res.hist[dtWrite].Count())
	verdict := "PASS"
	if !res.pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(out, "result verdict=%s read_p99_us=%.1f max_p99_us=%.0f reads_per_sec=%.1f target_reads_per_sec=%d write_blocks_per_sec=%.3f target_write_blocks_per_sec=%.3f write_mib_per_sec=%.2f seconds=%.3f\n",
		verdict, float64(res.hist[dtRead].Percentile(99))/1e3, float64(o.MaxP99)/1e3,
		float64(res.hist[dtRead].Count())/secs, o.ReadRate, writes/secs, blocksPerSec,
		writes*float64(o.WriteBlockSize)/(1<<20)/secs, secs)
	for _, r := range res.reasons {
		fmt.Fprintf(out, "reason %s\n", r)
	}
}

// fillTarget writes the parts of the target that reads must not find
// unwritten: with mode auto, the ranges of a file that hold no data yet
// (a file system answers reads there with zeros, without touching the
// device, which would flatter it); with always, everything.
func fillTarget(ctx context.Context, t *target, mode string, buf []byte, out, progress io.Writer) error {
	var ranges [][2]int64
	switch mode {
	case "never":
		if n, err := t.unwritten(); err == nil && n > 0 {
			fmt.Fprintf(progress, "skiff device-test: warning: %d bytes of %s were never written: reads there do not reach the device (-fill auto writes them)\n", n, t.path)
		}
		return nil
	case "always":
		ranges = [][2]int64{{0, t.size}}
	default:
		var err error
		if ranges, err = t.holes(); err != nil {
			return err
		}
	}
	var total int64
	for _, rg := range ranges {
		total += rg[1] - rg[0]
	}
	if total == 0 {
		return nil
	}
	fmt.Fprintf(progress, "skiff device-test: writing %d bytes of %s before the test (-fill %s)\n", total, t.path, mode)
	start := time.Now()
	for _, rg := range ranges {
		for off := rg[0]; off < rg[1]; {
			if ctx.Err() != nil {
				return nil
			}
			n := min(int64(len(buf)), rg[1]-off)
			if err := t.writeAt(buf[:n], off); err != nil {
				return err
			}
			off += n
		}
	}
	el := time.Since(start)
	fmt.Fprintf(out, "fill bytes=%d seconds=%.3f mib_per_sec=%.1f\n", total, el.Seconds(), float64(total)/(1<<20)/el.Seconds())
	return nil
}
