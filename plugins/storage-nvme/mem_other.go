//go:build !linux

package nvme

import (
	"errors"
	"unsafe"
)

// allocBuffer returns n bytes of zeroed, page-aligned memory.
func allocBuffer(n int) ([]byte, error) {
	b := make([]byte, n+pageSize)
	skip := (pageSize - int(uintptr(unsafe.Pointer(&b[0]))%pageSize)) % pageSize
	return b[skip : skip+n : skip+n], nil
}

func freeBuffer([]byte) {}

func punch([]byte) {}

// The write-buffer-file needs Linux (sharedindex.OpenFile refuses it
// elsewhere).
func mapFile(int, int) ([]byte, error)   { return nil, errors.New("not on this system") }
func unmapFile([]byte)                   {}
func resetFile(int, int) ([]byte, error) { return nil, errors.New("not on this system") }
func closeFile(int) error                { return nil }
func dupFile(int) (int, error)           { return -1, errors.New("not on this system") }
func reserve(int, int, int) error        { return nil }
func syncFile(int) error                 { return nil }

func bootID() ([16]byte, error) { return [16]byte{}, errors.New("not on this system") }
