// Package udftest builds WebAssembly UDF modules for tests.
package udftest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// buildMu runs one build at a time: a Go module's build takes a core for a
// second or more.
var buildMu sync.Mutex

// Module builds the module at path and returns its bytes: a Go package
// (a directory or import path) with the Go toolchain, or a .wat file with
// wabt's wat2wasm. Without wat2wasm the test is skipped, or fails when
// SKIFF_REQUIRE_WABT is set (make test installs wabt and sets it).
func Module(t testing.TB, path string) []byte {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	out := filepath.Join(t.TempDir(), "m.wasm")
	var cmd *exec.Cmd
	if strings.HasSuffix(path, ".wat") {
		tool, err := exec.LookPath("wat2wasm")
		if err != nil {
			if os.Getenv("SKIFF_REQUIRE_WABT") != "" {
				t.Fatal("wat2wasm not found: apt-get install wabt")
			}
			t.Skip("wat2wasm not found (apt-get install wabt)")
		}
		cmd = exec.Command(tool, path, "-o", out)
	} else {
		cmd = exec.Command("go", "build", "-buildmode=c-shared", "-o", out, path)
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", path, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
