// Package shmtest gives tests a directory on a tmpfs, for region files
// (see sdk/storage/sharedindex.OpenFile).
package shmtest

import (
	"os"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// minFree is the room the tests' region files need on /dev/shm.
const minFree = 128 << 20

// Dir returns a new directory on /dev/shm, removed when the test ends. It
// skips the test where region files are not resumed (off linux/amd64) or
// /dev/shm is missing or small.
func Dir(t testing.TB) string {
	t.Helper()
	if !sharedindex.Shareable {
		t.Skip("region files are resumed where the node shares regions: linux/amd64")
	}
	if size, free, ok := Tmpfs("/dev/shm"); !ok || size == 0 || free < minFree {
		t.Skipf("/dev/shm is no tmpfs or has less than %d MiB free (a container's default)", minFree>>20)
	}
	dir, err := os.MkdirTemp("/dev/shm", "skiff-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
