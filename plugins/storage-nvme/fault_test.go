package nvme

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// faultFile wraps a device to inject errors: readErr fails every read;
// writes fail once failWrites is set.
type faultFile struct {
	devFile
	readErr    error
	failWrites atomic.Bool
	failReads  atomic.Bool
}

var errInjected = errors.New("injected I/O error")

func (f *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if f.readErr != nil {
		return 0, f.readErr
	}
	if f.failReads.Load() {
		return 0, errInjected
	}
	return f.devFile.ReadAt(p, off)
}

func (f *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if f.failWrites.Load() {
		return 0, errInjected
	}
	return f.devFile.WriteAt(p, off)
}

// TestWriteFailure makes a device's writes fail: writes to it then fail
// with ErrUnavailable, reads keep working, nothing panics, and Close
// reports the failure.
func TestWriteFailure(t *testing.T) {
	var files []*faultFile
	o := testOptions(t.TempDir(), 16<<20)
	o.wrapFile = func(_ int, f devFile) devFile {
		ff := &faultFile{devFile: f}
		files = append(files, ff)
		return ff
	}
	b := mustNew(t, o)
	for i := range 200 {
		if err := b.Put(ctx, digestN(i), rec(uint64(i), 2000)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		f.failWrites.Store(true)
	}
	var err error
	for i := 200; i < 5000 && err == nil; i++ {
		err = b.Put(ctx, digestN(i), rec(uint64(i), 2000))
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Put to a failed device: %v, want ErrUnavailable", err)
	}
	for i := range 200 {
		expectRecord(t, b, digestN(i), rec(uint64(i), 2000))
	}
	if err := b.Close(); err == nil {
		t.Fatal("Close of a backend with a failed device returned nil")
	}
}

// TestReadFailure makes reads fail: Get returns the error (wrapped), not a
// wrong record, and the index is untouched.
func TestReadFailure(t *testing.T) {
	var files []*faultFile
	o := testOptions(t.TempDir(), 16<<20)
	o.PostWriteQueue = 0
	o.wrapFile = func(_ int, f devFile) devFile {
		ff := &faultFile{devFile: f}
		files = append(files, ff)
		return ff
	}
	b := mustNew(t, o)
	for i := range 2000 {
		if err := b.Put(ctx, digestN(i), rec(uint64(i), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	b = reopen(t, b) // nothing cached
	files = files[len(files)-2:]
	for _, f := range files {
		f.failReads.Store(true)
	}
	_, err := b.Get(ctx, digestN(1), nil)
	if err == nil || errors.Is(err, storage.ErrNotFound) || !errors.Is(err, errInjected) {
		t.Fatalf("Get with failing reads: %v", err)
	}
	for _, f := range files {
		f.failReads.Store(false)
	}
	expectRecord(t, b, digestN(1), rec(1, 1000))
	if st := stat(t, b); st.Records != 2000 || st.Extra["device_corrupt_records"] != 0 {
		t.Fatalf("after read errors: %d records, %v corrupt", st.Records, st.Extra["device_corrupt_records"])
	}
}
