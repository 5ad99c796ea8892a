package nvme

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
)

// testLogger shows the backend's log lines on stderr with -v.
func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testOptions returns small options over files in dir: two files of
// fileSize bytes and 256 KiB write blocks, a short flush bound and a small
// post-write queue, so that reads often go to the files.
func testOptions(dir string, fileSize int64) Options {
	o := DefaultOptions()
	o.Namespace = "test"
	o.Files = []string{filepath.Join(dir, "a.dat"), filepath.Join(dir, "b.dat")}
	o.FileSize = fileSize
	o.WriteBlockSize = 256 << 10
	o.PostWriteQueue = 8
	o.FlushMax = 20 * time.Millisecond
	o.DefragSleep = 0
	o.TombRaiderPeriod = 20 * time.Millisecond
	o.Logger = testLogger()
	return o
}

// mustNew opens a backend and closes it when the test ends, unless the
// test closed it.
func mustNew(t testing.TB, o Options) *Backend {
	t.Helper()
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// rec returns a record with bins of n bytes derived from seed.
func rec(seed uint64, n int) storage.Record {
	bins := make([]byte, n)
	x := seed*0x9e3779b97f4a7c15 + 1
	for i := range bins {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		bins[i] = byte(x)
	}
	return storage.Record{
		Meta: storage.Meta{Generation: uint32(seed%1000) + 1, VoidTime: uint32(seed), LastUpdate: seed*1000 + 7, Set: []string{"", "users", "orders"}[seed%3], HasKey: true},
		Key:  []byte{3, byte(seed), byte(seed >> 8)},
		Bins: bins,
	}
}

// same reports whether two records are equal.
func same(a, b storage.Record) bool {
	return a.Meta == b.Meta && string(a.Key) == string(b.Key) && string(a.Bins) == string(b.Bins)
}

var ctx = context.Background()

// longTest skips t unless NVME_LONG=1: long suites and soak loops.
func longTest(t *testing.T) {
	t.Helper()
	if os.Getenv("NVME_LONG") != "1" {
		t.Skip("set NVME_LONG=1 to run")
	}
}
