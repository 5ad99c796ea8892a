package nvme

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/internal/filelock"
	"github.com/skiffdb/skiff/sdk/storage"
)

// TestOpenSettings checks Open's parsing: every setting, and errors that
// name the setting at fault.
func TestOpenSettings(t *testing.T) {
	dir := t.TempDir()
	good := map[string]string{
		"files":                  filepath.Join(dir, "a") + ", " + filepath.Join(dir, "b"),
		"filesize":               "16777216",
		"write-block-size":       "131072",
		"direct-io":              "true",
		"post-write-queue":       "4",
		"max-write-cache":        "1048576",
		"flush-max-ms":           "50",
		"defrag-lwm-pct":         "40",
		"defrag-sleep":           "500",
		"commit-to-device":       "false",
		"data-in-memory":         "true",
		"index-type":             "dram",
		"max-record-size":        "100000",
		"tomb-raider-period":     "10",
		"index-mount-size-limit": "0",
	}
	o, err := ParseSettings("ns", good)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Files) != 2 || o.FileSize != 16<<20 || o.WriteBlockSize != 128<<10 || o.PostWriteQueue != 4 || o.MaxWriteCache != 1<<20 ||
		o.FlushMax.Milliseconds() != 50 || o.DefragLWMPct != 40 || o.DefragSleep.Microseconds() != 500 || o.MaxRecordSize != 100000 || !o.DataInMemory {
		t.Fatalf("parsed %+v", o)
	}
	b, err := Open("ns", good)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	for _, tc := range []struct {
		key, value, want string
	}{
		{"colour", "blue", `unknown setting "colour"`},
		{"filesize", "16G", "filesize"},
		{"write-block-size", "100000", "write-block-size 100000"},
		{"write-block-size", "16777216", "write-block-size"},
		{"direct-io", "maybe", "direct-io"},
		{"post-write-queue", "-1", "post-write-queue"},
		{"max-write-cache", "65536", "max-write-cache 65536: want 1 to 65536 blocks"},
		{"max-write-cache", "lots", "max-write-cache"},
		{"flush-max-ms", "0", "flush-max-ms"},
		{"defrag-lwm-pct", "100", "defrag-lwm-pct"},
		{"data-in-memory", "yes please", "data-in-memory"},
		{"index-type", "pmem", "index-type"},
		{"index-type", "flash", "index-mount"},
		{"max-record-size", "200000", "max-record-size"},
		{"filesize", "1000000", "not a multiple of write-block-size"},
		{"filesize", "1048576", "too small"},
	} {
		s := map[string]string{}
		for k, v := range good {
			s[k] = v
		}
		s[tc.key] = tc.value
		_, err := Open("ns", s)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: err = %v, want it to mention %q", tc.key, tc.value, err, tc.want)
		}
	}
	for _, extra := range []map[string]string{
		{"region-file": "shm/test.region"},
		{"region-file": "/dev/shm/test.region", "write-buffer-file": "/dev/shm/test.buffers"},
		{"region-file": "/dev/shm/test.region", "index-type": "flash", "index-mount": dir},
	} {
		s := maps.Clone(good)
		maps.Copy(s, extra)
		if _, err := Open("ns", s); err == nil || !strings.Contains(err.Error(), "region-file") {
			t.Errorf("%v: err = %v, want it to mention region-file", extra, err)
		}
	}
	if _, err := Open("ns", map[string]string{}); err == nil || !strings.Contains(err.Error(), "devices or files") {
		t.Errorf("no devices: %v", err)
	}
}

// TestMediaErrors checks that unusable devices and files are refused at
// startup with an error naming them.
func TestMediaErrors(t *testing.T) {
	dir := t.TempDir()
	opts := func(name string) Options {
		o := testOptions(dir, 8<<20)
		o.WriteBlockSize = 64 << 10
		o.Files = []string{filepath.Join(dir, name)}
		return o
	}
	expectErr := func(t *testing.T, o Options, want ...string) {
		t.Helper()
		b, err := New(o)
		if err == nil {
			b.Close()
			t.Fatalf("New succeeded; want an error mentioning %q", want)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("err = %v; want it to mention %q", err, w)
			}
		}
	}
	t.Run("wrong namespace", func(t *testing.T) {
		o := opts("ns.dat")
		mustNew(t, o).Close()
		o.Namespace = "other"
		expectErr(t, o, "ns.dat", `belongs to namespace "test"`)
	})
	t.Run("changed write-block-size", func(t *testing.T) {
		o := opts("wbs.dat")
		mustNew(t, o).Close()
		o.WriteBlockSize = 128 << 10
		expectErr(t, o, "wbs.dat", "write-block-size 65536")
	})
	t.Run("corrupt header", func(t *testing.T) {
		o := opts("hdr.dat")
		mustNew(t, o).Close()
		damage(t, o.Files[0], 30)
		expectErr(t, o, "hdr.dat", "header is corrupt")
	})
	t.Run("mixed device sets", func(t *testing.T) {
		a, b := opts("set-a.dat"), opts("set-b.dat")
		mustNew(t, a).Close()
		mustNew(t, b).Close()
		a.Files = append(a.Files, b.Files...)
		expectErr(t, a, "set-b.dat", "another device set")
	})
	t.Run("larger than filesize", func(t *testing.T) {
		o := opts("big.dat")
		mustNew(t, o).Close()
		o.FileSize /= 2
		expectErr(t, o, "big.dat", "larger than filesize")
	})
	t.Run("unaligned device", func(t *testing.T) {
		o := opts("unused")
		path := filepath.Join(dir, "dev.img")
		if err := os.WriteFile(path, make([]byte, 20*64<<10+4096), 0o600); err != nil {
			t.Fatal(err)
		}
		o.Files, o.Devices = nil, []string{path}
		expectErr(t, o, "dev.img", "not a multiple of write-block-size")
	})
	t.Run("small device", func(t *testing.T) {
		o := opts("unused")
		path := filepath.Join(dir, "small.img")
		if err := os.WriteFile(path, make([]byte, 4*64<<10), 0o600); err != nil {
			t.Fatal(err)
		}
		o.Files, o.Devices = nil, []string{path}
		expectErr(t, o, "small.img", "too small")
	})
	t.Run("missing device", func(t *testing.T) {
		o := opts("unused")
		o.Files, o.Devices = nil, []string{filepath.Join(dir, "nope")}
		expectErr(t, o, "nope", "no such file")
	})
	t.Run("grows a smaller file", func(t *testing.T) {
		o := opts("grow.dat")
		small := o
		small.FileSize /= 2
		b := mustNew(t, small)
		if err := b.Put(ctx, [20]byte{1}, rec(1, 10)); err != nil {
			t.Fatal(err)
		}
		b.Close()
		b = mustNew(t, o)
		expectRecord(t, b, [20]byte{1}, rec(1, 10))
		if st := stat(t, b); st.Capacity != uint64(o.FileSize-int64(o.WriteBlockSize)) {
			t.Fatalf("capacity %d after growing to %d", st.Capacity, o.FileSize)
		}
	})
}

// TestDirectIORefused checks the error for a file system that refuses
// O_DIRECT: it names the file and says to set direct-io false. tmpfs
// refuses it at open on kernels before 6.6; the refusal is also injected,
// as EINVAL from the first read, which is how some file systems refuse it.
func TestDirectIORefused(t *testing.T) {
	check := func(t *testing.T, o Options) {
		t.Helper()
		b, err := New(o)
		if err == nil {
			b.Close()
			t.Skip("this file system accepts O_DIRECT")
		}
		if !errors.Is(err, errDirectIO) || !strings.Contains(err.Error(), "direct-io false") || !strings.Contains(err.Error(), o.Files[0]) {
			t.Fatalf("err = %v; want the direct-I/O error naming the file", err)
		}
		o.DirectIO = false
		o.wrapFile = nil
		b = mustNew(t, o)
		if err := b.Put(ctx, [20]byte{2}, rec(2, 100)); err != nil {
			t.Fatal(err)
		}
		b = reopen(t, b)
		expectRecord(t, b, [20]byte{2}, rec(2, 100))
	}
	t.Run("tmpfs", func(t *testing.T) {
		var st unix.Statfs_t
		if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
			t.Skip("no tmpfs at /dev/shm")
		}
		dir, err := os.MkdirTemp("/dev/shm", "nvme-test-")
		if err != nil {
			t.Skip(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		o := testOptions(dir, 8<<20)
		o.WriteBlockSize = 64 << 10
		check(t, o)
	})
	t.Run("injected", func(t *testing.T) {
		o := testOptions(t.TempDir(), 8<<20)
		o.WriteBlockSize = 64 << 10
		o.wrapFile = func(_ int, f devFile) devFile { return &faultFile{devFile: f, readErr: unix.EINVAL} }
		check(t, o)
	})
}

// TestIndexOnFlash runs the conformance suite's basics with the index in
// a mapped file of the mount, which a start takes over, and checks the
// mount's size limit.
func TestIndexOnFlash(t *testing.T) {
	mount := t.TempDir()
	o := testOptions(t.TempDir(), 16<<20)
	o.IndexType, o.IndexMount = IndexFlash, mount
	b := mustNew(t, o)
	const n = 20000
	for i := range n {
		if err := b.Put(ctx, digestN(i), rec(uint64(i), 50)); err != nil {
			t.Fatal(err)
		}
	}
	st := stat(t, b)
	if st.Extra["index_flash_used_bytes"] == 0 || st.IndexBytes < n*entrySize {
		t.Fatalf("flash index: %v bytes, IndexBytes %d", st.Extra["index_flash_used_bytes"], st.IndexBytes)
	}
	if _, ok := st.Extra["index_mounts_used_pct"]; ok {
		t.Fatal("index_mounts_used_pct without mounts-budget")
	}
	path, _ := o.regionFile()
	if ents, _ := os.ReadDir(mount); len(ents) != 1 || ents[0].Name() != filepath.Base(path) {
		t.Fatalf("files in the mount: %v, want the index's", ents)
	}
	b = reopen(t, b)
	if !b.resumed {
		t.Fatal("the index's file was not taken over")
	}
	for i := range n {
		expectRecord(t, b, digestN(i), rec(uint64(i), 50))
	}
	b.Close()
	os.Remove(path)

	o.IndexMountSizeLimit = 5 * 4096 * 4096 / 8 // too small for n records
	b2, err := New(o)
	if err == nil {
		b2.Close()
		t.Fatal("a cold start that cannot fit the index succeeded")
	}
	if !errors.Is(err, storage.ErrOutOfSpace) || !strings.Contains(err.Error(), "index-mount-size-limit") {
		t.Fatalf("err = %v", err)
	}
	os.Remove(path)
	o.IndexMountSizeLimit = 64 << 20
	b = mustNew(t, o)
	st = stat(t, b)
	if pct, want := st.Extra["index_mounts_used_pct"], 100*st.Extra["index_flash_used_bytes"]/float64(64<<20); pct == 0 || pct != want {
		t.Fatalf("index_mounts_used_pct %v, want %v", pct, want)
	}
}

func digestN(i int) storage.Digest {
	var d storage.Digest
	x := uint64(i)*0x9e3779b97f4a7c15 + 12345
	for j := range d {
		x ^= x >> 29
		x *= 0xbf58476d1ce4e5b9
		d[j] = byte(x >> 56)
	}
	return d
}

// TestFilesLocked: a second backend on the files of one still open waits
// for it to close, as a new plugin waits for a killed node's, and is
// refused if it does not within filelock.Wait.
func TestFilesLocked(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("files are locked on Linux")
	}
	o := testOptions(t.TempDir(), 32<<20)
	first := mustNew(t, o)
	start := time.Now()
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("a second backend on the files: %v", err)
	}
	if waited := time.Since(start); waited < filelock.Wait {
		t.Errorf("refused after %v, before filelock.Wait", waited)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		first.Close()
	}()
	second, err := New(o)
	if err != nil {
		t.Fatalf("once the first closed: %v", err)
	}
	second.Close()
}
