package nvme

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
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

// syncFile writes what the file fd holds in memory, its pages written
// through a mapping included, to its disk.
func syncFile(fd int) error { return unix.Fdatasync(fd) }

// bootID identifies the system's boot: memory (the page cache, a tmpfs)
// holds what a region file's mapping was written only within one.
func bootID() ([16]byte, error) {
	var id [16]byte
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return id, err
	}
	h, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(string(b)), "-", ""))
	if err != nil || len(h) != len(id) {
		return id, fmt.Errorf("boot_id %q", b)
	}
	copy(id[:], h)
	return id, nil
}
