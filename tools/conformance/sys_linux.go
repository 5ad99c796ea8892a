package main

import (
	"os"
	"os/exec"
	"syscall"
)

func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,            // a group of its own: stop reaches its children
		Pdeathsig: syscall.SIGKILL, // and it dies if the tool is killed
	}
}

func signalGroup(cmd *exec.Cmd, sig os.Signal) {
	if s, ok := sig.(syscall.Signal); ok && cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, s)
	}
}

func killGroup(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGKILL) }
