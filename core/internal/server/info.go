package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/backends"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// Build is the server version the node reports to clients. Clients choose
// protocol features by it: 7.2 has everything Skiff implements and not the
// multi-record transactions of 8.0, which Skiff does not have.
const Build = "7.2.0.0"

// Edition names the server in the edition and version info commands.
const Edition = "Skiff Community Edition"

// infoHandler answers one info command; params is the text after the
// command name's ':' or '/' separator.
type infoHandler func(params string) string

// infoError formats an info error reply as clients parse it.
func infoError(code proto.ResultCode, msg string) string {
	return fmt.Sprintf("ERROR:%d:%s", code, msg)
}

func (s *Server) infoHandlers() map[string]infoHandler {
	static := func(v string) infoHandler { return func(string) string { return v } }
	return map[string]infoHandler{
		"node":                 static(s.nodeID),
		"build":                static(Build),
		"edition":              static(Edition),
		"version":              static(Edition + " build " + Build),
		"release":              static("ee=false;version=" + Build + ";os=" + runtime.GOOS + ";arch=" + runtime.GOARCH),
		"features":             static("batch-any;batch-index;float;geo;peers;pquery;pscans;query-show;replicas;replicas-all;replicas-master;sindex-exists;truncate-namespace;udf"),
		"partition-generation": static("1"),
		"peers-generation":     static("1"),
		"cluster-generation":   static("1"),
		"cluster-stable":       static(s.nodeID),
		"cluster-name":         static(clusterName(s.cfg)),
		"status":               static("ok"),
		"rack-ids": func(string) string {
			return s.perNamespace(func(ns *record.Namespace) string { return ns.Name() + ":0" })
		},
		"replicas":           func(string) string { return s.replicas("0,1,") },
		"replicas-all":       func(string) string { return s.replicas("1,") },
		"replicas-master":    func(string) string { return s.replicas("") },
		"partitions":         static(strconv.Itoa(storage.Partitions)),
		"peers-clear-std":    s.peers,
		"peers-clear-alt":    s.peers,
		"peers-tls-std":      s.tlsPeers,
		"peers-tls-alt":      s.tlsPeers,
		"alumni-clear-std":   s.peers,
		"alumni-tls-std":     s.peers,
		"service":            func(string) string { return s.serviceAddrs() },
		"service-clear-std":  func(string) string { return s.serviceAddrs() },
		"service-clear-alt":  func(string) string { return s.serviceAddrs() },
		"service-tls-std":    func(string) string { return s.tlsAddrs() },
		"service-tls-alt":    func(string) string { return s.tlsAddrs() },
		"services":           static(""),
		"services-alumni":    static(""),
		"services-alternate": static(""),
		"namespaces":         func(string) string { return s.perNamespace(func(ns *record.Namespace) string { return ns.Name() }) },
		"namespace":          s.namespaceInfo,
		"sets":               s.setsInfo,
		"bins":               s.binsInfo,
		"statistics":         func(string) string { return s.statistics() },
		"truncate":           s.truncate,
		"truncate-namespace": s.truncateNamespace,
		"latencies":          s.latenciesInfo,
		"sindex-create":      s.sindexCreate,
		"sindex-delete":      s.sindexDelete,
		"sindex-exists":      s.sindexExists,
		"sindex-list":        s.sindexList,
		"sindex":             s.sindexInfo,
		"sindex-stat":        s.sindexStat,
		"query-show":         s.jobsInfo("query"),
		"scan-show":          s.jobsInfo("scan"),
		"jobs":               s.jobsInfo(""),
		"udf-put":            s.udfPut,
		"udf-list":           s.udfList,
		"udf-get":            s.udfGet,
		"udf-remove":         s.udfRemove,
		"get-config":         s.getConfig,
		"set-config":         s.setConfig,
		"logs":               s.logsInfo,
		"log":                s.logInfo,
		"log-set":            s.logSet,
	}
}

// handleInfo answers an info request: one line per command asked.
func (c *conn) handleInfo(body []byte) {
	c.w.BeginFrame()
	proto.InfoNames(body, func(name []byte) {
		cmd := string(name)
		c.w.B = proto.AppendInfo(c.w.B, cmd, c.srv.runInfo(cmd))
	})
	c.w.EndFrame(proto.TypeInfo)
}

// runInfo looks a command up by its whole text, then by the name before its
// parameters ("namespace/test", "truncate:namespace=test;set=s").
func (s *Server) runInfo(cmd string) string {
	if h, ok := s.info[cmd]; ok {
		return h("")
	}
	if i := strings.IndexAny(cmd, ":/"); i > 0 {
		if h, ok := s.info[cmd[:i]]; ok {
			return h(cmd[i+1:])
		}
	}
	return infoError(proto.InvalidCommand, "unrecognized command")
}

func (s *Server) perNamespace(f func(ns *record.Namespace) string) string {
	parts := make([]string, len(s.nsOrder))
	for i, ns := range s.nsOrder {
		parts[i] = f(ns)
	}
	return strings.Join(parts, ";")
}

// allPartitions is the replicas bitmap of a node that owns every partition.
var allPartitions = func() string {
	b := make([]byte, storage.Partitions/8)
	for i := range b {
		b[i] = 0xFF
	}
	return base64.StdEncoding.EncodeToString(b)
}()

// replicas answers the partition-map commands: this node is the only
// replica of every partition. prefix is the regime and replica count the
// command's format carries before the bitmap.
func (s *Server) replicas(prefix string) string {
	return s.perNamespace(func(ns *record.Namespace) string { return ns.Name() + ":" + prefix + allPartitions })
}

// peers answers the peers commands: a single node has none.
func (s *Server) peers(string) string {
	return "1," + strconv.Itoa(s.servicePort()) + ",[]"
}

// tlsPeers is peers for clients over TLS: none, and the TLS port as the
// default port (0 without a TLS listener).
func (s *Server) tlsPeers(string) string {
	return "1," + strconv.Itoa(s.TLSPort()) + ",[]"
}

// servicePort is the port clients connect to: the configured one, or the
// one the listener was given for port 0.
func (s *Server) servicePort() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return boundPort(s.ln, s.cfg.Network.Service.Port)
}

// TLSPort is the port clients connect to over TLS, 0 without one.
func (s *Server) TLSPort() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return boundPort(s.tlsLn, 0)
}

// boundPort is the port ln listens on, or port while it is not bound.
func boundPort(ln net.Listener, port int) int {
	if ln != nil {
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			return a.Port
		}
	}
	return port
}

// tlsAddrs lists the addresses clients can reach the node at over TLS.
func (s *Server) tlsAddrs() string {
	if s.TLSPort() == 0 {
		return ""
	}
	return listAddrs(s.cfg.Network.ServiceTLS.Address, s.TLSPort())
}

// serviceAddrs lists the addresses clients can reach the node at.
func (s *Server) serviceAddrs() string {
	return listAddrs(s.cfg.Network.Service.Address, s.servicePort())
}

// listAddrs lists where a listener on address and port is reached: that
// address, or each of the machine's when it listens on all.
func listAddrs(address string, p int) string {
	port := strconv.Itoa(p)
	ip := net.ParseIP(address)
	if ip == nil || !ip.IsUnspecified() {
		return net.JoinHostPort(address, port)
	}
	addrs, _ := net.InterfaceAddrs()
	var out []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			out = append(out, net.JoinHostPort(n.IP.String(), port))
		}
	}
	if len(out) == 0 {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return strings.Join(out, ";")
}

func clusterName(cfg *config.Config) string {
	if cfg.Service.ClusterName == "" {
		return "null"
	}
	return cfg.Service.ClusterName
}

// nodeID is the configured node-id, or one derived from the host name and
// service port, so that it is stable across restarts.
func nodeID(cfg *config.Config) string {
	if cfg.Service.NodeID != "" {
		return strings.ToUpper(cfg.Service.NodeID)
	}
	host, _ := os.Hostname()
	h := fnv.New64a()
	fmt.Fprintf(h, "%s:%d", host, cfg.Network.Service.Port)
	return strings.ToUpper(strconv.FormatUint(h.Sum64()>>4, 16))
}

// params parses "k1=v1;k2=v2".
func params(s string) map[string]string {
	out := make(map[string]string)
	for _, kv := range strings.Split(s, ";") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		out[k] = v
	}
	return out
}

// kv builds the "k=v;k=v" values of info replies.
type kv struct {
	b   strings.Builder
	sep byte
}

func (k *kv) add(key string, value any) {
	if k.b.Len() > 0 {
		k.b.WriteByte(k.sep)
	}
	fmt.Fprintf(&k.b, "%s=%v", key, value)
}

func (s *Server) namespaceInfo(name string) string {
	ns := s.namespaces[name]
	if ns == nil {
		return infoError(proto.InvalidNamespace, "namespace not found")
	}
	cfg := ns.Config()
	// While a plugin restarts, its figures are unknown: the rest still
	// answers, so that operators see the namespace's state.
	st, _ := ns.Backend().Stats(s.ctx)
	k := kv{sep: ';'}
	k.add("ns_cluster_size", 1)
	k.add("effective_replication_factor", 1)
	k.add("objects", st.Records)
	if _, ok := st.Extra["tombstones"]; !ok {
		k.add("tombstones", 0)
	}
	k.add("master_objects", st.Records)
	k.add("prole_objects", 0)
	k.add("index_used_bytes", st.IndexBytes)
	k.add("data_used_bytes", st.DataBytes)
	k.add("data_total_bytes", st.Capacity)
	if st.Capacity > 0 {
		if _, ok := st.Extra["data_avail_pct"]; !ok {
			k.add("data_avail_pct", 100-st.DataBytes*100/st.Capacity)
		}
		k.add("data_used_pct", st.DataBytes*100/st.Capacity)
	}
	for _, name := range record.BackendFigures(&st) {
		k.add(name, strconv.FormatFloat(st.Extra[name], 'f', -1, 64))
	}
	k.add("expired_objects", ns.Stats.Expired.Load())
	k.add("evicted_objects", ns.Stats.Evicted.Load())
	k.add("stop_writes", ns.StopWrites())
	k.add("evict-used-pct", cfg.EvictUsedPct)
	k.add("evict-tenths-pct", cfg.EvictTenthsPct)
	k.add("stop-writes-used-pct", cfg.StopWritesUsedPct)
	k.add("stop-writes-avail-pct", cfg.StopWritesAvailPct)
	k.add("stop-writes-sys-memory-pct", cfg.StopWritesSysMemoryPct)
	k.add("truncated_records", ns.Stats.Truncated.Load())
	k.add("client_read_success", ns.Stats.ReadSuccess.Load())
	k.add("client_read_error", ns.Stats.ReadError.Load())
	k.add("client_read_not_found", ns.Stats.ReadNotFound.Load())
	k.add("client_write_success", ns.Stats.WriteSuccess.Load())
	k.add("client_write_error", ns.Stats.WriteError.Load())
	k.add("client_delete_success", ns.Stats.DeleteSuccess.Load())
	k.add("client_delete_error", ns.Stats.DeleteError.Load())
	k.add("client_delete_not_found", ns.Stats.DeleteNotFound.Load())
	k.add("client_udf_complete", ns.Stats.UDFComplete.Load())
	k.add("client_udf_error", ns.Stats.UDFError.Load())
	k.add("read_touch_success", ns.Stats.ReadTouchSuccess.Load())
	k.add("read_touch_skip", ns.Stats.ReadTouchSkip.Load())
	k.add("read_touch_error", ns.Stats.ReadTouchError.Load())
	k.add("replication-factor", cfg.ReplicationFactor)
	k.add("default-ttl", int64(cfg.DefaultTTL/time.Second))
	k.add("nsup-period", int64(cfg.NsupPeriod/time.Second))
	k.add("allow-ttl-without-nsup", cfg.AllowTTLWithoutNsup)
	k.add("max-record-size", cfg.MaxRecordSize)
	k.add("background-query-max-rps", cfg.BackgroundQueryMaxRPS)
	k.add("storage-engine", cfg.Storage.Type)
	if cfg.Storage.Type == "memory" {
		k.add("storage-engine.data-size", cfg.Storage.DataSize)
		if cfg.Storage.RegionFile != "" {
			k.add("storage-engine.region-file", cfg.Storage.RegionFile)
		}
		if cfg.Storage.SnapshotFile != "" {
			k.add("storage-engine.snapshot-file", cfg.Storage.SnapshotFile)
		}
	}
	if b, ok := ns.Backend().(interface{ Status() backends.Status }); ok {
		st := b.Status()
		k.add("storage-backend", st.Backend)
		k.add("storage-mode", st.Mode)
		k.add("storage-state", st.State)
		if st.Mode == config.ModeProcess {
			k.add("storage-pid", st.Pid)
			k.add("storage-restarts", st.Restarts)
			k.add("storage-path", st.Path)
			k.add("storage-shared-index", st.SharedIndex)
		}
	}
	return k.b.String()
}

// setsInfo answers "sets", "sets/NS" and "sets/NS/SET".
func (s *Server) setsInfo(p string) string {
	nsName, setName, _ := strings.Cut(p, "/")
	var b strings.Builder
	for _, ns := range s.nsOrder {
		if nsName != "" && ns.Name() != nsName {
			continue
		}
		sets, err := ns.Sets(s.ctx)
		if err != nil {
			return infoError(proto.ServerError, err.Error())
		}
		for _, st := range sets {
			if setName != "" && st.Name != setName {
				continue
			}
			k := kv{sep: ':'}
			k.add("ns", ns.Name())
			k.add("set", st.Name)
			k.add("objects", st.Objects)
			k.add("tombstones", 0)
			k.add("data_used_bytes", st.DataBytes)
			k.add("truncate_lut", st.TruncateLUT/uint64(time.Millisecond))
			k.add("sindexes", 0)
			k.add("index_populating", false)
			cfg := ns.Config().Sets[st.Name]
			k.add("disable-eviction", cfg.DisableEviction)
			k.add("enable-index", false)
			k.add("stop-writes-count", cfg.StopWritesCount)
			k.add("stop-writes-size", cfg.StopWritesSize)
			k.add("default-read-touch-ttl-pct", cfg.DefaultReadTouchTTLPct)
			b.WriteString(k.b.String())
			b.WriteByte(';')
		}
	}
	return b.String()
}

// binsInfo answers "bins" and "bins/NS": the bin names each namespace has
// seen.
func (s *Server) binsInfo(p string) string {
	var parts []string
	for _, ns := range s.nsOrder {
		if p != "" && ns.Name() != p {
			continue
		}
		names := ns.BinNames()
		v := fmt.Sprintf("%s:bin_names=%d,bin_names_quota=%d", ns.Name(), len(names), record.MaxBinNames)
		if len(names) > 0 {
			v += "," + strings.Join(names, ",")
		}
		parts = append(parts, v)
	}
	if p != "" && len(parts) == 0 {
		return infoError(proto.InvalidNamespace, "namespace not found")
	}
	return strings.Join(parts, ";")
}

func (s *Server) statistics() string {
	var objects, dataBytes, indexBytes uint64
	for _, ns := range s.nsOrder {
		if st, err := ns.Backend().Stats(s.ctx); err == nil {
			objects += st.Records
			dataBytes += st.DataBytes
			indexBytes += st.IndexBytes
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	k := kv{sep: ';'}
	k.add("cluster_size", 1)
	k.add("cluster_key", s.nodeID)
	k.add("cluster_integrity", true)
	k.add("cluster_is_member", true)
	k.add("cluster_name", clusterName(s.cfg))
	k.add("uptime", int64(time.Since(s.start)/time.Second))
	k.add("objects", objects)
	k.add("data_used_bytes", dataBytes)
	k.add("index_used_bytes", indexBytes)
	k.add("client_connections", s.nConns.Load())
	k.add("client_connections_opened", s.accepted.Load())
	k.add("client_connections_refused", s.refused.Load())
	k.add("heap_allocated_kbytes", ms.HeapAlloc/1024)
	k.add("process_goroutines", runtime.NumGoroutine())
	return k.b.String()
}

// truncate answers "truncate:namespace=NS;set=SET[;lut=NANOS]".
func (s *Server) truncate(p string) string {
	args := params(p)
	if args["set"] == "" {
		return infoError(proto.ParameterError, "set is required; use truncate-namespace for a whole namespace")
	}
	return s.doTruncate(args)
}

// truncateNamespace answers "truncate-namespace:namespace=NS[;lut=NANOS]".
func (s *Server) truncateNamespace(p string) string {
	args := params(p)
	if args["set"] != "" {
		return infoError(proto.ParameterError, "truncate-namespace takes no set")
	}
	return s.doTruncate(args)
}

func (s *Server) doTruncate(args map[string]string) string {
	ns := s.namespaces[args["namespace"]]
	if ns == nil {
		return infoError(proto.InvalidNamespace, "namespace not found")
	}
	var lut uint64
	if v := args["lut"]; v != "" {
		var err error
		if lut, err = strconv.ParseUint(v, 10, 64); err != nil {
			return infoError(proto.ParameterError, "lut must be nanoseconds since the Unix epoch")
		}
	}
	if _, err := ns.Truncate(s.ctx, args["set"], lut); errors.Is(err, record.ErrNotSaved) {
		return infoError(proto.ServerError, err.Error())
	} else if err != nil {
		return infoError(proto.ParameterError, err.Error())
	}
	return "ok"
}
