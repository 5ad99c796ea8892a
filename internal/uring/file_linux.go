package uring

import (
	"os"
	"sync/atomic"
)

// File is a file whose reads go through a Ring while they overlap, and
// through pread while one is alone.
type File struct {
	f    *os.File
	fd   int
	ring *Ring // nil: every read blocks a thread in pread
}

// NewFile reads f through ring, which may be nil. Close closes both.
func NewFile(f *os.File, ring *Ring) *File {
	return &File{f: f, fd: int(f.Fd()), ring: ring}
}

// ReadAt reads len(p) bytes from offset off, as os.File.ReadAt does.
func (o *File) ReadAt(p []byte, off int64) (int, error) {
	if o.ring == nil {
		return o.f.ReadAt(p, off)
	}
	// At low load a blocking read is the quicker: the thread sleeps in the
	// kernel and the disk's completion wakes it, where a read through the
	// ring takes a second wake-up (the eventfd's) to reach its goroutine.
	// Once reads overlap, blocked threads would hold Ps and the runtime
	// would hand them between threads on every read: the ring serves
	// (bench/RESULTS.md, "Device backend", low concurrency).
	if o.ring.InFlight() == 0 {
		if blockingReads.Add(1) == 1 {
			defer blockingReads.Add(-1)
			return o.f.ReadAt(p, off)
		}
		blockingReads.Add(-1)
	}
	return o.ring.ReadAt(o.fd, p, off)
}

// blockingReads counts the reads in progress with pread, in every file.
var blockingReads atomic.Int32

// UsesRing reports whether reads go through an io_uring.
func (o *File) UsesRing() bool { return o.ring != nil }

// OS is the file itself, for writes and syncs.
func (o *File) OS() *os.File { return o.f }

// FD is the file's descriptor.
func (o *File) FD() int { return o.fd }

// Close closes the ring, once its reads are done, and the file.
func (o *File) Close() error {
	if o.ring != nil {
		o.ring.Close()
	}
	return o.f.Close()
}
