package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// nodePackages are the node and the storage plugins it starts from the
// directory of its own binary.
var nodePackages = []string{"./cmd/skiffd", "./plugins/storage-memory/cmd/skiff-storage-memory", "./plugins/storage-nvme/cmd/skiff-storage-nvme"}

// buildNode compiles the node and its plugins of the repository into the
// directory of bin, which must be named skiffd.
func buildNode(ctx context.Context, repo, bin string) error {
	if filepath.Base(bin) != "skiffd" {
		return fmt.Errorf("build the node: binary %s must be called skiffd", bin)
	}
	args := append([]string{"build", "-o", filepath.Dir(bin) + string(filepath.Separator)}, nodePackages...)
	cmd := exec.Command("go", args...)
	cmd.Dir = repo
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	p, err := startProcess("go build "+strings.Join(nodePackages, " "), cmd)
	if err != nil {
		return err
	}
	if err := p.wait(ctx, os.Kill, time.Second); err != nil {
		return fmt.Errorf("build the node (go build %s): %w\n%s", strings.Join(nodePackages, " "), err, tail(out.Bytes(), 30))
	}
	return nil
}

// defaultConfig asks the node binary for its embedded configuration.
func defaultConfig(ctx context.Context, bin string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, "--print-default-config")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s --print-default-config: %w %s", bin, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// nodeConfig turns the node's default configuration into the one the suite
// runs against: clients on 127.0.0.1:servicePort, the admin HTTP port
// moved to adminPort (0 turns it off), the node's system metadata in
// workDir, and namespace ns in memory with the settings the suite's helpers
// read (default-ttl 30D, nsup-period 120).
func nodeConfig(defaults []byte, servicePort, adminPort int, workDir, ns string) ([]byte, error) {
	edits := []configEdit{
		{block: []string{"service"}, name: "work-directory", value: workDir},
		{block: []string{"network", "service"}, name: "address", value: "127.0.0.1"},
		{block: []string{"network", "service"}, name: "port", value: strconv.Itoa(servicePort)},
		{block: []string{"network", "admin"}, name: "port", value: strconv.Itoa(adminPort), optional: true},
		{block: []string{"namespace " + ns}, name: "default-ttl", value: "30D"},
		{block: []string{"namespace " + ns}, name: "nsup-period", value: "120"},
	}
	out, err := editConfig(defaults, edits)
	if err != nil {
		return nil, err
	}
	if !hasBlock(out, []string{"namespace " + ns, "storage-engine memory"}) {
		return nil, fmt.Errorf("the default configuration has no namespace %q with storage-engine memory; the suite needs one", ns)
	}
	return out, nil
}

// A configEdit sets a setting in a block, given by the headers of the
// blocks that lead to it ("network", "service"). A setting the block lacks
// is added at its end; a block the file lacks is an error unless the edit
// is optional.
type configEdit struct {
	block    []string
	name     string
	value    string
	optional bool
}

// editConfig applies edits to a file in the aerospike.conf dialect, line by
// line, keeping everything else (comments, layout) as it is. It handles the
// dialect's grammar: "#" comments, "header {" opening a block, "}" closing
// one. A setting to edit must be alone on its line.
func editConfig(src []byte, edits []configEdit) ([]byte, error) {
	lines := strings.SplitAfter(string(src), "\n")
	var out strings.Builder
	var open []string    // headers of the open blocks
	var indents []string // indentation of the open blocks' settings
	done := make([]bool, len(edits))
	for n, line := range lines {
		code, _, _ := strings.Cut(line, "#")
		words := strings.Fields(code)
		if len(words) == 0 {
			out.WriteString(line)
			continue
		}
		// A line closing the innermost block: first add the settings it
		// was to get and lacks.
		if words[0] == "}" && len(open) > 0 {
			for i, e := range edits {
				if !done[i] && equalPath(e.block, open) {
					out.WriteString(indents[len(indents)-1] + e.name + " " + e.value + "\n")
					done[i] = true
				}
			}
		}
		// Walk the line's items, tracking the blocks they open and close,
		// to find a setting to edit; the dialect has one setting a line
		// unless braces put more on it.
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		simple := !strings.ContainsAny(code, "{}")
		edit := -1
		itemStart := true
		var header []string
		for _, w := range words {
			switch w {
			case "{":
				open = append(open, strings.Join(header, " "))
				indents = append(indents, indent+"\t")
				header, itemStart = nil, true
			case "}":
				if len(open) == 0 {
					return nil, fmt.Errorf("config line %d: unexpected \"}\"", n+1)
				}
				open, indents = open[:len(open)-1], indents[:len(indents)-1]
				header, itemStart = nil, true
			default:
				if itemStart {
					for i, e := range edits {
						if equalPath(e.block, open) && w == e.name {
							if !simple || len(words) < 2 {
								return nil, fmt.Errorf("config line %d: cannot edit %q: it is not alone on its line with a value", n+1, e.name)
							}
							edit = i
						}
					}
				}
				header, itemStart = append(header, w), false
			}
		}
		if edit >= 0 {
			out.WriteString(indent + edits[edit].name + " " + edits[edit].value + "\n")
			done[edit] = true
		} else {
			out.WriteString(line)
		}
	}
	for i, e := range edits {
		if !done[i] && !e.optional {
			return nil, fmt.Errorf("the configuration has no block %q (closed on a line of its own) for setting %s", strings.Join(e.block, " / "), e.name)
		}
	}
	return []byte(out.String()), nil
}

func equalPath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The namespace storage -storage asks for.
const (
	storageMemory         = "memory"
	storageDevice         = "device"
	storageDeviceInMemory = "device-in-memory"
)

// useDevice replaces namespace ns's storage-engine memory block with a
// device block on a data file in workDir, its data kept in memory too with
// inMemory. The block must close on a line of its own.
func useDevice(src []byte, ns, workDir string, inMemory bool) ([]byte, error) {
	lines := strings.Split(string(src), "\n")
	var open []string
	start := -1
	for i, line := range lines {
		code, _, _ := strings.Cut(line, "#")
		words := strings.Fields(code)
		switch {
		case len(words) > 0 && words[len(words)-1] == "{":
			open = append(open, strings.Join(words[:len(words)-1], " "))
			if start < 0 && equalPath(open, []string{"namespace " + ns, "storage-engine memory"}) {
				start = i
			}
		case len(words) == 1 && words[0] == "}":
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
			if start >= 0 {
				block := []string{
					"\tstorage-engine device {",
					"\t\tfile " + filepath.Join(workDir, ns+".dat"),
					"\t\tfilesize 2G",
					"\t\tdata-in-memory " + strconv.FormatBool(inMemory),
					"\t}",
				}
				out := append(append(append([]string{}, lines[:start]...), block...), lines[i+1:]...)
				return []byte(strings.Join(out, "\n")), nil
			}
		}
	}
	return nil, fmt.Errorf("no storage-engine memory block of namespace %s closed on a line of its own", ns)
}

// hasBlock reports whether the configuration opens the nested blocks path.
func hasBlock(src []byte, path []string) bool {
	var open []string
	for line := range strings.SplitSeq(string(src), "\n") {
		code, _, _ := strings.Cut(line, "#")
		var header []string
		for _, w := range strings.Fields(code) {
			switch w {
			case "{":
				open = append(open, strings.Join(header, " "))
				if len(open) >= len(path) && equalPath(open[len(open)-len(path):], path) {
					return true
				}
				header = nil
			case "}":
				if len(open) > 0 {
					open = open[:len(open)-1]
				}
				header = nil
			default:
				header = append(header, w)
			}
		}
	}
	return false
}

// freePort asks the kernel for a port on 127.0.0.1 that is free now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// node is a running skiffd.
type node struct {
	*process
	port int
	log  string // the node's stderr and stdout
}

// startNode starts the node with the configuration file conf and waits,
// up to timeout, until it accepts connections on port.
func startNode(ctx context.Context, bin, conf string, port int, logFile string, timeout time.Duration) (*node, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "--config", conf)
	cmd.Dir = filepath.Dir(conf)
	cmd.Stdout, cmd.Stderr = f, f
	p, err := startProcess("skiffd", cmd)
	if err != nil {
		return nil, err
	}
	n := &node{process: p, port: port, log: logFile}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return n, nil
		}
		why := ""
		switch {
		case n.exited():
			why = "exited (" + exitStatus(n.err) + ")"
		case ctx.Err() != nil:
			why = "was interrupted"
		case time.Now().After(deadline):
			why = fmt.Sprintf("did not accept connections on %s within %v", addr, timeout)
		}
		if why != "" {
			n.stop(syscall.SIGTERM, 5*time.Second)
			logTail, _ := os.ReadFile(logFile)
			return nil, fmt.Errorf("skiffd %s; the end of its log (%s):\n%s", why, logFile, tail(logTail, 30))
		}
		select {
		case <-n.done:
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail is the last n lines of text, indented.
func tail(text []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(text), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "  (empty)"
	}
	return "  " + strings.Join(lines, "\n  ")
}

var errNoReport = errors.New("the suite wrote no report")

// startSkiffd builds the node, writes its configuration and starts it.
func startSkiffd(ctx context.Context, repo string, o *options) (*node, error) {
	bin := filepath.Join(o.workdir, "skiffd")
	t := time.Now()
	if err := buildNode(ctx, repo, bin); err != nil {
		return nil, err
	}
	defaults, err := defaultConfig(ctx, bin)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	admin := o.adminPort
	if admin < 0 {
		if admin, err = freePort(); err != nil {
			return nil, err
		}
	}
	// A fresh work directory: indexes a run left behind, an interrupted
	// one say, must not be restored into this one.
	workDir := filepath.Join(o.workdir, "node")
	if err := os.RemoveAll(workDir); err != nil {
		return nil, err
	}
	conf, err := nodeConfig(defaults, port, admin, workDir, o.namespace)
	if err != nil {
		return nil, err
	}
	if o.storage != storageMemory {
		if err := os.MkdirAll(workDir, 0o755); err != nil {
			return nil, err
		}
		if conf, err = useDevice(conf, o.namespace, workDir, o.storage == storageDeviceInMemory); err != nil {
			return nil, err
		}
	}
	confFile := filepath.Join(o.workdir, "skiffd.conf")
	if err := os.WriteFile(confFile, conf, 0o644); err != nil {
		return nil, err
	}
	n, err := startNode(ctx, bin, confFile, port, filepath.Join(o.workdir, "skiffd.log"), o.startTimeout)
	if err != nil {
		return nil, err
	}
	logf("skiffd built and started in %.1fs: 127.0.0.1:%d (admin port %d), %s", time.Since(t).Seconds(), port, admin, rel(confFile))
	return n, nil
}
