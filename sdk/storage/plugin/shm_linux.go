package plugin

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// The first byte a node sends on a data connection says whether the
// connection has shared memory; with helloShared the memory's descriptor
// comes with it.
const (
	helloPlain  = 0
	helloShared = 1
)

// offerSharedMem creates a connection's shared memory, maps it and sends
// its descriptor with the connection's first byte. Without shared memory
// (the kernel refused it) the connection works through the socket alone,
// and the returned memory is nil.
func offerSharedMem(uc *net.UnixConn) (*sharedMem, error) {
	m, fd, err := createSharedMem()
	if err != nil {
		return nil, sendHello(uc)
	}
	defer unix.Close(fd)
	if err := sendHello(uc, fd); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

// sendHello writes one byte of the greeting or its answer: helloShared with
// descriptors fds, or helloPlain when there are none.
func sendHello(uc *net.UnixConn, fds ...int) error {
	if len(fds) == 0 {
		_, err := uc.Write([]byte{helloPlain})
		return err
	}
	_, _, err := uc.WriteMsgUnix([]byte{helloShared}, unix.UnixRights(fds...), nil)
	return err
}

// readHello reads what sendHello wrote: the descriptors that came with it,
// at most most of them, which the caller closes. what names the byte in
// errors.
func readHello(uc *net.UnixConn, what string, most int) ([]int, error) {
	var b [1]byte
	oob := make([]byte, unix.CmsgSpace(4*most))
	n, oobn, flags, _, err := uc.ReadMsgUnix(b[:], oob)
	if err != nil {
		return nil, err
	}
	if n != 1 {
		return nil, fmt.Errorf("no %s", what)
	}
	fds, err := receivedFDs(oob[:oobn])
	if err != nil {
		return nil, err
	}
	switch {
	case flags&unix.MSG_CTRUNC != 0:
	case b[0] == helloPlain && len(fds) == 0:
		return nil, nil
	case b[0] == helloShared && len(fds) > 0:
		return fds, nil
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	return nil, fmt.Errorf("%s %d with %d descriptors (at most %d taken)", what, b[0], len(fds), most)
}

func createSharedMem() (*sharedMem, int, error) {
	fd, err := unix.MemfdCreate("skiff-storage-data", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, -1, err
	}
	if err := unix.Ftruncate(fd, sharedSize); err != nil {
		unix.Close(fd)
		return nil, -1, err
	}
	mem, err := unix.Mmap(fd, 0, sharedSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, -1, err
	}
	return newSharedMem(mem, unix.Munmap), fd, nil
}

// acceptSharedMem reads a connection's first byte and maps the shared
// memory that came with it; the memory is nil when the node offered none.
func acceptSharedMem(uc *net.UnixConn) (*sharedMem, error) {
	fds, err := readHello(uc, "greeting", 1)
	if err != nil || len(fds) == 0 {
		return nil, err
	}
	fd := fds[0]
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Size != sharedSize {
		return nil, fmt.Errorf("shared memory of %d bytes, want %d", st.Size, sharedSize)
	}
	mem, err := unix.Mmap(fd, 0, sharedSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	return newSharedMem(mem, unix.Munmap), nil
}

func receivedFDs(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		f, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return nil, err
		}
		fds = append(fds, f...)
	}
	return fds, nil
}

// maxIndexFiles bounds the device files a shared index may come with: the
// kernel passes at most 253 descriptors in one message.
const maxIndexFiles = 252

// offerIndex answers a node's greeting with the descriptors of the
// backend's shared index (see sharedindex), the region's then its files,
// or none.
func offerIndex(uc *net.UnixConn, fds []int) error { return sendHello(uc, fds...) }

// acceptIndex reads the plugin's answer to the greeting: the descriptors
// of its shared index, which the caller closes, or none.
func acceptIndex(uc *net.UnixConn) ([]int, error) {
	return readHello(uc, "answer to the greeting", 1+maxIndexFiles)
}
