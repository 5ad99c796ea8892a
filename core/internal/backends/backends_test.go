package backends

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/shmtest"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	nvme "github.com/skiffdb/skiff/plugins/storage-nvme"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// TestMain serves the memory backend when a test starts this binary as a
// storage plugin.
func TestMain(m *testing.M) {
	plugin.TestMain(m, "memory", memory.Open, plugin.WithResume(memory.Resume))
}

func namespace(mode string) *config.Namespace {
	ns := config.Default().Namespaces[0]
	ns.Storage.Mode = mode
	ns.Storage.DataSize = 64 << 20
	if mode == config.ModeProcess {
		ns.Storage.Path = os.Args[0]
	}
	return ns
}

func open(t *testing.T, ns *config.Namespace) Backend {
	t.Helper()
	b, err := Open(context.Background(), ns, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestModes(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{config.ModeInProcess, config.ModeProcess} {
		t.Run(mode, func(t *testing.T) {
			b := open(t, namespace(mode))
			st := b.Status()
			if st.Mode != mode || st.Backend != "memory" || st.State != "running" || (mode == config.ModeProcess) != (st.Pid > 0) {
				t.Fatalf("status %+v", st)
			}
			// The node reads a memory plugin's records itself, so reads of
			// such a namespace do not wait (record.Namespace.ReadsWait).
			shared := mode == config.ModeProcess && sharedindex.Shareable
			inPlace, _ := b.(interface{ ReadsInPlace() bool })
			if st.SharedIndex != shared || (inPlace != nil && inPlace.ReadsInPlace()) != shared {
				t.Fatalf("status %+v, reads in place %v; want a shared index: %v", st, inPlace != nil && inPlace.ReadsInPlace(), shared)
			}
			d := storage.Digest{1}
			if err := b.Put(ctx, d, storage.Record{Bins: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if rec, err := b.Get(ctx, d, nil); err != nil || string(rec.Bins) != "x" {
				t.Fatalf("get: %v %v", rec, err)
			}
		})
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRestartAfterCrash(t *testing.T) {
	ctx := context.Background()
	b := open(t, namespace(config.ModeProcess))
	d := storage.Digest{2}
	if err := b.Put(ctx, d, storage.Record{Bins: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	pid := b.Status().Pid
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, "the crash to be noticed", func() bool { return b.Status().State != "running" })
	// Meanwhile the namespace answers at once, with a clear error.
	if _, err := b.Get(ctx, d, nil); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("get while restarting: %v", err)
	}
	waitFor(t, "the restart", func() bool { return b.Status().State == "running" })
	st := b.Status()
	if st.Pid == pid || st.Pid == 0 || st.Restarts != 1 || st.SharedIndex != sharedindex.Shareable {
		t.Fatalf("after restart: %+v", st)
	}
	// The new process resumed the records from the region the node kept
	// (where the node shares it), and serves again.
	rec, err := b.Get(ctx, d, nil)
	if sharedindex.Shareable && (err != nil || string(rec.Bins) != "x") {
		t.Fatalf("get after restart: %q, %v", rec.Bins, err)
	}
	if !sharedindex.Shareable && !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get after restart: %v", err)
	}
	if err := b.Put(ctx, d, storage.Record{Bins: []byte("y")}); err != nil {
		t.Fatal(err)
	}
	// A second crash: the records written since are kept too.
	syscall.Kill(b.Status().Pid, syscall.SIGKILL)
	waitFor(t, "the crash to be noticed", func() bool { return b.Status().State != "running" })
	waitFor(t, "the restart", func() bool { return b.Status().State == "running" })
	if rec, err := b.Get(ctx, d, nil); sharedindex.Shareable && (err != nil || string(rec.Bins) != "y") {
		t.Fatalf("get after the second restart: %q, %v", rec.Bins, err)
	}
}

func TestCrashLoopIsReported(t *testing.T) {
	b := open(t, namespace(config.ModeProcess))
	for i := range crashLoopCount {
		waitFor(t, "a running plugin", func() bool { return b.Status().State == "running" })
		syscall.Kill(b.Status().Pid, syscall.SIGKILL)
		if i < crashLoopCount-1 {
			waitFor(t, "the crash to be noticed", func() bool { return b.Status().State != "running" })
		}
	}
	waitFor(t, "crash-looping", func() bool { return b.Status().State == "crash-looping" })
	if st := b.Status(); st.Restarts != crashLoopCount {
		t.Fatalf("status %+v", st)
	}
	// It is not restarted in a hot loop: no process for a while.
	time.Sleep(time.Second)
	if st := b.Status(); st.State != "crash-looping" || st.Pid != 0 {
		t.Fatalf("restarted within a second while crash-looping: %+v", st)
	}
}

func TestMissingBinary(t *testing.T) {
	ns := namespace(config.ModeProcess)
	ns.Storage.Path = "/nonexistent/skiff-storage-memory"
	_, err := Open(context.Background(), ns, Options{Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), ns.Storage.Path) || !strings.Contains(err.Error(), "in-process") {
		t.Fatalf("error %v", err)
	}
	ns.Storage.Path = ""
	_, err = Open(context.Background(), ns, Options{PluginDir: "/nonexistent", Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/skiff-storage-memory") {
		t.Fatalf("default path: %v", err)
	}
}

func TestCloseStopsThePlugin(t *testing.T) {
	b, err := Open(context.Background(), namespace(config.ModeProcess), Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pid := b.Status().Pid
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the plugin to exit", func() bool { return syscall.Kill(pid, 0) != nil })
	if st := b.Status(); st.State != "closed" {
		t.Fatalf("status after close: %+v", st)
	}
	if !errors.Is(b.Close(), storage.ErrClosed) {
		t.Fatal("second close")
	}
}

// TestRegionFileOutlivesTheBackend keeps a memory namespace in a region
// file: its records come back after the plugin is killed and after the
// backend is closed and opened again, in both modes.
func TestRegionFileOutlivesTheBackend(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []string{config.ModeProcess, config.ModeInProcess} {
		t.Run(mode, func(t *testing.T) {
			ns := namespace(mode)
			ns.Storage.RegionFile = shmtest.Dir(t) + "/test.region"
			b := open(t, ns)
			d := storage.Digest{3}
			if err := b.Put(ctx, d, storage.Record{Bins: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			if mode == config.ModeProcess {
				syscall.Kill(b.Status().Pid, syscall.SIGKILL)
				waitFor(t, "the crash to be noticed", func() bool { return b.Status().State != "running" })
				waitFor(t, "the restart", func() bool { return b.Status().State == "running" })
				if rec, err := b.Get(ctx, d, nil); err != nil || string(rec.Bins) != "x" {
					t.Fatalf("get after the plugin's restart: %q, %v", rec.Bins, err)
				}
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b = open(t, ns)
			if rec, err := b.Get(ctx, d, nil); err != nil || string(rec.Bins) != "x" {
				t.Fatalf("get after opening the namespace again: %q, %v", rec.Bins, err)
			}
		})
	}
}

// TestDeviceSettings checks that every device setting of a config file
// reaches the device backend as it takes it.
func TestDeviceSettings(t *testing.T) {
	cfg, err := config.Parse("t.conf", []byte(`namespace users {
	tomb-raider-period 3600
	storage-engine device {
		file /var/lib/skiff/users.dat
		filesize 64M
		write-block-size 128K
		direct-io false
		post-write-queue 16
		max-write-cache 8M
		flush-max-ms 250
		defrag-lwm-pct 40
		defrag-sleep 2500
		commit-to-device true
		cold-start-empty true
		read-page-cache true
		compression zstd
		compression-level 5
	}
}
`))
	if err != nil {
		t.Fatal(err)
	}
	o, err := nvme.ParseSettings("users", deviceSettings(cfg.Namespaces[0], "/var/lib/skiff"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Files[0] != "/var/lib/skiff/users.dat" || o.FileSize != 64<<20 || o.WriteBlockSize != 128<<10 || o.DirectIO ||
		o.PostWriteQueue != 16 || o.MaxWriteCache != 8<<20 || o.FlushMax != 250*time.Millisecond || o.DefragLWMPct != 40 ||
		o.DefragSleep != 2500*time.Microsecond || !o.CommitToDevice || o.TombRaiderPeriod != time.Hour || !o.ColdStartEmpty || !o.ReadPageCache ||
		o.Compression != devrecord.CodecZstd || o.CompressionLevel != 5 {
		t.Fatalf("the backend's options: %+v", o)
	}
}
