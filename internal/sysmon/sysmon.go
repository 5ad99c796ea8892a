// Package sysmon keeps the Go runtime's monitor thread (sysmon) out of its
// deep sleep in Skiff's server processes: the node and its plugins.
//
// When every P of a Go process is idle, sysmon parks until the next timer.
// The next system call any goroutine makes wakes it again, and a wake-up
// from a system call resets its polling interval to 20 µs, which then
// takes about a millisecond to back off. A server that goes idle between
// bursts of requests, like a plugin answering the node's batches or a node
// on a lightly loaded sidecar, goes through that cycle thousands of times a
// second: sysmon then polls at close to its fastest rate, and the wake-ups
// cost the process a thread switch each on the CPUs that serve requests
// (golang/go#18236). On two shared cores it cost the storage plugin a third
// of its CPU per request (bench/RESULTS.md).
//
// The runtime skips the deep sleep when its schedtrace debug setting is on,
// and it reads that setting only from GODEBUG at start-up. A schedtrace
// period of the largest value (2^31-1 ms, 24.8 days) keeps sysmon awake at
// its idle rate (every 10 ms). The trace itself is timed from the host's
// boot: a process prints one scheduler summary line to stderr when it
// starts on a host that has been up for longer than that, and one every
// 24.8 days.
//
// A GODEBUG that already sets schedtrace is left as it is; schedtrace=0
// restores the runtime's default.
package sysmon

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Setting is the GODEBUG setting added to a server process's environment.
const Setting = "schedtrace=2147483647"

// Environ returns env (as from os.Environ) with Setting added to its
// GODEBUG, unless that already sets schedtrace. env is not modified.
func Environ(env []string) []string {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok && !found {
			// The runtime reads the first GODEBUG; later copies are kept
			// as they are.
			found = true
			if !setsSchedtrace(v) {
				if v == "" {
					kv = "GODEBUG=" + Setting
				} else {
					kv = "GODEBUG=" + v + "," + Setting
				}
			}
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "GODEBUG="+Setting)
	}
	return out
}

// Reexec replaces the running program with itself, same arguments, under
// Environ(os.Environ()), unless its GODEBUG already sets schedtrace. It
// returns nil without doing anything in that case, and an error if the
// program could not be re-executed; on success it does not return. Call it
// first thing in main, before the program starts anything it would lose.
func Reexec() error {
	if setsSchedtrace(os.Getenv("GODEBUG")) {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("re-executing with GODEBUG=%s: %w", Setting, err)
	}
	if err := syscall.Exec(exe, os.Args, Environ(os.Environ())); err != nil {
		return fmt.Errorf("re-executing %s with GODEBUG=%s: %w", exe, Setting, err)
	}
	return nil
}

// setsSchedtrace reports whether the GODEBUG value godebug sets schedtrace.
func setsSchedtrace(godebug string) bool {
	for field := range strings.SplitSeq(godebug, ",") {
		if k, _, ok := strings.Cut(field, "="); ok && k == "schedtrace" {
			return true
		}
	}
	return false
}
