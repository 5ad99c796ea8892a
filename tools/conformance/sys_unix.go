//go:build unix && !linux

package main

import (
	"os"
	"os/exec"
	"syscall"
)

// Outside Linux there is no parent-death signal: a tool killed with SIGKILL
// leaves its children running. SIGINT and SIGTERM are handled.
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func signalGroup(cmd *exec.Cmd, sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok && cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, s)
	}
}

func killGroup(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGKILL) }
