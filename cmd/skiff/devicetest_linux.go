package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// target is the device or file under test, opened for direct I/O. size is
// the part used: the whole, rounded down to dtAlign.
type target struct {
	f       *os.File
	fd      int
	path    string
	kind    string // "file" or "block-device"
	size    int64
	created bool
}

// openTarget opens o.Path for direct I/O, creating a file of o.Size (or
// dtDefaultSize) bytes if it does not exist, and checks that it can be
// tested: a regular file or a block device, large enough, that accepts
// O_DIRECT and holds no Skiff namespace (unless o.Force).
func openTarget(o *deviceTestOptions) (_ *target, err error) {
	t := &target{path: o.Path, kind: "file"}
	st, err := os.Stat(o.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		size := o.Size
		if size == 0 {
			size = dtDefaultSize
		}
		if err := createTarget(o.Path, size); err != nil {
			return nil, err
		}
		t.created = true
	case err != nil:
		return nil, err
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory: name a block device or a file in it", o.Path)
	case st.Mode().IsRegular():
		if o.Size != 0 && o.Size != st.Size() {
			return nil, fmt.Errorf("%s exists with %d bytes, not -size %s: drop -size to test it as it is, or remove it", o.Path, st.Size(), formatSize(o.Size))
		}
	case st.Mode()&fs.ModeDevice != 0 && st.Mode()&fs.ModeCharDevice == 0:
		t.kind = "block-device"
		if o.Size != 0 {
			return nil, fmt.Errorf("%s is a block device, used whole: -size is for files", o.Path)
		}
	default:
		return nil, fmt.Errorf("%s is neither a regular file nor a block device (%v)", o.Path, st.Mode().Type())
	}
	defer func() {
		if err != nil && t.created {
			os.Remove(o.Path)
		}
	}()

	flags := os.O_RDWR | unix.O_DIRECT | unix.O_CLOEXEC
	if o.DSync {
		flags |= unix.O_DSYNC
	}
	f, err := os.OpenFile(o.Path, flags, 0)
	if err != nil {
		if errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("open %s: the file system does not support direct I/O (O_DIRECT): use a file on a disk's file system (not tmpfs) or a block device", o.Path)
		}
		return nil, fmt.Errorf("open %s: %w", o.Path, err)
	}
	t.f, t.fd = f, int(f.Fd())
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	size := int64(0)
	if t.kind == "block-device" {
		var n uint64
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(t.fd), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&n))); errno != 0 {
			return nil, fmt.Errorf("size of block device %s: %w", o.Path, errno)
		}
		size = int64(n)
	} else {
		var st unix.Stat_t
		if err := unix.Fstat(t.fd, &st); err != nil {
			return nil, fmt.Errorf("stat %s: %w", o.Path, err)
		}
		size = st.Size
	}
	t.size = size &^ (dtAlign - 1)
	if need := max(2*o.WriteBlockSize, int64(o.ReadBytes)); t.size < need {
		return nil, fmt.Errorf("%s is too small: %d bytes; the test needs at least %d (two write blocks of %s, or one read)", o.Path, size, need, formatSize(o.WriteBlockSize))
	}

	page, err := alignedBuffer(dtAlign)
	if err != nil {
		return nil, err
	}
	defer freeAligned(page)
	if err := t.readAt(page, 0); err != nil {
		if errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("%s: direct reads fail with EINVAL: the file system does not support direct I/O (O_DIRECT), or the device's logical block is larger than 4 KiB", o.Path)
		}
		return nil, err
	}
	if !t.created && string(page[:len(skiffDeviceMagic)]) == skiffDeviceMagic && !o.Force {
		ns := ""
		if n := int(page[40]); 41+n <= len(page) {
			ns = string(page[41 : 41+n])
		}
		return nil, fmt.Errorf("%s holds the data of Skiff namespace %q (a device header): the test would overwrite it; -force to test it anyway", o.Path, ns)
	}
	return t, nil
}

// createTarget creates a file of size bytes, its space allocated (not
// written: fillTarget writes it).
func createTarget(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	err = unix.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		err = f.Truncate(size)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("create %s with %d bytes: %w", path, size, err)
	}
	return nil
}

func (t *target) close() error { return t.f.Close() }

// readAt reads len(p) bytes at off. p, off and len(p) are multiples of
// dtAlign. It does not allocate unless it fails.
func (t *target) readAt(p []byte, off int64) error {
	n, err := unix.Pread(t.fd, p, off)
	if err == nil && n < len(p) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("read %d bytes at %d of %s: %w", len(p), off, t.path, err)
	}
	return nil
}

// writeAt writes p at off, with readAt's alignment.
func (t *target) writeAt(p []byte, off int64) error {
	n, err := unix.Pwrite(t.fd, p, off)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("write %d bytes at %d of %s: %w", len(p), off, t.path, err)
	}
	return nil
}

// holes returns the ranges of a file that hold no written data (holes, and
// space allocated but never written, which file systems such as ext4 and
// XFS report as holes), widened to dtAlign. A block device has none.
func (t *target) holes() ([][2]int64, error) {
	if t.kind != "file" {
		return nil, nil
	}
	var out [][2]int64
	for off := int64(0); off < t.size; {
		hole, err := unix.Seek(t.fd, off, unix.SEEK_HOLE)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil, nil // no SEEK_HOLE: assume written
		}
		if err != nil {
			return nil, fmt.Errorf("find unwritten space in %s: %w", t.path, err)
		}
		if hole >= t.size {
			break
		}
		data, err := unix.Seek(t.fd, hole, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			data = t.size
		} else if err != nil {
			return nil, fmt.Errorf("find unwritten space in %s: %w", t.path, err)
		}
		from := hole &^ (dtAlign - 1)
		to := min((data+dtAlign-1)&^(dtAlign-1), t.size)
		out = append(out, [2]int64{from, to})
		off = to
	}
	return out, nil
}

// unwritten returns how many bytes of the target holes reports.
func (t *target) unwritten() (int64, error) {
	hs, err := t.holes()
	var n int64
	for _, h := range hs {
		n += h[1] - h[0]
	}
	return n, err
}

// alignedBuffer returns n bytes of page-aligned memory outside the Go
// heap, for direct I/O. freeAligned releases it.
func alignedBuffer(n int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("allocate an aligned buffer of %d bytes: %w", n, err)
	}
	return b, nil
}

func freeAligned(b []byte) { _ = unix.Munmap(b) }

// sleeper sleeps in the calling thread (nanosleep), precise to the
// kernel's timer slack (50 µs by default), without allocating.
type sleeper struct{ ts unix.Timespec }

// sleep sleeps for d or until a signal interrupts it, whichever is first.
func (s *sleeper) sleep(d time.Duration) {
	s.ts = unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&s.ts, nil)
}
