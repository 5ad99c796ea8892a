package capped

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// The suite writes up to 100,000 records in one test, so its cap is well
// above that; the cap itself is tested in capped_test.go. Its data-size is
// small enough for the suite's OutOfSpace test to fill quickly.
const (
	conformanceMaxRecords = 1 << 20
	conformanceDataSize   = 64 << 20
)

// TestMain lets the process-mode tests, and the node in node_test.go, start
// this test binary as the storage plugin.
func TestMain(m *testing.M) { plugin.TestMain(m, "capped", Open) }

func TestConformance(t *testing.T) {
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			b, err := New(Options{MaxRecords: conformanceMaxRecords, DataSize: conformanceDataSize})
			if err != nil {
				t.Fatal(err)
			}
			return &countChecked{Backend: b, t: t}
		},
		MaxRecordSize: MaxRecordSize,
	})
}

// countChecked checks, when the suite closes the backend after a test, that
// the cap's count agrees with the records actually held: the suite's
// concurrent tests are where a racy count would drift.
type countChecked struct {
	*Backend
	t *testing.T
}

func (c *countChecked) Close() error {
	if st, err := c.Stats(context.Background()); err == nil {
		if n := c.count.Load(); uint64(n) != st.Records {
			c.t.Errorf("count of the cap = %d, but the backend holds %d records", n, st.Records)
		}
	}
	return c.Backend.Close()
}

// TestConformanceProcess runs the suite against the backend served by a
// plugin process, through the plugin glue: this test binary, re-run.
func TestConformanceProcess(t *testing.T) {
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			return startPlugin(t, map[string]string{
				"max-records": strconv.Itoa(conformanceMaxRecords),
				"data-size":   strconv.Itoa(conformanceDataSize),
			})
		},
		MaxRecordSize: MaxRecordSize,
	})
}

// startPlugin starts this test binary as the plugin with settings. The
// caller closes what it returns.
func startPlugin(t *testing.T, settings map[string]string) *plugin.Process {
	t.Helper()
	p, err := plugin.Start(context.Background(), plugin.Config{
		Path:      os.Args[0],
		Namespace: "test",
		Settings:  settings,
		Logger:    storagetest.PluginLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}
