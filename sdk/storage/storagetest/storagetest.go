// Package storagetest is the conformance suite of sdk/storage: every storage
// backend, linked in-process and through the plugin glue, runs it with one
// call from its own tests.
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Backend {
//			b, err := memory.New(memory.Options{DataSize: 64 << 20})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return b
//		})
//	}
//
// Each test is a named subtest (TestConformance/Scan/MetaOnly, ...) that opens
// a fresh backend, runs under a watchdog, and ends, unless it already failed,
// with an integrity check: all 4096 partitions are scanned, with and without
// data, and what they hold is compared with what the test wrote, with Get,
// and with Stats. The suite closes every backend it opens.
//
// Optional capabilities are switched on through Options and RunWithOptions:
// a persistent backend passes Reopen to get the Restart tests, and a backend
// with a record size limit passes MaxRecordSize. Tests that depend on a small
// capacity (OutOfSpace) run when Stats reports one and skip otherwise.
//
// Counts scale down under testing.Short. Use -race: several tests exist to
// give the race detector something to find.
package storagetest

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
)

// DefaultTimeout bounds each test when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// Options configures RunWithOptions. Only Open is required.
type Options struct {
	// Open returns a new, empty backend. Each test calls it once (Restart
	// tests call Reopen in addition) and closes what it gets.
	Open func(t *testing.T) storage.Backend

	// Reopen, when set, enables the Restart tests. The suite calls it after
	// it has closed b (and checked that Close returned nil); it must return a
	// backend over the same media, holding everything b held. Persistent
	// backends usually find their path through b, for example
	// b.(*nvme.Backend).Path().
	Reopen func(t *testing.T, b storage.Backend) storage.Backend

	// MaxRecordSize is the largest Record.Size the backend accepts, when it
	// has such a limit. TooBig then checks that a record one byte larger is
	// refused with ErrRecordTooBig, and the large-record tests stay within
	// it. Zero means no limit of the backend's own.
	MaxRecordSize int

	// Timeout bounds each test. A test still running after it is taken to
	// be deadlocked: the suite panics with a dump of all goroutines rather
	// than let the run hang. Zero means DefaultTimeout.
	Timeout time.Duration

	// Seed seeds the randomized tests; zero picks a random seed. Tests log
	// the seed they use, so a failure can be replayed.
	Seed uint64
}

// Run runs the conformance suite against backends returned by open.
func Run(t *testing.T, open func(t *testing.T) storage.Backend) {
	t.Helper()
	RunWithOptions(t, Options{Open: open})
}

// RunWithOptions runs the conformance suite as configured by opts.
func RunWithOptions(t *testing.T, opts Options) {
	t.Helper()
	if opts.Open == nil {
		t.Fatal("storagetest: Options.Open is nil")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Seed == 0 {
		opts.Seed = rand.Uint64()
	}
	for _, group := range suite(&opts) {
		t.Run(group.name, func(t *testing.T) {
			for _, tc := range group.tests {
				t.Run(tc.name, func(t *testing.T) { runOne(t, &opts, tc.fn) })
			}
		})
	}
}

// testCase is one conformance test: fn gets a harness over a fresh backend.
type testCase struct {
	name string
	fn   func(h *harness)
}

type testGroup struct {
	name  string
	tests []testCase
}

// suite lists the tests, grouped by topic.
func suite(opts *Options) []testGroup {
	groups := []testGroup{
		{"Basic", []testCase{
			{"PutGet", testPutGet},
			{"GetMeta", testGetMeta},
			{"Overwrite", testOverwrite},
			{"Delete", testDelete},
			{"Missing", testMissing},
		}},
		{"Buffers", []testCase{
			{"GetGrowsSmallBuffer", testGetGrowsSmallBuffer},
			{"GetUsesLargeBuffer", testGetUsesLargeBuffer},
			{"GetResultSurvivesWrites", testGetResultSurvivesWrites},
			{"PutCopiesInput", testPutCopiesInput},
		}},
		{"Scan", []testCase{
			{"OnlyPartition", testScanOnlyPartition},
			{"MetaOnly", testScanMetaOnly},
			{"CallbackWrites", testScanCallbackWrites},
			{"CallbackError", testScanCallbackError},
			{"ContextCanceled", testScanContextCanceled},
			{"ExactlyOnceUnderWrites", testScanExactlyOnceUnderWrites},
		}},
		{"Stats", []testCase{
			{"Counts", testStatsCounts},
			{"OutOfSpace", testOutOfSpace},
			{"TooBig", testTooBig},
		}},
		{"Size", []testCase{
			{"Large", testLarge},
			{"Many", testMany},
		}},
		{"Concurrent", []testCase{
			{"DistinctDigests", testConcurrentDistinct},
			{"SameDigest", testConcurrentSameDigest},
		}},
		{"Model", []testCase{
			{"Random", testRandom},
		}},
		{"Close", []testCase{
			{"MethodsAfterClose", testClosed},
		}},
	}
	if opts.Reopen != nil {
		groups = append(groups, testGroup{"Restart", []testCase{
			{"Survives", testRestart},
			{"DurableDelete", testRestartDurableDelete},
		}})
	}
	return groups
}

// runOne runs one test over a fresh backend under the watchdog, then checks
// the backend's integrity and closes it.
func runOne(t *testing.T, opts *Options, fn func(h *harness)) {
	stop := watchdog(t.Name(), opts.Timeout)
	defer stop()

	h := newHarness(t, opts, seedFor(opts.Seed, t.Name()))
	defer h.close()
	fn(h)
	if !t.Failed() && !h.closed {
		h.checkIntegrity()
	}
}

// seedFor derives a test's seed from the run's seed and the test's name, so
// that one logged seed replays every test.
func seedFor(seed uint64, name string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(name))
	return seed ^ f.Sum64()
}

// watchdog panics, with every goroutine's stack, if stop is not called
// within d. A deadlocked backend would otherwise hang the run until go
// test's own timeout, with no hint of which test was stuck.
func watchdog(name string, d time.Duration) (stop func()) {
	timer := time.AfterFunc(d, func() {
		buf := make([]byte, 4<<20)
		n := runtime.Stack(buf, true)
		panic(fmt.Sprintf("storagetest: %s still running after %v: the backend is probably deadlocked\n\n%s", name, d, buf[:n]))
	})
	return func() { timer.Stop() }
}
