//go:build linux

package nvme

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// TestDeviceReads reads records back from the files after a restart, when
// none is in memory any more, with io_uring (and pread when only one read is
// in flight) and with pread only (where io_uring is refused).
func TestDeviceReads(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noRing bool
	}{{"io_uring", false}, {"pread", true}} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t.TempDir(), 16<<20)
			o.noRing = tc.noRing
			// No defragmentation, which would move records into write
			// buffers in memory after the restart.
			o.DefragLWMPct = 1
			b := mustNew(t, o)
			const n = 3000
			for i := range n {
				d := storagetest.DigestIn(uint16(i), uint64(i))
				if err := b.Put(ctx, d, rec(uint64(i), 100+i%1500)); err != nil {
					t.Fatal(err)
				}
			}
			b = reopen(t, b)
			want := float64(len(o.Files))
			if tc.noRing {
				want = 0
			}
			if got := stat(t, b).Extra["device_io_uring"]; got != want {
				t.Fatalf("device_io_uring %v, want %v", got, want)
			}
			// Readers at once: with io_uring, a read with none other in
			// flight is a blocking pread, the others go through the ring.
			var wg sync.WaitGroup
			for r := range 8 {
				wg.Go(func() {
					for i := r; i < n; i += 8 {
						d := storagetest.DigestIn(uint16(i), uint64(i))
						if got, err := b.Get(ctx, d, nil); err != nil || !same(got, rec(uint64(i), 100+i%1500)) {
							t.Errorf("Get %d: %+v, %v", i, got.Meta, err)
							return
						}
					}
				})
			}
			wg.Wait()
			if reads := b.devReads.Load(); reads != n {
				t.Errorf("%d reads from the files for %d records", reads, n)
			}
		})
	}
}

// TestReadPageCache checks read-page-cache: with it, records read from a
// device leave its pages in the page cache; without it, reads go around
// the cache (direct I/O). Writes are direct either way, so a read after an
// overwrite finds the new record, not a cached page of the old one.
func TestReadPageCache(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("read-page-cache=%v", cached), func(t *testing.T) {
			o := testOptions(t.TempDir(), 16<<20)
			o.Files = o.Files[:1]
			o.PostWriteQueue = 0
			o.ReadPageCache = cached
			b := mustNew(t, o)
			for i := range 2000 {
				if err := b.Put(ctx, digestN(i), rec(uint64(i), 4000)); err != nil {
					t.Fatal(err)
				}
			}
			b = reopen(t, b) // nothing in memory
			path := o.Files[0]
			dropCache(t, path)
			// The defragmenter may read a block or two meanwhile.
			base := residentPages(t, path)
			for i := range 2000 {
				expectRecord(t, b, digestN(i), rec(uint64(i), 4000))
			}
			n := residentPages(t, path)
			switch {
			case cached && n-base < 2000:
				t.Fatalf("read-page-cache: %d pages of the file cached after reading 2000 records of 4 KB, %d before", n, base)
			case !cached && n != 0:
				t.Fatalf("direct reads: %d pages of the file cached", n)
			}
			// Three rounds of overwrites, half again the file, reuse
			// blocks whose pages were cached: written around the cache,
			// they must be read as they are now, not as cached.
			for round := uint64(1); round <= 3; round++ {
				for i := range 2000 {
					if err := b.Put(ctx, digestN(i), rec(uint64(i)+round*5000, 4000)); err != nil {
						t.Fatal(err)
					}
				}
			}
			time.Sleep(5 * o.FlushMax) // the last blocks reach the file
			for i := range 2000 {
				expectRecord(t, b, digestN(i), rec(uint64(i)+3*5000, 4000))
			}
			if n := stat(t, b).Extra["device_corrupt_records"]; n != 0 {
				t.Fatalf("after the overwrites: %v damaged records", n)
			}
		})
	}
}

// dropCache asks the kernel to drop the cached pages of the file at path.
func dropCache(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
}

// residentPages counts the pages of the file at path in the page cache.
func residentPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	vec := make([]byte, (len(mem)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&mem[0])), uintptr(len(mem)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
