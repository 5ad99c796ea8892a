package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aerospike/aerospike-client-go/v8/types"
)

// phaseResult is the merged outcome of one phase of a benchmark.
type phaseResult struct {
	Name    string
	elapsed time.Duration
	read    histogram
	write   histogram
	misses  uint64
	errs    map[types.ResultCode]uint64
	other   uint64
}

// benchReport is what skiff bench prints.
type benchReport struct {
	Options *benchOptions
	Load    *phaseResult // nil without a load phase
	Run     *phaseResult // nil if interrupted during the load phase
}

// The report in its printed form. The text form has one record per line,
// a record kind followed by key=value fields, in this order:
//
//	config host=127.0.0.1 port=3000 namespace=test ...
//	phase name=load seconds=12.345 ops=1000000 ops_per_sec=81004 reads_per_sec=0 writes_per_sec=81004 read_misses=0 errors=0
//	latency phase=load op=write count=1000000 min_us=88.1 mean_us=610.2 p50_us=540.7 p90_us=... p99_us=... p999_us=... max_us=...
//	error phase=load code=9 name=TIMEOUT count=3
//	phase name=run ...
//	latency phase=run op=read ...
//	latency phase=run op=write ...
//	latency phase=run op=all ...
//
// p999 is the 99.9th percentile. Latencies are in microseconds, percentiles
// rounded up to the histogram's precision (under 1%). The JSON form has the
// same names.
type (
	phaseJSON struct {
		Name         string        `json:"name"`
		Seconds      float64       `json:"seconds"`
		Ops          uint64        `json:"ops"`
		OpsPerSec    float64       `json:"ops_per_sec"`
		ReadsPerSec  float64       `json:"reads_per_sec"`
		WritesPerSec float64       `json:"writes_per_sec"`
		ReadMisses   uint64        `json:"read_misses"`
		Errors       uint64        `json:"errors"`
		ErrorCodes   []errorJSON   `json:"error_codes"`
		Latency      []latencyJSON `json:"latency"`
	}
	errorJSON struct {
		Code  int    `json:"code"` // -1000 for errors without a result code
		Name  string `json:"name"`
		Count uint64 `json:"count"`
	}
	latencyJSON struct {
		Op    string  `json:"op"`
		Count uint64  `json:"count"`
		Min   float64 `json:"min_us"`
		Mean  float64 `json:"mean_us"`
		P50   float64 `json:"p50_us"`
		P90   float64 `json:"p90_us"`
		P99   float64 `json:"p99_us"`
		P999  float64 `json:"p999_us"`
		Max   float64 `json:"max_us"`
	}
)

// otherErrorCode stands for errors that carry no Aerospike result code.
const otherErrorCode = -1000

func (r *phaseResult) summary() phaseJSON {
	secs := r.elapsed.Seconds()
	reads, writes := r.read.Count(), r.write.Count()
	p := phaseJSON{
		Name:         r.Name,
		Seconds:      secs,
		Ops:          reads + writes,
		OpsPerSec:    float64(reads+writes) / secs,
		ReadsPerSec:  float64(reads) / secs,
		WritesPerSec: float64(writes) / secs,
		ReadMisses:   r.misses,
		ErrorCodes:   []errorJSON{},
	}
	codes := make([]types.ResultCode, 0, len(r.errs))
	for c := range r.errs {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, c := range codes {
		p.ErrorCodes = append(p.ErrorCodes, errorJSON{int(c), resultCodeName(c), r.errs[c]})
		p.Errors += r.errs[c]
	}
	if r.other > 0 {
		p.ErrorCodes = append(p.ErrorCodes, errorJSON{otherErrorCode, "OTHER", r.other})
		p.Errors += r.other
	}
	var all histogram
	all.Merge(&r.read)
	all.Merge(&r.write)
	for _, h := range []struct {
		op string
		h  *histogram
	}{{"read", &r.read}, {"write", &r.write}, {"all", &all}} {
		if h.h.Count() == 0 && h.op != "all" {
			continue
		}
		p.Latency = append(p.Latency, latencyOf(h.op, h.h))
	}
	return p
}

func latencyOf(op string, h *histogram) latencyJSON {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	return latencyJSON{
		Op:    op,
		Count: h.Count(),
		Min:   us(h.Min()),
		Mean:  h.Mean() / 1e3,
		P50:   us(h.Percentile(50)),
		P90:   us(h.Percentile(90)),
		P99:   us(h.Percentile(99)),
		P999:  us(h.Percentile(99.9)),
		Max:   us(h.Max()),
	}
}

// resultCodeName returns the client's constant name for a result code
// (TIMEOUT, KEY_NOT_FOUND_ERROR...), or CODE_n for a code it does not know.
func resultCodeName(c types.ResultCode) string {
	s := c.String()
	if strings.HasPrefix(s, "invalid ResultCode") {
		return fmt.Sprintf("CODE_%d", c)
	}
	return s
}

func (rep *benchReport) phases() []phaseJSON {
	var ps []phaseJSON
	for _, r := range []*phaseResult{rep.Load, rep.Run} {
		if r != nil {
			ps = append(ps, r.summary())
		}
	}
	return ps
}

func (rep *benchReport) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Config *benchOptions `json:"config"`
		Phases []phaseJSON   `json:"phases"`
	}{rep.Options, rep.phases()})
}

func (rep *benchReport) writeText(w io.Writer) error {
	o := rep.Options
	var b strings.Builder
	fmt.Fprintf(&b, "config host=%s port=%d namespace=%s set=%s concurrency=%d keys=%d value_size=%d map_fields=%d read_pct=%d replace=%t duration_s=%g load=%t connq=%d timeout_ms=%g seed=%d\n",
		o.Host, o.Port, o.Namespace, o.Set, o.Concurrency, o.Keys, o.ValueSize, o.MapFields, o.ReadPct, o.Replace, o.DurationSec, o.Load, o.ConnQueue, o.TimeoutMs, o.Seed)
	for _, p := range rep.phases() {
		fmt.Fprintf(&b, "phase name=%s seconds=%.3f ops=%d ops_per_sec=%.0f reads_per_sec=%.0f writes_per_sec=%.0f read_misses=%d errors=%d\n",
			p.Name, p.Seconds, p.Ops, p.OpsPerSec, p.ReadsPerSec, p.WritesPerSec, p.ReadMisses, p.Errors)
		for _, l := range p.Latency {
			fmt.Fprintf(&b, "latency phase=%s op=%s count=%d min_us=%.1f mean_us=%.1f p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n",
				p.Name, l.Op, l.Count, l.Min, l.Mean, l.P50, l.P90, l.P99, l.P999, l.Max)
		}
		for _, e := range p.ErrorCodes {
			fmt.Fprintf(&b, "error phase=%s code=%d name=%s count=%d\n", p.Name, e.Code, e.Name, e.Count)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
