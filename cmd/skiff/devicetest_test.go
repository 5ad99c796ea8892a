package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	nvme "github.com/skiffdb/skiff/plugins/storage-nvme"
)

func TestDeviceTestFlags(t *testing.T) {
	defaults := deviceTestOptions{
		Path: "/dev/x", Duration: time.Minute, Interval: 10 * time.Second,
		ReadRate: 2000, RecordBytes: 1536, WriteRate: 1000, WriteBlockSize: 1 << 20,
		Threads: 16, MaxP99: time.Millisecond, Fill: "auto", Seed: 7, ReadBytes: 4096,
	}
	for _, tc := range []struct {
		name string
		args []string
		edit func(o *deviceTestOptions)
	}{
		{"defaults", []string{"/dev/x"}, func(*deviceTestOptions) {}},
		{"path first", []string{"/dev/x", "-d", "5s"}, func(o *deviceTestOptions) { o.Duration = 5 * time.Second }},
		{"path between", []string{"-d", "5s", "/dev/x", "-threads", "4"}, func(o *deviceTestOptions) { o.Duration, o.Threads = 5*time.Second, 4 }},
		{"all", []string{"-size", "2G", "-d", "1h", "-i", "1m", "-read-rate", "6000", "-record-bytes", "4097",
			"-write-rate", "0", "-write-block-size", "128K", "-threads", "64", "-max-p99", "2ms", "-fill", "never",
			"-dsync", "-force", "/dev/x"},
			func(o *deviceTestOptions) {
				o.Size, o.Duration, o.Interval, o.ReadRate, o.RecordBytes = 2<<30, time.Hour, time.Minute, 6000, 4097
				o.WriteRate, o.WriteBlockSize, o.Threads, o.MaxP99, o.Fill = 0, 128<<10, 64, 2*time.Millisecond, "never"
				o.DSync, o.Force, o.ReadBytes = true, true, 8192
			}},
		{"write only", []string{"-read-rate", "0", "-write-block-size", "8M", "/dev/x"}, func(o *deviceTestOptions) {
			o.ReadRate, o.WriteBlockSize = 0, 8<<20
		}},
		{"small record", []string{"-record-bytes", "1", "-size", "4096", "/dev/x"}, func(o *deviceTestOptions) {
			o.RecordBytes, o.ReadBytes, o.Size = 1, 4096, 4096
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseDeviceTestArgs(append([]string{"-seed", "7"}, tc.args...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			tc.edit(&want)
			if *got != want {
				t.Errorf("got  %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestDeviceTestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{nil, "no PATH"},
		{[]string{"-d", "5s"}, "no PATH"},
		{[]string{"/a", "/b"}, "one PATH only"},
		{[]string{"-size", "4X", "/a"}, `"4X" is not a size`},
		{[]string{"-size", "-1", "/a"}, "is not a size"},
		{[]string{"-size", "1000", "/a"}, "-size must be a multiple of 4096"},
		{[]string{"-d", "0s", "/a"}, "-d must be positive"},
		{[]string{"-i", "0s", "/a"}, "-i must be positive"},
		{[]string{"-read-rate", "-1", "/a"}, "-read-rate must be at least 0"},
		{[]string{"-write-rate", "-5", "/a"}, "-write-rate must be at least 0"},
		{[]string{"-read-rate", "0", "-write-rate", "0", "/a"}, "nothing to do"},
		{[]string{"-record-bytes", "0", "/a"}, "-record-bytes must be in 1..8388608"},
		{[]string{"-record-bytes", "9000000", "/a"}, "-record-bytes must be in"},
		{[]string{"-write-block-size", "3000", "/a"}, "-write-block-size must be a power of two from 4K to 8M"},
		{[]string{"-write-block-size", "16M", "/a"}, "-write-block-size must be a power of two"},
		{[]string{"-write-block-size", "96K", "/a"}, "-write-block-size must be a power of two"},
		{[]string{"-threads", "0", "/a"}, "-threads must be in 1..4096"},
		{[]string{"-max-p99", "0s", "/a"}, "-max-p99 must be positive"},
		{[]string{"-fill", "sometimes", "/a"}, "-fill must be auto, always or never"},
		{[]string{"-threads", "x", "/a"}, "invalid value"},
		{[]string{"-bogus", "/a"}, "not defined"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseDeviceTestArgs(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"device-test"}, tc.args...), &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
		})
	}
}

func TestDeviceTestHelp(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseDeviceTestArgs([]string{"-help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("error %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"usage: skiff device-test", "-read-rate", "-write-block-size", "OVERWRITTEN"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "device-test") {
		t.Errorf("skiff help: exit %d, lists device-test: %t", code, strings.Contains(stdout.String(), "device-test"))
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "4096": 4096, "128K": 128 << 10, "1m": 1 << 20, "4G": 4 << 30, "2T": 2 << 40} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 1000: "1000", 4096: "4K", 3 << 20: "3M", 4 << 30: "4G", 5 << 40: "5T", 1<<30 + 4096: "1048580K"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	for _, in := range []string{"", "K", "1.5G", "-1", "1P", "99999999999T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q): no error", in)
		}
	}
}

func TestLatencyClass(t *testing.T) {
	ms := int64(time.Millisecond)
	for _, tc := range []struct {
		ns   int64
		want int
	}{
		{0, 0}, {ms, 0}, {ms + 1, 1}, {2 * ms, 1}, {2*ms + 1, 2}, {4 * ms, 2}, {5 * ms, 3},
		{8*ms + 1, 4}, {16*ms + 1, 5}, {32*ms + 1, 6}, {64 * ms, 6}, {64*ms + 1, 7}, {time.Hour.Nanoseconds(), 7},
	} {
		if got := latencyClass(tc.ns); got != tc.want {
			t.Errorf("latencyClass(%v) = %d, want %d", time.Duration(tc.ns), got, tc.want)
		}
	}
}

// directDir returns a directory for test targets that accepts O_DIRECT, or
// skips the test.
func directDir(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("device-test runs on Linux only")
	}
	dir := t.TempDir()
	o := &deviceTestOptions{Path: filepath.Join(dir, "probe"), Size: 1 << 20, WriteBlockSize: 64 << 10, ReadBytes: dtAlign}
	tg, err := openTarget(o)
	if err != nil {
		if strings.Contains(err.Error(), "direct I/O") {
			t.Skipf("%s: %v", dir, err)
		}
		t.Fatal(err)
	}
	tg.close()
	os.Remove(o.Path)
	return dir
}

// TestDeviceTestTargets: targets the test cannot use are refused with an
// error that says why, and exit status 1.
func TestDeviceTestTargets(t *testing.T) {
	dir := directDir(t)
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	sized := filepath.Join(dir, "sized")
	if err := os.WriteFile(sized, make([]byte, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	// A file holding a namespace, formatted by the device backend.
	formatted := filepath.Join(dir, "ns.dat")
	o := nvme.DefaultOptions()
	o.Namespace, o.Files, o.FileSize, o.WriteBlockSize = "orders", []string{formatted}, 4<<20, 128<<10
	o.Logger = slog.New(slog.DiscardHandler)
	be, err := nvme.New(o)
	if err != nil {
		t.Fatal(err)
	}
	be.Close()

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing directory", []string{filepath.Join(dir, "nodir", "x.dat")}, "no such file or directory"},
		{"directory", []string{dir}, "is a directory"},
		{"character device", []string{"/dev/null"}, "neither a regular file nor a block device"},
		{"too small", []string{small}, "is too small: 1048576 bytes; the test needs at least 2097152"},
		{"size differs", []string{"-size", "16M", sized}, "exists with 8388608 bytes, not -size 16M"},
		{"skiff namespace", []string{"-write-block-size", "128K", formatted}, `holds the data of Skiff namespace "orders"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"device-test", "-d", "100ms"}, tc.args...), &stdout, &stderr)
			if code != 1 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q", code, stderr.String(), tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "nodir")); err == nil {
		t.Error("a directory was created")
	}
	// -force tests a namespace's file anyway.
	var stdout, stderr bytes.Buffer
	code := run([]string{"device-test", "-d", "200ms", "-i", "100ms", "-write-block-size", "128K", "-force", "-max-p99", "1h", formatted}, &stdout, &stderr)
	if code != 0 {
		t.Errorf("-force: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

// reportFields returns the key=value fields of the report's lines of kind.
func reportFields(out, kind string) []map[string]string {
	var recs []map[string]string
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != kind {
			continue
		}
		m := map[string]string{}
		for _, kv := range f[1:] {
			if k, v, ok := strings.Cut(kv, "="); ok {
				m[k] = v
			}
		}
		recs = append(recs, m)
	}
	return recs
}

// TestDeviceTestRun runs the test briefly on a new file: it is created and
// filled, the histogram has a row per kind and slice, the rates are met,
// and the verdict follows -max-p99.
func TestDeviceTestRun(t *testing.T) {
	dir := directDir(t)
	path := filepath.Join(dir, "dev.dat")
	common := []string{"-d", "1500ms", "-i", "500ms", "-read-rate", "400", "-write-rate", "300", "-record-bytes", "1536",
		"-write-block-size", "64K", "-threads", "4", "-seed", "3"}
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"device-test", "-size", "16M", "-max-p99", "1h", path}, common...), &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit %d, want 0 (PASS)\n%s%s", code, out, stderr.String())
	}
	if tg := reportFields(out, "target"); len(tg) != 1 || tg[0]["created"] != "true" || tg[0]["size"] != "16777216" || tg[0]["kind"] != "file" {
		t.Errorf("target line %v", tg)
	}
	if f := reportFields(out, "fill"); len(f) != 1 || f[0]["bytes"] != "16777216" {
		t.Errorf("fill line %v: want the whole new file written", f)
	}
	// 3 slices and the total, 4 rows each.
	rows := map[string]int{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 10 && strings.HasPrefix(f[1], "reads") || len(f) == 10 && strings.HasPrefix(f[1], "writes") {
			rows[f[0]]++
		}
	}
	for _, s := range []string{"0.5s", "1s", "1.5s", "all"} {
		if rows[s] != 4 {
			t.Errorf("slice %s: %d rows, want 4 (rows by slice: %v)\n%s", s, rows[s], rows, out)
		}
	}
	lat := map[string]map[string]string{}
	for _, l := range reportFields(out, "latency") {
		lat[l["op"]] = l
	}
	for _, op := range []string{"read", "read-dev", "write", "write-dev"} {
		if lat[op] == nil {
			t.Fatalf("no latency line for %s\n%s", op, out)
		}
	}
	// 400 reads/s for 1.5 s; 300 records of 1536 B a second in blocks of
	// 64 KiB: 7.03 blocks/s, 11 blocks due.
	if n, _ := strconv.Atoi(lat["read"]["count"]); n != 600 {
		t.Errorf("%d reads, want 600", n)
	}
	if n, _ := strconv.Atoi(lat["write"]["count"]); n != 11 {
		t.Errorf("%d block writes, want 11", n)
	}
	res := reportFields(out, "result")
	if len(res) != 1 || res[0]["verdict"] != "PASS" {
		t.Fatalf("result %v", res)
	}
	tg, err := openTarget(&deviceTestOptions{Path: path, WriteBlockSize: 64 << 10, ReadBytes: dtAlign})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := tg.unwritten(); n != 0 || err != nil {
		t.Errorf("after the test, %d bytes unwritten (%v)", n, err)
	}
	tg.close()

	// The same on the existing file, with an impossible threshold: FAIL,
	// with the reason, and no fill.
	stdout.Reset()
	code = run(append([]string{"device-test", "-max-p99", "1ns", path}, common...), &stdout, &stderr)
	out = stdout.String()
	if code != 3 {
		t.Fatalf("exit %d, want 3 (FAIL)\n%s", code, out)
	}
	if res := reportFields(out, "result"); len(res) != 1 || res[0]["verdict"] != "FAIL" {
		t.Errorf("result %v", res)
	}
	if !strings.Contains(out, "reason read p99") || strings.Contains(out, "\nfill ") {
		t.Errorf("want a read p99 reason and no fill:\n%s", out)
	}
}

// TestDeviceTestFill: -fill auto writes only what was never written, and
// -fill never warns about it.
func TestDeviceTestFill(t *testing.T) {
	dir := directDir(t)
	path := filepath.Join(dir, "f.dat")
	if err := createTarget(path, 8<<20); err != nil {
		t.Fatal(err)
	}
	o := &deviceTestOptions{Path: path, WriteBlockSize: 64 << 10, ReadBytes: dtAlign}
	tg, err := openTarget(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.close()
	hs, err := tg.holes()
	if err != nil || len(hs) != 1 || hs[0] != [2]int64{0, 8 << 20} {
		t.Skipf("the file system does not report allocated space as unwritten: %v %v", hs, err)
	}
	buf, _ := alignedBuffer(1 << 20)
	defer freeAligned(buf)
	if err := tg.writeAt(buf[:64<<10], 1<<20); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if err := fillTarget(context.Background(), tg, "never", buf, io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "8323072 bytes") || !strings.Contains(stderr.String(), "never written") {
		t.Errorf("-fill never: warning %q", stderr.String())
	}
	var out bytes.Buffer
	if err := fillTarget(context.Background(), tg, "auto", buf, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if f := reportFields(out.String(), "fill"); len(f) != 1 || f[0]["bytes"] != "8323072" {
		t.Errorf("-fill auto: %q, want 8 MiB less the 64 KiB written", out.String())
	}
	if n, err := tg.unwritten(); n != 0 || err != nil {
		t.Errorf("after -fill auto, %d bytes unwritten (%v)", n, err)
	}
}

// TestDeviceTestNoAllocs pins the workers' steps as allocation-free: a
// read, a block write, and a sleep.
func TestDeviceTestNoAllocs(t *testing.T) {
	dir := directDir(t)
	o, err := parseDeviceTestArgs([]string{"-size", "4M", "-write-block-size", "64K", "-seed", "1", filepath.Join(dir, "a.dat")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := openTarget(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tg.close()
	r := &dtRun{o: o, t: tg, halt: make(chan struct{}), readPeriod: 1, writePeriod: 1}
	r.blocks = tg.size / o.WriteBlockSize
	r.readSlots = uint64((tg.size-int64(o.ReadBytes))/dtAlign) + 1
	// Everything is due at once, and the end is far away.
	r.start, r.end = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	rbuf, _ := alignedBuffer(o.ReadBytes)
	defer freeAligned(rbuf)
	wbuf, _ := alignedBuffer(int(o.WriteBlockSize))
	defer freeAligned(wbuf)
	reader, writer := r.newWorker(0, rbuf), r.newWorker(-1, wbuf)
	for name, step := range map[string]func() bool{"read": reader.readStep, "write": writer.writeStep} {
		if n := testing.AllocsPerRun(200, func() {
			if !step() {
				t.Fatalf("%s step stopped: %v", name, r.failure.Load())
			}
		}); n != 0 {
			t.Errorf("%s step: %v allocations, want 0", name, n)
		}
	}
	var s sleeper
	if n := testing.AllocsPerRun(20, func() { s.sleep(10 * time.Microsecond) }); n != 0 {
		t.Errorf("sleep: %v allocations, want 0", n)
	}
}
