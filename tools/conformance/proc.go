package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// process is a child process under the tool's supervision. It runs in its
// own process group, so that stopping it reaches its children too (go
// build's compilers, the node's plugin processes), and on Linux the kernel
// kills it if the tool dies without cleaning up.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done is closed
}

// startProcess starts cmd.
func startProcess(name string, cmd *exec.Cmd) (*process, error) {
	setProcAttrs(cmd)
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal is tied to the thread that forked the
		// child, not to the process: keep this goroutine on its thread
		// until the child has exited. The thread ends with the goroutine.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("start %s: %w", name, err)
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end. If ctx ends first, the process is
// stopped: sig to its group, then SIGKILL after grace. The result is
// cmd.Wait's, or ctx's error if the process had to be stopped.
func (p *process) wait(ctx context.Context, sig os.Signal, grace time.Duration) error {
	select {
	case <-p.done:
		killGroup(p.cmd) // leftovers of a finished process
		return p.err
	case <-ctx.Done():
		p.stop(sig, grace)
		return fmt.Errorf("%s: %w", p.name, context.Cause(ctx))
	}
}

// stop ends the process: sig to its group, then SIGKILL to the group if
// it has not exited after grace. It returns once the process has exited.
func (p *process) stop(sig os.Signal, grace time.Duration) {
	if !p.exited() {
		signalGroup(p.cmd, sig)
		select {
		case <-p.done:
		case <-time.After(grace):
			fmt.Fprintf(os.Stderr, "conformance: %s did not stop within %v of %v; killing it\n", p.name, grace, sig)
		}
	}
	killGroup(p.cmd)
	<-p.done
}

// exitStatus describes how a finished process ended, for messages.
func exitStatus(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
