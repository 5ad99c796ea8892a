package sharedindex

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/internal/atomicfile"
)

// A region saved to a file, so that what it holds outlives the machine's
// memory: SaveTo writes the pages its memory file holds to a sparse file,
// at their offsets, and LoadFile makes a memory file of them again for
// Adopt. The region's pages not in use are holes in its memory file
// (punched when freed), and stay holes in the saved file, which ends where
// the last page in use does: its size on disk is what the region uses,
// though a region reserves far more.

// saveChunk bounds each write and read of a saved region.
const saveChunk = 8 << 20

// SaveTo writes the region to the file at path (atomicfile: a crash while
// saving leaves any earlier file whole). Nothing may change the region
// meanwhile.
func (r *Region) SaveTo(path string) error {
	if r.fd < 0 {
		return errors.New("save region: it is in anonymous memory, not a memory file")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save region: %w", err)
	}
	err := atomicfile.WriteWith(path, func(f *os.File) error {
		var last int64
		err := eachExtent(r.fd, int64(len(r.mem)), func(off, end int64) error {
			last = end
			for ; off < end; off += saveChunk {
				if _, err := f.WriteAt(r.mem[off:min(end, off+saveChunk)], off); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return f.Truncate(last)
	})
	if err != nil {
		return fmt.Errorf("save region to %s: %w", path, err)
	}
	return nil
}

// LoadFile returns a new memory file of size bytes holding the region
// SaveTo wrote to path, for Adopt: size is the address space the region
// was made with, which the file does not record. The caller owns the
// descriptor.
func LoadFile(path string, size int64) (int, error) {
	fd, err := unix.MemfdCreate("skiff-storage-index", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("load region %s: %w", path, err)
	}
	if err := LoadInto(path, fd, size); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// LoadInto is LoadFile into the memory or region file fd, emptied first.
func LoadInto(path string, fd int, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	saved := st.Size()
	if saved < pageSize || saved > size || saved%pageSize != 0 {
		return fmt.Errorf("load region %s: %d bytes is no region's of %d", path, saved, size)
	}
	if err := unix.Ftruncate(fd, 0); err != nil {
		return fmt.Errorf("load region %s: %w", path, err)
	}
	if err := unix.Ftruncate(fd, size); err != nil {
		return fmt.Errorf("load region %s: %w", path, err)
	}
	buf := make([]byte, saveChunk)
	zero := make([]byte, saveChunk)
	err = eachExtent(int(f.Fd()), saved, func(off, end int64) error {
		for ; off < end; off += saveChunk {
			b := buf[:min(end-off, saveChunk)]
			if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
				return err
			}
			// A file system that reports no holes reports zeros: they
			// stay holes in the memory file.
			if bytes.Equal(b, zero[:len(b)]) {
				continue
			}
			if _, err := unix.Pwrite(fd, b, off); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load region %s: %w", path, err)
	}
	return nil
}

// eachExtent calls fn with each run of data in the first size bytes of
// the file fd, skipping its holes (SEEK_DATA, SEEK_HOLE).
func eachExtent(fd int, size int64, fn func(off, end int64) error) error {
	for off := int64(0); off < size; {
		start, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			return nil // only a hole to the end
		}
		if err != nil {
			return fmt.Errorf("seek data: %w", err)
		}
		end, err := unix.Seek(fd, start, unix.SEEK_HOLE)
		if err != nil {
			return fmt.Errorf("seek hole: %w", err)
		}
		end = min(end, size)
		if start >= end {
			return nil
		}
		if err := fn(start, end); err != nil {
			return err
		}
		off = end
	}
	return nil
}
