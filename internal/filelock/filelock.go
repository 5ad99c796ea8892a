// Package filelock takes exclusive locks (flock) on the files a storage
// backend must be the only writer of: a memory namespace's region file, a
// device namespace's devices and data files.
package filelock

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// Wait bounds how long Exclusive waits for a lock another process holds:
// the plugin of a node that was killed exits within half a second, and a
// node started again at once would otherwise find its files in use.
const Wait = 5 * time.Second

// ErrHeld is Exclusive's error when another process kept the lock for
// Wait.
var ErrHeld = errors.New("in use by another process")

// Exclusive takes the exclusive lock of the open file fd, waiting up to
// Wait for another holder to release it. The lock goes with the file
// description: copies of fd, in this process or another, share it.
func Exclusive(fd int) error {
	for deadline := time.Now().Add(Wait); ; time.Sleep(50 * time.Millisecond) {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case err != unix.EWOULDBLOCK:
			return err
		case time.Now().After(deadline):
			return ErrHeld
		}
	}
}
