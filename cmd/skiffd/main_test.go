package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/syncbuf"
	"github.com/skiffdb/skiff/internal/sysmon"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
)

// The tests run this test binary as skiffd, so that they exercise main's
// flags, signals and exit codes without building another binary.
func TestMain(m *testing.M) {
	if plugin.IsPluginProcess() {
		plugin.Serve("memory", memory.Open, plugin.WithResume(memory.Resume))
		return
	}
	if os.Getenv("SKIFFD_AS_MAIN") == "1" {
		os.Args = append([]string{"skiffd"}, strings.Fields(os.Getenv("SKIFFD_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func skiffd(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SKIFFD_AS_MAIN=1", "SKIFFD_ARGS="+strings.Join(args, " "))
	return cmd
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// writeConfig writes the default configuration with the given ports, and
// a pidfile beside it (pidFileOf), and returns its path.
func writeConfig(t *testing.T, port, adminPort int) string {
	text := strings.Replace(string(config.DefaultText()), "port 3000", fmt.Sprintf("port %d", port), 1)
	text = strings.Replace(text, "port 9145", fmt.Sprintf("port %d", adminPort), 1)
	// This test binary serves the memory backend when started as a plugin.
	text = strings.Replace(text, "data-size 4G", "data-size 4G\n\t\tpath "+os.Args[0], 1)
	path := filepath.Join(t.TempDir(), "skiff.conf")
	text = strings.Replace(text, "service {", "service {\n\tpidfile "+pidFileOf(path), 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pidFileOf is the pidfile of the configuration at conf.
func pidFileOf(conf string) string { return filepath.Join(filepath.Dir(conf), "skiffd.pid") }

// launch starts skiffd with the configuration at conf, without waiting for
// it to serve, and returns it with what it writes to stderr.
func launch(t *testing.T, conf string) (*exec.Cmd, *syncbuf.Buffer) {
	cmd := skiffd(t, "--config", conf)
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stderr
}

// startSkiffd runs skiffd with the default configuration on free ports and
// returns it with a client connected to it.
func startSkiffd(t *testing.T) (*exec.Cmd, *as.Client, *syncbuf.Buffer) {
	port := freePort(t)
	cmd, stderr := launch(t, writeConfig(t, port, freePort(t)))
	return cmd, connect(t, port, stderr), stderr
}

// connect waits for the node on port to serve and returns a client
// connected to it.
func connect(t *testing.T, port int, stderr *syncbuf.Buffer) *as.Client {
	deadline := time.Now().Add(10 * time.Second)
	for {
		client, err := as.NewClient("127.0.0.1", port)
		if err == nil {
			t.Cleanup(client.Close)
			return client
		}
		if time.Now().After(deadline) {
			t.Fatalf("node did not come up: %v\n%s", err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pluginPid reads the storage plugin's pid from the node's info.
func pluginPid(t *testing.T, client *as.Client) int {
	node := client.GetNodes()[0]
	m, err := node.RequestInfo(as.NewInfoPolicy(), "namespace/test")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(m["namespace/test"], ";") {
		if k, v, _ := strings.Cut(kv, "="); k == "storage-pid" {
			pid, _ := strconv.Atoi(v)
			return pid
		}
	}
	t.Fatalf("no storage-pid in %q", m["namespace/test"])
	return 0
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	cmd, client, stderr := startSkiffd(t)
	pid := pluginPid(t, client)
	key, _ := as.NewKey("test", "s", 1)
	if err := client.Put(nil, key, as.BinMap{"a": 1}); err != nil {
		t.Fatal(err)
	}

	stopWithSIGTERM(t, cmd, stderr)
	if !strings.Contains(stderr.String(), "node stopped") {
		t.Errorf("no shutdown in the log:\n%s", stderr.String())
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("storage plugin %d still runs after the node stopped", pid)
	}
}

// TestPidFile checks the service's pidfile: skiffd writes its process id
// there while it runs and removes the file when it stops.
func TestPidFile(t *testing.T) {
	port := freePort(t)
	conf := writeConfig(t, port, freePort(t))
	cmd, stderr := launch(t, conf)
	connect(t, port, stderr) // the pidfile is written before the node serves
	want := strconv.Itoa(cmd.Process.Pid) + "\n"
	if got, err := os.ReadFile(pidFileOf(conf)); err != nil || string(got) != want {
		t.Fatalf("pidfile holds %q (%v), want %q\n%s", got, err, want, stderr.String())
	}
	stopWithSIGTERM(t, cmd, stderr)
	if _, err := os.Stat(pidFileOf(conf)); !os.IsNotExist(err) {
		t.Fatalf("pidfile after the node stopped: %v", err)
	}
}

// TestSIGTERMWhileStarting sends SIGTERM as soon as the pidfile says the
// signal is handled, while the namespaces' backends are likely still
// opening: the node stops, and exits 0.
func TestSIGTERMWhileStarting(t *testing.T) {
	conf := writeConfig(t, freePort(t), freePort(t))
	cmd, stderr := launch(t, conf)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(pidFileOf(conf)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pidfile\n%s", stderr.String())
		}
	}
	stopWithSIGTERM(t, cmd, stderr)
}

// stopWithSIGTERM stops cmd with SIGTERM and expects it to exit 0.
func stopWithSIGTERM(t *testing.T, cmd *exec.Cmd, stderr *syncbuf.Buffer) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("node did not stop after SIGTERM\n%s", stderr.String())
	}
}

// TestServerProcessesKeepSysmonAwake checks that the node re-executed
// itself with the sysmon setting and passed it to its storage plugin.
func TestServerProcessesKeepSysmonAwake(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "schedtrace=") {
		t.Skip("GODEBUG sets schedtrace; the node keeps it as it is")
	}
	cmd, client, _ := startSkiffd(t)
	for what, pid := range map[string]int{"node": cmd.Process.Pid, "storage plugin": pluginPid(t, client)} {
		environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatal(err)
		}
		var godebug string
		for kv := range strings.SplitSeq(string(environ), "\x00") {
			if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
				godebug = v
				break
			}
		}
		if !strings.Contains(","+godebug+",", ","+sysmon.Setting+",") {
			t.Errorf("the %s runs with GODEBUG=%q, want it to hold %s", what, godebug, sysmon.Setting)
		}
	}
}

func TestSIGKILLLeavesNoPlugin(t *testing.T) {
	cmd, client, _ := startSkiffd(t)
	pid := pluginPid(t, client)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("storage plugin %d still runs 5s after its node was killed", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBadConfigNamesFileAndLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(path, []byte("service {\n  proto-fd-max lots\n}\nnamespace test {\n}\n"), 0o644)
	out, err := skiffd(t, "--config", path).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), path+":2:") {
		t.Fatalf("error does not name %s:2:\n%s", path, out)
	}
}

func TestPrintDefaultConfig(t *testing.T) {
	out, err := skiffd(t, "--print-default-config").Output()
	if err != nil || !bytes.Equal(out, config.DefaultText()) {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestLogSet turns the console's level to debug and back up to warning
// while the node runs, and reads the effect in its output.
func TestLogSet(t *testing.T) {
	_, client, stderr := startSkiffd(t)
	node := client.GetNodes()[0]
	info := func(cmd string) string {
		t.Helper()
		m, err := node.RequestInfo(as.NewInfoPolicy(), cmd)
		if err != nil {
			t.Fatal(err)
		}
		return m[cmd]
	}
	// In order: the level changes halfway.
	for _, tc := range [][2]string{
		{"logs", "0:stderr"},
		{"log/0", "any:INFO"},
		{"log/1", "ERROR:4:"},
		{"log-set:id=1;any=debug", "ERROR:4:"},
		{"log-set:id=0;misc=debug", "ERROR:4:no log context"},
		{"log-set:id=0;any=verbose", "ERROR:4:bad log level"},
		{"log-set:id=0", "ERROR:4:no level"},
		{"log-set:id=0;any=debug", "ok"},
		{"log/0", "any:DEBUG"},
		{"set-config:context=namespace;id=test;nsup-period=1", "ok"},
	} {
		if got := info(tc[0]); !strings.HasPrefix(got, tc[1]) {
			t.Errorf("%s: %q, want %s...", tc[0], got, tc[1])
		}
	}
	// nsup logs each pass at debug.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "nsup pass") {
		if time.Now().After(deadline) {
			t.Fatalf("no nsup pass logged at debug:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := info("log-set:id=0;any=warning"); got != "ok" {
		t.Fatalf("log-set warning: %q", got)
	}
	// The nsup-period change above was logged at info; this one is not.
	info("set-config:context=namespace;id=test;default-ttl=1D")
	time.Sleep(100 * time.Millisecond)
	if n := strings.Count(stderr.String(), "namespace settings changed by set-config"); n != 1 {
		t.Errorf("%d set-config changes logged, want the one before log-set warning:\n%s", n, stderr.String())
	}
}
