package pluginproc

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"time"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/skiffdb/skiff/internal/sysmon"
)

// CloseOnSIGTERM calls close (which closes what the plugin serves, so that
// it finishes what it holds) before the process exits on SIGTERM: the
// signal a service manager sends every process of the node's group when
// it stops them all. what names it in the log ("the backend").
func CloseOnSIGTERM(what string, close func() error, log *slog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() {
		<-ch
		log.Info("SIGTERM: closing " + what + " and exiting")
		if err := close(); err != nil {
			log.Error("closing "+what+" failed", "err", err)
			os.Exit(1)
		}
		os.Exit(0)
	}()
}

// ExitWithParent ends the plugin within half a second of the node that
// started it going away, even if the node was killed and could not stop its
// plugins: the plugin is then reparented, and its parent id changes.
// (Linux's parent-death signal is not used: it fires when the parent's
// thread that forked exits, which in a Go node can happen while the node
// lives.)
func ExitWithParent(log *slog.Logger) {
	parent := os.Getppid()
	go func() {
		for {
			if os.Getppid() != parent {
				log.Warn("the node that started this plugin is gone; exiting")
				os.Exit(1)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
}

// NewClient is the node side's go-plugin client for the plugin binary at
// path, speaking gRPC with the given handshake and plugin set, logging to
// log, given timeout to start (10 s when 0). The process inherits the
// files in inherit, each named to it by the environment variable that is
// its key, whose value is the file's descriptor in the process.
func NewClient(path string, handshake goplugin.HandshakeConfig, plugins goplugin.PluginSet, log *slog.Logger, timeout time.Duration, inherit map[string]*os.File) *goplugin.Client {
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	cmd := exec.Command(path)
	// A race-enabled plugin (in tests) would otherwise sleep a second
	// before each exit; production binaries ignore the variable. A plugin
	// idles between the node's batches: see package sysmon for why it
	// keeps the runtime's monitor awake.
	cmd.Env = sysmon.Environ(append(os.Environ(), "GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE")))
	for _, name := range slices.Sorted(maps.Keys(inherit)) {
		// ExtraFiles[i] is descriptor 3+i in the process.
		cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", name, 3+len(cmd.ExtraFiles)))
		cmd.ExtraFiles = append(cmd.ExtraFiles, inherit[name])
	}
	return goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          plugins,
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           NewHCLogger(log),
		StartTimeout:     timeout,
		SyncStdout:       OutputWriter(log, "stdout"),
		SyncStderr:       OutputWriter(log, "stderr"),
	})
}

// Dispense is the node side's client for the plugin called name, once the
// process has started and passed the handshake. kind names the plugin in
// errors ("storage", "xdr transport").
func Dispense(client *goplugin.Client, name, kind string, version int) (any, error) {
	rpc, err := client.Client()
	if err != nil {
		return nil, fmt.Errorf("not a Skiff %s plugin of protocol version %d, or it failed to start: %w", kind, version, err)
	}
	raw, err := rpc.Dispense(name)
	if err != nil {
		return nil, fmt.Errorf("dispense: %w", err)
	}
	return raw, nil
}
