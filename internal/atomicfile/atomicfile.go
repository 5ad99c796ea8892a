// Package atomicfile replaces files so that a crash leaves either the old
// content or the new, never a mix: the node's registered UDF modules and
// its system metadata are written this way, and the snapshots storage
// backends write as they stop.
package atomicfile

import (
	"os"
	"path/filepath"
	"strings"
)

// Write replaces path's content with content; see WriteWith.
func Write(path string, content []byte) error {
	return WriteWith(path, func(f *os.File) error {
		_, err := f.Write(content)
		return err
	})
}

// WriteWith replaces path's content with what write writes to a new file
// in the same directory: it syncs the file, renames it over path and syncs
// the directory, so that the change survives a crash once WriteWith
// returns. If write fails, path is left as it was. The new file is named
// after path, and those an earlier WriteWith of path left when its process
// died are removed first: a snapshot cut short by a kill would otherwise
// hold its disk space for good.
func WriteWith(path string, write func(f *os.File) error) error {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".put-"
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), prefix) {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
	tmp, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
