package core_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/shmtest"
)

// regionFileConfig is a node with a memory namespace that keeps its
// records in the region file shm/test.region, its plugin (in process mode)
// this test binary.
func regionFileConfig(t testing.TB, dir, shm, mode string, port int) string {
	t.Helper()
	return nodeConfig(t, dir, port, fmt.Sprintf(`
	storage-engine memory {
		data-size 16M
		region-file %s
		mode %s
		%s
	}`, filepath.Join(shm, "test.region"), mode, pluginPath(t, mode)))
}

// TestMemoryRegionFile restarts a node whose memory namespace keeps its
// records in a region file on /dev/shm: after a SIGTERM every record is
// back; after a SIGKILL under writers, every acknowledged write.
func TestMemoryRegionFile(t *testing.T) {
	for _, mode := range []string{config.ModeProcess, config.ModeInProcess} {
		t.Run(mode, func(t *testing.T) {
			shm := shmtest.Dir(t)
			conf := regionFileConfig(t, t.TempDir(), shm, mode, freePort(t))
			n := startNodeProcess(t, conf)
			c := n.connect(t)
			const records = 1000
			putPadded(t, c, records)
			createIndex(t, c, "s", "s_m", "m", as.NUMERIC, as.ICT_DEFAULT)
			c.Close()
			n.stop(t)

			n = startNodeProcess(t, conf)
			c = n.connect(t)
			checkPadded(t, c, records)
			if got := nsInfo(t, c, "test", "objects"); got != fmt.Sprint(records) {
				t.Fatalf("objects %s after a restart, want %d", got, records)
			}
			if got := nsInfo(t, c, "test", "storage-engine.region-file"); got != filepath.Join(shm, "test.region") {
				t.Fatalf("storage-engine.region-file %q in namespace info", got)
			}
			// The index comes back, rebuilt from the resumed records.
			waitIndexRebuilt(t, c, "s_m")
			stmt := as.NewStatement("test", "s")
			mustOK(t, stmt.SetFilter(as.NewEqualFilter("m", 3)))
			if got := queryInts(t, c, stmt); len(got) != records/10 || got[0] != 3 {
				t.Fatalf("query after a restart: %d records, first %v", len(got), got[:min(1, len(got))])
			}

			// Writers rewrite the records until the node is killed; each
			// remembers the value acknowledged last, and whether a write
			// failed after it (in doubt).
			type state struct {
				acked int
				doubt bool
			}
			states := make([]state, records)
			for i := range states {
				states[i].acked = i
			}
			wp := as.NewWritePolicy(0, 0)
			wp.MaxRetries = 0
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for v := records; ; v++ {
						i := w + 4*(v%(records/4))
						err := c.Put(wp, key(t, "s", i), as.BinMap{"i": v, "pad": strings.Repeat("y", v%700)})
						if err != nil {
							states[i].doubt = true
							return
						}
						states[i].acked = v
					}
				})
			}
			time.Sleep(300 * time.Millisecond)
			n.kill(t)
			wg.Wait()
			c.Close()

			n = startNodeProcess(t, conf)
			c = n.connect(t)
			for i, st := range states {
				r, err := c.Get(nil, key(t, "s", i))
				switch {
				case st.doubt:
				case errors.Is(err, &as.AerospikeError{ResultCode: types.KEY_NOT_FOUND_ERROR}):
					t.Fatalf("record %d lost after a kill: %d acknowledged", i, st.acked)
				case err != nil:
					t.Fatal(err)
				case r.Bins["i"] != st.acked:
					t.Fatalf("record %d after a kill: %v, %d acknowledged", i, r.Bins["i"], st.acked)
				}
			}
		})
	}
}

// TestMemorySnapshotFile restarts a node whose memory namespace has a
// snapshot-file: after a SIGTERM every record and its index are back,
// loaded from the file the stop wrote; after a SIGKILL nothing is (the
// start consumed the file), in both modes.
func TestMemorySnapshotFile(t *testing.T) {
	for _, mode := range []string{config.ModeProcess, config.ModeInProcess} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			snapshot := filepath.Join(dir, "saved", "test.snapshot")
			conf := nodeConfig(t, dir, freePort(t), fmt.Sprintf(`
	storage-engine memory {
		data-size 16M
		snapshot-file %s
		mode %s
		%s
	}`, snapshot, mode, pluginPath(t, mode)))
			n := startNodeProcess(t, conf)
			c := n.connect(t)
			const records = 1000
			putPadded(t, c, records)
			createIndex(t, c, "s", "s_m", "m", as.NUMERIC, as.ICT_DEFAULT)
			n.stop(t)

			n = startNodeProcess(t, conf)
			c = n.connect(t)
			checkPadded(t, c, records)
			if got := nsInfo(t, c, "test", "storage-engine.snapshot-file"); got != snapshot {
				t.Fatalf("storage-engine.snapshot-file %q in namespace info", got)
			}
			waitIndexRebuilt(t, c, "s_m")
			stmt := as.NewStatement("test", "s")
			mustOK(t, stmt.SetFilter(as.NewEqualFilter("m", 3)))
			if got := queryInts(t, c, stmt); len(got) != records/10 {
				t.Fatalf("query after a restart: %d records", len(got))
			}
			n.kill(t)

			n = startNodeProcess(t, conf)
			c = n.connect(t)
			if got := nsInfo(t, c, "test", "objects"); got != "0" {
				t.Fatalf("objects after a kill: %s; the snapshot loaded at the last start came back", got)
			}
		})
	}
}

// putPadded writes records records of set s, record i with bins i, m (i
// modulo 10) and pad (i bytes).
func putPadded(t *testing.T, c *as.Client, records int) {
	t.Helper()
	for i := range records {
		mustOK(t, c.Put(nil, key(t, "s", i), as.BinMap{"i": i, "m": i % 10, "pad": strings.Repeat("x", i)}))
	}
}

// checkPadded checks the records putPadded wrote.
func checkPadded(t *testing.T, c *as.Client, records int) {
	t.Helper()
	for i := range records {
		r, err := c.Get(nil, key(t, "s", i))
		mustOK(t, err)
		if r.Bins["i"] != i || len(r.Bins["pad"].(string)) != i {
			t.Fatalf("record %d after a restart: %v", i, r.Bins)
		}
	}
}

// TestIndexTypeShmem starts a node whose memory namespace has Aerospike
// Enterprise's index-type shmem and no region-file: it keeps its records
// in a region file on /dev/shm named after the namespace, so every
// acknowledged record is back after a SIGKILL.
func TestIndexTypeShmem(t *testing.T) {
	shmtest.Dir(t) // skips where region files are not resumed
	const path = "/dev/shm/skiff/test.region"
	if _, err := os.Stat(path); err == nil {
		t.Skipf("%s exists: another node's, or left by a killed test", path)
	}
	t.Cleanup(func() { os.Remove(path) })
	conf := nodeConfig(t, t.TempDir(), freePort(t), fmt.Sprintf(`
	index-type shmem
	storage-engine memory {
		data-size 16M
		%s
	}`, pluginPath(t, config.ModeProcess)))
	n := startNodeProcess(t, conf)
	c := n.connect(t)
	if got := nsInfo(t, c, "test", "storage-engine.region-file"); got != path {
		t.Fatalf("storage-engine.region-file %q in namespace info, want %s", got, path)
	}
	const records = 500
	putPadded(t, c, records)
	c.Close()
	n.kill(t)

	n = startNodeProcess(t, conf)
	c = n.connect(t)
	checkPadded(t, c, records)
}
