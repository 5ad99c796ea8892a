package server

import (
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/internal/latency"
)

func TestLatencyWindows(t *testing.T) {
	var h latency.Histogram
	hs := []named{{"{test}-read", &h}}
	var w latencyWindows
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	w.roll(hs, t0)
	for range 90 {
		h.Observe(100 * time.Microsecond)
	}
	for range 9 {
		h.Observe(1500 * time.Microsecond)
	}
	h.Observe(3 * time.Second)
	w.roll(hs, t0.Add(latencyWindow))
	got := w.last["{test}-read"]
	// 100 requests in 10 s; 10% over 1 ms, 1% over 2 ms ... and over 2048 ms.
	want := "msec,ops/sec,>1ms,>2ms,>4ms,>8ms,>16ms,>32ms,>64ms,>128ms,>256ms,>512ms,>1024ms,>2048ms,>4096ms,>8192ms,>16384ms,>32768ms,>65536ms;" +
		"10:00:10,10.0,10.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00,0.00,0.00,0.00,0.00,0.00"
	if got != want {
		t.Fatalf("window:\n%s\nwant\n%s", got, want)
	}
	w.roll(hs, t0.Add(2*latencyWindow))
	if got := w.last["{test}-read"]; got != "" {
		t.Fatalf("a window without requests: %q", got)
	}
}

func TestLatenciesInfo(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.dial(t)
	roundTrip(t, c, putRequest(1))
	roundTrip(t, c, getRequest(1))
	// A request's latency is recorded once its reply is written, so just
	// after the client has read it: wait for the get's.
	lat := &ts.namespaces["test"].Latency
	for deadline := time.Now().Add(5 * time.Second); lat.Read.Snapshot().Total() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := lat.Write.Snapshot().Total(); n != 1 {
		t.Fatalf("%d writes recorded", n)
	}
	if n := lat.Read.Snapshot().Total(); n != 1 {
		t.Fatalf("%d reads recorded", n)
	}
	got := ts.runInfo("latencies:")
	for _, name := range []string{"batch-index:", "{test}-read:", "{test}-write:"} {
		if !strings.Contains(got, name) {
			t.Errorf("latencies: %q lacks %s", got, name)
		}
	}
	if got := ts.runInfo("latencies:hist={test}-read"); !strings.HasPrefix(got, "{test}-read:") || strings.Contains(got, "write") {
		t.Errorf("latencies:hist={test}-read: %q", got)
	}
}
