//go:build !linux

package nvme

import (
	"errors"
	"log/slog"
	"os"
)

type osFile struct{ *os.File }

func (o *osFile) Sync() error { return o.File.Sync() }

// usesRing is false: io_uring is Linux's.
func (o *osFile) usesRing() bool { return false }

var errDirectIO = errors.New("direct I/O is supported on Linux only; set direct-io false")

func createFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

func openFile(path string, direct, _, _ bool, _ *slog.Logger) (devFile, int64, bool, error) {
	if direct {
		return nil, 0, false, errDirectIO
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, false, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, false, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, false, errors.New("devices are supported on Linux only")
	}
	return &osFile{f}, st.Size(), false, nil
}

func isDirectIOError(error) bool { return false }

func growFile(path string, size int64) error { return os.Truncate(path, size) }
