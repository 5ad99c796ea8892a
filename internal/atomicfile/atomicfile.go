// Package atomicfile replaces files so that a crash leaves either the old
// content or the new, never a mix: the node's registered UDF modules and
// its system metadata are written this way.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path's content: it writes content to a new file in the
// same directory, syncs it, renames it over path and syncs the directory,
// so that the change survives a crash once Write returns.
func Write(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".put-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(content); err != nil {
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
