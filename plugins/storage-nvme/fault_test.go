package nvme

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
)

// faultFile wraps a device to inject errors: readErr fails every read;
// writes fail once failWrites is set. Writes share held: a test that takes
// it whole holds them, as a device that stopped keeping up.
type faultFile struct {
	devFile
	readErr    error
	failWrites atomic.Bool
	failReads  atomic.Bool
	held       sync.RWMutex
}

// faultFiles makes o wrap each device it opens in a faultFile, and returns
// them as they are opened (a reopen adds its own).
func faultFiles(o *Options) *[]*faultFile {
	files := new([]*faultFile)
	o.wrapFile = func(_ int, f devFile) devFile {
		ff := &faultFile{devFile: f}
		*files = append(*files, ff)
		return ff
	}
	return files
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
	f.held.RLock()
	defer f.held.RUnlock()
	if f.failWrites.Load() {
		return 0, errInjected
	}
	return f.devFile.WriteAt(p, off)
}

// TestWriteFailure makes a device's writes fail: writes to it then fail
// with ErrUnavailable, reads keep working, nothing panics, and Close
// reports the failure.
func TestWriteFailure(t *testing.T) {
	o := testOptions(t.TempDir(), 16<<20)
	files := faultFiles(&o)
	b := mustNew(t, o)
	for i := range 200 {
		if err := b.Put(ctx, digestN(i), rec(uint64(i), 2000)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range *files {
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
	o := testOptions(t.TempDir(), 16<<20)
	o.PostWriteQueue = 0
	opened := faultFiles(&o)
	b := mustNew(t, o)
	for i := range 2000 {
		if err := b.Put(ctx, digestN(i), rec(uint64(i), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	b = reopen(t, b) // nothing cached
	files := (*opened)[len(*opened)-2:]
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

// TestOverload holds a device's writes: once max-write-cache bytes of
// full buffers wait for it, writes and durable deletes fail at once with
// ErrOverloaded and change nothing, reads go on, and once the device
// catches up writes succeed again and every acknowledged one is there,
// after a restart too.
func TestOverload(t *testing.T) {
	const size = 20_000
	o := testOptions(t.TempDir(), 32<<20)
	o.Files = o.Files[:1]
	o.MaxWriteCache = 4 * int64(o.WriteBlockSize)
	files := faultFiles(&o)
	b := mustNew(t, o)
	for i := range 100 {
		if err := b.Put(ctx, digestN(i), rec(uint64(i), size)); err != nil {
			t.Fatal(err)
		}
	}
	dev := (*files)[0]
	dev.held.Lock()
	held := true
	release := func() {
		if held {
			held = false
			dev.held.Unlock()
		}
	}
	defer release()

	acked := 100
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The buffers a held device can take: the write queue, the one
		// the flusher holds and the open one.
		for ; acked < 100+8*o.WriteBlockSize/size; acked++ {
			if err = b.Put(ctx, digestN(acked), rec(uint64(acked), size)); err != nil {
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("a Put to a held device still waits after 10 s, %d acknowledged", acked)
	}
	if !errors.Is(err, storage.ErrOverloaded) || !strings.Contains(err.Error(), "max-write-cache") {
		t.Fatalf("Put %d to a held device: err = %v, want ErrOverloaded naming max-write-cache", acked, err)
	}
	if q := stat(t, b).Extra["write_q"]; q < 4 {
		t.Fatalf("write_q %v when writes fail, want at least 4 blocks", q)
	}
	expectAbsent(t, b, digestN(acked))
	if err := b.Put(ctx, digestN(3), rec(1003, size)); !errors.Is(err, storage.ErrOverloaded) {
		t.Fatalf("overwrite while overloaded: %v", err)
	}
	if err := b.Delete(ctx, digestN(4), true); !errors.Is(err, storage.ErrOverloaded) {
		t.Fatalf("durable delete while overloaded: %v", err)
	}
	expectRecord(t, b, digestN(3), rec(3, size))
	expectRecord(t, b, digestN(4), rec(4, size))
	if n := stat(t, b).Extra["device_overloads"]; n != 3 {
		t.Fatalf("device_overloads %v, want 3", n)
	}

	release()
	deadline := time.Now().Add(10 * time.Second)
	for err = b.Put(ctx, digestN(acked), rec(uint64(acked), size)); err != nil; err = b.Put(ctx, digestN(acked), rec(uint64(acked), size)) {
		if !errors.Is(err, storage.ErrOverloaded) || time.Now().After(deadline) {
			t.Fatalf("Put once the device is released: %v", err)
		}
		time.Sleep(time.Millisecond)
	}
	acked++
	if err := b.Delete(ctx, digestN(4), true); err != nil {
		t.Fatal(err)
	}
	b = reopen(t, b)
	for i := range acked {
		if i == 4 {
			expectAbsent(t, b, digestN(i))
		} else {
			expectRecord(t, b, digestN(i), rec(uint64(i), size))
		}
	}
	expectAbsent(t, b, digestN(acked))
}
