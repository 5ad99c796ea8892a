package nvme

import (
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/sdk/storage"
)

// allocBuffer returns n bytes of zeroed, page-aligned memory outside the Go
// heap, for a write buffer: buffers of the post-write queue add up to
// gigabytes that the garbage collector need not pace itself by.
func allocBuffer(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("allocate a write buffer of %d bytes: %w", n, err)
	}
	return b, nil
}

// freeBuffer releases memory from allocBuffer.
func freeBuffer(b []byte) { _ = unix.Munmap(b) }

// punch gives the pages of b, part of a shared mapping, back to the system.
func punch(b []byte) { _ = unix.Madvise(b, unix.MADV_REMOVE) }

// mapFile maps the first size bytes of the file fd, shared and writable.
func mapFile(fd, size int) ([]byte, error) {
	return unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

func unmapFile(b []byte) { _ = unix.Munmap(b) }

// resetFile empties the file fd, sizes it to size bytes, sparse, and maps
// it.
func resetFile(fd, size int) ([]byte, error) {
	if err := unix.Ftruncate(fd, 0); err != nil {
		return nil, err
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return nil, err
	}
	return mapFile(fd, size)
}

func closeFile(fd int) error { return unix.Close(fd) }

// reserve allocates the n bytes at off of the file fd on a tmpfs, so that
// touching them through a mapping cannot fail (SIGBUS) once the tmpfs is
// full: a full one fails here, with ENOSPC. Other errors (a file system
// that cannot allocate ahead) leave the bytes to be allocated when touched.
func reserve(fd, off, n int) error {
	if err := unix.Fallocate(fd, 0, int64(off), int64(n)); err == unix.ENOSPC {
		return err
	}
	return nil
}

// dupFile is a copy of the descriptor fd, closed on exec.
func dupFile(fd int) (int, error) { return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0) }

// flashSlots keeps the index's tables in files of a flash mount
// (index-type flash), mapped into memory: the kernel pages them in and out,
// so the index may be larger than DRAM. Each table's slots are a file of
// their own, unlinked as soon as it is mapped: the index is rebuilt from the
// devices at every start, so nothing is left behind after a crash.
type flashSlots struct {
	dir   string
	limit int64 // index-mount-size-limit
	used  atomic.Int64
}

func newFlashSlots(dir string, limit int64) (*flashSlots, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("index-mount %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("index-mount %s: not a directory", dir)
	}
	f, err := os.CreateTemp(dir, "skiff-index-probe-*")
	if err != nil {
		return nil, fmt.Errorf("index-mount %s: %w", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return &flashSlots{dir: dir, limit: limit}, nil
}

func (f *flashSlots) alloc(n int) ([]entry, error) {
	size := alignUp(int64(n) * entrySize)
	if used := f.used.Add(size); f.limit > 0 && used > f.limit {
		f.used.Add(-size)
		return nil, fmt.Errorf("index-mount %s: index-mount-size-limit %d reached: %w", f.dir, f.limit, storage.ErrOutOfSpace)
	}
	m, err := f.mapFile(size)
	if err != nil {
		f.used.Add(-size)
		return nil, err
	}
	return unsafe.Slice((*entry)(unsafe.Pointer(&m[0])), int(size)/entrySize), nil
}

func (f *flashSlots) mapFile(size int64) ([]byte, error) {
	file, err := os.CreateTemp(f.dir, "skiff-index-*")
	if err != nil {
		return nil, fmt.Errorf("index-mount %s: %w", f.dir, err)
	}
	defer os.Remove(file.Name())
	defer file.Close()
	if err := file.Truncate(size); err != nil {
		return nil, fmt.Errorf("index-mount %s: size an index file: %w", f.dir, err)
	}
	m, err := unix.Mmap(int(file.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("index-mount %s: map an index file: %w", f.dir, err)
	}
	return m, nil
}

func (f *flashSlots) free(s []entry) {
	size := alignUp(int64(len(s)) * entrySize)
	_ = unix.Munmap(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), int(size)))
	f.used.Add(-size)
}

func (f *flashSlots) bytes() int64 { return f.used.Load() }
