package replication

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skiffdb/skiff/sdk/xdr"
)

// figures are a link's figures, as info and /metrics show them. Names
// follow Aerospike's XDR statistics where they mean the same
// (success, in_queue, recoveries, retry_dest); the rest are Skiff's.
type figure struct {
	name, help string
	kind       figureKind
	get        func(l *Link, t *xdr.Stats) float64
}

type figureKind uint8

const (
	counter figureKind = iota // a total: summed over a dc's namespaces
	amount                    // a gauge that sums too
	level                     // a gauge whose highest value stands for the dc
)

var figures = []figure{
	{"success", "Changes shipped: durable in the transport.", counter, func(l *Link, _ *xdr.Stats) float64 { return float64(l.Stats.Shipped.Load()) }},
	{"retry_dest", "Ships that failed and were retried.", counter, func(l *Link, _ *xdr.Stats) float64 { return float64(l.Stats.ShipErrors.Load()) }},
	{"in_queue", "Changes waiting to be shipped.", amount, func(l *Link, _ *xdr.Stats) float64 { return float64(l.Queued()) }},
	{"dropped", "Changes dropped on a full queue (their records are re-shipped by a recovery).", counter, func(l *Link, _ *xdr.Stats) float64 { return float64(l.Stats.Dropped.Load()) }},
	{"recoveries", "Recovery scans and rewinds run.", counter, func(l *Link, _ *xdr.Stats) float64 { return float64(l.Stats.Recoveries.Load()) }},
	{"applied", "Peers' changes applied.", counter, func(l *Link, _ *xdr.Stats) float64 { return float64(l.Stats.Applied.Load()) }},
	{"conflicts", "Peers' changes that lost to the local version.", counter, func(l *Link, _ *xdr.Stats) float64 { return float64(l.Stats.Conflicts.Load()) }},
	{"apply_errors", "Peers' changes that failed to apply (redelivered).", counter, func(l *Link, _ *xdr.Stats) float64 { return float64(l.Stats.ApplyErrors.Load()) }},
	{"lag_ms", "Time from the last applied change's commit on its origin to its apply here, ms.", level, func(l *Link, _ *xdr.Stats) float64 {
		return float64(l.Stats.LastLag.Load()) / float64(time.Millisecond)
	}},
	{"lag_p50_ms", "Median of that time over the last 16384 changes applied, ms.", level, func(l *Link, _ *xdr.Stats) float64 {
		return float64(l.LagQuantile(0.5)) / float64(time.Millisecond)
	}},
	{"lag_p99_ms", "99th percentile of that time over the last 16384 changes applied, ms.", level, func(l *Link, _ *xdr.Stats) float64 {
		return float64(l.LagQuantile(0.99)) / float64(time.Millisecond)
	}},
	{"pending", "Peers' changes waiting for this node in the transport: the lag in changes.", amount, func(_ *Link, t *xdr.Stats) float64 { return float64(t.Pending) }},
	{"transport_errors", "Errors the transport counted.", counter, func(_ *Link, t *xdr.Stats) float64 { return float64(t.Errors) }},
	{"connected", "1 while the transport reaches its servers.", level, func(_ *Link, t *xdr.Stats) float64 { return b2f(t.Connected) }},
	{"gap", "1 when changes expired in the transport before this node received them: rewind the peers.", level, func(_ *Link, t *xdr.Stats) float64 { return b2f(t.Gap) }},
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Info answers get-stats:context=xdr;dc=NAME[;namespace=NS]: the figures
// of the dc's links, summed over its namespaces unless one is named.
func (m *Manager) Info(ctx context.Context, dc, namespace string) (string, error) {
	sums := make([]float64, len(figures))
	found := false
	for _, l := range m.links {
		if l.DC() != dc || (namespace != "" && l.Namespace() != namespace) {
			continue
		}
		found = true
		t, _ := l.Transport(ctx)
		for i, f := range figures {
			if v := f.get(l, &t); f.kind == level {
				sums[i] = max(sums[i], v)
			} else {
				sums[i] += v
			}
		}
	}
	if !found {
		return "", fmt.Errorf("no xdr dc %q with namespace %q", dc, namespace)
	}
	var b strings.Builder
	for i, f := range figures {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, "%s=%v", f.name, sums[i])
	}
	return b.String(), nil
}

// Rewind re-ships the records of namespace (of set, when not "") to dc.
func (m *Manager) Rewind(dc, namespace, set string) error {
	for _, l := range m.links {
		if l.DC() == dc && l.Namespace() == namespace {
			l.Rewind(set)
			return nil
		}
	}
	return fmt.Errorf("no xdr dc %q with namespace %q", dc, namespace)
}

// Collector reports every link's figures as aerospike_xdr_NAME{dc, ns}.
type Collector struct {
	m     *Manager
	descs []*prometheus.Desc
}

// NewCollector returns m's Prometheus collector.
func NewCollector(m *Manager) *Collector {
	c := &Collector{m: m}
	for _, f := range figures {
		c.descs = append(c.descs, prometheus.NewDesc("aerospike_xdr_"+f.name, f.help, []string{"dc", "ns"}, nil))
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.m.links {
		t, _ := l.Transport(context.Background())
		for i, f := range figures {
			kind := prometheus.GaugeValue
			if f.kind == counter {
				kind = prometheus.CounterValue
			}
			ch <- prometheus.MustNewConstMetric(c.descs[i], kind, f.get(l, &t), l.DC(), l.Namespace())
		}
	}
}
