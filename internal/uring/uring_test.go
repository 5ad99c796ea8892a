//go:build linux

package uring

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestLayout(t *testing.T) {
	if n := unsafe.Sizeof(params{}); n != 120 {
		t.Errorf("params: %d bytes, the kernel's are 120", n)
	}
	if n := unsafe.Sizeof(sqe{}); n != sqeSize {
		t.Errorf("sqe: %d bytes", n)
	}
	if n := unsafe.Sizeof(cqe{}); n != cqeSize {
		t.Errorf("cqe: %d bytes", n)
	}
}

func newRing(t *testing.T, entries int) *Ring {
	t.Helper()
	r, err := New(entries)
	if err != nil {
		t.Skipf("io_uring unavailable here: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// testFile writes size random bytes to a new file and returns them and the
// file, opened with extra flags.
func testFile(t *testing.T, size int, flags int) ([]byte, *os.File) {
	t.Helper()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{7}).Read(data)
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|flags, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return data, f
}

func TestConcurrentReadsMatchTheFile(t *testing.T) {
	r := newRing(t, 8)
	data, f := testFile(t, 1<<20, 0)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 300 {
				off := rng.IntN(len(data))
				n := 1 + rng.IntN(min(len(data)-off, 64<<10))
				buf := make([]byte, n)
				if got, err := r.ReadAt(int(f.Fd()), buf, int64(off)); err != nil || got != n {
					t.Errorf("read %d at %d: %d, %v", n, off, got, err)
					return
				}
				if !bytes.Equal(buf, data[off:off+n]) {
					t.Errorf("read %d at %d: wrong bytes", n, off)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := r.InFlight(); n != 0 {
		t.Errorf("%d reads in flight after all returned", n)
	}
}

func TestDirectReads(t *testing.T) {
	r := newRing(t, 0)
	data, f := testFile(t, 256<<10, unix.O_DIRECT)
	raw := make([]byte, 64<<10+4096)
	skip := (4096 - int(uintptr(unsafe.Pointer(&raw[0]))%4096)) % 4096
	buf := raw[skip : skip+64<<10]
	for _, off := range []int64{0, 4096, 128 << 10, 192 << 10} {
		n, err := r.ReadAt(int(f.Fd()), buf, off)
		if errors.Is(err, unix.EINVAL) {
			t.Skip("the file system refuses O_DIRECT")
		}
		if err != nil || n != len(buf) || !bytes.Equal(buf, data[off:off+int64(n)]) {
			t.Fatalf("read at %d: %d, %v", off, n, err)
		}
	}
}

func TestShortReadAndErrors(t *testing.T) {
	r := newRing(t, 0)
	data, f := testFile(t, 10000, 0)
	buf := make([]byte, 4096)
	n, err := r.ReadAt(int(f.Fd()), buf, 8000)
	if n != 2000 || err != io.EOF || !bytes.Equal(buf[:n], data[8000:]) {
		t.Errorf("read past the end: %d, %v", n, err)
	}
	if _, err := r.ReadAt(-1, buf, 0); !errors.Is(err, unix.EBADF) {
		t.Errorf("bad descriptor: %v", err)
	}
	if n, err := r.ReadAt(int(f.Fd()), nil, 0); n != 0 || err != nil {
		t.Errorf("empty read: %d, %v", n, err)
	}
}

func TestCloseWaitsForReadsAndRefusesNewOnes(t *testing.T) {
	r, err := New(4)
	if err != nil {
		t.Skipf("io_uring unavailable here: %v", err)
	}
	data, f := testFile(t, 1<<20, 0)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 16 {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			<-start
			for {
				n, err := r.ReadAt(int(f.Fd()), buf, 4096)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil || !bytes.Equal(buf[:n], data[4096:4096+n]) {
					t.Errorf("read: %d, %v", n, err)
					return
				}
			}
		})
	}
	close(start)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := r.ReadAt(int(f.Fd()), make([]byte, 10), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("read after close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func BenchmarkReadAt(b *testing.B) {
	data := make([]byte, 64<<20)
	path := filepath.Join(b.TempDir(), "data")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := New(0)
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	for _, how := range []string{"pread", "uring"} {
		b.Run(how, func(b *testing.B) {
			before := cpuTime(b)
			defer func() { b.ReportMetric(float64(cpuTime(b)-before)/float64(b.N), "cpu-ns/op") }()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				raw := make([]byte, 8192)
				skip := (4096 - int(uintptr(unsafe.Pointer(&raw[0]))%4096)) % 4096
				buf := raw[skip : skip+4096]
				rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
				for pb.Next() {
					off := int64(rng.IntN(len(data)/4096)) * 4096
					var err error
					if how == "pread" {
						_, err = f.ReadAt(buf, off)
					} else {
						_, err = r.ReadAt(int(f.Fd()), buf, off)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// cpuTime is the CPU time the process has used, in nanoseconds.
func cpuTime(b *testing.B) int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
