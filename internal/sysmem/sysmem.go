// Package sysmem reads how much of the memory the node may use is in use:
// the machine's (MemAvailable of MemTotal), or its container's (the
// cgroup's working set of its limit), whichever is fuller.
package sysmem

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Files are where UsedPct reads; tests point them elsewhere.
type Files struct {
	Meminfo string // /proc/meminfo
	Cgroup  string // the cgroup v2 directory, "" for none
}

// System is the running system's files.
var System = Files{Meminfo: "/proc/meminfo", Cgroup: "/sys/fs/cgroup"}

// UsedPct is the share of memory in use, in percent, of the machine or of
// the cgroup's limit, whichever is higher. A cgroup without a limit, or
// without cgroup v2 files, counts for nothing; only the machine's
// figures missing is an error.
func (f Files) UsedPct() (int, error) {
	pct, err := f.machine()
	if err != nil {
		return 0, err
	}
	if f.Cgroup != "" {
		if c, ok := f.cgroup(); ok {
			pct = max(pct, c)
		}
	}
	return pct, nil
}

func (f Files) machine() (int, error) {
	b, err := os.ReadFile(f.Meminfo)
	if err != nil {
		return 0, err
	}
	var total, avail uint64
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, _ := strings.Cut(sc.Text(), ":")
		switch name {
		case "MemTotal":
			total = kib(rest)
			seen++
		case "MemAvailable":
			avail = kib(rest)
			seen++
		}
	}
	if seen != 2 || total == 0 || avail > total {
		return 0, fmt.Errorf("%s: no MemTotal and MemAvailable", f.Meminfo)
	}
	return int(100 - avail*100/total), nil
}

// kib reads "  123456 kB".
func kib(s string) uint64 {
	v, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(s), " kB"), 10, 64)
	return v
}

// cgroup is the working set (memory.current less inactive_file, the page
// cache the kernel reclaims first) of memory.max; false without a limit.
func (f Files) cgroup() (int, bool) {
	limit, err := readUint(f.Cgroup + "/memory.max")
	if err != nil || limit == 0 {
		return 0, false
	}
	current, err := readUint(f.Cgroup + "/memory.current")
	if err != nil {
		return 0, false
	}
	if stat, err := os.ReadFile(f.Cgroup + "/memory.stat"); err == nil {
		for line := range strings.SplitSeq(string(stat), "\n") {
			if v, ok := strings.CutPrefix(line, "inactive_file "); ok {
				n, _ := strconv.ParseUint(v, 10, 64)
				current -= min(n, current)
			}
		}
	}
	return int(min(current*100/limit, 100)), true
}

// errNoLimit is memory.max's "max".
var errNoLimit = errors.New("no limit")

func readUint(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, errNoLimit
	}
	return strconv.ParseUint(s, 10, 64)
}
