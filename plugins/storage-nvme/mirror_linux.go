package nvme

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// mirror is a device or file with a copy of its bytes in a memory file
// (data-in-memory true): writes go to the device and then to the copy,
// and once New has filled the copy with the blocks in use, reads come from
// memory. The node maps the memory file too (sharedindex.Devices.InMemory)
// and reads records from it as it would from the device, so reads never
// wait for the device while the device keeps every write, for restarts.
//
// The copy holds what the device holds, block for block, and the same
// rules make reading it safe: a block is read from it only once the
// flusher has written it, and what is read is verified. A block freed for
// reuse is dropped from the copy, so its memory follows the blocks in use.
type mirror struct {
	dev    devFile
	fd     int
	mem    []byte
	filled atomic.Bool
	// A Get may still be copying out when Close runs (it reads without its
	// partition's lock): Close waits for readers before unmapping, where a
	// device's read would just fail on the closed descriptor.
	readers atomic.Int64
	closed  atomic.Bool
}

// mirrorSupported: data-in-memory needs memory files.
const mirrorSupported = true

// newMirror makes an empty copy of dev, size bytes long. Reads go to dev
// until fill has copied what is in use and filled is set.
func newMirror(dev devFile, size int64) (*mirror, error) {
	fd, err := unix.MemfdCreate("skiff-data-in-memory", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("data-in-memory: memory file: %w", err)
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("data-in-memory: size the memory file to %d bytes: %w", size, err)
	}
	mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("data-in-memory: map %d bytes: %w", size, err)
	}
	return &mirror{dev: dev, fd: fd, mem: mem}, nil
}

func (m *mirror) ReadAt(p []byte, off int64) (int, error) {
	if !m.filled.Load() {
		return m.dev.ReadAt(p, off)
	}
	m.readers.Add(1)
	defer m.readers.Add(-1)
	if m.closed.Load() {
		return 0, os.ErrClosed
	}
	if off < 0 || off > int64(len(m.mem)) {
		return 0, fmt.Errorf("data-in-memory: read at %d of %d bytes", off, len(m.mem))
	}
	n := copy(p, m.mem[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *mirror) WriteAt(p []byte, off int64) (int, error) {
	n, err := m.dev.WriteAt(p, off)
	if off >= 0 && off < int64(len(m.mem)) {
		copy(m.mem[off:], p[:n])
	}
	return n, err
}

func (m *mirror) Sync() error { return m.dev.Sync() }

func (m *mirror) Close() error {
	m.closed.Store(true)
	for m.readers.Load() != 0 {
		runtime.Gosched()
	}
	unix.Munmap(m.mem)
	unix.Close(m.fd)
	return m.dev.Close()
}

// FD is the memory file's descriptor, which the node maps in place of the
// device.
func (m *mirror) FD() int { return m.fd }

// ready switches reads to the copy, once fill has copied the blocks in use.
func (m *mirror) ready() { m.filled.Store(true) }

// fill copies n bytes at off from the device.
func (m *mirror) fill(off, n int64) error {
	if _, err := m.dev.ReadAt(m.mem[off:off+n], off); err != nil {
		return fmt.Errorf("data-in-memory: read %d bytes at %d: %w", n, off, err)
	}
	return nil
}

// drop gives back the memory of n bytes at off; they read as zeros after.
func (m *mirror) drop(off, n int64) error {
	if err := unix.Fallocate(m.fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n); err != nil {
		return fmt.Errorf("data-in-memory: release %d bytes at %d: %w", n, off, err)
	}
	return nil
}

// resident is the memory the copy takes.
func (m *mirror) resident() int64 {
	var st unix.Stat_t
	if unix.Fstat(m.fd, &st) != nil {
		return 0
	}
	return st.Blocks * 512
}
