package nvme

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// TestMain lets the process-mode tests start this test binary as the
// storage plugin, and the crash tests as a writer to kill.
func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	plugin.TestMain(m, "device", Open, plugin.WithResume(Resume))
}

// conformanceFileSize gives each backend two 64 MiB files: small enough for
// the suite's OutOfSpace test to fill quickly, large enough for the rest.
const conformanceFileSize = 64 << 20

// conformanceWBS is the write-block-size of the suite's backends: its
// GetMeta and OutOfSpace tests write records of 256 KiB whatever
// MaxRecordSize says, so smaller blocks cannot pass it.
const conformanceWBS = 512 << 10

// conformancePWQ keeps the suite's working set in memory: its integrity
// check reads every record twice, and a direct read from these files costs
// some 40 µs. Reads from the files are still exercised after each restart,
// and by this package's own tests.
const conformancePWQ = 64

// conformanceOptions are testOptions with the suite's write-block-size and
// post-write queue.
func conformanceOptions(dir string) Options {
	o := testOptions(dir, conformanceFileSize)
	o.WriteBlockSize = conformanceWBS
	o.PostWriteQueue = conformancePWQ
	return o
}

func TestConformance(t *testing.T) {
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			return newOrFail(t, conformanceOptions(t.TempDir()))
		},
		Reopen: func(t *testing.T, b storage.Backend) storage.Backend {
			return newOrFail(t, b.(*Backend).Options())
		},
		MaxRecordSize: MaxRecordSizeFor(conformanceWBS),
	})
}

// TestConformanceDataInMemory runs the suite with data-in-memory and no
// post-write queue: every read of a written block comes from the copy.
func TestConformanceDataInMemory(t *testing.T) {
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			o := conformanceOptions(t.TempDir())
			o.DataInMemory = true
			o.PostWriteQueue = 0
			return newOrFail(t, o)
		},
		Reopen: func(t *testing.T, b storage.Backend) storage.Backend {
			return newOrFail(t, b.(*Backend).Options())
		},
		MaxRecordSize: MaxRecordSizeFor(conformanceWBS),
	})
}

// TestConformanceCompression runs the suite with zstd compression: the
// suite's larger records (their bins repeat) are stored compressed, the
// smaller ones (random) as they are.
func TestConformanceCompression(t *testing.T) {
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			o := conformanceOptions(t.TempDir())
			o.Compression = devrecord.CodecZstd
			return newOrFail(t, o)
		},
		Reopen: func(t *testing.T, b storage.Backend) storage.Backend {
			return newOrFail(t, b.(*Backend).Options())
		},
		MaxRecordSize: MaxRecordSizeFor(conformanceWBS),
	})
}

// TestConformanceCommitToDevice runs the suite with group commit on. Its
// Size/Many test makes 100,000 writes one after another, each waiting for
// an fdatasync: half a minute here, more under -race, so it runs only with
// NVME_LONG=1 (the crash tests cover commit-to-device by default).
func TestConformanceCommitToDevice(t *testing.T) {
	longTest(t)
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			o := conformanceOptions(t.TempDir())
			o.CommitToDevice = true
			return newOrFail(t, o)
		},
		Reopen: func(t *testing.T, b storage.Backend) storage.Backend {
			return newOrFail(t, b.(*Backend).Options())
		},
		MaxRecordSize: MaxRecordSizeFor(conformanceWBS),
	})
}

func newOrFail(t *testing.T, o Options) *Backend {
	t.Helper()
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConformanceProcess runs the suite against the backend served by a
// plugin process, through the plugin glue; Reopen starts a new process over
// the same files.
func TestConformanceProcess(t *testing.T) {
	runProcessConformance(t, map[string]string{"post-write-queue": fmt.Sprint(conformancePWQ)})
}

// TestConformanceProcessDataInMemory: the node reads the records from the
// plugin's copies of the files.
func TestConformanceProcessDataInMemory(t *testing.T) {
	runProcessConformance(t, map[string]string{"post-write-queue": "0", "data-in-memory": "true"})
}

// runProcessConformance runs the suite against plugin processes over two
// files, with settings more.
func runProcessConformance(t *testing.T, more map[string]string) {
	var settings sync.Map // *plugin.Process -> map[string]string
	start := func(t *testing.T, s map[string]string) storage.Backend {
		p, err := plugin.Start(context.Background(), plugin.Config{
			Path:      os.Args[0],
			Namespace: "test",
			Settings:  s,
			Logger:    storagetest.PluginLogger(t),
		})
		if err != nil {
			t.Fatal(err)
		}
		settings.Store(p, s)
		return p
	}
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			dir := t.TempDir()
			s := map[string]string{
				"files":            strings.Join([]string{filepath.Join(dir, "a.dat"), filepath.Join(dir, "b.dat")}, ","),
				"filesize":         fmt.Sprint(conformanceFileSize),
				"write-block-size": fmt.Sprint(conformanceWBS),
				"flush-max-ms":     "20",
				"defrag-sleep":     "0",
			}
			maps.Copy(s, more)
			return start(t, s)
		},
		Reopen: func(t *testing.T, b storage.Backend) storage.Backend {
			s, _ := settings.Load(b)
			return start(t, s.(map[string]string))
		},
		MaxRecordSize: MaxRecordSizeFor(conformanceWBS),
	})
}
