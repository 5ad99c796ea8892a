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
		return nil, sendHello(uc, -1)
	}
	defer unix.Close(fd)
	if err := sendHello(uc, fd); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

// sendHello writes one byte of the greeting or its answer: helloShared with
// descriptor fd, or helloPlain when fd is -1.
func sendHello(uc *net.UnixConn, fd int) error {
	if fd < 0 {
		_, err := uc.Write([]byte{helloPlain})
		return err
	}
	_, _, err := uc.WriteMsgUnix([]byte{helloShared}, unix.UnixRights(fd), nil)
	return err
}

// readHello reads what sendHello wrote: the descriptor that came with it,
// which the caller closes, or -1. what names the byte in errors.
func readHello(uc *net.UnixConn, what string) (int, error) {
	var b [1]byte
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := uc.ReadMsgUnix(b[:], oob)
	if err != nil {
		return -1, err
	}
	if n != 1 {
		return -1, fmt.Errorf("no %s", what)
	}
	fds, err := receivedFDs(oob[:oobn])
	if err != nil {
		return -1, err
	}
	switch {
	case b[0] == helloPlain && len(fds) == 0:
		return -1, nil
	case b[0] == helloShared && len(fds) == 1:
		return fds[0], nil
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	return -1, fmt.Errorf("%s %d with %d descriptors", what, b[0], len(fds))
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
	fd, err := readHello(uc, "greeting")
	if err != nil || fd < 0 {
		return nil, err
	}
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

// offerIndex answers a node's greeting with the descriptor of the backend's
// shared index (see sharedindex), or fd -1 for none.
func offerIndex(uc *net.UnixConn, fd int) error { return sendHello(uc, fd) }

// acceptIndex reads the plugin's answer to the greeting: the descriptor of
// its shared index, which the caller closes, or -1.
func acceptIndex(uc *net.UnixConn) (int, error) { return readHello(uc, "answer to the greeting") }
