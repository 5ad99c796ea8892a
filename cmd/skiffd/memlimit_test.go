package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadLimit(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]int64{
		"2147483648\n":        2147483648,
		"max\n":               0,
		"9223372036854771712": 0, // cgroup v1's "no limit"
		"garbage":             0,
		"-1":                  0,
	} {
		path := filepath.Join(dir, "limit")
		os.WriteFile(path, []byte(content), 0o644)
		got, ok := readLimit(path)
		if got != want || ok != (want > 0) {
			t.Errorf("%q: %d %v, want %d", content, got, ok, want)
		}
	}
	if _, ok := readLimit(filepath.Join(dir, "missing")); ok {
		t.Error("a missing file gave a limit")
	}
}
