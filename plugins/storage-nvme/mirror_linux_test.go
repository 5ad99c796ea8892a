package nvme

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A copy's Close waits for reads in progress before unmapping it, and
// reads after it fail rather than touch unmapped memory.
func TestMirrorCloseWaitsForReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dev")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, size, _, err := openFile(path, false, false, false, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	m, err := newMirror(f, size)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteAt([]byte("record"), 4096); err != nil {
		t.Fatal(err)
	}
	if err := m.fill(0, size); err != nil {
		t.Fatal(err)
	}
	m.ready()
	buf := make([]byte, 6)
	if _, err := m.ReadAt(buf, 4096); err != nil || string(buf) != "record" {
		t.Fatalf("read %q, %v", buf, err)
	}

	m.readers.Add(1) // a read in progress
	closed := make(chan error, 1)
	go func() { closed <- m.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned during a read: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := m.ReadAt(buf, 4096); !errors.Is(err, os.ErrClosed) {
		t.Errorf("a read once Close began: %v, want os.ErrClosed", err)
	}
	m.readers.Add(-1)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := m.ReadAt(buf, 4096); !errors.Is(err, os.ErrClosed) {
		t.Errorf("a read after Close: %v, want os.ErrClosed", err)
	}
}
