package nvme

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/internal/filelock"
	"github.com/skiffdb/skiff/internal/uring"
)

// osFile is a device or file opened for direct I/O. Reads that overlap go
// through an io_uring where the system allows one (see package uring), the
// others through pread.
type osFile struct {
	*uring.File
	// w takes the writes and syncs: the file read, or with read-page-cache
	// a descriptor of its own with O_DIRECT, the reads' going through the
	// page cache.
	w *os.File
	// lock holds the file's exclusive lock (lockMedium): a descriptor of
	// its own, which is never passed to the node, so that the lock goes
	// with this process.
	lock *os.File
}

func (o *osFile) Close() error {
	err := o.File.Close()
	if o.w != o.OS() {
		o.w.Close()
	}
	o.lock.Close()
	return err
}

// usesRing reports whether reads go through an io_uring.
func (o *osFile) usesRing() bool { return o.UsesRing() }

func (o *osFile) WriteAt(p []byte, off int64) (int, error) { return o.w.WriteAt(p, off) }
func (o *osFile) Sync() error                              { return unix.Fdatasync(int(o.w.Fd())) }

// errDirectIO is wrapped by the error of a file system that refuses
// O_DIRECT.
var errDirectIO = errors.New("the file system does not support direct I/O (O_DIRECT); set direct-io false to use the page cache")

// createFile creates a data file of size bytes, its space allocated.
func createFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := allocate(f, size); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// allocate grows f to size bytes, reserving the space where the file
// system can, so that writes do not fail for want of it later.
func allocate(f *os.File, size int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = f.Truncate(size)
	}
	if err != nil {
		return fmt.Errorf("allocate %d bytes: %w", size, err)
	}
	return nil
}

// openFile opens a device or data file for reading and writing, with
// O_DIRECT when direct is set, reads through the page cache all the same
// when readCache is, and reads through an io_uring when ring is, and
// returns it with its size in bytes and whether it is a block device.
func openFile(path string, direct, readCache, ring bool, log *slog.Logger) (devFile, int64, bool, error) {
	flags := os.O_RDWR | unix.O_CLOEXEC
	if direct {
		flags |= unix.O_DIRECT
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		if direct && errors.Is(err, unix.EINVAL) {
			return nil, 0, false, errDirectIO
		}
		return nil, 0, false, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, 0, false, err
	}
	size, blockDev := st.Size, st.Mode&unix.S_IFMT == unix.S_IFBLK
	switch {
	case blockDev:
		n, err := blockDeviceSize(int(f.Fd()))
		if err != nil {
			f.Close()
			return nil, 0, false, fmt.Errorf("size of block device: %w", err)
		}
		size = int64(n)
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		f.Close()
		return nil, 0, false, errors.New("neither a block device nor a regular file")
	}
	lock, err := lockMedium(path)
	if err != nil {
		f.Close()
		return nil, 0, false, err
	}
	read := f
	if direct && readCache {
		// Writes stay direct, which drops the pages they cover from the
		// cache: reads never see stale data.
		if read, err = os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			lock.Close()
			f.Close()
			return nil, 0, false, err
		}
	}
	var r *uring.Ring
	if ring {
		if r, err = uring.New(0); err != nil {
			log.Warn("nvme: io_uring unavailable, reads block a thread each (slower)", "path", path, "err", err)
		}
	}
	return &osFile{File: uring.NewFile(read, r), w: f, lock: lock}, size, blockDev, nil
}

// lockMedium takes the exclusive lock of the device or file at path, so
// that two backends never write one: two nodes or namespaces configured with
// it, or a new plugin and the old one of a killed node.
func lockMedium(path string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if err := filelock.Exclusive(int(f.Fd())); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrHeld) {
			return nil, errors.New("in use by another process (another node or namespace, or the plugin of a node still stopping)")
		}
		return nil, fmt.Errorf("lock: %w", err)
	}
	return f, nil
}

// isDirectIOError reports whether err from a read or write means the file
// system refused direct I/O (some accept O_DIRECT at open and fail reads).
func isDirectIOError(err error) bool { return errors.Is(err, unix.EINVAL) }

// growFile grows a data file to size bytes.
func growFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return allocate(f, size)
}

// blockDeviceSize returns a block device's size (ioctl BLKGETSIZE64).
func blockDeviceSize(fd int) (uint64, error) {
	var n uint64
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&n))); errno != 0 {
		return 0, errno
	}
	return n, nil
}
