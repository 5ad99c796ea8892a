package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/proto"
)

// getConfig answers "get-config[:context=CONTEXT[;id=NS]]": the settings in
// effect, named as in the config file and get-config's Aerospike output
// ("storage-engine.filesize"), sizes in bytes and durations in seconds.
// Without a context it answers the service's.
func (s *Server) getConfig(p string) string {
	args := params(p)
	switch ctx := args["context"]; ctx {
	case "", "service":
		return s.serviceConfig()
	case "network":
		n := s.cfg.Network
		k := kv{sep: ';'}
		k.add("service.address", n.Service.Address)
		k.add("service.port", s.servicePort())
		if te := n.ServiceTLS; te.Port != 0 {
			k.add("service.tls-address", te.Address)
			k.add("service.tls-port", s.TLSPort())
			k.add("service.tls-name", te.Name)
			k.add("service.tls-authenticate-client", strings.Join(te.AuthenticateClient, ","))
		}
		k.add("admin.address", n.Admin.Address)
		k.add("admin.port", n.Admin.Port)
		return k.b.String()
	case "namespace":
		name := namespaceArg(args)
		ns := s.namespaces[name]
		if ns == nil {
			return infoError(proto.InvalidNamespace, "namespace not found")
		}
		return namespaceConfig(ns.Config())
	case "mod-udf":
		u := s.cfg.UDF
		k := kv{sep: ';'}
		k.add("user-path", u.UserPath)
		k.add("max-module-size", u.MaxModuleSize)
		k.add("max-memory", u.MaxMemory)
		k.add("max-call-ms", u.MaxCallTime.Milliseconds())
		k.add("instances-per-module", u.InstancesPerModule)
		return k.b.String()
	default:
		// Among them xdr: clients take an answer to it for Aerospike's XDR
		// and its info commands, which Skiff's replication over NATS does
		// not serve.
		return infoError(proto.ParameterError, "unknown context "+strconv.Quote(ctx)+": want service, network, namespace or mod-udf")
	}
}

// namespaceArg is the namespace a config command names: id=NS, or
// namespace=NS as Aerospike 7 also takes.
func namespaceArg(args map[string]string) string {
	if name, ok := args["id"]; ok {
		return name
	}
	return args["namespace"]
}

// service is the service settings in effect.
func (s *Server) service() config.Service {
	sv := s.cfg.Service
	sv.ProtoFdMax = int(s.protoFdMax.Load())
	return sv
}

func (s *Server) serviceConfig() string {
	sv := s.service()
	k := kv{sep: ';'}
	k.add("cluster-name", clusterName(s.cfg))
	k.add("node-id", s.nodeID)
	k.add("proto-fd-max", sv.ProtoFdMax)
	k.add("proto-max-size", sv.ProtoMaxSize)
	k.add("work-directory", sv.WorkDirectory)
	return k.b.String()
}

func namespaceConfig(cfg *config.Namespace) string {
	k := kv{sep: ';'}
	k.add("default-ttl", int64(cfg.DefaultTTL/time.Second))
	k.add("nsup-period", int64(cfg.NsupPeriod/time.Second))
	k.add("allow-ttl-without-nsup", cfg.AllowTTLWithoutNsup)
	k.add("max-record-size", cfg.MaxRecordSize)
	k.add("replication-factor", cfg.ReplicationFactor)
	k.add("evict-used-pct", cfg.EvictUsedPct)
	k.add("evict-tenths-pct", cfg.EvictTenthsPct)
	k.add("stop-writes-used-pct", cfg.StopWritesUsedPct)
	k.add("stop-writes-avail-pct", cfg.StopWritesAvailPct)
	k.add("stop-writes-sys-memory-pct", cfg.StopWritesSysMemoryPct)
	k.add("background-query-max-rps", cfg.BackgroundQueryMaxRPS)
	k.add("tomb-raider-period", int64(cfg.TombRaiderPeriod/time.Second))
	k.add("disallow-null-setname", cfg.DisallowNullSetname)
	k.add("default-read-touch-ttl-pct", cfg.DefaultReadTouchTTLPct)
	k.add("index-type", cfg.IndexType)
	if cfg.IndexType == "flash" {
		k.add("index-type.mount", cfg.IndexMount)
		k.add("index-type.mounts-budget", cfg.IndexMountsSizeLimit)
	}
	st := &cfg.Storage
	k.add("storage-engine", st.Type)
	k.add("storage-engine.mode", st.Mode)
	if st.Path != "" {
		k.add("storage-engine.path", st.Path)
	}
	switch st.Type {
	case "memory":
		k.add("storage-engine.data-size", st.DataSize)
		if st.RegionFile != "" {
			k.add("storage-engine.region-file", st.RegionFile)
		}
		if st.SnapshotFile != "" {
			k.add("storage-engine.snapshot-file", st.SnapshotFile)
		}
	case "device":
		d := &st.Device
		for i, dev := range d.Devices {
			k.add("storage-engine.device["+strconv.Itoa(i)+"]", dev)
		}
		for i, f := range d.Files {
			k.add("storage-engine.file["+strconv.Itoa(i)+"]", f)
		}
		if len(d.Files) > 0 {
			k.add("storage-engine.filesize", d.FileSize)
		}
		k.add("storage-engine.write-block-size", d.WriteBlockSize)
		k.add("storage-engine.direct-io", d.DirectIO)
		k.add("storage-engine.read-page-cache", d.ReadPageCache)
		k.add("storage-engine.compression", d.Compression)
		if d.CompressionLevel != 0 {
			k.add("storage-engine.compression-level", d.CompressionLevel)
		}
		k.add("storage-engine.post-write-queue", d.PostWriteQueue)
		k.add("storage-engine.max-write-cache", d.MaxWriteCache)
		k.add("storage-engine.flush-max-ms", d.FlushMaxMs)
		k.add("storage-engine.defrag-lwm-pct", d.DefragLWMPct)
		k.add("storage-engine.defrag-sleep", d.DefragSleepUs)
		k.add("storage-engine.commit-to-device", d.CommitToDevice)
		k.add("storage-engine.data-in-memory", d.DataInMemory)
		k.add("storage-engine.cold-start-empty", d.ColdStartEmpty)
		if d.WriteBufferFile != "" {
			k.add("storage-engine.write-buffer-file", d.WriteBufferFile)
		}
		if st.RegionFile != "" {
			k.add("storage-engine.region-file", st.RegionFile)
		}
	case "plugin":
		// A third-party plugin's own settings are not shown: they may hold
		// credentials, and this answers any client.
	}
	return k.b.String()
}

// setConfig answers "set-config:context=namespace;id=NS[;set=SET];NAME=VALUE[;...]"
// and "set-config:context=service;NAME=VALUE[;...]": it changes settings of
// the running node, all or none, checked as the config file's are. Changes
// last until the node restarts.
func (s *Server) setConfig(p string) string {
	var ctx, name, set string
	var changes []config.Change
	for _, pair := range strings.Split(p, ";") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		switch k {
		case "context":
			ctx = v
		case "id", "namespace":
			name = v
		case "set":
			set = v
		default:
			changes = append(changes, config.Change{Name: k, Value: v})
		}
	}
	// One change at a time per node: each builds on the one before.
	s.configMu.Lock()
	defer s.configMu.Unlock()
	switch ctx {
	case "namespace":
		ns := s.namespaces[name]
		if ns == nil {
			return infoError(proto.InvalidNamespace, "namespace not found")
		}
		var next *config.Namespace
		var err error
		if set == "" {
			next, err = s.cfg.ChangeNamespace(ns.Config(), changes)
		} else {
			next, err = s.cfg.ChangeSet(ns.Config(), set, changes)
		}
		if err != nil {
			return infoError(proto.ParameterError, err.Error())
		}
		ns.SetConfig(next)
		s.log.Info("namespace settings changed by set-config", "namespace", name, "set", set, "changes", changeList(changes))
	case "service":
		next, err := s.cfg.ChangeService(s.service(), changes)
		if err != nil {
			return infoError(proto.ParameterError, err.Error())
		}
		s.protoFdMax.Store(int64(next.ProtoFdMax))
		s.log.Info("service settings changed by set-config", "changes", changeList(changes))
	case "network", "mod-udf":
		return infoError(proto.ParameterError, "no "+ctx+" setting changes while the node runs: change the config file and restart")
	default:
		return infoError(proto.ParameterError, "unknown context "+strconv.Quote(ctx)+": want namespace or service")
	}
	return "ok"
}

// changeList writes changes as the command had them, for the log.
func changeList(changes []config.Change) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = c.Name + "=" + c.Value
	}
	return strings.Join(parts, ";")
}
