package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const udfUsage = `usage: skiff udf build DIR [-o OUT.wasm]

build compiles the UDF module in DIR to WebAssembly: a Go package main
(importing github.com/skiffdb/skiff/sdk/udf) with GOOS=wasip1 GOARCH=wasm
go build -buildmode=c-shared, or a directory holding one .wat file with
wabt's wat2wasm. OUT defaults to DIR/<name of DIR>.wasm. Register the result
under a name ending in .wasm (udf-put).
`

func runUDF(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "build" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, udfUsage)
			return 0
		}
		fmt.Fprint(stderr, udfUsage)
		return 2
	}
	fs := flag.NewFlagSet("udf build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, udfUsage) }
	out := fs.String("o", "", "output `file` (default DIR/<name of DIR>.wasm)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	// DIR may come before the flags: skiff udf build DIR -o OUT.
	rest := fs.Args()
	if len(rest) > 1 {
		if err := fs.Parse(rest[1:]); err != nil {
			return 2
		}
		rest = append(rest[:1], fs.Args()...)
	}
	if len(rest) != 1 {
		fmt.Fprint(stderr, udfUsage)
		return 2
	}
	path, err := buildUDF(rest[0], *out, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "skiff udf build:", err)
		return 1
	}
	fmt.Fprintln(stdout, path)
	return 0
}

// buildUDF builds the module in dir into out (default dir/<base>.wasm) and
// returns out. The tool's own output goes to stderr.
func buildUDF(dir, out string, stderr io.Writer) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var goFiles, watFiles []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go"):
			goFiles = append(goFiles, name)
		case strings.HasSuffix(name, ".wat"):
			watFiles = append(watFiles, name)
		}
	}
	if out == "" {
		out = filepath.Join(dir, filepath.Base(dir)+".wasm")
	}
	if out, err = filepath.Abs(out); err != nil {
		return "", err
	}

	var cmd *exec.Cmd
	switch {
	case len(goFiles) > 0:
		gobin, err := exec.LookPath("go")
		if err != nil {
			return "", fmt.Errorf("%s holds Go files, but the go command is not in PATH: %w", dir, err)
		}
		cmd = exec.Command(gobin, "build", "-buildmode=c-shared", "-o", out, ".")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	case len(watFiles) == 1:
		wat2wasm, err := exec.LookPath("wat2wasm")
		if err != nil {
			return "", fmt.Errorf("%s holds %s, but wat2wasm is not in PATH: install wabt (apt-get install wabt)", dir, watFiles[0])
		}
		cmd = exec.Command(wat2wasm, watFiles[0], "-o", out)
	case len(watFiles) > 1:
		return "", fmt.Errorf("%s holds %d .wat files (%s); a module is one .wat file", dir, len(watFiles), strings.Join(watFiles, ", "))
	default:
		return "", fmt.Errorf("%s holds no Go files and no .wat file", dir)
	}
	cmd.Dir = dir
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return "", fmt.Errorf("%s failed in %s: %v", filepath.Base(cmd.Path), dir, err)
		}
		return "", err
	}
	return out, nil
}
