//go:build !unix

package main

import (
	"os"
	"os/exec"
)

// Without process groups, stop reaches the child itself only.
func setProcAttrs(*exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, sig os.Signal) {
	if cmd.Process != nil {
		if cmd.Process.Signal(sig) != nil {
			cmd.Process.Kill()
		}
	}
}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}
