package sharedindex

import (
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
