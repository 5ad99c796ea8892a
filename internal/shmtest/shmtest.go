// Package shmtest gives tests a directory on a tmpfs, for region files
// (see sdk/storage/sharedindex.OpenFile).
package shmtest

import (
	"os"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// Dir returns a new directory on /dev/shm, removed when the test ends. It
// skips the test where region files are not resumed (off linux/amd64) or
// /dev/shm is missing.
func Dir(t testing.TB) string {
	t.Helper()
	if !sharedindex.Shareable {
		t.Skip("region files are resumed where the node shares regions: linux/amd64")
	}
	dir, err := os.MkdirTemp("/dev/shm", "skiff-test-")
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
