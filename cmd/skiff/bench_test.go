package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aerospike/aerospike-client-go/v8/types"
)

func TestBenchFlags(t *testing.T) {
	defaults := benchOptions{
		Host: "127.0.0.1", Port: 3000, Namespace: "test", Set: "bench",
		Concurrency: 50, Keys: 1000000, ValueSize: 100, ReadPct: 80,
		Duration: 30 * time.Second, Load: true, ConnQueue: 51,
		Timeout: time.Second, Interval: 5 * time.Second, Seed: 7,
		DurationSec: 30, TimeoutMs: 1000,
	}
	for _, tc := range []struct {
		name string
		args []string
		edit func(o *benchOptions)
	}{
		{"defaults", nil, func(*benchOptions) {}},
		{"all", []string{"-h", "10.0.0.1", "-p", "3100", "-n", "ns1", "-s", "", "-c", "8", "-k", "500",
			"-v", "1024", "-r", "50", "-d", "2s", "-w=false", "-connq", "16", "-T", "250ms", "-i", "0", "-json"},
			func(o *benchOptions) {
				o.Host, o.Port, o.Namespace, o.Set = "10.0.0.1", 3100, "ns1", ""
				o.Concurrency, o.Keys, o.ValueSize, o.ReadPct = 8, 500, 1024, 50
				o.Duration, o.DurationSec, o.Load, o.ConnQueue = 2*time.Second, 2, false, 16
				o.Timeout, o.TimeoutMs, o.Interval, o.JSON = 250*time.Millisecond, 250, 0, true
			}},
		{"connq follows concurrency", []string{"-c", "200"}, func(o *benchOptions) { o.Concurrency, o.ConnQueue = 200, 201 }},
		{"read only", []string{"-r", "100", "-v", "0"}, func(o *benchOptions) { o.ReadPct, o.ValueSize = 100, 0 }},
		{"map workload", []string{"-map", "10"}, func(o *benchOptions) { o.MapFields = 10 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseBenchArgs(append(tc.args, "-seed", "7"), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := defaults
			tc.edit(&want)
			if *got != want {
				t.Errorf("got  %+v\nwant %+v", *got, want)
			}
		})
	}
}

func TestBenchFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{"-c", "0"}, "-c must be at least 1"},
		{[]string{"-k", "0"}, "-k must be at least 1"},
		{[]string{"-r", "101"}, "-r must be in 0..100"},
		{[]string{"-r", "-1"}, "-r must be in 0..100"},
		{[]string{"-v", "-1"}, "-v must be at least 0"},
		{[]string{"-d", "0s"}, "-d must be positive"},
		{[]string{"-p", "70000"}, "-p must be a port"},
		{[]string{"-n", ""}, "-n must be a namespace"},
		{[]string{"-c", "60", "-connq", "50"}, "-connq must be more than -c"},
		{[]string{"-c", "50", "-connq", "50"}, "-connq must be more than -c"},
		{[]string{"-c", "x"}, "invalid value"},
		{[]string{"-bogus"}, "not defined"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseBenchArgs(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestBenchHelp(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseBenchArgs([]string{"-help"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("error %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"usage: skiff bench", "-connq", "-json"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"bench", "-c", "0"}, &stdout, &stderr); code != 2 {
		t.Errorf("skiff bench -c 0: exit %d, want 2", code)
	}
}

// testReport is a report with known contents: the load phase wrote 1000
// values of 1..1000µs, the run read 900 and wrote 100 and saw two kinds of
// error.
func testReport(t *testing.T) *benchReport {
	o, err := parseBenchArgs([]string{"-seed", "1", "-d", "10s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	load := &phaseResult{Name: "load", elapsed: 2 * time.Second, errs: map[types.ResultCode]uint64{}}
	for i := range 1000 {
		load.write.Record(int64(i+1) * 1000)
	}
	run := &phaseResult{Name: "run", elapsed: 10 * time.Second, misses: 3,
		errs: map[types.ResultCode]uint64{types.TIMEOUT: 4, types.SERVER_NOT_AVAILABLE: 1}, other: 2}
	for i := range 900 {
		run.read.Record(int64(i+1) * 100)
	}
	for i := range 100 {
		run.write.Record(int64(i+1) * 10000)
	}
	return &benchReport{Options: o, Load: load, Run: run}
}

// parseText reads the text report into records: kind and fields.
func parseText(t *testing.T, s string) (kinds []string, fields []map[string]string) {
	t.Helper()
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		m := map[string]string{}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Fatalf("field %q of line %q is not key=value", kv, line)
			}
			m[k] = v
		}
		kinds = append(kinds, f[0])
		fields = append(fields, m)
	}
	return kinds, fields
}

func TestBenchReportText(t *testing.T) {
	var out bytes.Buffer
	if err := testReport(t).writeText(&out); err != nil {
		t.Fatal(err)
	}
	kinds, fields := parseText(t, out.String())
	wantKinds := []string{"config", "phase", "latency", "latency", "phase", "latency", "latency", "latency", "error", "error", "error"}
	if strings.Join(kinds, " ") != strings.Join(wantKinds, " ") {
		t.Fatalf("records %v, want %v\n%s", kinds, wantKinds, out.String())
	}
	for i, want := range []map[string]string{
		0:  {"concurrency": "50", "keys": "1000000", "value_size": "100", "map_fields": "0", "read_pct": "80", "replace": "false", "duration_s": "10", "seed": "1"},
		1:  {"name": "load", "ops": "1000", "ops_per_sec": "500", "writes_per_sec": "500", "errors": "0"},
		2:  {"phase": "load", "op": "write", "count": "1000", "min_us": "1.0", "max_us": "1000.0", "p999_us": "1000.0"},
		4:  {"name": "run", "ops": "1000", "ops_per_sec": "100", "reads_per_sec": "90", "writes_per_sec": "10", "read_misses": "3", "errors": "7"},
		5:  {"phase": "run", "op": "read", "count": "900", "max_us": "90.0"},
		6:  {"phase": "run", "op": "write", "count": "100", "min_us": "10.0", "max_us": "1000.0"},
		7:  {"phase": "run", "op": "all", "count": "1000", "min_us": "0.1", "max_us": "1000.0"},
		8:  {"code": "-11", "name": "SERVER_NOT_AVAILABLE", "count": "1"},
		9:  {"code": "9", "name": "TIMEOUT", "count": "4"},
		10: {"code": "-1000", "name": "OTHER", "count": "2"},
	} {
		for k, v := range want {
			if fields[i][k] != v {
				t.Errorf("record %d (%s): %s=%q, want %q", i, kinds[i], k, fields[i][k], v)
			}
		}
	}
	// Percentiles are within the histogram's precision of the exact ones.
	p50, _ := strconv.ParseFloat(fields[2]["p50_us"], 64)
	if p50 < 500 || p50 > 500*(1+1.0/histSub) {
		t.Errorf("load p50_us %v, want 500 within 1/%d", p50, histSub)
	}
}

func TestBenchReportJSON(t *testing.T) {
	var out bytes.Buffer
	if err := testReport(t).writeJSON(&out); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Config map[string]any `json:"config"`
		Phases []phaseJSON    `json:"phases"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got.Config["concurrency"] != 50.0 || got.Config["duration_s"] != 10.0 {
		t.Errorf("config %v", got.Config)
	}
	if len(got.Phases) != 2 || got.Phases[1].Name != "run" {
		t.Fatalf("phases %+v", got.Phases)
	}
	run := got.Phases[1]
	if run.Ops != 1000 || run.OpsPerSec != 100 || run.Errors != 7 || len(run.ErrorCodes) != 3 || len(run.Latency) != 3 {
		t.Errorf("run phase %+v", run)
	}
	if all := run.Latency[2]; all.Op != "all" || all.Count != 1000 || all.Max != 1000 {
		t.Errorf("all latency %+v", all)
	}
}

func TestFreshen(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 5, 8, 64, 70, 1000} {
		p := make([]byte, n)
		fillRandom(rng, p)
		before := bytes.Clone(p)
		freshen(rng, p)
		for off := 0; off < n; off++ {
			changed := p[off] != before[off]
			if off%64 >= 8 && changed {
				t.Fatalf("n=%d: byte %d changed, outside the word freshened in its 64", n, off)
			}
		}
		for off := 0; off < n; off += 64 {
			end := min(off+8, n)
			if bytes.Equal(p[off:end], before[off:end]) {
				t.Fatalf("n=%d: the word at %d is unchanged", n, off)
			}
		}
	}
}
