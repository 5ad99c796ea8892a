package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// clientModule is the module whose test suite is the conformance suite.
const clientModule = "github.com/aerospike/aerospike-client-go/v8@v8.5.0"

// suiteBinary is the file name of the compiled suite, in the source copy.
const suiteBinary = "asclient.test"

// stampFile records, in the source copy, what its suite binary was built
// from; it is not part of the module's tree.
const stampFile = ".skiff-conformance-stamp"

// moduleInfo is the part of `go mod download -json` the tool reads.
type moduleInfo struct {
	Path, Version, Dir, Sum, Error string
}

// downloadModule locates the client module in the module cache, downloading
// it if needed.
func downloadModule(ctx context.Context, repo, module string) (*moduleInfo, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var m moduleInfo
	if jerr := json.Unmarshal(out, &m); jerr != nil || m.Dir == "" {
		if m.Error != "" {
			return nil, fmt.Errorf("go mod download %s: %s", module, m.Error)
		}
		return nil, fmt.Errorf("go mod download %s: %v %s", module, err, strings.TrimSpace(stderr.String()))
	}
	return &m, nil
}

// prepareSource makes dst a pristine, writable copy of the module at src.
// An existing copy whose files all match the module's is kept, so that its
// suite binary can be reused; any other is replaced.
func prepareSource(src, dst string) (fresh bool, err error) {
	want, err := treeHash(src)
	if err != nil {
		return false, fmt.Errorf("hash %s: %w", src, err)
	}
	if have, err := treeHash(dst); err == nil && have == want {
		return false, nil
	}
	if err := os.RemoveAll(dst); err != nil {
		// The module cache's copies are read-only; so may be an old copy.
		makeWritable(dst)
		if err := os.RemoveAll(dst); err != nil {
			return false, err
		}
	}
	if err := copyTree(src, dst); err != nil {
		return false, fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return true, nil
}

// copyTree copies the regular files and directories under src to dst,
// owner-writable whatever their mode in src.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode().IsRegular():
			return copyFile(p, target, info.Mode().Perm()|0o600)
		}
		return nil // the module zip format has no other kinds of file
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func makeWritable(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			if info, err := d.Info(); err == nil {
				os.Chmod(p, info.Mode().Perm()|0o700)
			}
		}
		return nil
	})
}

// treeHash hashes the names and contents of the regular files under dir,
// leaving out what the tool adds to a copy (the suite binary and its stamp).
func treeHash(dir string) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			if rel != suiteBinary && rel != stampFile {
				files = append(files, rel)
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(files)
	h := sha256.New()
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.ToSlash(rel), len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// buildSuite compiles the suite's test binary in the source copy, unless
// the binary there was built from the same module version, sources and Go
// toolchain. It reports whether it built.
func buildSuite(ctx context.Context, mod *moduleInfo, dir string, log io.Writer) (built bool, err error) {
	goVersion, err := goEnv(ctx, dir, "GOVERSION")
	if err != nil {
		return false, err
	}
	tree, err := treeHash(dir)
	if err != nil {
		return false, err
	}
	stamp := fmt.Sprintf("module %s@%s %s\ntree %s\ngo %s %s/%s\n", mod.Path, mod.Version, mod.Sum, tree,
		goVersion, runtime.GOOS, runtime.GOARCH)
	binary := filepath.Join(dir, suiteBinary)
	if old, err := os.ReadFile(filepath.Join(dir, stampFile)); err == nil && string(old) == stamp {
		if _, err := os.Stat(binary); err == nil {
			return false, nil
		}
	}
	os.Remove(filepath.Join(dir, stampFile))
	cmd := exec.Command("go", "test", "-c", "-o", suiteBinary, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off") // the copy is its own module
	cmd.Stdout, cmd.Stderr = log, log
	p, err := startProcess("go test -c", cmd)
	if err != nil {
		return false, err
	}
	if err := p.wait(ctx, os.Kill, time.Second); err != nil {
		return false, fmt.Errorf("build the suite (go test -c in %s): %w", dir, err)
	}
	return true, os.WriteFile(filepath.Join(dir, stampFile), []byte(stamp), 0o644)
}

func goEnv(ctx context.Context, dir, name string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// specFiles lists the spec files of the suite: the _test.go files in the
// source copy's root that declare ginkgo containers.
func specFiles(dir string) (map[string]bool, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		if bytes.Contains(data, []byte("Describe(")) {
			out[filepath.Base(n)] = true
		}
	}
	return out, nil
}
