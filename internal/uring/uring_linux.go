//go:build linux

package uring

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's io_uring ABI (include/uapi/linux/io_uring.h), the parts used
// here.
const (
	opRead            = 22 // IORING_OP_READ
	registerEventFD   = 4  // IORING_REGISTER_EVENTFD
	offSQEs           = 0x10000000
	featSingleMmap    = 1 << 0
	sqeSize, cqeSize  = 64, 16
	defaultRingLength = 128
)

type sqOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type params struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqOffsets
	cqOff                                                                  cqOffsets
}

// sqe is a submission queue entry, laid out for IORING_OP_READ.
type sqe struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, rwFlags  uint32
	userData      uint64
	_             [3]uint64
}

type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// Ring is an io_uring for positioned reads. It is safe for concurrent use.
type Ring struct {
	fd   int
	mem  []byte // the rings, one mapping (IORING_FEAT_SINGLE_MMAP)
	sqem []byte // the submission entries

	sqTail *uint32
	sqHead *uint32
	sqMask uint32
	sqes   []sqe
	cqHead *uint32
	cqTail *uint32
	cqMask uint32
	cqes   []cqe

	// efd is the eventfd the kernel signals completions on; reading it
	// parks the reaper in the netpoller.
	efd    *os.File
	reaped chan struct{}

	// slots are the reads in flight, by index (an entry's user data); free
	// holds the indexes not in use, so it also bounds the reads in flight
	// to what the completion queue holds.
	slots []chan int32
	free  chan uint32

	mu         sync.Mutex // submission, closed
	submitting bool       // a goroutine will submit what is queued
	closed     bool
	closing    chan struct{}
}

// New sets up a ring for reads. entries bounds the reads in flight; 0
// means a default. It fails where io_uring is missing or forbidden (old
// kernels, seccomp profiles that refuse io_uring_setup), and the caller
// reads some other way.
func New(entries int) (*Ring, error) {
	if entries <= 0 {
		entries = defaultRingLength
	}
	var p params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &Ring{fd: int(fd), reaped: make(chan struct{}), closing: make(chan struct{})}
	if err := r.setup(&p); err != nil {
		r.release()
		return nil, err
	}
	go r.reap()
	return r, nil
}

func (r *Ring) setup(p *params) error {
	if p.features&featSingleMmap == 0 {
		return fmt.Errorf("io_uring: the kernel lacks IORING_FEAT_SINGLE_MMAP")
	}
	size := max(p.sqOff.array+4*p.sqEntries, p.cqOff.cqes+cqeSize*p.cqEntries)
	var err error
	if r.mem, err = unix.Mmap(r.fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("io_uring: map rings: %w", err)
	}
	if r.sqem, err = unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*sqeSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fmt.Errorf("io_uring: map submission entries: %w", err)
	}
	u32 := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[off])) }
	r.sqHead, r.sqTail, r.sqMask = u32(p.sqOff.head), u32(p.sqOff.tail), *u32(p.sqOff.ringMask)
	r.cqHead, r.cqTail, r.cqMask = u32(p.cqOff.head), u32(p.cqOff.tail), *u32(p.cqOff.ringMask)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&r.sqem[0])), p.sqEntries)
	r.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&r.mem[p.cqOff.cqes])), p.cqEntries)
	// Entry i of the submission ring is always submission entry i.
	array := unsafe.Slice(u32(p.sqOff.array), p.sqEntries)
	for i := range array {
		array[i] = uint32(i)
	}

	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("io_uring: eventfd: %w", err)
	}
	fd32 := int32(efd)
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), registerEventFD, uintptr(unsafe.Pointer(&fd32)), 1, 0, 0); errno != 0 {
		unix.Close(efd)
		return fmt.Errorf("io_uring: register eventfd: %w", errno)
	}
	// A non-blocking descriptor: os.File reads it through the netpoller.
	r.efd = os.NewFile(uintptr(efd), "io_uring-eventfd")

	// At most as many reads in flight as the submission ring holds; the
	// completion ring is twice as long, so it never overflows.
	n := p.sqEntries
	r.slots = make([]chan int32, n)
	r.free = make(chan uint32, n)
	for i := range r.slots {
		r.slots[i] = make(chan int32, 1)
		r.free <- uint32(i)
	}
	return nil
}

// ReadAt reads len(p) bytes of the file fd from offset off, as pread would;
// p must not be on a goroutine's stack, since the kernel writes it after
// the call that submits the read returns.
func (r *Ring) ReadAt(fd int, p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.read(fd, p[n:], off+int64(n))
		if err != nil {
			return n, err
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// InFlight is how many reads are queued or in progress.
func (r *Ring) InFlight() int { return cap(r.free) - len(r.free) }

// read submits one read and waits for its completion.
func (r *Ring) read(fd int, p []byte, off int64) (int, error) {
	var i uint32
	select {
	case i = <-r.free:
	case <-r.closing:
		return 0, ErrClosed
	}
	defer func() { r.free <- i }()

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return 0, ErrClosed
	}
	tail := *r.sqTail
	r.sqes[tail&r.sqMask] = sqe{
		opcode:   opRead,
		fd:       int32(fd),
		off:      uint64(off),
		addr:     uint64(uintptr(unsafe.Pointer(&p[0]))),
		len:      uint32(len(p)),
		userData: uint64(i),
	}
	atomic.StoreUint32(r.sqTail, tail+1)
	if !r.submitting {
		// This goroutine submits. It first lets the other runnable
		// goroutines queue their reads, so that one system call, and
		// one notification of the device, carries them all.
		r.submitting = true
		r.mu.Unlock()
		runtime.Gosched()
		r.mu.Lock()
		r.submit()
		r.submitting = false
	}
	r.mu.Unlock()
	res := <-r.slots[i]
	runtime.KeepAlive(p)
	if res < 0 {
		return 0, unix.Errno(-res)
	}
	return int(res), nil
}

// submit hands the kernel the entries queued since the last submission.
// The kernel copies an entry when it is submitted, so its slot may be
// reused once this returns. Entries the kernel refuses complete at once
// with the error. r.mu is held.
func (r *Ring) submit() {
	for {
		head, tail := atomic.LoadUint32(r.sqHead), *r.sqTail
		if head == tail {
			return
		}
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), uintptr(tail-head), 0, 0, 0, 0)
		if errno == unix.EINTR || errno == 0 && n > 0 {
			continue
		}
		if errno == 0 {
			errno = unix.EBUSY
		}
		// Take back what the kernel did not consume, and fail those reads.
		head = atomic.LoadUint32(r.sqHead)
		for ; head != tail; head++ {
			r.slots[r.sqes[head&r.sqMask].userData] <- -int32(errno)
		}
		atomic.StoreUint32(r.sqTail, atomic.LoadUint32(r.sqHead))
		return
	}
}

// reap hands each completion to the read waiting for it, until the
// eventfd is closed.
func (r *Ring) reap() {
	defer close(r.reaped)
	var b [8]byte
	for {
		if _, err := r.efd.Read(b[:]); err != nil {
			return
		}
		head := *r.cqHead
		for tail := atomic.LoadUint32(r.cqTail); head != tail; head++ {
			c := &r.cqes[head&r.cqMask]
			r.slots[c.userData] <- c.res
		}
		atomic.StoreUint32(r.cqHead, head)
	}
}

// Close waits for the reads in flight, then releases the ring. Reads that
// start afterwards fail with ErrClosed.
func (r *Ring) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.closing)
	r.mu.Unlock()
	for range r.slots {
		<-r.free
	}
	r.efd.Close()
	<-r.reaped
	r.release()
	return nil
}

func (r *Ring) release() {
	if r.sqem != nil {
		unix.Munmap(r.sqem)
	}
	if r.mem != nil {
		unix.Munmap(r.mem)
	}
	unix.Close(r.fd)
}
