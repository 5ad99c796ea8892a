//go:build !linux

package plugin

import (
	"errors"
	"net"
)

// Shared memory is set up on Linux only; elsewhere every record goes
// through the data socket.
const helloPlain = 0

func offerSharedMem(uc *net.UnixConn) (*sharedMem, error) {
	_, err := uc.Write([]byte{helloPlain})
	return nil, err
}

func acceptSharedMem(uc *net.UnixConn) (*sharedMem, error) {
	var b [1]byte
	if _, err := uc.Read(b[:]); err != nil {
		return nil, err
	}
	if b[0] != helloPlain {
		return nil, errors.New("shared memory offered, not supported here")
	}
	return nil, nil
}

func offerIndex(uc *net.UnixConn, _ []int) error {
	_, err := uc.Write([]byte{helloPlain})
	return err
}

func acceptIndex(uc *net.UnixConn) ([]int, error) {
	var b [1]byte
	if _, err := uc.Read(b[:]); err != nil {
		return nil, err
	}
	if b[0] != helloPlain {
		return nil, errors.New("shared index offered, not supported here")
	}
	return nil, nil
}
