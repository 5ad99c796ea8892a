package sharedindex

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenChecksTheHeader(t *testing.T) {
	if !Shareable {
		t.Skip("the shared index is read on linux/amd64 only")
	}
	r, err := Create(64<<20, 16, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ix, err := Open(r.FD(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ix.Close()

	for name, damage := range map[string]func([]byte){
		"magic":   func(m []byte) { m[hMagic] ^= 1 },
		"version": func(m []byte) { m[hVersion]++ },
		"size":    func(m []byte) { m[hSize]++ },
		"dir":     func(m []byte) { m[hDirLen+3] = 0xff },
	} {
		r2, err := Create(64<<20, 16, 7)
		if err != nil {
			t.Fatal(err)
		}
		damage(r2.Mem())
		if ix, err := Open(r2.FD(), nil); err == nil {
			ix.Close()
			t.Errorf("a region with a bad %s was opened", name)
		}
		r2.Close()
	}

	// Not a region at all: an empty memory file.
	fd, err := unix.MemfdCreate("empty", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := Open(fd, nil); err == nil || !strings.Contains(err.Error(), "shared index") {
		t.Errorf("an empty memory file: %v", err)
	}
}

func TestCreateTooSmall(t *testing.T) {
	if _, err := Create(1<<20, 1<<20, 1); err == nil {
		t.Error("a region too small for its directory was created")
	}
}

// TestSaveAndLoad: a saved region comes back byte for byte, its holes (the
// pages never used or given back) stay holes on disk and in the new memory
// file, and a file of no region's size is refused.
func TestSaveAndLoad(t *testing.T) {
	const size = 256 << 20
	r, err := Create(size, 16, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	mem := r.Mem()
	// Data far apart, a page of zeros written (a hole's look, not one),
	// and a page given back.
	for _, off := range []int{1 << 20, 100 << 20, 200<<20 + 123} {
		copy(mem[off:], strings.Repeat("skiff", 2000))
	}
	clear(mem[150<<20 : 150<<20+pageSize])
	copy(mem[50<<20:], "gone")
	if err := release(mem[50<<20 : 50<<20+pageSize]); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "saved", "region")
	if err := r.SaveTo(path); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if onDisk := st.Blocks * 512; onDisk > 8<<20 {
		t.Errorf("the saved region takes %d bytes on disk: its holes were written", onDisk)
	}
	fd, err := LoadFile(path, size)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := adopt(fd)
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	defer loaded.Close()
	// Before comparing: reading a memory file's hole through a mapping
	// gives it a page.
	var mst unix.Stat_t
	if err := unix.Fstat(fd, &mst); err != nil {
		t.Fatal(err)
	}
	if inMemory := mst.Blocks * 512; inMemory > 8<<20 {
		t.Errorf("the loaded region takes %d bytes of memory: holes were filled", inMemory)
	}
	if len(loaded.Mem()) != size || !bytes.Equal(loaded.Mem(), mem) {
		t.Fatal("the loaded region differs from the saved one")
	}
	if _, err := LoadFile(path, 1<<20); err == nil {
		t.Error("a saved region larger than the size asked for was loaded")
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path, size); err == nil {
		t.Error("a file of no region's size was loaded")
	}
}

// TestResumeArea: a device region is resumable, and adopted, only with a
// resume area, which the adopting process finds where it was left; a
// discarded region's memory goes back at once, though another process
// (here a copy of the descriptor) holds the file.
func TestResumeArea(t *testing.T) {
	if !Shareable {
		t.Skip("the shared index is read on linux/amd64 only")
	}
	f, err := os.CreateTemp(t.TempDir(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Create(64<<20, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	devices := Devices{Files: []int{int(f.Fd())}, Blocks: []int{4}, BlockSize: 4096, BlocksOff: 4096}
	if err := r.ShareDevices(devices); err != nil {
		t.Fatal(err)
	}
	adoptCopy := func() (*Region, error) {
		fd, err := unix.Dup(r.FD())
		if err != nil {
			t.Fatal(err)
		}
		return Adopt(fd)
	}
	if _, err := adoptCopy(); err == nil {
		t.Fatal("a device region without a resume area was adopted")
	}
	off, err := r.Alloc(8 << 20)
	if err != nil {
		t.Fatal(err)
	}
	area := r.Mem()[off : off+8<<20]
	for i := range area {
		area[i] = byte(i % 251)
	}
	r.SetResumeArea(off, len(area))
	ix, err := Open(r.FD(), devices.Files)
	if err != nil {
		t.Fatal(err)
	}
	if !ix.Resumable() {
		t.Error("a device region with a resume area is not resumable")
	}
	ix.Close()
	a, err := adoptCopy()
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind() != KindDevice || !bytes.Equal(a.ResumeArea(), area) {
		t.Fatalf("adopted a region of kind %d, resume area of %d bytes", a.Kind(), len(a.ResumeArea()))
	}
	var st unix.Stat_t
	if err := unix.Fstat(r.FD(), &st); err != nil || st.Blocks*512 < int64(len(area)) {
		t.Fatalf("the region holds %d bytes before the discard (%v)", st.Blocks*512, err)
	}
	if err := a.Discard(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fstat(r.FD(), &st); err != nil || st.Blocks != 0 {
		t.Errorf("the region holds %d bytes after the discard (%v)", st.Blocks*512, err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("a second close: %v", err)
	}
}
