package sysmon_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffdb/skiff/internal/sysmon"
)

// The test binary doubles as the child process of these tests, chosen by
// SKIFF_SYSMON_CHILD: "reexec" runs Reexec and prints its pid and GODEBUG,
// "echo" answers each byte on stdin with one on stdout.
func TestMain(m *testing.M) {
	switch os.Getenv("SKIFF_SYSMON_CHILD") {
	case "reexec":
		if err := sysmon.Reexec(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Printf("%d %s\n", os.Getpid(), os.Getenv("GODEBUG"))
		os.Exit(0)
	case "echo":
		echo()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func echo() {
	// Raw reads and writes: the point is the runtime's cost of waking for
	// each one, not a buffer's.
	in, _ := syscall.Dup(0)
	syscall.SetNonblock(in, true)
	r := os.NewFile(uintptr(in), "stdin")
	var b [1]byte
	for {
		if _, err := r.Read(b[:]); err != nil {
			return
		}
		if _, err := os.Stdout.Write(b[:]); err != nil {
			return
		}
	}
}

func TestEnviron(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"no GODEBUG", []string{"A=1"}, []string{"A=1", "GODEBUG=" + sysmon.Setting}},
		{"empty GODEBUG", []string{"GODEBUG=", "A=1"}, []string{"GODEBUG=" + sysmon.Setting, "A=1"}},
		{"other settings kept", []string{"GODEBUG=gctrace=1,madvdontneed=0"}, []string{"GODEBUG=gctrace=1,madvdontneed=0," + sysmon.Setting}},
		{"schedtrace set by the user", []string{"GODEBUG=schedtrace=0"}, []string{"GODEBUG=schedtrace=0"}},
		{"schedtrace among others", []string{"GODEBUG=gctrace=1,schedtrace=500"}, []string{"GODEBUG=gctrace=1,schedtrace=500"}},
		{"only the first GODEBUG counts", []string{"GODEBUG=gctrace=1", "GODEBUG=schedtrace=0"}, []string{"GODEBUG=gctrace=1," + sysmon.Setting, "GODEBUG=schedtrace=0"}},
		{"a name that only starts like it", []string{"GODEBUG=schedtracex=1"}, []string{"GODEBUG=schedtracex=1," + sysmon.Setting}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if got := sysmon.Environ(in); !slices.Equal(got, tc.want) {
				t.Errorf("Environ(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Errorf("Environ modified its argument: %q", in)
			}
		})
	}
}

// TestReexec runs a child that calls Reexec: it must come back as the same
// process with the setting added to what GODEBUG held, or be left alone
// when GODEBUG already sets schedtrace.
func TestReexec(t *testing.T) {
	for _, tc := range []struct {
		godebug, want string
	}{
		{"", sysmon.Setting},
		{"gctrace=0", "gctrace=0," + sysmon.Setting},
		{"schedtrace=0", "schedtrace=0"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SKIFF_SYSMON_CHILD=reexec", "GODEBUG="+tc.godebug)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GODEBUG=%q: child: %v, output %q", tc.godebug, err, out)
		}
		pid, godebug, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		if godebug != tc.want {
			t.Errorf("GODEBUG=%q: the child ran with GODEBUG=%q, want %q", tc.godebug, godebug, tc.want)
		}
		if pid != fmt.Sprint(cmd.Process.Pid) {
			t.Errorf("GODEBUG=%q: the child printed pid %s, started as %d", tc.godebug, pid, cmd.Process.Pid)
		}
	}
}

// BenchmarkIdleWakeups measures what a Go process that goes idle between
// requests spends per request, with the runtime's default sysmon and with
// the setting: a child echoes one byte at a time to this benchmark, which
// waits for each answer before it sends the next. It reports the child's
// CPU time per round trip (cpu-ns/op) and its context switches (ctxsw/op).
func BenchmarkIdleWakeups(b *testing.B) {
	for _, bc := range []struct{ name, godebug string }{
		{"default", "schedtrace=0"},
		{"sysmon-awake", sysmon.Setting},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "SKIFF_SYSMON_CHILD=echo", "GODEBUG="+bc.godebug)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				b.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			r := bufio.NewReader(stdout)
			roundTrip := func() {
				if _, err := stdin.Write([]byte{1}); err != nil {
					b.Fatal(err)
				}
				if _, err := r.ReadByte(); err != nil {
					b.Fatal(err)
				}
			}
			// Let the child's runtime settle before counting.
			for range 1000 {
				roundTrip()
			}
			time.Sleep(10 * time.Millisecond)
			before := childUsage(b, cmd.Process.Pid)
			b.ResetTimer()
			for b.Loop() {
				roundTrip()
			}
			b.StopTimer()
			after := childUsage(b, cmd.Process.Pid)
			stdin.Close()
			io.Copy(io.Discard, r)
			if err := cmd.Wait(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(after.cpu-before.cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(after.ctxsw-before.ctxsw)/float64(b.N), "ctxsw/op")
		})
	}
}

type usage struct{ cpu, ctxsw int64 }

// childUsage sums a running process's CPU time (ns) and context switches
// over its threads, from /proc.
func childUsage(b *testing.B, pid int) usage {
	b.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		b.Fatal(err)
	}
	var u usage
	for _, task := range tasks {
		dir := fmt.Sprintf("/proc/%d/task/%s/", pid, task.Name())
		sched, err := os.ReadFile(dir + "schedstat")
		if err != nil {
			b.Fatal(err)
		}
		var runNs, waitNs, slices int64
		if _, err := fmt.Sscan(string(sched), &runNs, &waitNs, &slices); err != nil {
			b.Fatalf("%sschedstat: %v", dir, err)
		}
		u.cpu += runNs
		status, err := os.ReadFile(dir + "status")
		if err != nil {
			b.Fatal(err)
		}
		for line := range strings.SplitSeq(string(status), "\n") {
			var n int64
			if _, err := fmt.Sscanf(line, "voluntary_ctxt_switches: %d", &n); err == nil {
				u.ctxsw += n
			} else if _, err := fmt.Sscanf(line, "nonvoluntary_ctxt_switches: %d", &n); err == nil {
				u.ctxsw += n
			}
		}
	}
	return u
}
