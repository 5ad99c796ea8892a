package core_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core"
	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/shmtest"
	"github.com/skiffdb/skiff/internal/udftest"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// nodeProcessEnv, set to a configuration file, makes this test binary run
// a node from it (TestMain), printing "listening PORT" once it serves.
const nodeProcessEnv = "SKIFF_TEST_NODE_CONFIG"

func runNodeProcess(path string) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err = core.Run(ctx, core.Options{
		Config: cfg,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnListen: func(s, _ net.Addr) {
			fmt.Printf("listening %d\n", s.(*net.TCPAddr).Port)
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// deviceConfig is a node with namespace test on one data file in dir,
// served by this test binary as its plugin process (or linked in), with
// extra lines added to the namespace.
func deviceConfig(t testing.TB, dir, mode string, port int, storageLines, nsLines string) string {
	t.Helper()
	return nodeConfig(t, dir, port, fmt.Sprintf(`
	nsup-period 1
	%s
	storage-engine device {
		file %s
		filesize 64M
		write-block-size 128K
		flush-max-ms 100
		mode %s
		%s
		%s
	}`, nsLines, filepath.Join(dir, "test.dat"), mode, pluginPath(t, mode), storageLines))
}

// nodeConfig writes, in dir, the configuration of a node on 127.0.0.1 and
// port whose namespace test has the settings in namespace, and returns its
// path.
func nodeConfig(t testing.TB, dir string, port int, namespace string) string {
	t.Helper()
	text := fmt.Sprintf(`
service {
	work-directory %s
}
logging {
	console {
		context any warning
	}
}
network {
	service {
		address 127.0.0.1
		port %d
	}
	admin {
		port 0
	}
}
namespace test {
%s
}
`, filepath.Join(dir, "work"), port, namespace)
	file := filepath.Join(dir, "skiffd.conf")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// pluginPath is the storage-engine line that makes this test binary a
// namespace's plugin in process mode, "" in-process.
func pluginPath(t testing.TB, mode string) string {
	t.Helper()
	if mode != config.ModeProcess {
		return ""
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return "path " + exe
}

// nodeProcess is a node running as a child process of the test.
type nodeProcess struct {
	cmd  *exec.Cmd
	port int
	done chan struct{}
}

// startNodeProcess runs a node from the configuration file and waits until
// it serves; the node is killed when the test ends if it still runs.
func startNodeProcess(t testing.TB, conf string) *nodeProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeProcessEnv+"="+conf)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &nodeProcess{cmd: cmd, done: make(chan struct{})}
	ports := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port, _ := strconv.Atoi(p)
				ports <- port
			}
		}
	}()
	go func() {
		cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() { n.kill(t) })
	select {
	case n.port = <-ports:
	case <-n.done:
		t.Fatal("node process exited before it served")
	case <-time.After(60 * time.Second):
		t.Fatal("node process did not serve within 60s")
	}
	return n
}

// kill stops the node with SIGKILL: no shutdown, no flush.
func (n *nodeProcess) kill(t testing.TB) {
	n.cmd.Process.Kill()
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Error("killed node process did not exit")
	}
}

// stop stops the node with SIGTERM, as an orchestrator does.
func (n *nodeProcess) stop(t testing.TB) {
	t.Helper()
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(core.ShutdownTimeout + 10*time.Second):
		t.Fatal("node did not stop after SIGTERM")
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("node exited with %d after SIGTERM", code)
	}
}

func (n *nodeProcess) connect(t testing.TB) *as.Client {
	t.Helper()
	p := as.NewClientPolicy()
	p.Timeout = 5 * time.Second
	c, err := as.NewClientWithPolicy(p, "127.0.0.1", n.port)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// startDeviceNode starts a node process whose namespace test is a device
// namespace in mode, and connects to it.
func startDeviceNode(t *testing.T, mode string) (string, *nodeProcess, *as.Client) {
	t.Helper()
	conf := deviceConfig(t, t.TempDir(), mode, freePort(t), "", "")
	n := startNodeProcess(t, conf)
	return conf, n, n.connect(t)
}

// TestDeviceNamespace runs a device namespace in both modes through the
// official client: records and their metadata survive a restart, and the
// device figures show in info.
func TestDeviceNamespace(t *testing.T) {
	for _, mode := range []string{config.ModeProcess, config.ModeInProcess} {
		t.Run(mode, func(t *testing.T) {
			conf, n, c := startDeviceNode(t, mode)
			if got := nsInfo(t, c, "test", "storage-mode"); got != mode {
				t.Fatalf("storage-mode %q, want %s", got, mode)
			}
			// The node reads the plugin's device records itself.
			if got, want := nsInfo(t, c, "test", "storage-shared-index"), fmt.Sprint(sharedindex.Shareable); mode == config.ModeProcess && got != want {
				t.Fatalf("storage-shared-index %q, want %s", got, want)
			}
			wp := as.NewWritePolicy(0, 0)
			wp.SendKey = true
			for i := range 500 {
				mustOK(t, c.Put(wp, key(t, "users", i), as.BinMap{"i": i, "name": fmt.Sprintf("user-%d", i), "l": []any{i, "x"}}))
			}
			// As in Aerospike, a delete survives a cold start only when
			// durable: it leaves a tombstone on the device.
			durable := as.NewWritePolicy(0, 0)
			durable.DurableDelete = true
			for i := range 100 {
				_, err := c.Delete(durable, key(t, "users", i))
				mustOK(t, err)
			}
			ttlPolicy := as.NewWritePolicy(0, 3600)
			mustOK(t, c.Put(ttlPolicy, key(t, "users", "ttl"), as.BinMap{"v": 1}))
			// Replaces that do not send the key keep a stored one (they
			// read the record for it), and store none where there was none
			// (they read only the index).
			replace := as.NewWritePolicy(0, 0)
			replace.RecordExistsAction = as.REPLACE
			for i := 500; i < 510; i++ {
				mustOK(t, c.Put(nil, key(t, "users", i), as.BinMap{"i": i}))
			}
			for _, keys := range [][2]int{{100, 200}, {500, 510}} {
				for i := keys[0]; i < keys[1]; i++ {
					mustOK(t, c.Put(replace, key(t, "users", i), as.BinMap{"r": i}))
				}
			}
			for _, field := range []string{"device_write_tps", "device_read_tps", "data_avail_pct", "data_used_bytes", "defrag_reads", "cache_read_pct"} {
				if nsInfo(t, c, "test", field) == "" {
					t.Errorf("namespace info lacks %s", field)
				}
			}
			if got := nsInfo(t, c, "test", "objects"); got != "411" {
				t.Errorf("objects %s, want 411", got)
			}
			c.Close()
			n.stop(t)

			n = startNodeProcess(t, conf)
			c = n.connect(t)
			check := func(when string) {
				t.Helper()
				for i := range 510 {
					r, err := c.Get(nil, key(t, "users", i))
					if i < 100 {
						wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
						continue
					}
					mustOK(t, err)
					switch {
					case i < 200 || i >= 500:
						if len(r.Bins) != 1 || r.Bins["r"] != i {
							t.Fatalf("replaced record %d %s: %v", i, when, r.Bins)
						}
					case r.Bins["i"] != i || r.Bins["name"] != fmt.Sprintf("user-%d", i) || !equalValue(r.Bins["l"], []any{i, "x"}):
						t.Fatalf("record %d %s: %v", i, when, r.Bins)
					}
				}
				// Only a scan shows the stored keys: a get returns the
				// caller's own.
				rs, err := c.ScanAll(nil, "test", "users")
				mustOK(t, err)
				keys := 0
				for res := range rs.Results() {
					mustOK(t, res.Err)
					keys++
					i, ok := res.Record.Bins["r"].(int)
					if !ok {
						if i, ok = res.Record.Bins["i"].(int); !ok {
							continue // the record "ttl"
						}
					}
					if v := res.Record.Key.Value(); i < 500 && (v == nil || v.String() != strconv.Itoa(i)) || i >= 500 && v != nil {
						t.Fatalf("record %d %s: stored key %v", i, when, v)
					}
				}
				if keys != 411 {
					t.Fatalf("%s: the scan returned %d records, want 411", when, keys)
				}
			}
			check("after restart")
			// The cold start found which records hold a key.
			for _, i := range []int{150, 505} {
				mustOK(t, c.Put(replace, key(t, "users", i), as.BinMap{"r": i}))
			}
			check("replaced after restart")
			r, err := c.Get(nil, key(t, "users", "ttl"))
			mustOK(t, err)
			if r.Expiration < 3500 || r.Expiration > 3600 {
				t.Errorf("expiration after restart %d, want about 3600", r.Expiration)
			}
			if got := nsInfo(t, c, "test", "objects"); got != "411" {
				t.Errorf("objects after restart %s, want 411", got)
			}
		})
	}
}

// TestDeviceNodeKilled writes through the official client and kills the
// node (and its plugin) with SIGKILL mid-stream; after a restart every
// acknowledged write and durable delete is there, with commit-to-device, a
// write-buffer-file or a region-file (whose index the restart takes over),
// and without any every one acknowledged more than flush-max-ms before the
// kill.
func TestDeviceNodeKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts node processes")
	}
	for _, tc := range []struct {
		name   string
		commit bool
		file   string // a setting naming a file on a tmpfs, if any
		flash  bool   // the index on flash, in a file of the mount
	}{
		{"commit-to-device", true, "", false}, {"buffered", false, "", false},
		{"write-buffer-file", false, "write-buffer-file", false}, {"region-file", false, "region-file", false},
		{"index=flash", false, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			lines := fmt.Sprintf("commit-to-device %v", tc.commit)
			if tc.file != "" {
				lines += "\n" + tc.file + " " + filepath.Join(shmtest.Dir(t), "test."+tc.file)
			}
			var nsLines string
			if tc.flash {
				nsLines = "index-type flash {\nmount " + t.TempDir() + "\n}"
			}
			lossless := tc.commit || tc.file != "" || tc.flash
			resumes := tc.file == "region-file" || tc.flash
			conf := deviceConfig(t, dir, config.ModeProcess, freePort(t), lines, nsLines)
			n := startNodeProcess(t, conf)
			c := n.connect(t)
			pid, _ := strconv.Atoi(nsInfo(t, c, "test", "storage-pid"))
			if pid == 0 {
				t.Fatal("no storage-pid")
			}

			// Each writer owns its keys; an ack is kept with its time.
			type ack struct {
				value   int // -1: deleted
				at      time.Time
				written bool
			}
			const writers, keysPerWriter = 8, 400
			acks := make([][keysPerWriter]ack, writers)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					wp := as.NewWritePolicy(0, 0)
					wp.DurableDelete = true
					wp.MaxRetries = 0
					wp.TotalTimeout = 2 * time.Second
					untilStopped(stop, func(i int) bool {
						k := i % keysPerWriter
						kk := key(t, "crash", w*keysPerWriter+k)
						var err error
						v := i
						if i%5 == 4 {
							v = -1
							_, err = c.Delete(wp, kk)
						} else {
							err = c.Put(wp, kk, as.BinMap{"v": v})
						}
						if err != nil {
							return false // the node is gone
						}
						acks[w][k] = ack{value: v, at: time.Now(), written: true}
						return true
					})
				})
			}
			time.Sleep(1500 * time.Millisecond)
			// Taken before the signals: a write acknowledged before it is
			// at least this old when the plugin dies.
			killed := time.Now()
			syscall.Kill(pid, syscall.SIGKILL)
			n.kill(t)
			close(stop)
			wg.Wait()
			c.Close()

			n = startNodeProcess(t, conf)
			c = n.connect(t)
			// flush-max-ms, and slack for the flusher's goroutine on a
			// machine busy with the race detector and other tests.
			window := 100*time.Millisecond + 250*time.Millisecond
			var checked, lost int
			for w := range writers {
				for k := range keysPerWriter {
					a := acks[w][k]
					if !a.written {
						continue
					}
					checked++
					r, err := c.Get(nil, key(t, "crash", w*keysPerWriter+k))
					var got int
					switch {
					case err == nil:
						got = r.Bins["v"].(int)
					case err.(as.Error).Matches(types.KEY_NOT_FOUND_ERROR):
						got = -1
					default:
						t.Fatal(err)
					}
					// A write in flight at the kill may have landed after
					// the last ack: only values at or past the ack count.
					if got == a.value || got > a.value && a.value >= 0 {
						continue
					}
					if got == -1 && a.value > 0 || got >= 0 && got < a.value || a.value == -1 && got >= 0 {
						if lossless || killed.Sub(a.at) > window {
							t.Errorf("key %d: acknowledged %d at kill-%v, found %d", w*keysPerWriter+k, a.value, killed.Sub(a.at), got)
						}
						lost++
					}
				}
			}
			if checked == 0 {
				t.Fatal("no write was acknowledged")
			}
			// With the index in a region file, the restart took it over.
			if got := nsInfo(t, c, "test", "index_resumed"); (got == "1") != resumes {
				t.Errorf("index_resumed %s after the restart", got)
			}
			t.Logf("%d keys acknowledged before the kill, %d with an older state after restart", checked, lost)
		})
	}
}

// TestDevicePluginKilledKeepsWrites kills a device namespace's plugin
// process with writes acknowledged that are in its write buffers only
// (flush-max-ms of a minute): the node hands the next process the region
// holding the buffers and the index, which writes the buffers to the file
// and takes the index over, so every acknowledged write and delete is
// there, non-durable deletes included (a cold start could bring their
// records back).
func TestDevicePluginKilledKeepsWrites(t *testing.T) {
	if !sharedindex.Shareable {
		t.Skip("the region is handed over where the node shares it: linux/amd64")
	}
	dir := t.TempDir()
	conf := nodeConfig(t, dir, freePort(t), fmt.Sprintf(`
	storage-engine device {
		file %s
		filesize 64M
		write-block-size 128K
		flush-max-ms 60000
		post-write-queue 0
		mode process
		%s
	}`, filepath.Join(dir, "test.dat"), pluginPath(t, config.ModeProcess)))
	n := startNodeProcess(t, conf)
	c := n.connect(t)
	const records, deleted = 300, 10
	value := func(i int) string { return fmt.Sprintf("%04d-%s", i, strings.Repeat("v", 500)) }
	wp := as.NewWritePolicy(0, 0)
	for i := range records {
		mustOK(t, c.Put(wp, key(t, "users", i), as.BinMap{"v": value(i)}))
	}
	for i := range deleted {
		wp.DurableDelete = i%2 == 0
		if existed, err := c.Delete(wp, key(t, "users", i)); err != nil || !existed {
			t.Fatalf("delete %d: %v, %v", i, existed, err)
		}
	}
	pid, err := strconv.Atoi(nsInfo(t, c, "test", "storage-pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitRestarted(t, c)
	for i := range records {
		rec, err := c.Get(nil, key(t, "users", i))
		if i < deleted {
			if !errors.Is(err, as.ErrKeyNotFound) {
				t.Errorf("record %d, deleted before the kill: %v", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("record %d, acknowledged before the kill: %v", i, err)
		}
		if rec.Bins["v"] != value(i) {
			t.Fatalf("record %d: %.20v", i, rec.Bins["v"])
		}
	}
	if got := nsInfo(t, c, "test", "objects"); got != fmt.Sprint(records-deleted) {
		t.Errorf("objects %s, want %d", got, records-deleted)
	}
	if got := nsInfo(t, c, "test", "index_resumed"); got != "1" {
		t.Errorf("index_resumed %s: the next process read the file", got)
	}
}

// TestDeviceReadsWithoutPlugin reads a device namespace through the
// official client while its plugin process is stopped: the node reads the
// records from the file itself, through the plugin's shared index. Records
// still in the plugin's memory are its to read, so the test first writes
// enough for their blocks to be written and let go (no post-write queue).
func TestDeviceReadsWithoutPlugin(t *testing.T) {
	if !sharedindex.Shareable {
		t.Skip("the shared index is read on linux/amd64 only")
	}
	dir := t.TempDir()
	n := startNodeProcess(t, deviceConfig(t, dir, config.ModeProcess, freePort(t), "post-write-queue 0", ""))
	c := n.connect(t)
	const records = 500
	value := func(i int) string { return fmt.Sprintf("%04d-%s", i, strings.Repeat("v", 1000)) }
	wp := as.NewWritePolicy(0, 0)
	for i := range records {
		mustOK(t, c.Put(wp, key(t, "users", i), as.BinMap{"v": value(i), "i": i}))
	}
	filler := strings.Repeat("f", 30<<10)
	for i := range 20 { // 600 KiB: the users' blocks fill, are written and let go
		mustOK(t, c.Put(wp, key(t, "filler", i), as.BinMap{"f": filler}))
	}
	time.Sleep(300 * time.Millisecond) // flush-max-ms 100: the full blocks are written

	pid, err := strconv.Atoi(nsInfo(t, c, "test", "storage-pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	rp := as.NewPolicy()
	rp.TotalTimeout = 5 * time.Second
	rp.MaxRetries = 0
	for i := range records {
		rec, err := c.Get(rp, key(t, "users", i))
		if err != nil {
			t.Fatalf("record %d with the plugin stopped: %v", i, err)
		}
		if rec.Bins["v"] != value(i) || rec.Bins["i"] != i || rec.Generation != 1 {
			t.Fatalf("record %d: generation %d, bins %.20v", i, rec.Generation, rec.Bins)
		}
	}
	if _, err := c.Get(rp, key(t, "users", records)); !errors.Is(err, as.ErrKeyNotFound) {
		t.Errorf("a record never written, with the plugin stopped: %v", err)
	}
	if ok, err := c.Exists(rp, key(t, "users", 7)); err != nil || !ok {
		t.Errorf("exists with the plugin stopped: %v, %v", ok, err)
	}
}

// TestDeviceStopWrites fills a small device namespace to its
// stop-writes-used-pct, and another until fewer write blocks than its
// stop-writes-avail-pct are free: writes are refused with the device-full
// code while reads go on, and deletes make room again.
func TestDeviceStopWrites(t *testing.T) {
	for _, tc := range []struct{ name, storage, ns string }{
		{"used", "", "stop-writes-used-pct 30"},
		{"avail", "stop-writes-avail-pct 70", "stop-writes-used-pct 0"},
	} {
		t.Run(tc.name, func(t *testing.T) { deviceStopWrites(t, tc.storage, tc.ns) })
	}
}

func deviceStopWrites(t *testing.T, storageLines, nsLines string) {
	dir := t.TempDir()
	conf := deviceConfig(t, dir, config.ModeInProcess, freePort(t), storageLines, nsLines)
	n := startNodeProcess(t, conf)
	c := n.connect(t)
	wp := as.NewWritePolicy(0, 0)
	wp.MaxRetries = 0
	value := strings.Repeat("x", 8000)
	var written int
	deadline := time.Now().Add(60 * time.Second)
	for ; ; written++ {
		err := c.Put(wp, key(t, "fill", written), as.BinMap{"v": value})
		if err == nil {
			if time.Now().After(deadline) {
				t.Fatal("writes never stopped")
			}
			continue
		}
		wantCode(t, err, types.SERVER_MEM_ERROR)
		break
	}
	if written < 1000 {
		t.Fatalf("writes stopped after %d records", written)
	}
	if _, err := c.Get(nil, key(t, "fill", 0)); err != nil {
		t.Fatalf("read during stop-writes: %v", err)
	}
	if nsInfo(t, c, "test", "stop_writes") != "true" {
		t.Errorf("stop_writes not reported after %d records: %s", written, info(t, c, "namespace/test"))
	}
	// Four fifths: on a busy machine the 100 ms check may come late, and
	// the namespace fill far past its limit (up to the device's end).
	for i := range written * 4 / 5 {
		_, err := c.Delete(wp, key(t, "fill", i))
		mustOK(t, err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for c.Put(wp, key(t, "fill", "after"), as.BinMap{"v": value}) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("writes still refused after deletes freed four fifths of the data: %s", info(t, c, "namespace/test"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDeviceCorruption flips bytes in a device namespace's file while the
// node is down: the node starts, the damaged records are reported and
// missing, and every other record comes back intact, never wrong.
func TestDeviceCorruption(t *testing.T) {
	dir := t.TempDir()
	conf := deviceConfig(t, dir, config.ModeInProcess, freePort(t), "", "")
	n := startNodeProcess(t, conf)
	c := n.connect(t)
	const records = 3000
	for i := range records {
		mustOK(t, c.Put(nil, key(t, "c", i), as.BinMap{"v": fmt.Sprintf("value-%d-%s", i, strings.Repeat("z", i%200))}))
	}
	c.Close()
	n.stop(t)

	// Damage one byte in each of 40 places spread over the written
	// blocks, past the header region (one write block of 128 KiB).
	f, err := os.OpenFile(filepath.Join(dir, "test.dat"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	const header, span = 128 << 10, 3000 * 240
	for i := range 40 {
		off := int64(header + (i*7919*97)%span)
		var b [1]byte
		if _, err := f.ReadAt(b[:], off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0x5a
		if _, err := f.WriteAt(b[:], off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()

	n = startNodeProcess(t, conf)
	c = n.connect(t)
	missing := 0
	for i := range records {
		r, err := c.Get(nil, key(t, "c", i))
		if err != nil {
			wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
			missing++
			continue
		}
		if want := fmt.Sprintf("value-%d-%s", i, strings.Repeat("z", i%200)); r.Bins["v"] != want {
			t.Fatalf("record %d came back changed: %q", i, r.Bins["v"])
		}
	}
	corrupt, _ := strconv.ParseFloat(nsInfo(t, c, "test", "device_corrupt_records"), 64)
	t.Logf("%d of %d records missing after 40 flipped bytes; device_corrupt_records %v", missing, records, corrupt)
	if missing == 0 || corrupt == 0 {
		t.Fatalf("damage not noticed: %d missing, device_corrupt_records %v", missing, corrupt)
	}
	if missing > 40 {
		t.Fatalf("%d records lost to 40 damaged bytes", missing)
	}
}

// TestDeviceEviction fills a device namespace past evict-used-pct with
// records of several TTLs: nsup evicts the soonest-expiring ones until it
// is under the mark, and never a record without a TTL.
func TestDeviceEviction(t *testing.T) {
	dir := t.TempDir()
	conf := deviceConfig(t, dir, config.ModeInProcess, freePort(t), "",
		"evict-used-pct 20\n\tallow-ttl-without-nsup true\n\tset pinned {\n\t\tdisable-eviction true\n\t}")
	n := startNodeProcess(t, conf)
	c := n.connect(t)
	value := strings.Repeat("e", 4000)
	forever := as.NewWritePolicy(0, as.TTLDontExpire)
	for i := range 500 {
		mustOK(t, c.Put(forever, key(t, "keep", i), as.BinMap{"v": value}))
	}
	// The soonest to expire of all, but their set is kept from eviction.
	for i := range 200 {
		mustOK(t, c.Put(as.NewWritePolicy(0, uint32(600+i)), key(t, "pinned", i), as.BinMap{"v": value}))
	}
	// 64 MiB at 20%: about 13 MiB, some 3200 records of 4 KB.
	for i := range 4000 {
		wp := as.NewWritePolicy(0, uint32(3600+i))
		mustOK(t, c.Put(wp, key(t, "ttl", i), as.BinMap{"v": value}))
	}
	// nsup evicts in its rounds (every second here) until the namespace
	// is under the mark.
	deadline := time.Now().Add(30 * time.Second)
	for {
		used, _ := strconv.Atoi(nsInfo(t, c, "test", "data_used_pct"))
		if used < 20 && nsInfo(t, c, "test", "evicted_objects") != "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d%% used after 30 s: %s", used, info(t, c, "namespace/test"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := range 500 {
		if _, err := c.Get(nil, key(t, "keep", i)); err != nil {
			t.Fatalf("record without TTL %d: %v", i, err)
		}
	}
	for i := range 200 {
		if _, err := c.Get(nil, key(t, "pinned", i)); err != nil {
			t.Fatalf("record %d of a set with disable-eviction: %v", i, err)
		}
	}
	// The soonest-expiring went first: the first written are gone, the
	// last are there.
	if _, err := c.Get(nil, key(t, "ttl", 0)); err == nil {
		t.Error("the record closest to expiry survived eviction")
	}
	if _, err := c.Get(nil, key(t, "ttl", 3999)); err != nil {
		t.Errorf("the record furthest from expiry was evicted: %v", err)
	}
}

// eachUncachedDeviceNode runs test against a node whose device namespace
// has no post-write queue (every read goes to the file), in each mode. The
// node runs UDFs.
func eachUncachedDeviceNode(t *testing.T, test func(t *testing.T, c *as.Client)) {
	for _, mode := range []string{config.ModeProcess, config.ModeInProcess} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			conf := deviceConfig(t, dir, mode, freePort(t), "post-write-queue 0", "")
			f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
			mustOK(t, err)
			_, err = fmt.Fprintf(f, "mod-udf {\n\tuser-path %s\n}\n", filepath.Join(dir, "udf"))
			mustOK(t, err)
			mustOK(t, f.Close())
			n := startNodeProcess(t, conf)
			test(t, n.connect(t))
		})
	}
}

// TestDeviceBatch reads records of a device namespace in batches, whose
// reads run concurrently (several in flight, results in the order they
// complete): every result reaches its key, missing and repeated keys
// included; and a batch's writes see the reads before them finish, and the
// reads after them start, as the batch's order says.
func TestDeviceBatch(t *testing.T) {
	eachUncachedDeviceNode(t, func(t *testing.T, c *as.Client) {
		const stored = 300
		for i := range stored {
			mustOK(t, c.Put(nil, key(t, "b", i), as.BinMap{"i": i, "pad": strings.Repeat("x", i*7)}))
		}
		// Keys 0..449, then 0..49 again: 150 missing, 50 repeated.
		var keys []*as.Key
		for i := range 500 {
			keys = append(keys, key(t, "b", i%450))
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 5 {
					recs, err := c.BatchGet(nil, keys, "i")
					if err != nil {
						t.Error(err)
						return
					}
					for j, r := range recs {
						i := j % 450
						switch {
						case i >= stored && r != nil:
							t.Errorf("key %d: %v, want none", i, r.Bins)
						case i < stored && (r == nil || len(r.Bins) != 1 || r.Bins["i"] != i):
							t.Errorf("key %d: %v", i, r)
						}
					}
				}
			})
		}
		wg.Wait()

		// Read, write, read the same record in one batch.
		k := key(t, "b", 7)
		ops := []as.BatchRecordIfc{
			as.NewBatchRead(nil, k, []string{"i"}),
			as.NewBatchWrite(nil, k, as.PutOp(as.NewBin("i", 1000))),
			as.NewBatchRead(nil, k, []string{"i"}),
		}
		for range 20 {
			ops = append(ops, as.NewBatchRead(nil, key(t, "b", 8), []string{"i"}))
		}
		mustOK(t, c.BatchOperate(nil, ops))
		before, after := ops[0].BatchRec().Record, ops[2].BatchRec().Record
		if before == nil || before.Bins["i"] != 7 || after == nil || after.Bins["i"] != 1000 {
			t.Fatalf("read, write, read: %v then %v, want i=7 then i=1000", before, after)
		}
		for _, op := range ops[3:] {
			if r := op.BatchRec().Record; r == nil || r.Bins["i"] != 8 {
				t.Fatalf("read of key 8: %v", r)
			}
		}
	})
}

// eachPage runs a scan or query (start) once, or page by page until the
// partition filter pf it uses is done, and hands fn each record.
func eachPage(t testing.TB, pf *as.PartitionFilter, start func() (*as.Recordset, as.Error), fn func(r *as.Record)) {
	t.Helper()
	for first := true; first || pf != nil && !pf.IsDone(); first = false {
		rs, err := start()
		mustOK(t, err)
		for r := range rs.Results() {
			mustOK(t, r.Err)
			fn(r.Record)
		}
	}
}

// TestDeviceQuery queries a device namespace, whose queries read their
// candidate records ahead: each matching record comes once, a record that
// matches at several keys of a list index included, and a query paginated
// by partitions with max records gets every record once over its pages.
func TestDeviceQuery(t *testing.T) {
	eachUncachedDeviceNode(t, func(t *testing.T, c *as.Client) {
		for i := range 600 {
			mustOK(t, c.Put(nil, key(t, "q", i), as.BinMap{"i": i, "v": i % 300, "l": []any{i, i + 1}}))
		}
		createIndex(t, c, "q", "q_v", "v", as.NUMERIC, as.ICT_DEFAULT)
		createIndex(t, c, "q", "q_l", "l", as.NUMERIC, as.ICT_LIST)
		collect := func(qp *as.QueryPolicy, stmt *as.Statement, pf *as.PartitionFilter) map[int]int {
			t.Helper()
			got := map[int]int{}
			eachPage(t, pf, func() (*as.Recordset, as.Error) {
				if pf != nil {
					return c.QueryPartitions(qp, stmt, pf)
				}
				return c.Query(qp, stmt)
			}, func(r *as.Record) { got[r.Bins["i"].(int)]++ })
			return got
		}
		stmt := as.NewStatement("test", "q")
		stmt.SetFilter(as.NewRangeFilter("v", 100, 199))
		got := collect(nil, stmt, nil)
		qp := as.NewQueryPolicy()
		qp.MaxRecords = 37
		paged := collect(qp, stmt, as.NewPartitionFilterAll())
		for _, g := range []map[int]int{got, paged} {
			if len(g) != 200 {
				t.Fatalf("range query: %d records, want 200", len(g))
			}
			for i, n := range g {
				if n != 1 || i%300 < 100 || i%300 > 199 {
					t.Fatalf("range query: record %d came %d times", i, n)
				}
			}
		}
		// Records 10..19 hold 10..20 in l: 11..19 match twice.
		stmt.SetFilter(as.NewContainsRangeFilter("l", as.ICT_LIST, 11, 19))
		got = collect(nil, stmt, nil)
		if len(got) != 10 {
			t.Fatalf("list query: %v, want records 10..19", got)
		}
		for i, n := range got {
			if n != 1 || i < 10 || i > 19 {
				t.Fatalf("list query: record %d came %d times", i, n)
			}
		}
	})
}

// TestDeviceBackground runs background jobs on a device namespace, whose
// jobs work on several records at once: operations over a scan and over a
// query whose list index yields most records twice, and a UDF over a scan.
// Each record is written once by each job.
func TestDeviceBackground(t *testing.T) {
	eachUncachedDeviceNode(t, func(t *testing.T, c *as.Client) {
		registerUDF(t, c, "wat.wasm", udftest.Module(t, "../examples/udf/wat/touch.wat"))
		const records = 300
		for i := range records {
			mustOK(t, c.Put(nil, key(t, "bg", i), as.BinMap{"i": i, "l": []any{i, i + 1}}))
		}
		createIndex(t, c, "bg", "bg_l", "l", as.NUMERIC, as.ICT_LIST)
		run := func(task *as.ExecuteTask, err error) {
			t.Helper()
			mustOK(t, err)
			mustOK(t, <-task.OnComplete())
		}
		stmt := as.NewStatement("test", "bg")
		run(c.QueryExecute(nil, nil, stmt, as.AddOp(as.NewBin("i", 1000))))
		// Records 10..199 hold a value in 11..199, 11..198 two of them.
		stmt.SetFilter(as.NewContainsRangeFilter("l", as.ICT_LIST, 11, 199))
		run(c.QueryExecute(nil, nil, stmt, as.AddOp(as.NewBin("n", 1))))
		run(c.ExecuteUDF(nil, as.NewStatement("test", "bg"), "wat", "touch_count"))
		for i := range records {
			rec, err := c.Get(nil, key(t, "bg", i))
			mustOK(t, err)
			n := 1
			if i >= 10 && i <= 199 {
				n = 2
			}
			if rec.Bins["i"] != i+1000 || rec.Bins["n"] != n {
				t.Fatalf("record %d: %v, want i=%d n=%d", i, rec.Bins, i+1000, n)
			}
		}
	})
}

// TestDeviceMetadataAcrossRestarts restarts a node whose device file still
// holds the records of a truncated set: they stay gone, while a record
// written after the truncate stays; a secondary index comes back, rebuilt
// from the records, and a dropped one does not.
func TestDeviceMetadataAcrossRestarts(t *testing.T) {
	conf := deviceConfig(t, t.TempDir(), config.ModeInProcess, freePort(t), "", "")
	n := startNodeProcess(t, conf)
	c := n.connect(t)
	for i := range 100 {
		mustOK(t, c.Put(nil, key(t, "gone", i), as.BinMap{"i": i}))
		mustOK(t, c.Put(nil, key(t, "kept", i), as.BinMap{"i": i, "v": i % 10}))
	}
	createIndex(t, c, "kept", "kept_v", "v", as.NUMERIC, as.ICT_DEFAULT)
	createIndex(t, c, "kept", "kept_i", "i", as.NUMERIC, as.ICT_DEFAULT)
	mustOK(t, c.DropIndex(nil, "test", "kept", "kept_i"))
	mustOK(t, c.Truncate(nil, "test", "gone", nil))
	mustOK(t, c.Put(nil, key(t, "gone", 1000), as.BinMap{"i": 1000}))
	n.stop(t)

	n = startNodeProcess(t, conf)
	c = n.connect(t)
	for i := range 100 {
		if rec, err := c.Get(nil, key(t, "gone", i)); !errors.Is(err, as.ErrKeyNotFound) {
			t.Fatalf("truncated record %d after a restart: %v, %v", i, rec, err)
		}
	}
	assertBins(t, c, key(t, "gone", 1000), as.BinMap{"i": 1000})
	count := 0
	eachPage(t, nil, func() (*as.Recordset, as.Error) { return c.ScanAll(nil, "test", "gone") }, func(*as.Record) { count++ })
	if count != 1 {
		t.Fatalf("scan of the truncated set after a restart: %d records, want 1", count)
	}
	if got := info(t, c, "sindex-list:ns=test"); !strings.Contains(got, "indexname=kept_v") || strings.Contains(got, "kept_i") {
		t.Fatalf("indexes after a restart: %s", got)
	}
	waitIndexRebuilt(t, c, "kept_v")
	stmt := as.NewStatement("test", "kept")
	mustOK(t, stmt.SetFilter(as.NewEqualFilter("v", 3)))
	if got := queryInts(t, c, stmt); !equalValue(got, []int{3, 13, 23, 33, 43, 53, 63, 73, 83, 93}) {
		t.Fatalf("query after a restart: %v", got)
	}
}

// TestDeviceWarmRestart: a node stopped with SIGTERM writes each device
// namespace's index to its work-directory, and the next start loads it
// instead of reading the devices; one killed leaves nothing to load, and
// the next start reads them. Records, deletes and metadata come back either
// way, in both modes, and with data-in-memory, whose copy of the file each
// start fills again.
func TestDeviceWarmRestart(t *testing.T) {
	for _, tc := range []struct{ name, mode, storage string }{
		{config.ModeProcess, config.ModeProcess, ""},
		{config.ModeInProcess, config.ModeInProcess, ""},
		{"data-in-memory", config.ModeProcess, "data-in-memory true"},
		{"compression", config.ModeProcess, "compression lz4\n\t\tread-page-cache true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := deviceConfig(t, t.TempDir(), tc.mode, freePort(t), tc.storage, "")
			n := startNodeProcess(t, conf)
			c := n.connect(t)
			wp := as.NewWritePolicy(0, 3600)
			for i := range 500 {
				mustOK(t, c.Put(wp, key(t, "s", i), as.BinMap{"i": i, "pad": strings.Repeat("x", i)}))
			}
			ratio := nsInfo(t, c, "test", "device_compression_ratio")
			if r, err := strconv.ParseFloat(ratio, 64); (ratio != "") != (tc.name == "compression") || ratio != "" && (err != nil || r > 0.5) {
				t.Fatalf("device_compression_ratio %q", ratio)
			}
			dp := as.NewWritePolicy(0, 0)
			dp.DurableDelete = true
			for i := 0; i < 500; i += 5 {
				if _, err := c.Delete(dp, key(t, "s", i)); err != nil {
					t.Fatal(err)
				}
			}
			for i := 1; i < 500; i += 5 {
				mustOK(t, c.Put(nil, key(t, "s", i), as.BinMap{"i": -i}))
			}
			check := func(c *as.Client) {
				t.Helper()
				for i := range 500 {
					rec, err := c.Get(nil, key(t, "s", i))
					switch {
					case i%5 == 0:
						if !errors.Is(err, as.ErrKeyNotFound) {
							t.Fatalf("deleted record %d: %v, %v", i, rec, err)
						}
					case err != nil:
						t.Fatalf("record %d: %v", i, err)
					case i%5 == 1:
						if rec.Generation != 2 || rec.Bins["i"] != -i {
							t.Fatalf("record %d: generation %d, bins %v", i, rec.Generation, rec.Bins)
						}
					case rec.Generation != 1 || rec.Bins["i"] != i || rec.Expiration > 3600 || rec.Expiration < 3000:
						t.Fatalf("record %d: generation %d, expiration %d, bins %v", i, rec.Generation, rec.Expiration, rec.Bins)
					}
				}
				if got := nsInfo(t, c, "test", "objects"); got != "400" {
					t.Fatalf("objects: %s, want 400", got)
				}
				if got := nsInfo(t, c, "test", "memory_used_data_bytes"); (got != "") != (tc.name == "data-in-memory") || got == "0" {
					t.Fatalf("memory_used_data_bytes %q with %q", got, tc.storage)
				}
			}
			for _, stop := range []struct {
				how  string
				do   func(testing.TB)
				warm string
			}{
				{"SIGTERM", func(t testing.TB) { n.stop(t) }, "1"},
				{"SIGKILL", func(t testing.TB) { n.kill(t) }, "0"}, // the node the first round started
			} {
				stop.do(t)
				n = startNodeProcess(t, conf)
				c = n.connect(t)
				if got := nsInfo(t, c, "test", "warm_start"); got != stop.warm {
					t.Fatalf("warm_start after %s: %s", stop.how, got)
				}
				check(c)
			}
		})
	}
}

// TestDeviceColdStartEmpty runs a node with cold-start-empty: a clean stop
// and warm restart keep the records; a kill, after which the start is
// cold, starts empty, and the records never come back.
func TestDeviceColdStartEmpty(t *testing.T) {
	conf := deviceConfig(t, t.TempDir(), config.ModeProcess, freePort(t), "cold-start-empty true", "")
	n := startNodeProcess(t, conf)
	c := n.connect(t)
	for i := range 100 {
		mustOK(t, c.Put(nil, key(t, "s", i), as.BinMap{"i": i}))
	}
	n.stop(t)
	n = startNodeProcess(t, conf)
	c = n.connect(t)
	if got := nsInfo(t, c, "test", "objects"); got != "100" {
		t.Fatalf("objects after a clean stop: %s, want 100", got)
	}
	time.Sleep(300 * time.Millisecond) // flush-max-ms: the records reach the file
	n.kill(t)
	n = startNodeProcess(t, conf)
	c = n.connect(t)
	if got := nsInfo(t, c, "test", "objects"); got != "0" {
		t.Fatalf("objects after a kill and a cold start: %s, want 0", got)
	}
	if _, err := c.Get(nil, key(t, "s", 7)); !errors.Is(err, as.ErrKeyNotFound) {
		t.Fatalf("a record from before the cold start: %v", err)
	}
	mustOK(t, c.Put(nil, key(t, "s", 1000), as.BinMap{"i": 1000}))
}

// TestMemoryBackedByFile runs Aerospike 7's memory namespace backed by a
// file, unchanged: the node keeps every record in memory, writes each
// change through to the file, and after a kill (once the changes had
// flush-max-ms to reach the file) reads every record back from it.
func TestMemoryBackedByFile(t *testing.T) {
	dir := t.TempDir()
	conf := nodeConfig(t, dir, freePort(t), fmt.Sprintf(`
	storage-engine memory {
		file %s
		filesize 64M
		stop-writes-used-pct 70
		evict-used-pct 60
		%s
	}`, filepath.Join(dir, "test.dat"), pluginPath(t, config.ModeProcess)))
	n := startNodeProcess(t, conf)
	c := n.connect(t)
	for i := range 300 {
		mustOK(t, c.Put(nil, key(t, "s", i), as.BinMap{"i": i, "pad": strings.Repeat("y", i)}))
	}
	for field, want := range map[string]string{"storage-engine": "device", "evict-used-pct": "60", "stop-writes-used-pct": "70"} {
		if got := nsInfo(t, c, "test", field); got != want {
			t.Fatalf("%s: %q, want %q", field, got, want)
		}
	}
	time.Sleep(1500 * time.Millisecond) // flush-max-ms, 1 s by default
	n.kill(t)
	n = startNodeProcess(t, conf)
	c = n.connect(t)
	for i := range 300 {
		rec, err := c.Get(nil, key(t, "s", i))
		if err != nil || rec.Bins["i"] != i || rec.Bins["pad"] != strings.Repeat("y", i) {
			t.Fatalf("record %d after the kill: %v, %v", i, rec, err)
		}
	}
	if got := nsInfo(t, c, "test", "memory_used_data_bytes"); got == "" || got == "0" {
		t.Fatalf("memory_used_data_bytes %q: the records are not in memory", got)
	}
}

// TestDeviceScan scans a device namespace, whose scans collect several
// partitions at once: every record comes once, whole, in a full scan and
// over the pages of a scan paginated by partitions with max records.
func TestDeviceScan(t *testing.T) {
	eachUncachedDeviceNode(t, func(t *testing.T, c *as.Client) {
		const records = 600
		for i := range records {
			mustOK(t, c.Put(nil, key(t, "sc", i), as.BinMap{"i": i, "pad": strings.Repeat("x", i)}))
		}
		mustOK(t, c.Put(nil, key(t, "other", 1), as.BinMap{"i": -1}))
		collect := func(sp *as.ScanPolicy, pf *as.PartitionFilter) {
			t.Helper()
			got := map[int]int{}
			eachPage(t, pf, func() (*as.Recordset, as.Error) {
				if pf != nil {
					return c.ScanPartitions(sp, pf, "test", "sc")
				}
				return c.ScanAll(sp, "test", "sc")
			}, func(r *as.Record) {
				i := r.Bins["i"].(int)
				if r.Bins["pad"] != strings.Repeat("x", i) {
					t.Fatalf("record %d: %v", i, r.Bins)
				}
				got[i]++
			})
			if len(got) != records {
				t.Fatalf("%d records, want %d", len(got), records)
			}
			for i, n := range got {
				if n != 1 {
					t.Fatalf("record %d came %d times", i, n)
				}
			}
		}
		collect(nil, nil)
		sp := as.NewScanPolicy()
		sp.MaxRecords = 37
		collect(sp, as.NewPartitionFilterAll())
	})
}
