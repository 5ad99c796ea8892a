package server

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/skiffdb/skiff/core/internal/latency"
)

// latencyWindow is how often the latencies info command's figures are
// recomputed: they describe the last complete window, as Aerospike's do.
const latencyWindow = 10 * time.Second

// latencyThresholds are the columns of the latencies info command: the
// share of requests slower than 1, 2, 4 ... 65536 ms, as powers of two of
// microseconds (2^10 µs ≈ 1 ms).
const (
	firstThreshold = 10
	thresholds     = 17
)

// latencyWindows turns the histograms' running counts into the figures of
// the last window: requests per second and the share over each threshold.
type latencyWindows struct {
	mu   sync.Mutex
	prev map[string]latency.Snapshot
	last map[string]string
}

// named is a histogram with the name the latencies command shows.
type named struct {
	name string
	h    *latency.Histogram
}

func (s *Server) histograms() []named {
	out := []named{{"batch-index", &s.batchLatency}}
	for _, ns := range s.nsOrder {
		out = append(out, named{"{" + ns.Name() + "}-read", &ns.Latency.Read}, named{"{" + ns.Name() + "}-write", &ns.Latency.Write})
	}
	return out
}

// runLatencyWindows recomputes the figures every latencyWindow until the
// server's context ends.
func (s *Server) runLatencyWindows() {
	s.latencies.roll(s.histograms(), time.Now())
	t := time.NewTicker(latencyWindow)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			s.latencies.roll(s.histograms(), now)
		}
	}
}

// roll closes a window at now.
func (w *latencyWindows) roll(hs []named, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.prev == nil {
		w.prev, w.last = map[string]latency.Snapshot{}, map[string]string{}
	}
	for _, n := range hs {
		cur := n.h.Snapshot()
		prev, seen := w.prev[n.name]
		w.prev[n.name] = cur
		if !seen {
			continue
		}
		d := cur.Sub(prev)
		total := d.Total()
		if total == 0 {
			w.last[n.name] = ""
			continue
		}
		var b strings.Builder
		b.WriteString("msec,ops/sec")
		for i := range thresholds {
			fmt.Fprintf(&b, ",>%dms", 1<<i)
		}
		fmt.Fprintf(&b, ";%s,%.1f", now.UTC().Format("15:04:05"), float64(total)/latencyWindow.Seconds())
		for i := range thresholds {
			fmt.Fprintf(&b, ",%.2f", 100*float64(d.Over(firstThreshold+i))/float64(total))
		}
		w.last[n.name] = b.String()
	}
}

// latenciesInfo answers "latencies:" and "latencies:hist=NAME".
func (s *Server) latenciesInfo(p string) string {
	want := params(p)["hist"]
	s.latencies.mu.Lock()
	defer s.latencies.mu.Unlock()
	var parts []string
	for _, n := range s.histograms() {
		if want != "" && n.name != want {
			continue
		}
		parts = append(parts, n.name+":"+s.latencies.last[n.name])
	}
	return strings.Join(parts, ";")
}
