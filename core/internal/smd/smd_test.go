package smd

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/core/internal/sindex"
)

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if _, err := os.Stat(filepath.Join(dir, "smd")); !os.IsNotExist(err) {
		t.Fatalf("Open wrote to the work directory before any change: %v", err)
	}
	byBin := sindex.Def{Namespace: "users", Name: "by_age", Set: "people", Bin: "age", Type: sindex.Numeric}
	byExp := sindex.Def{Namespace: "users", Name: "tags", Exp: []byte{0x93, 0x51, 0x04, 0xa4}, Type: sindex.String, Collection: sindex.List}
	byCtx := sindex.Def{Namespace: "users", Name: "last_score", Bin: "scores", Ctx: []byte{0x92, 0x11, 0xff}, Type: sindex.Numeric}
	other := sindex.Def{Namespace: "other", Name: "loc", Bin: "loc", Type: sindex.Geo2DSphere}
	for _, err := range []error{
		s.SaveTruncate("users", "", 100),
		s.SaveTruncate("users", "people", 200),
		s.SaveTruncate("users", "people", 150), // earlier: kept at 200
		s.SaveIndex(byBin),
		s.SaveIndex(byExp),
		s.SaveIndex(byCtx),
		s.SaveIndex(other),
		s.SaveIndex(sindex.Def{Namespace: "users", Name: "gone", Bin: "x", Type: sindex.Numeric}),
		s.DeleteIndex("users", "gone"),
		s.DeleteIndex("users", "never"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Store{s, mustOpen(t, dir)} {
		if got, want := s.Truncates("users"), map[string]uint64{"": 100, "people": 200}; !reflect.DeepEqual(got, want) {
			t.Errorf("Truncates = %v, want %v", got, want)
		}
		if got := s.Truncates("other"); len(got) != 0 {
			t.Errorf("Truncates(other) = %v", got)
		}
		got, err := s.Indexes("users")
		if err != nil {
			t.Fatal(err)
		}
		if want := []sindex.Def{byBin, byExp, byCtx}; !reflect.DeepEqual(got, want) {
			t.Errorf("Indexes = %+v, want %+v", got, want)
		}
		if got, _ := s.Indexes("other"); !reflect.DeepEqual(got, []sindex.Def{other}) {
			t.Errorf("Indexes(other) = %+v", got)
		}
	}
}

func TestUnusableDirectory(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	// Then a file where the metadata's directory should be.
	if err := os.WriteFile(filepath.Join(dir, "smd"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveTruncate("ns", "set", 5); err == nil || !strings.Contains(err.Error(), "work-directory") {
		t.Fatalf("SaveTruncate = %v, want an error about the work-directory", err)
	}
	if err := s.SaveIndex(sindex.Def{Namespace: "ns", Name: "ix", Bin: "b", Type: sindex.Numeric}); err == nil {
		t.Fatal("SaveIndex succeeded")
	}
	// Nothing unsaved is reported as kept.
	if got := s.Truncates("ns"); len(got) != 0 {
		t.Errorf("Truncates after a failed save = %v", got)
	}
	if got, _ := s.Indexes("ns"); len(got) != 0 {
		t.Errorf("Indexes after a failed save = %v", got)
	}
	// A node would not start on it.
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "smd")) {
		t.Fatalf("Open = %v, want an error naming the file", err)
	}
}

func TestBadFile(t *testing.T) {
	for name, content := range map[string]string{
		"not json":           "{truncate",
		"newer format":       `{"version": 2, "namespaces": {}}`,
		"unknown type":       `{"version": 1, "namespaces": {"ns": {"sindex": [{"name": "ix", "bin": "b", "type": "VECTOR", "collection": "DEFAULT"}]}}}`,
		"unknown collection": `{"version": 1, "namespaces": {"ns": {"sindex": [{"name": "ix", "bin": "b", "type": "NUMERIC", "collection": "TREE"}]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "smd", fileName)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir)
			if err == nil {
				_, err = s.Indexes("ns")
			}
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want one naming %s", err, path)
			}
		})
	}
}
