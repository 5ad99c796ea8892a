package sharedindex

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/internal/filelock"
	"github.com/skiffdb/skiff/internal/uring"
)

// Shareable says whether a node may read a region: the reader's checks rely
// on amd64's ordering of loads.
const Shareable = runtime.GOARCH == "amd64"

func create(size int) (*Region, error) {
	fd, err := unix.MemfdCreate("skiff-storage-index", unix.MFD_CLOEXEC)
	if err != nil {
		// Where memory files are refused (a seccomp profile), the backend
		// still works, in memory the node cannot map.
		mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
		if err != nil {
			return nil, fmt.Errorf("map anonymous memory: %w", err)
		}
		return &Region{mem: mem, fd: -1, close: func() error { return unix.Munmap(mem) }}, nil
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("size memfd: %w", err)
	}
	r, err := adopt(fd)
	if err != nil {
		unix.Close(fd)
	}
	return r, err
}

// OpenFile opens the file at path that keeps a backend's memory (a region
// file; what names it in errors), creating it (and its directory: a tmpfs
// starts empty after a reboot) if missing, and locks it (flock), so that
// one process at a time keeps its memory there; a
// descriptor copied to another process shares the lock. It returns the
// descriptor and the file's size, 0 for a new file. The file must be on a
// tmpfs (elsewhere the region's pages would be written back to a disk)
// with room for need bytes besides what the file holds already: a process
// that touches a page of a full tmpfs through its mapping is killed
// (SIGBUS), so a tmpfs too small is refused here.
func OpenFile(what, path string, need int64) (fd int, size int64, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return -1, 0, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return openLocked(what, path, need, true)
}

// OpenDiskFile is OpenFile for a file on a disk's file system, in a
// directory that must exist (a flash mount): the kernel writes the
// region's pages back to the disk and may evict them, so the region can be
// larger than memory, and outlives a reboot.
func OpenDiskFile(what, path string, need int64) (fd int, size int64, err error) {
	return openLocked(what, path, need, false)
}

func openLocked(what, path string, need int64, tmpfs bool) (fd int, size int64, err error) {
	fd, err = unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return -1, 0, fmt.Errorf("%s %s: %w", what, path, err)
	}
	var fs unix.Statfs_t
	var st unix.Stat_t
	switch {
	case unix.Fstatfs(fd, &fs) != nil:
		err = fmt.Errorf("%s %s: cannot stat its file system", what, path)
	case tmpfs && fs.Type != unix.TMPFS_MAGIC:
		err = fmt.Errorf("%s %s: not on a tmpfs (such as /dev/shm)", what, path)
	case filelock.Exclusive(fd) != nil:
		err = fmt.Errorf("%s %s: in use by another process", what, path)
	case unix.Fstat(fd, &st) != nil:
		err = fmt.Errorf("%s %s: cannot stat it", what, path)
	case int64(fs.Bavail)*fs.Bsize+st.Blocks*512 < need:
		hint := ""
		if tmpfs {
			hint = " (a larger tmpfs: docker run --shm-size, a memory-backed emptyDir's sizeLimit)"
		}
		err = fmt.Errorf("%s %s: its file system has %d MiB free, the namespace needs up to %d MiB%s",
			what, path, (int64(fs.Bavail)*fs.Bsize+st.Blocks*512)>>20, need>>20, hint)
	}
	if err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	return fd, st.Size, nil
}

// createIn sizes the region file fd for a new region of size bytes,
// emptied first, and maps it. fd stays the caller's if it fails.
func createIn(fd, size int) (*Region, error) {
	if err := unix.Ftruncate(fd, 0); err != nil {
		return nil, fmt.Errorf("empty region file: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return nil, fmt.Errorf("size region file: %w", err)
	}
	return adopt(fd)
}

// adopt maps the memory file fd writable.
func adopt(fd int) (*Region, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Size < pageSize || st.Size > 1<<50 {
		return nil, fmt.Errorf("memory file of %d bytes", st.Size)
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("map memfd: %w", err)
	}
	r := &Region{mem: mem, fd: fd}
	r.close = func() error {
		err := unix.Munmap(mem)
		if cerr := unix.Close(fd); err == nil {
			err = cerr
		}
		return err
	}
	return r, nil
}

// release punches the pages out of the memory file, for every mapping.
func release(b []byte) error { return unix.Madvise(b, unix.MADV_REMOVE) }

// mapReadOnly maps the region in fd for a reader.
func mapReadOnly(fd int) ([]byte, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Size < pageSize || st.Size > 1<<50 {
		return nil, fmt.Errorf("memory file of %d bytes", st.Size)
	}
	return unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_NORESERVE)
}

func unmap(b []byte) error { return unix.Munmap(b) }

// memFile reads a memory copy of a device file, mapped read-only.
type memFile []byte

func (m memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, fmt.Errorf("read of %d bytes at %d, past the copy's %d", len(p), off, len(m))
	}
	return copy(p, m[off:]), nil
}

func (m memFile) Close() error { return unix.Munmap(m) }

// openDevices maps the region's header page writable, for the count of
// device reads, and opens the device files from copies of their
// descriptors, each read through an io_uring where the system allows, or
// maps them when they are memory copies of the devices.
func (r *Reader) openDevices(fd int, files []int) error {
	var err error
	if r.counters, err = unix.Mmap(fd, 0, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); err != nil {
		return fmt.Errorf("map the counters: %w", err)
	}
	for i, f := range files {
		if r.copies {
			mem, err := mapReadOnly(f)
			if err != nil {
				return fmt.Errorf("map the copy of device file %d: %w", i, err)
			}
			r.files = append(r.files, memFile(mem))
			continue
		}
		dup, err := unix.FcntlInt(uintptr(f), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("device file %d: %w", i, err)
		}
		ring, err := uring.New(0)
		if err != nil {
			ring = nil // pread, as the backend does then
		}
		r.files = append(r.files, uring.NewFile(os.NewFile(uintptr(dup), fmt.Sprintf("device file %d", i)), ring))
	}
	return nil
}

func closeFD(fd int) { unix.Close(fd) }
