//go:build unix && !linux

package sharedindex

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Shareable is false off Linux: there is no memory file to pass a node.
const Shareable = false

func create(size int) (*Region, error) {
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, err
	}
	return &Region{mem: mem, fd: -1, close: func() error { return unix.Munmap(mem) }}, nil
}

func adopt(int) (*Region, error) { return nil, errors.New("not on this system") }

// OpenFile fails off Linux: such files live on a tmpfs.
func OpenFile(what, path string, _ int64) (int, int64, error) {
	return -1, 0, errors.New(what + " " + path + ": needs Linux")
}

// OpenDiskFile fails off Linux, as OpenFile does.
func OpenDiskFile(what, path string, need int64) (int, int64, error) {
	return OpenFile(what, path, need)
}

func createIn(int, int) (*Region, error) { return nil, errors.New("not on this system") }

func release(b []byte) error { return unix.Madvise(b, unix.MADV_DONTNEED) }

func mapReadOnly(int) ([]byte, error) { return nil, errors.New("shared index: not on this system") }

func unmap(b []byte) error { return unix.Munmap(b) }

func (r *Reader) openDevices(int, []int) error {
	return errors.New("shared index: not on this system")
}

func closeFD(fd int) { unix.Close(fd) }

// SaveTo fails off Linux: a region there is not in a memory file.
func (r *Region) SaveTo(path string) error {
	return errors.New("save region to " + path + ": needs Linux")
}

// LoadFile fails off Linux, where no region can be adopted.
func LoadFile(path string, _ int64) (int, error) {
	return -1, errors.New("load region " + path + ": needs Linux")
}

// LoadInto fails off Linux, where no region can be adopted.
func LoadInto(path string, _ int, _ int64) error {
	return errors.New("load region " + path + ": needs Linux")
}
