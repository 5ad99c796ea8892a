//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Stopping a process stops its children too, even when the process itself
// ignores the signal.
func TestStopReachesTheProcessGroup(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap "" TERM; sleep 60 & echo $!; wait`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := startProcess("sh", cmd)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	p.stop(syscall.SIGTERM, 500*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v", d)
	}
	if !p.exited() {
		t.Fatal("the process has not exited")
	}
	// The killed sleep is reaped by init once its parent is gone; give it
	// a moment.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(child, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still runs", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWaitStopsOnContext(t *testing.T) {
	p, err := startProcess("sleep", exec.Command("sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = p.wait(ctx, syscall.SIGTERM, time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait = %v, want the context's error", err)
	}
	if !p.exited() {
		t.Error("the process has not exited")
	}
}

// A node that fails to start is reported with the end of its log.
func TestStartNodeFailures(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conf := filepath.Join(dir, "node.conf")
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, body string
		want       []string
	}{
		{"exits", `echo "line one" >&2; echo "skiffd: node.conf:3: unknown setting" >&2; exit 1`,
			[]string{"skiffd exited (exit status 1)", "skiffd: node.conf:3: unknown setting"}},
		{"never listens", `echo "waiting forever" >&2; exec sleep 60`,
			[]string{"did not accept connections", "within 300ms", "waiting forever"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := script(tt.name, tt.body)
			start := time.Now()
			n, err := startNode(context.Background(), bin, conf, port, filepath.Join(dir, tt.name+".log"), 300*time.Millisecond)
			if err == nil {
				n.stop(syscall.SIGKILL, 0)
				t.Fatal("startNode succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
