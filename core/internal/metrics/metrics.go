// Package metrics exposes a node's figures to Prometheus. The collector reads
// the counters the namespaces and server already keep at scrape time, so the
// request path pays nothing for metrics beyond those counters.
package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/skiffdb/skiff/core/internal/backends"
	"github.com/skiffdb/skiff/core/internal/latency"
	"github.com/skiffdb/skiff/core/internal/record"
)

// NodeStats are the node-wide figures the collector reports.
type NodeStats interface {
	// ClientConnections is the number of open client connections.
	ClientConnections() int64
}

// Collector reports namespace and node figures with Aerospike's metric
// names, prefixed "aerospike_" as the Aerospike Prometheus exporter does.
type Collector struct {
	namespaces []*record.Namespace
	node       NodeStats

	counters    []counterDesc
	objects     *prometheus.Desc
	dataUsed    *prometheus.Desc
	dataTotal   *prometheus.Desc
	indexUsed   *prometheus.Desc
	setObjects  *prometheus.Desc
	setData     *prometheus.Desc
	connections *prometheus.Desc
	// sindexEntries, sindexUsed and sindexLoad are each secondary index's
	// entries, memory and build progress, as sindex/NS/NAME reports them.
	sindexEntries, sindexUsed, sindexLoad *prometheus.Desc

	latency *prometheus.Desc

	storageUp       *prometheus.Desc
	storagePid      *prometheus.Desc
	storageRestarts *prometheus.Desc
}

type counterDesc struct {
	desc *prometheus.Desc
	get  func(*record.Counters) uint64
}

// New returns a collector for the namespaces and the node.
func New(namespaces []*record.Namespace, node NodeStats) *Collector {
	nsLabel := []string{"ns"}
	storageLabels := []string{"ns", "backend", "mode"}
	counter := func(name, help string, get func(*record.Counters) uint64) counterDesc {
		return counterDesc{prometheus.NewDesc("aerospike_namespace_"+name, help, nsLabel, nil), get}
	}
	return &Collector{
		namespaces: namespaces,
		node:       node,
		counters: []counterDesc{
			counter("client_read_success", "Reads that found their record.", func(c *record.Counters) uint64 { return c.ReadSuccess.Load() }),
			counter("client_read_not_found", "Reads of records that do not exist.", func(c *record.Counters) uint64 { return c.ReadNotFound.Load() }),
			counter("client_read_error", "Reads that failed.", func(c *record.Counters) uint64 { return c.ReadError.Load() }),
			counter("client_write_success", "Writes that succeeded.", func(c *record.Counters) uint64 { return c.WriteSuccess.Load() }),
			counter("client_write_error", "Writes that failed.", func(c *record.Counters) uint64 { return c.WriteError.Load() }),
			counter("client_delete_success", "Deletes that removed a record.", func(c *record.Counters) uint64 { return c.DeleteSuccess.Load() }),
			counter("client_delete_not_found", "Deletes of records that do not exist.", func(c *record.Counters) uint64 { return c.DeleteNotFound.Load() }),
			counter("client_delete_error", "Deletes that failed.", func(c *record.Counters) uint64 { return c.DeleteError.Load() }),
			counter("client_udf_complete", "Record UDF calls that succeeded.", func(c *record.Counters) uint64 { return c.UDFComplete.Load() }),
			counter("client_udf_error", "Record UDF calls that failed.", func(c *record.Counters) uint64 { return c.UDFError.Load() }),
			counter("expired_objects", "Records removed because their TTL ran out.", func(c *record.Counters) uint64 { return c.Expired.Load() }),
			counter("truncated_records", "Records removed by truncation.", func(c *record.Counters) uint64 { return c.Truncated.Load() }),
			counter("evicted_objects", "Records evicted above evict-used-pct.", func(c *record.Counters) uint64 { return c.Evicted.Load() }),
			counter("read_touch_success", "Reads that touched their record (read-touch-ttl-pct).", func(c *record.Counters) uint64 { return c.ReadTouchSuccess.Load() }),
			counter("read_touch_skip", "Touches after reads left undone: the record was gone, or a write had extended it.", func(c *record.Counters) uint64 { return c.ReadTouchSkip.Load() }),
			counter("read_touch_error", "Touches after reads that failed.", func(c *record.Counters) uint64 { return c.ReadTouchError.Load() }),
		},
		objects:       prometheus.NewDesc("aerospike_namespace_objects", "Records held.", nsLabel, nil),
		dataUsed:      prometheus.NewDesc("aerospike_namespace_data_used_bytes", "Bytes of record data held.", nsLabel, nil),
		dataTotal:     prometheus.NewDesc("aerospike_namespace_data_total_bytes", "Configured data capacity in bytes (0: unbounded).", nsLabel, nil),
		indexUsed:     prometheus.NewDesc("aerospike_namespace_index_used_bytes", "Bytes of memory the primary index takes.", nsLabel, nil),
		setObjects:    prometheus.NewDesc("aerospike_sets_objects", "Records held in a set.", []string{"ns", "set"}, nil),
		setData:       prometheus.NewDesc("aerospike_sets_data_used_bytes", "Bytes of record data held in a set.", []string{"ns", "set"}, nil),
		connections:   prometheus.NewDesc("aerospike_node_stats_client_connections", "Open client connections.", nil, nil),
		sindexEntries: prometheus.NewDesc("aerospike_sindex_entries", "Entries of a secondary index.", []string{"ns", "sindex"}, nil),
		sindexUsed:    prometheus.NewDesc("aerospike_sindex_used_bytes", "Bytes of memory a secondary index takes.", []string{"ns", "sindex"}, nil),
		sindexLoad:    prometheus.NewDesc("aerospike_sindex_load_pct", "How much of a secondary index's background build is done, in percent.", []string{"ns", "sindex"}, nil),

		latency: prometheus.NewDesc("skiff_request_duration_seconds",
			"Time from a single-record request's arrival to its reply's write, by namespace and operation (read, write). The sum is estimated from bucket midpoints.",
			[]string{"ns", "op"}, nil),

		storageUp:       prometheus.NewDesc("skiff_storage_up", "1 while the namespace's storage backend serves, 0 while its plugin restarts.", storageLabels, nil),
		storagePid:      prometheus.NewDesc("skiff_storage_plugin_pid", "Process id of the namespace's storage plugin (0: in-process or not running).", storageLabels, nil),
		storageRestarts: prometheus.NewDesc("skiff_storage_plugin_restarts_total", "Restarts of the namespace's storage plugin.", storageLabels, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.counters {
		ch <- d.desc
	}
	ch <- c.objects
	ch <- c.dataUsed
	ch <- c.dataTotal
	ch <- c.indexUsed
	ch <- c.setObjects
	ch <- c.setData
	ch <- c.connections
	ch <- c.sindexEntries
	ch <- c.sindexUsed
	ch <- c.sindexLoad
	ch <- c.latency
	ch <- c.storageUp
	ch <- c.storagePid
	ch <- c.storageRestarts
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, ns := range c.namespaces {
		name := ns.Name()
		for _, d := range c.counters {
			ch <- prometheus.MustNewConstMetric(d.desc, prometheus.CounterValue, float64(d.get(&ns.Stats)), name)
		}
		if st, err := ns.Backend().Stats(context.Background()); err == nil {
			ch <- prometheus.MustNewConstMetric(c.objects, prometheus.GaugeValue, float64(st.Records), name)
			ch <- prometheus.MustNewConstMetric(c.dataUsed, prometheus.GaugeValue, float64(st.DataBytes), name)
			ch <- prometheus.MustNewConstMetric(c.dataTotal, prometheus.GaugeValue, float64(st.Capacity), name)
			ch <- prometheus.MustNewConstMetric(c.indexUsed, prometheus.GaugeValue, float64(st.IndexBytes), name)
		}
		if b, ok := ns.Backend().(interface{ Status() backends.Status }); ok {
			st := b.Status()
			up := 0.0
			if st.State == "running" {
				up = 1
			}
			ch <- prometheus.MustNewConstMetric(c.storageUp, prometheus.GaugeValue, up, name, st.Backend, st.Mode)
			ch <- prometheus.MustNewConstMetric(c.storagePid, prometheus.GaugeValue, float64(st.Pid), name, st.Backend, st.Mode)
			ch <- prometheus.MustNewConstMetric(c.storageRestarts, prometheus.CounterValue, float64(st.Restarts), name, st.Backend, st.Mode)
		}
		ch <- histogram(c.latency, &ns.Latency.Read, name, "read")
		ch <- histogram(c.latency, &ns.Latency.Write, name, "write")
		for _, ix := range ns.Indexes().Indexes(nil) {
			entries, used := ix.Stats()
			ixName := ix.Def().Name
			ch <- prometheus.MustNewConstMetric(c.sindexEntries, prometheus.GaugeValue, float64(entries), name, ixName)
			ch <- prometheus.MustNewConstMetric(c.sindexUsed, prometheus.GaugeValue, float64(used), name, ixName)
			ch <- prometheus.MustNewConstMetric(c.sindexLoad, prometheus.GaugeValue, float64(ns.IndexLoadPct(ixName)), name, ixName)
		}
		sets, _ := ns.Sets(context.Background())
		for _, s := range sets {
			ch <- prometheus.MustNewConstMetric(c.setObjects, prometheus.GaugeValue, float64(s.Objects), name, s.Name)
			ch <- prometheus.MustNewConstMetric(c.setData, prometheus.GaugeValue, float64(s.DataBytes), name, s.Name)
		}
	}
	ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(c.node.ClientConnections()))
}

// histogram exposes a latency histogram with cumulative buckets at its
// power-of-two bounds.
func histogram(desc *prometheus.Desc, h *latency.Histogram, labels ...string) prometheus.Metric {
	snap := h.Snapshot()
	buckets := make(map[float64]uint64, latency.Buckets-1)
	var count uint64
	var sum float64
	for i := range latency.Buckets - 1 {
		count += snap[i]
		upper := latency.UpperBound(i).Seconds()
		buckets[upper] = count
		sum += float64(snap[i]) * upper * 0.75 // midpoint of [upper/2, upper)
	}
	last := snap[latency.Buckets-1]
	count += last
	sum += float64(last) * latency.UpperBound(latency.Buckets-1).Seconds()
	return prometheus.MustNewConstHistogram(desc, count, sum, buckets, labels...)
}

// Extras reports the storage backends' own figures (storage.Stats.Extra),
// named aerospike_namespace_NAME. Their names are known only once a
// backend reports them, so it is an unchecked collector: it describes
// nothing.
type Extras struct {
	namespaces []*record.Namespace
}

// NewExtras returns the collector of the namespaces' backend figures.
func NewExtras(namespaces []*record.Namespace) *Extras { return &Extras{namespaces: namespaces} }

// Describe implements prometheus.Collector.
func (e *Extras) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (e *Extras) Collect(ch chan<- prometheus.Metric) {
	for _, ns := range e.namespaces {
		st, err := ns.Backend().Stats(context.Background())
		if err != nil {
			continue
		}
		for _, name := range record.BackendFigures(&st) {
			desc := prometheus.NewDesc("aerospike_namespace_"+name, "A figure of the namespace's storage backend.", []string{"ns"}, nil)
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, st.Extra[name], ns.Name())
		}
	}
}
