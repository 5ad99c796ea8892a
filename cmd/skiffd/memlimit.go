package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupLimitFiles hold a container's memory limit: cgroup v2, then v1.
var cgroupLimitFiles = []string{
	"/sys/fs/cgroup/memory.max",
	"/sys/fs/cgroup/memory/memory.limit_in_bytes",
}

// setMemoryLimit gives the Go runtime a soft memory limit of 90% of the
// container's, unless GOMEMLIMIT sets one. Record data lives in the Go heap,
// and without a limit the collector lets the heap grow to twice the live
// data before collecting, which in a sidecar means an out-of-memory kill.
func setMemoryLimit(log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	for _, path := range cgroupLimitFiles {
		if limit, ok := readLimit(path); ok {
			debug.SetMemoryLimit(limit / 10 * 9)
			log.Info("memory limit set from the container's", "file", path, "container_bytes", limit, "go_limit_bytes", limit/10*9)
			return
		}
	}
}

// readLimit reads a cgroup memory limit; "max" and absurdly large values
// mean none.
func readLimit(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v <= 0 || v >= 1<<60 {
		return 0, false
	}
	return v, true
}
