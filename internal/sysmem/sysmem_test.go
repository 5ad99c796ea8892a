package sysmem

import (
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsedPct(t *testing.T) {
	dir := t.TempDir()
	meminfo := write(t, dir, "meminfo", "MemTotal:       1000000 kB\nMemFree:          100000 kB\nMemAvailable:     400000 kB\n")
	cg := filepath.Join(dir, "cg")
	if err := os.Mkdir(cg, 0o700); err != nil {
		t.Fatal(err)
	}
	f := Files{Meminfo: meminfo, Cgroup: cg}
	if got, err := f.UsedPct(); err != nil || got != 60 {
		t.Fatalf("machine only: %d, %v; want 60", got, err)
	}
	write(t, cg, "memory.max", "max\n")
	write(t, cg, "memory.current", "900\n")
	if got, _ := f.UsedPct(); got != 60 {
		t.Fatalf("cgroup without a limit: %d, want the machine's 60", got)
	}
	write(t, cg, "memory.max", "1000\n")
	write(t, cg, "memory.stat", "anon 700\ninactive_file 50\nactive_file 100\n")
	if got, _ := f.UsedPct(); got != 85 {
		t.Fatalf("cgroup at 850 of 1000 (page cache it reclaims first left out): %d, want 85", got)
	}
	write(t, cg, "memory.current", "100\n")
	if got, _ := f.UsedPct(); got != 60 {
		t.Fatalf("cgroup at 5%%: %d, want the machine's 60", got)
	}
	if _, err := (Files{Meminfo: filepath.Join(dir, "none")}).UsedPct(); err == nil {
		t.Fatal("no meminfo, no error")
	}
	if _, err := (Files{Meminfo: write(t, dir, "bad", "MemTotal: 10 kB\n")}).UsedPct(); err == nil {
		t.Fatal("no MemAvailable, no error")
	}
	if got, err := System.UsedPct(); err != nil || got < 0 || got > 100 {
		t.Fatalf("this machine: %d, %v", got, err)
	}
}
