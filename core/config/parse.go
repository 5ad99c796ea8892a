package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Supported settings (the README has the same as a table, with defaults).
// Anything else is an error, except the settings and blocks noted as
// ignored.
//
//	service {
//	    cluster-name NAME         # at most 63 bytes
//	    node-id HEX               # 1-16 hex digits, not zero
//	    proto-fd-max N            # 1 and up
//	    proto-max-size SIZE       # Skiff; 1K and up
//	    work-directory DIR        # absolute; system metadata is kept under it
//	    pidfile PATH              # absolute; holds the process id while it runs
//	    feature-key-file PATH     # ignored, with a warning
//	    user NAME ...             # Aerospike's threads, cluster, logs
//	                              # (serviceIgnored): checked, ignored with a warning
//	}
//	logging {
//	    console { context CONTEXT LEVEL }
//	    file PATH { context CONTEXT LEVEL }
//	}
//	network {
//	    service { address ADDR  port 1-65535
//	              tls-address ADDR  tls-port 1-65535  tls-name NAME
//	              tls-authenticate-client any|false|NAME... }  # repeatable
//	    tls NAME { cert-file PATH  key-file PATH  ca-file PATH }  # repeatable
//	    admin { address ADDR  port 0-65535 }  # Skiff; port 0 disables it
//	    heartbeat { ... }          # ignored, with a warning
//	    fabric { ... }             # ignored, with a warning
//	    info { ... }               # ignored, with a warning
//	}
//	namespace NAME {              # 1-31 bytes, no ':' or ';'; 1 to 32 namespaces
//	    default-ttl DURATION      # up to 3650D
//	    nsup-period DURATION      # up to 1D
//	    allow-ttl-without-nsup BOOL
//	    max-record-size SIZE      # 1K to 128M, at most data-size and proto-max-size
//	    replication-factor N      # 1-256, accepted; one node keeps one copy
//	    background-query-max-rps N   # 1-1000000, default 10000
//	    evict-used-pct N          # 0-100; here or, as Aerospike 7 has them,
//	    stop-writes-used-pct N    # in the storage-engine block
//	    stop-writes-avail-pct N   # (default 5)
//	    stop-writes-sys-memory-pct N  # 0-100, default 90
//	    evict-tenths-pct N        # 0-1000: each eviction pass's most records
//	    index-type dram|shmem     # shmem: dram in a region-file, by default
//	                              # /dev/shm/skiff/NAME.region
//	    index-type flash { mount DIR  mounts-budget SIZE }  # device only
//	    rack-id N ...             # cluster settings (clusterSettings): checked,
//	                              # ignored with a warning
//	    strong-consistency false
//	    set NAME {                # 1-63 bytes, no ':' or ';'; repeatable
//	        disable-eviction BOOL # eviction leaves the set's records
//	    }
//	    storage-engine memory {    # or just "storage-engine memory"
//	        data-size SIZE        # 1M and up
//	        region-file PATH      # absolute, on a tmpfs: records survive node restarts
//	        snapshot-file PATH    # absolute: a clean stop saves the records there
//	        mode process|in-process
//	        path PATH             # the plugin binary
//	    }
//	    storage-engine device {
//	        device PATH           # repeatable; or file PATH, with filesize
//	        write-buffer-file PATH  # absolute, on a tmpfs: writes survive crashes
//	        region-file PATH      # absolute, on a tmpfs: so do the index and the
//	                              # write buffers, taken over at the next start
//	        ...                   # the other device settings (README)
//	    }
//	    storage-engine memory {    # Aerospike 7's memory backed by files: read as
//	        file PATH             # storage-engine device { ... data-in-memory true },
//	        filesize SIZE         # whose settings it takes
//	    }
//	    storage-engine plugin {
//	        path PATH             # the plugin binary
//	        NAME VALUE            # any other setting, passed to the plugin
//	    }
//	}
//	mod-udf {                     # Skiff: WebAssembly UDFs
//	    user-path DIR             # absolute; modules are stored and loaded here
//	    max-module-size SIZE      # 1K to 1G
//	    max-memory SIZE           # per instance, 1M to 4G
//	    max-call-ms N             # 1 to 3600000
//	    instances-per-module N    # most instances of a module, 1-4096
//	}
//	mod-lua { ... }               # ignored, with a warning
//	xdr {                         # Skiff: replication over NATS JetStream
//	    dc NAME {                 # 1-31 letters, digits, '_' or '-'; repeatable
//	        nats-url URL          # repeatable; at least one
//	        mode process|in-process
//	        path PATH             # the transport's plugin binary
//	        NAME VALUE            # other settings, passed to the transport
//	        namespace NAME {      # a configured namespace; repeatable
//	            ship-only-specified-sets BOOL
//	            ship-set SET      # repeatable
//	            ignore-set SET    # repeatable
//	            bin-policy all|only-changed
//	            conflict-resolution last-update-time|generation
//	            transaction-queue-limit N   # 1024-1048576
//	        }
//	    }
//	}
//
// LEVEL is critical, warning, info, debug or detail. Any CONTEXT name is
// accepted, but only "any" sets the sink's level: Skiff logs without
// Aerospike's per-module contexts. ADDR is an IP address or "any".
// DURATION is seconds, or a number with an S, M, H or D suffix (30D). SIZE
// is bytes, or a number with a K, M, G, T or P suffix, 1024-based (4G).
// BOOL is true, false, yes or no.

// Limits of the settings, most of them Aerospike's.
const (
	maxNamespaces         = 32
	maxNamespaceName      = 31
	maxClusterName        = 63
	maxDefaultTTL         = 10 * 365 * 86400 // seconds: ten years
	maxNsupPeriod         = 86400            // seconds: one day
	minProtoMaxSize       = 1 << 10
	minDataSize           = 1 << 20
	minMaxRecordSize      = 1 << 10
	maxMaxRecordSize      = 128 << 20
	maxReplicationFactor  = 256
	maxBackgroundQueryRPS = 1000000
)

// shmemDir holds the region files of namespaces with index-type shmem and
// no region-file.
const shmemDir = "/dev/shm/skiff"

//go:embed default.conf
var defaultText []byte

// DefaultText returns the text of the default configuration, the one
// Default parses. The caller may modify the returned slice.
func DefaultText() []byte { return bytes.Clone(defaultText) }

// Default returns the default configuration: one namespace "test" in
// memory, clients on 127.0.0.1:3000, the admin port on 127.0.0.1:9145.
func Default() *Config {
	c, err := Parse("default.conf", defaultText)
	if err != nil {
		panic("config: the embedded default.conf is broken: " + err.Error())
	}
	return c
}

// Load reads and parses the configuration file at path. Its errors name
// the path.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	return Parse(path, src)
}

// Parse reads a configuration in the aerospike.conf dialect; name is the
// file name its messages start with. Settings the text leaves out take their
// defaults, and blocks it accepts but ignores are listed in
// Config.Warnings. The error, if any, is the first problem found in the
// file, as "NAME:LINE: message".
func Parse(name string, src []byte) (*Config, error) {
	root, err := parseItems(name, src)
	if err != nil {
		return nil, err
	}
	p := &parser{file: name, cfg: &Config{
		Service: Service{ProtoFdMax: 15000, ProtoMaxSize: 128 << 20, WorkDirectory: DefaultWorkDirectory},
		Network: Network{
			Service: Endpoint{Address: "127.0.0.1", Port: 3000},
			Admin:   Endpoint{Address: "127.0.0.1", Port: 9145},
		},
		// Aerospike's default when there is no logging block; a logging
		// block replaces it with exactly the sinks it lists.
		Logging: []LogSink{{Level: "info"}},
		UDF: UDF{
			UserPath:           "/var/lib/skiff/udf",
			MaxModuleSize:      16 << 20,
			MaxMemory:          64 << 20,
			MaxCallTime:        100 * time.Millisecond,
			InstancesPerModule: 16,
		},
	}}
	if err := p.top(root); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

// parser gives meaning to the items of one file. Each method reads one
// kind of block into cfg; where, in their arguments, is the path of the
// block for messages: "network service", "namespace test".
type parser struct {
	file        string
	cfg         *Config
	networkLine int // of the network block, for the port clash message
	tlsLine     int // of network service's tls-port
}

func (p *parser) top(root *item) error {
	err := p.each(root, "", func(it *item) error {
		switch it.name {
		case "service":
			return p.service(it)
		case "logging":
			return p.logging(it)
		case "network":
			return p.network(it)
		case "namespace":
			return p.namespace(it)
		case "mod-udf":
			return p.modUDF(it)
		case "xdr":
			return p.xdr(it)
		case "mod-lua":
			p.cfg.Warnings = append(p.cfg.Warnings, fmt.Sprintf("%s:%d: mod-lua ignored: Skiff runs WebAssembly UDFs, configured in mod-udf", p.file, it.line))
			return nil
		case "security":
			// Not ignored: a file that asks for access control must not
			// start a node that enforces none.
			return p.errorf(it.line, "security block: Skiff has no users, roles or access control: it accepts every client (with or without credentials); keep it reachable only from its pod or host, and use TLS (network tls)")
		}
		return p.unknown(it, "")
	})
	if err != nil {
		return err
	}
	return p.crossCheck(root.line)
}

func (p *parser) service(b *item) error {
	if err := p.open(b, "", ""); err != nil {
		return err
	}
	const where = "service"
	return p.each(b, where, func(it *item) error { return p.serviceSetting(it, where, &p.cfg.Service) })
}

// serviceSetting reads one item of the service block into s.
func (p *parser) serviceSetting(it *item, where string, s *Service) (err error) {
	switch it.name {
	case "cluster-name":
		s.ClusterName, err = p.value(it, where)
		if err == nil && len(s.ClusterName) > maxClusterName {
			err = p.bad(it, where, fmt.Sprintf("at most %d bytes", maxClusterName))
		}
	case "node-id":
		s.NodeID, err = p.value(it, where)
		if err == nil && !validNodeID(s.NodeID) {
			err = p.bad(it, where, "1 to 16 hex digits, not all zero")
		}
	case "proto-fd-max":
		s.ProtoFdMax, err = p.intValue(it, where, 1, math.MaxInt32)
	case "proto-max-size":
		s.ProtoMaxSize, err = p.sizeValue(it, where, minProtoMaxSize, 0)
	case "work-directory":
		s.WorkDirectory, err = p.value(it, where)
		if err == nil && !filepath.IsAbs(s.WorkDirectory) {
			err = p.bad(it, where, "an absolute path")
		}
	case "feature-key-file":
		// In every file written for Aerospike Enterprise, which does not
		// start without one.
		if _, err = p.value(it, where); err == nil {
			p.cfg.Warnings = append(p.cfg.Warnings, fmt.Sprintf("%s:%d: feature-key-file ignored: Skiff needs no feature key", p.file, it.line))
		}
	case "pidfile":
		s.PidFile, err = p.absPathValue(it, where)
	default:
		err = p.ignore(it, where, serviceIgnored)
	}
	return err
}

func (p *parser) xdr(b *item) error {
	if err := p.open(b, "", ""); err != nil {
		return err
	}
	return p.each(b, "xdr", func(it *item) error {
		if it.name != "dc" {
			return p.unknown(it, "xdr")
		}
		return p.dc(it)
	})
}

func (p *parser) dc(b *item) error {
	if err := p.open(b, "xdr", "name"); err != nil {
		return err
	}
	dc := &DC{Name: b.args[0], Mode: ModeProcess, Settings: map[string]string{}, File: p.file, Line: b.line}
	if !validDCName(dc.Name) {
		return p.errorf(b.line, "bad dc name %q: want 1 to 31 letters, digits, '_' or '-'", dc.Name)
	}
	where := "xdr dc " + dc.Name
	err := p.each(b, where, func(it *item) (err error) {
		switch it.name {
		case "nats-url":
			var u string
			if u, err = p.value(it, where); err == nil {
				if !strings.Contains(u, "://") {
					return p.bad(it, where, "a URL such as nats://127.0.0.1:4222")
				}
				dc.URLs = append(dc.URLs, u)
			}
		case "mode":
			dc.Mode, err = p.modeValue(it, where, true)
		case "path":
			dc.Path, err = p.value(it, where)
		case "namespace":
			err = p.xdrNamespace(it, where, dc)
		case "node-address-port", "connector":
			err = p.errorf(it.line, "%s%s: Skiff ships changes through NATS JetStream, not to another node's service port: set nats-url, and run the peer with an xdr dc of its own", it.name, in(where))
		default:
			if it.block {
				return p.unknown(it, where)
			}
			dc.Settings[it.name], err = p.value(it, where)
		}
		return err
	})
	if err != nil {
		return err
	}
	if len(dc.URLs) == 0 {
		return p.errorf(b.line, "%s needs at least one nats-url", where)
	}
	if len(dc.Namespaces) == 0 {
		return p.errorf(b.line, "%s ships no namespace: add a namespace NAME { } block", where)
	}
	p.cfg.XDR = append(p.cfg.XDR, dc)
	return nil
}

func validDCName(s string) bool {
	if s == "" || len(s) > 31 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (p *parser) xdrNamespace(b *item, where string, dc *DC) error {
	if err := p.open(b, where, "name"); err != nil {
		return err
	}
	x := &XDRNamespace{Name: b.args[0], BinPolicy: "all", ConflictResolution: "last-update-time", QueueLimit: 64 << 10, Line: b.line}
	where += " namespace " + x.Name
	err := p.each(b, where, func(it *item) (err error) {
		switch it.name {
		case "ship-only-specified-sets":
			x.ShipOnlySpecifiedSets, err = p.boolValue(it, where)
		case "ship-set", "ignore-set":
			var set string
			if set, err = p.value(it, where); err == nil {
				if it.name == "ship-set" {
					x.ShipSets = append(x.ShipSets, set)
				} else {
					x.IgnoreSets = append(x.IgnoreSets, set)
				}
			}
		case "bin-policy":
			x.BinPolicy, err = p.oneOf(it, where, "all", "only-changed")
		case "conflict-resolution":
			x.ConflictResolution, err = p.oneOf(it, where, "last-update-time", "generation")
		case "transaction-queue-limit":
			x.QueueLimit, err = p.intValue(it, where, 1024, 1<<20)
		default:
			err = p.unknown(it, where)
		}
		return err
	})
	if err != nil {
		return err
	}
	dc.Namespaces = append(dc.Namespaces, x)
	return nil
}

// oneOf reads a setting whose value is one of choices.
func (p *parser) oneOf(it *item, where string, choices ...string) (string, error) {
	v, err := p.value(it, where)
	if err == nil && !slices.Contains(choices, v) {
		err = p.bad(it, where, strings.Join(choices, " or "))
	}
	return v, err
}

func (p *parser) modUDF(b *item) error {
	if err := p.open(b, "", ""); err != nil {
		return err
	}
	const where = "mod-udf"
	u := &p.cfg.UDF
	return p.each(b, where, func(it *item) (err error) {
		switch it.name {
		case "user-path":
			if u.UserPath, err = p.value(it, where); err == nil && !filepath.IsAbs(u.UserPath) {
				err = p.bad(it, where, "an absolute directory path")
			}
		case "max-module-size":
			u.MaxModuleSize, err = p.sizeValue(it, where, 1<<10, 1<<30)
		case "max-memory":
			u.MaxMemory, err = p.sizeValue(it, where, 1<<20, 4<<30)
		case "max-call-ms":
			var ms int
			ms, err = p.intValue(it, where, 1, 3600_000)
			u.MaxCallTime = time.Duration(ms) * time.Millisecond
		case "instances-per-module":
			u.InstancesPerModule, err = p.intValue(it, where, 1, 4096)
		default:
			err = p.unknown(it, where)
		}
		return err
	})
}

var logLevels = []string{"critical", "warning", "info", "debug", "detail"}

func (p *parser) logging(b *item) error {
	if err := p.open(b, "", ""); err != nil {
		return err
	}
	const where = "logging"
	p.cfg.Logging = []LogSink{}
	return p.each(b, where, func(it *item) error {
		switch it.name {
		case "console":
			if err := p.open(it, where, ""); err != nil {
				return err
			}
			return p.sink(it, "")
		case "file":
			if err := p.open(it, where, "path"); err != nil {
				return err
			}
			return p.sink(it, it.args[0])
		}
		return p.unknown(it, where)
	})
}

// sink reads a console or file block. Only "context any" sets the level;
// other contexts are checked and otherwise ignored, so that files written
// for Aerospike load.
func (p *parser) sink(b *item, path string) error {
	where := "logging " + b.header()
	sink := LogSink{Path: path, Level: "critical"}
	err := p.each(b, where, func(it *item) error {
		if it.name != "context" {
			return p.unknown(it, where)
		}
		if it.block || len(it.args) != 2 {
			return p.errorf(it.line, `setting "context"%s takes a context and a level, such as "context any info"`, in(where))
		}
		level := strings.ToLower(it.args[1])
		if !slices.Contains(logLevels, level) {
			return p.errorf(it.line, "bad log level %q%s: want %s", it.args[1], in(where), strings.Join(logLevels, ", "))
		}
		if it.args[0] == "any" {
			sink.Level = level
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.cfg.Logging = append(p.cfg.Logging, sink)
	return nil
}

// ignoredNetwork are the network blocks of every Aerospike file that mean
// nothing to Skiff, with the reason given in the warning.
var ignoredNetwork = map[string]string{
	"heartbeat": "Skiff runs as a single node",
	"fabric":    "Skiff runs as a single node",
	"info":      "Skiff answers info commands on the service port",
}

func (p *parser) network(b *item) error {
	if err := p.open(b, "", ""); err != nil {
		return err
	}
	const where = "network"
	p.networkLine = b.line
	n := &p.cfg.Network
	return p.each(b, where, func(it *item) error {
		switch it.name {
		case "service":
			return p.endpoint(it, &n.Service, &n.ServiceTLS, 1)
		case "admin":
			return p.endpoint(it, &n.Admin, nil, 0)
		case "tls":
			return p.tlsBlock(it)
		}
		reason, ok := ignoredNetwork[it.name]
		if !ok {
			return p.unknown(it, where)
		}
		if err := p.open(it, where, ""); err != nil {
			return err
		}
		p.cfg.Warnings = append(p.cfg.Warnings,
			fmt.Sprintf("%s:%d: network %s block ignored: %s", p.file, it.line, it.name, reason))
		return nil
	})
}

// endpoint reads network service or network admin; minPort is 0 where
// port 0 means disabled. te, for service, takes its TLS settings.
func (p *parser) endpoint(b *item, e *Endpoint, te *TLSEndpoint, minPort int) error {
	if err := p.open(b, "network", ""); err != nil {
		return err
	}
	where := "network " + b.name
	err := p.each(b, where, func(it *item) (err error) {
		if te != nil {
			switch it.name {
			case "tls-address":
				te.Address, err = p.address(it, where)
				return err
			case "tls-port":
				te.Port, err = p.intValue(it, where, 1, 65535)
				p.tlsLine = it.line
				return err
			case "tls-name":
				te.Name, err = p.value(it, where)
				return err
			case "tls-authenticate-client":
				var v string
				if v, err = p.value(it, where); err == nil {
					te.AuthenticateClient = append(te.AuthenticateClient, v)
				}
				return err
			}
		}
		switch it.name {
		case "address":
			e.Address, err = p.address(it, where)
		case "port":
			e.Port, err = p.intValue(it, where, minPort, 65535)
		default:
			if te == nil {
				return p.unknown(it, where)
			}
			err = p.ignore(it, where, accessSettings)
		}
		return err
	})
	return err
}

// Reasons shared by several ignored settings.
const (
	noPeers     = "a single node advertises no peers: clients reach it at the address they were given"
	goScheduler = "the Go runtime schedules requests on every CPU"
)

// accessSettings are the addresses and ports Aerospike advertises to
// clients as its peers' list, which a single node leaves empty: clients
// reach it at the address they were given.
var accessSettings = map[string]ignoredSetting{
	"access-address":               {anyValue, noPeers},
	"alternate-access-address":     {anyValue, noPeers},
	"tls-access-address":           {anyValue, noPeers},
	"tls-alternate-access-address": {anyValue, noPeers},
	"access-port":                  {intIn(1, 65535), noPeers},
	"alternate-access-port":        {intIn(1, 65535), noPeers},
	"tls-access-port":              {intIn(1, 65535), noPeers},
	"tls-alternate-access-port":    {intIn(1, 65535), noPeers},
}

// serviceIgnored are service settings of Aerospike's that concern its
// threads, a cluster or its own logs, accepted, checked and ignored with a
// warning.
var serviceIgnored = map[string]ignoredSetting{
	"user":                          {anyValue, "Skiff runs as the user that starts it: set the user in the service manager (systemd User=, a pod's securityContext)"},
	"group":                         {anyValue, "Skiff runs as the group that starts it: set it in the service manager"},
	"paxos-single-replica-limit":    {intIn(0, 256), "a single node has no cluster"},
	"min-cluster-size":              {intIn(1, 256), "a single node has no cluster"},
	"service-threads":               {intIn(1, 4096), goScheduler},
	"transaction-queues":            {intIn(1, 4096), goScheduler},
	"transaction-threads-per-queue": {intIn(1, 4096), goScheduler},
	"batch-index-threads":           {intIn(1, 4096), goScheduler},
	"batch-max-buffers-per-queue":   {intIn(0, math.MaxInt32), "batch replies are written as they are built"},
	"batch-max-unused-buffers":      {intIn(0, math.MaxInt32), "batch replies are written as they are built"},
	"info-threads":                  {intIn(1, 4096), goScheduler},
	"query-threads-limit":           {intIn(1, 4096), goScheduler},
	"migrate-threads":               {intIn(0, 4096), "a single node has no migrations"},
	"migrate-max-num-incoming":      {intIn(0, 4096), "a single node has no migrations"},
	"proto-fd-idle-ms":              {intIn(0, math.MaxInt32), "idle client connections stay open until the client closes them"},
	"log-local-time":                {isBool, "log times are in UTC"},
	"log-millis":                    {isBool, "log times carry milliseconds"},
	"microsecond-histograms":        {isBool, "latencies are kept in microseconds"},
	"enable-health-check":           {isBool, "Skiff has /healthz and /readyz on the admin port"},
	"enable-benchmarks-fabric":      {isBool, "a single node has no fabric"},
	"keep-caps-ssd-health":          {isBool, "Skiff reads no SSD health"},
	"advertise-ipv6":                {isBool, "a single node advertises no peers"},
	"auto-pin":                      {oneOf("none", "cpu", "numa", "adq"), goScheduler},
	"node-id-interface":             {anyValue, "set node-id, or let Skiff derive it from the service address"},
	"ticker-interval":               {intIn(0, math.MaxInt32), "statistics are in /metrics and the statistics info command"},
}

func anyValue(p *parser, it *item, where string) error {
	_, err := p.value(it, where)
	return err
}

// tlsBlock reads a network tls NAME { } block.
func (p *parser) tlsBlock(b *item) error {
	if err := p.open(b, "network", "name"); err != nil {
		return err
	}
	name := b.args[0]
	where := "network tls " + name
	t := TLS{Line: b.line}
	err := p.each(b, where, func(it *item) (err error) {
		switch it.name {
		case "cert-file":
			t.CertFile, err = p.value(it, where)
		case "key-file":
			t.KeyFile, err = p.value(it, where)
		case "ca-file":
			t.CAFile, err = p.value(it, where)
		default:
			err = p.unknown(it, where)
		}
		return err
	})
	switch {
	case err != nil:
		return err
	case t.CertFile == "" || t.KeyFile == "":
		return p.errorf(b.line, "%s needs a cert-file and a key-file", where)
	}
	if p.cfg.Network.TLS == nil {
		p.cfg.Network.TLS = map[string]TLS{}
	}
	p.cfg.Network.TLS[name] = t
	return nil
}

// checkTLS checks the service's TLS listener against the tls blocks, and
// loads its certificates, so that a bad file fails at start with its line.
func (p *parser) checkTLS() error {
	n := &p.cfg.Network
	te := &n.ServiceTLS
	if te.Port == 0 {
		if te.Name != "" || len(te.AuthenticateClient) > 0 {
			return p.errorf(p.networkLine, "network service: tls-name and tls-authenticate-client need a tls-port")
		}
		return nil
	}
	if te.Address == "" {
		te.Address = n.Service.Address
	}
	t, ok := n.TLS[te.Name]
	switch {
	case te.Name == "":
		return p.errorf(p.tlsLine, "network service: tls-port needs a tls-name naming a network tls block")
	case !ok:
		return p.errorf(p.tlsLine, "network service: tls-name %s: no network tls %s block", te.Name, te.Name)
	case clash(Endpoint{te.Address, te.Port}, n.Service) || clash(Endpoint{te.Address, te.Port}, n.Admin):
		return p.errorf(p.tlsLine, "network service: tls-port %d is the service's or the admin's port too", te.Port)
	}
	if len(te.AuthenticateClient) == 0 {
		te.AuthenticateClient = []string{AuthAny}
	}
	for _, a := range te.AuthenticateClient {
		if (a == AuthAny || a == AuthNone) && len(te.AuthenticateClient) > 1 {
			return p.errorf(p.tlsLine, "network service: tls-authenticate-client %s stands alone, without names", a)
		}
	}
	if _, err := t.ServerConfig(te.AuthenticateClient); err != nil {
		return p.errorf(t.Line, "network tls %s: %v", te.Name, err)
	}
	return nil
}

// address reads an IP address, or "any" for all of them.
func (p *parser) address(it *item, where string) (string, error) {
	v, err := p.value(it, where)
	switch {
	case err != nil:
		return "", err
	case v == "any":
		return "0.0.0.0", nil
	}
	if _, err := netip.ParseAddr(v); err != nil {
		return "", p.bad(it, where, "an IP address or any")
	}
	return v, nil
}

func (p *parser) namespace(b *item) error {
	if err := p.open(b, "", "name"); err != nil {
		return err
	}
	name := b.args[0]
	if !validName(name, maxNamespaceName) {
		return p.errorf(b.line, "bad namespace name %q: want at most %d bytes, without ':' or ';'", name, maxNamespaceName)
	}
	if len(p.cfg.Namespaces) == maxNamespaces {
		return p.errorf(b.line, "namespace %q is one too many: at most %d namespaces", name, maxNamespaces)
	}
	ns := &Namespace{
		Name:              name,
		NsupPeriod:        120 * time.Second,
		MaxRecordSize:     1 << 20,
		ReplicationFactor: 1,
		Storage:           StorageEngine{Type: "memory", DataSize: 4 << 30, Mode: ModeProcess},
		StopWritesUsedPct: 90,
		// Aerospike's default: room is kept for defragmentation.
		StopWritesAvailPct: 5,
		// Aerospike's default: stop before the kernel kills the node.
		StopWritesSysMemoryPct: 90,
		// Aerospike's default: a background job leaves room for the
		// foreground.
		BackgroundQueryMaxRPS: 10000,
		// Aerospike's default is a day; Skiff's sweep reads only the
		// index, so it can run every minute.
		TombRaiderPeriod: time.Minute,
		IndexType:        "dram",
		File:             p.file,
		Line:             b.line,
	}
	where := "namespace " + name
	if err := p.each(b, where, func(it *item) error { return p.namespaceSetting(it, where, ns) }); err != nil {
		return err
	}
	if ns.IndexType == "shmem" && ns.Storage.RegionFile == "" {
		// Aerospike Enterprise's default: the index in shared memory, which
		// outlives the process. Here that is a region file on /dev/shm.
		ns.Storage.RegionFile = filepath.Join(shmemDir, name+".region")
	}
	if err := ns.conflicts(); err != nil {
		return p.errorf(b.line, "%v", err)
	}
	for _, other := range p.cfg.Namespaces {
		if f := ns.Storage.RegionFile; f != "" && f == other.Storage.RegionFile {
			return p.errorf(b.line, "namespace %s: region-file %s is namespace %s's too (line %d)", name, f, other.Name, other.Line)
		}
		if f := ns.Storage.SnapshotFile; f != "" && f == other.Storage.SnapshotFile {
			return p.errorf(b.line, "namespace %s: snapshot-file %s is namespace %s's too (line %d)", name, f, other.Name, other.Line)
		}
		if f := ns.Storage.Device.WriteBufferFile; f != "" && f == other.Storage.Device.WriteBufferFile {
			return p.errorf(b.line, "namespace %s: write-buffer-file %s is namespace %s's too (line %d)", name, f, other.Name, other.Line)
		}
	}
	p.cfg.Namespaces = append(p.cfg.Namespaces, ns)
	return nil
}

// namespaceSetting reads one item of a namespace block into ns.
func (p *parser) namespaceSetting(it *item, where string, ns *Namespace) (err error) {
	switch it.name {
	case "default-ttl":
		ns.DefaultTTL, err = p.secondsValue(it, where, maxDefaultTTL)
	case "nsup-period":
		ns.NsupPeriod, err = p.secondsValue(it, where, maxNsupPeriod)
	case "allow-ttl-without-nsup":
		ns.AllowTTLWithoutNsup, err = p.boolValue(it, where)
	case "max-record-size":
		ns.MaxRecordSize, err = p.sizeValue(it, where, minMaxRecordSize, maxMaxRecordSize)
	case "replication-factor":
		ns.ReplicationFactor, err = p.intValue(it, where, 1, maxReplicationFactor)
	case "storage-engine":
		err = p.storage(it, where, ns)
	case "evict-used-pct", "stop-writes-used-pct", "stop-writes-avail-pct":
		_, err = p.storageLimit(it, where, ns)
	case "stop-writes-sys-memory-pct":
		ns.StopWritesSysMemoryPct, err = p.intValue(it, where, 0, 100)
	case "background-query-max-rps":
		ns.BackgroundQueryMaxRPS, err = p.intValue(it, where, 1, maxBackgroundQueryRPS)
	case "evict-tenths-pct":
		ns.EvictTenthsPct, err = p.intValue(it, where, 0, 1000)
	case "tomb-raider-period":
		ns.TombRaiderPeriod, err = p.secondsValue(it, where, maxNsupPeriod)
		if err == nil && ns.TombRaiderPeriod < time.Second {
			err = p.bad(it, where, "at least 1 second")
		}
	case "index-type":
		err = p.indexType(it, where, ns)
	case "set":
		err = p.set(it, where, ns)
	case "memory-size":
		// The most common line in files written for Aerospike 6 and older.
		err = p.errorf(it.line, `unknown setting "memory-size"%s: write "storage-engine memory { data-size %s }" instead`,
			in(where), strings.Join(it.args, " "))
	case "high-water-memory-pct", "high-water-disk-pct", "stop-writes-pct":
		err = p.errorf(it.line, `unknown setting %q%s (Aerospike 6): write "%s %s", Aerospike 7's share of the storage in use`,
			it.name, in(where), aerospike7Limits[it.name], strings.Join(it.args, " "))
	case "single-bin", "data-in-index":
		var on bool
		if on, err = p.boolValue(it, where); err == nil && on {
			err = p.errorf(it.line, "%s true%s is not supported (Aerospike 7 removed it too): records keep named bins", it.name, in(where))
		}
	case "default-read-touch-ttl-pct":
		ns.DefaultReadTouchTTLPct, err = p.intValue(it, where, 0, 100)
	case "disallow-null-setname":
		ns.DisallowNullSetname, err = p.boolValue(it, where)
	case "strong-consistency":
		var sc bool
		if sc, err = p.boolValue(it, where); err == nil && sc {
			err = p.errorf(it.line, "strong-consistency true%s is not supported: a single node keeps one copy, in Aerospike's available (AP) mode", in(where))
		}
	default:
		err = p.ignore(it, where, clusterSettings)
	}
	return err
}

// aerospike7Limits are Aerospike 7's names for Aerospike 6's thresholds,
// which were shares of memory-size or of the devices.
var aerospike7Limits = map[string]string{
	"high-water-memory-pct": "evict-used-pct",
	"high-water-disk-pct":   "evict-used-pct",
	"stop-writes-pct":       "stop-writes-used-pct",
}

// ignoredSetting is a setting of Aerospike's that Skiff accepts, checks
// and ignores with a warning, and why.
type ignoredSetting struct {
	check func(p *parser, it *item, where string) error
	why   string
}

// ignore checks it against its entry in ignored and warns that it is
// ignored; a setting not in ignored is unknown.
func (p *parser) ignore(it *item, where string, ignored map[string]ignoredSetting) error {
	ig, ok := ignored[it.name]
	if !ok {
		return p.unknown(it, where)
	}
	if err := ig.check(p, it, where); err != nil {
		return err
	}
	p.cfg.Warnings = append(p.cfg.Warnings, fmt.Sprintf("%s:%d: %s%s ignored: %s", p.file, it.line, it.name, in(where), ig.why))
	return nil
}

// clusterSettings are namespace settings of Aerospike's that concern a
// cluster (racks, migrations, replicas) or Aerospike's own internals,
// which a single node accepts, checked, and ignores with a warning, so
// that files written for Aerospike load.
var clusterSettings = map[string]ignoredSetting{
	"rack-id":                         {intIn(0, 1000000), "a single node has no racks"},
	"prefer-uniform-balance":          {isBool, "a single node holds every partition"},
	"migrate-order":                   {intIn(1, 10), "a single node has no migrations"},
	"migrate-retransmit-ms":           {intIn(0, math.MaxInt32), "a single node has no migrations"},
	"migrate-sleep":                   {intIn(0, math.MaxInt32), "a single node has no migrations"},
	"conflict-resolution-policy":      {oneOf("generation", "last-update-time"), "one copy has no replicas to reconcile (XDR's is set in its namespace block)"},
	"write-commit-level-override":     {oneOf("all", "master", "off"), "a write commits on the one copy"},
	"read-consistency-level-override": {oneOf("all", "one", "off"), "a read consults the one copy"},
	"partition-tree-sprigs":           {intIn(16, 1<<28), "Skiff's index has no sprigs"},
	"sindex-type":                     {oneOf("shmem"), "secondary indexes live in the node's memory and are rebuilt at start"},
	"enable-benchmarks-read":          {isBool, "latencies are in the latencies info command and /metrics"},
	"enable-benchmarks-write":         {isBool, "latencies are in the latencies info command and /metrics"},
	"enable-benchmarks-udf":           {isBool, "latencies are in the latencies info command and /metrics"},
	"enable-benchmarks-batch-sub":     {isBool, "latencies are in the latencies info command and /metrics"},
	"enable-benchmarks-ops-sub":       {isBool, "latencies are in the latencies info command and /metrics"},
	"enable-benchmarks-udf-sub":       {isBool, "latencies are in the latencies info command and /metrics"},
	"enable-benchmarks-storage":       {isBool, "latencies are in the latencies info command and /metrics"},
	"tomb-raider-eligible-age":        {intIn(0, math.MaxInt32), "a tombstone is dropped once no older copy of its record is left on the devices"},
	"disable-cold-start-eviction":     {isBool, "cold start evicts nothing: eviction starts with nsup"},
	"cold-start-evict-ttl":            {intIn(0, math.MaxInt32), "cold start evicts nothing: eviction starts with nsup"},
	"index-stage-size":                {sizeIn(128<<20, 16<<30), "the index grows its tables as records come"},
	"sindex-stage-size":               {sizeIn(128<<20, 4<<30), "secondary indexes grow as entries come"},
	"nsup-hist-period":                {intIn(0, math.MaxInt32), "Skiff keeps no TTL histograms"},
	"nsup-threads":                    {intIn(1, 128), "nsup runs on one goroutine a namespace"},
	"evict-hist-buckets":              {intIn(100, 10000000), "eviction sorts by void time directly"},
	"single-query-threads":            {intIn(1, 128), "a query's partitions are read by a fixed pool"},
	"inline-short-queries":            {isBool, "queries run on their connection's goroutine"},
	"disable-write-dup-res":           {isBool, "one copy has nothing to resolve"},
	"ignore-migrate-fill-delay":       {isBool, "a single node has no migrations"},
	"transaction-pending-limit":       {intIn(0, math.MaxInt32), "writes to one record wait their turn on its lock"},
	"disallow-expunge":                {isBool, "it concerns strong consistency"},
	"xdr-tomb-raider-period":          {intIn(0, math.MaxInt32), "XDR over NATS leaves no bin tombstones"},
	"xdr-tomb-raider-threads":         {intIn(1, 128), "XDR over NATS leaves no bin tombstones"},
	"xdr-bin-tombstone-ttl":           {intIn(0, math.MaxInt32), "XDR over NATS leaves no bin tombstones"},
}

// deviceIgnored are settings of Aerospike's storage-engine device block
// that concern its own implementation, accepted, checked and ignored with
// a warning.
var deviceIgnored = map[string]ignoredSetting{
	"disable-odsync":             {isBool, "Skiff never opens devices with O_DSYNC: commit-to-device syncs after each write"},
	"scheduler-mode":             {oneOf("anticipatory", "cfq", "deadline", "noop", "none", "mq-deadline", "kyber", "bfq"), "set a device's I/O scheduler in /sys/block/DEVICE/queue/scheduler"},
	"tomb-raider-sleep":          {intIn(0, math.MaxInt32), "the tomb raider reads the index, not the devices"},
	"serialize-tomb-raider":      {isBool, "the tomb raider reads the index, not the devices"},
	"commit-min-size":            {sizeIn(0, 8<<20), "a partial write starts at the page where the last one stopped"},
	"defrag-queue-min":           {intIn(0, math.MaxInt32), "blocks are defragmented as they fall under defrag-lwm-pct"},
	"defrag-startup-minimum":     {intIn(0, 99), "a start does not wait for defragmentation, which runs alongside requests; writes are refused below stop-writes-avail-pct"},
	"cache-replica-writes":       {isBool, "a single node has no replicas"},
	"sindex-startup-device-scan": {isBool, "secondary indexes are rebuilt from the index at start"},
	"enable-benchmarks-storage":  {isBool, "latencies are in the latencies info command and /metrics"},
	"compression-acceleration":   {intIn(1, 65537), "lz4 runs at its one speed"},
}

func intIn(lo, hi int) func(p *parser, it *item, where string) error {
	return func(p *parser, it *item, where string) error {
		_, err := p.intValue(it, where, lo, hi)
		return err
	}
}

func sizeIn(lo, hi int64) func(p *parser, it *item, where string) error {
	return func(p *parser, it *item, where string) error {
		_, err := p.sizeValue(it, where, lo, hi)
		return err
	}
}

func isBool(p *parser, it *item, where string) error {
	_, err := p.boolValue(it, where)
	return err
}

func oneOf(choices ...string) func(p *parser, it *item, where string) error {
	return func(p *parser, it *item, where string) error {
		_, err := p.oneOf(it, where, choices...)
		return err
	}
}

// maxSetName is the longest set name, as in Aerospike.
const maxSetName = 63

// set reads a "set NAME { ... }" block of a namespace.
func (p *parser) set(b *item, where string, ns *Namespace) error {
	if err := p.open(b, where, "name"); err != nil {
		return err
	}
	name := b.args[0]
	if !validName(name, maxSetName) {
		return p.errorf(b.line, "bad set name %q%s: want at most %d bytes, without ':' or ';'", name, in(where), maxSetName)
	}
	where += " set " + name
	var st SetSettings
	err := p.each(b, where, func(it *item) error { return p.setSetting(it, where, &st) })
	if err != nil {
		return err
	}
	ns.Sets = withSet(ns.Sets, name, st)
	return nil
}

// validName reports whether name may name a namespace or a set: 1 to max
// bytes, without the ':' and ';' that separate info commands' fields, or
// control characters.
func validName(name string, max int) bool {
	return name != "" && len(name) <= max && !strings.ContainsFunc(name, func(r rune) bool {
		return r == ':' || r == ';' || unicode.IsControl(r)
	})
}

// withSet returns a copy of sets with name's settings st: a Namespace's
// Sets map is replaced, never modified, since set-config shares it
// between the versions of a namespace's configuration.
func withSet(sets map[string]SetSettings, name string, st SetSettings) map[string]SetSettings {
	out := make(map[string]SetSettings, len(sets)+1)
	maps.Copy(out, sets)
	out[name] = st
	return out
}

// setSetting reads one item of a set block into st.
func (p *parser) setSetting(it *item, where string, st *SetSettings) (err error) {
	switch it.name {
	case "disable-eviction":
		st.DisableEviction, err = p.boolValue(it, where)
	case "stop-writes-count":
		var n int
		n, err = p.intValue(it, where, 0, math.MaxInt)
		st.StopWritesCount = int64(n)
	case "stop-writes-size":
		st.StopWritesSize, err = p.sizeValue(it, where, 0, 0)
	case "default-read-touch-ttl-pct":
		if len(it.args) == 1 && it.args[0] == "-1" { // never, whatever the namespace's
			st.DefaultReadTouchTTLPct = -1
			break
		}
		st.DefaultReadTouchTTLPct, err = p.intValue(it, where, 0, 100)
	default:
		err = p.unknown(it, where)
	}
	return err
}

// conflicts checks what spans a namespace's settings. Aerospike refuses
// these too: a record that can never fit, and records that would expire
// with nothing to remove them.
func (ns *Namespace) conflicts() error {
	if ns.Storage.Type == "memory" && ns.MaxRecordSize > ns.Storage.DataSize {
		return fmt.Errorf("namespace %s: max-record-size %s exceeds data-size %s", ns.Name,
			formatScaled(ns.MaxRecordSize, sizeUnits), formatScaled(ns.Storage.DataSize, sizeUnits))
	}
	if ns.EvictUsedPct != 0 && ns.StopWritesUsedPct != 0 && ns.EvictUsedPct >= ns.StopWritesUsedPct {
		return fmt.Errorf("namespace %s: evict-used-pct %d must be below stop-writes-used-pct %d", ns.Name, ns.EvictUsedPct, ns.StopWritesUsedPct)
	}
	if ns.IndexType == "flash" && ns.Storage.Type != "device" {
		return fmt.Errorf("namespace %s: index-type flash needs storage-engine device", ns.Name)
	}
	if ns.IndexType != "dram" && strings.Contains(ns.Name, "/") {
		return fmt.Errorf("namespace %s: index-type %s names its index's file after the namespace, which cannot hold '/'", ns.Name, ns.IndexType)
	}
	if ns.IndexType == "shmem" && ns.Storage.Type != "memory" && ns.Storage.Type != "device" {
		return fmt.Errorf("namespace %s: index-type shmem needs storage-engine memory or device", ns.Name)
	}
	if ns.IndexType == "shmem" && ns.Storage.Device.WriteBufferFile != "" {
		return fmt.Errorf("namespace %s: index-type shmem keeps the write buffers in its region-file %s: not with write-buffer-file", ns.Name, ns.Storage.RegionFile)
	}
	if ns.IndexType == "flash" && ns.Storage.RegionFile != "" {
		return fmt.Errorf("namespace %s: region-file holds an index in DRAM: not with index-type flash", ns.Name)
	}
	if ns.DefaultTTL != 0 && ns.NsupPeriod == 0 && !ns.AllowTTLWithoutNsup {
		return fmt.Errorf("namespace %s: default-ttl %s needs a non-zero nsup-period or allow-ttl-without-nsup true", ns.Name,
			formatScaled(int64(ns.DefaultTTL/time.Second), secondUnits))
	}
	return nil
}

// storage reads "storage-engine memory { ... }", or "storage-engine memory"
// alone, as Aerospike 6 files have it, which keeps the defaults.
func (p *parser) storage(b *item, where string, ns *Namespace) error {
	st := &ns.Storage
	switch {
	case len(b.args) == 0:
		return p.errorf(b.line, `"storage-engine"%s needs a type, such as "storage-engine memory"`, in(where))
	case len(b.args) > 1:
		return p.errorf(b.line, `"storage-engine"%s takes one type, got extra %q`, in(where), b.args[1])
	case b.args[0] == "device":
		return p.deviceStorage(b, where, "storage-engine device", ns)
	case b.args[0] == "plugin":
		return p.pluginStorage(b, where+" storage-engine plugin", st)
	case b.args[0] != "memory":
		return p.errorf(b.line, "unknown storage-engine type %q%s: want memory, device or plugin", b.args[0], in(where))
	case !b.block:
		return nil
	case slices.ContainsFunc(b.items, func(it *item) bool { return it.name == "file" || it.name == "device" }):
		// Aerospike 7's memory namespace backed by files or devices: every
		// record in memory, every change written through to the files,
		// which a restart reads back. That is the device engine with
		// data-in-memory.
		return p.deviceStorage(b, where, "storage-engine memory", ns)
	}
	where += " storage-engine memory"
	return p.each(b, where, func(it *item) (err error) {
		if ok, err := p.storageLimit(it, where, ns); ok {
			return err
		}
		switch it.name {
		case "data-size":
			st.DataSize, err = p.sizeValue(it, where, minDataSize, 0)
		case "region-file":
			st.RegionFile, err = p.absPathValue(it, where)
		case "snapshot-file":
			st.SnapshotFile, err = p.absPathValue(it, where)
		case "mode":
			st.Mode, err = p.modeValue(it, where, true)
		case "path":
			st.Path, err = p.value(it, where)
		case "filesize":
			err = p.errorf(it.line, "filesize%s: no file to size: add a file (or device) line, for records written through to disk", in(where))
		default:
			err = p.unknown(it, where)
		}
		return err
	})
}

// maxWriteBlocks is the most write blocks max-write-cache may hold, as
// the device backend takes it.
const maxWriteBlocks = 1 << 16

// minDeviceBlocks is the fewest write blocks a data file may hold, its
// header region included; the device backend refuses smaller ones.
const minDeviceBlocks = 17

// deviceStorage reads the device engine's block, engine: "storage-engine
// device", or "storage-engine memory" with files or devices, which is the
// device engine with data-in-memory.
func (p *parser) deviceStorage(b *item, nsWhere, engine string, ns *Namespace) error {
	memory := engine == "storage-engine memory"
	st := &ns.Storage
	*st = StorageEngine{Type: "device", Mode: ModeProcess, Device: Device{
		WriteBlockSize: 1 << 20,
		DirectIO:       true,
		PostWriteQueue: 256,
		Compression:    "none",
		DefragSleepUs:  1000,
		MaxWriteCache:  64 << 20,
		FlushMaxMs:     1000,
		DefragLWMPct:   50,
		DataInMemory:   memory,
	}}
	if !b.block {
		return p.errorf(b.line, "storage-engine device needs a block with at least one device or file")
	}
	where := nsWhere + " " + engine
	d := &st.Device
	// Aerospike 7.1's post-write-cache is in bytes: blocks, once the
	// block size is known.
	var pwc *item
	var pwcBytes int64
	pwqLine, regionLine, mwcLine := 0, 0, 0
	err := p.each(b, where, func(it *item) (err error) {
		if ok, err := p.storageLimit(it, where, ns); ok {
			return err
		}
		if memory {
			switch it.name {
			case "data-in-memory", "data-size", "region-file", "snapshot-file":
				return p.errorf(it.line, "%s%s: not with a file or device, whose records are all in memory and written through to disk", it.name, in(where))
			}
		}
		switch it.name {
		case "device", "file":
			var v string
			if v, err = p.value(it, where); err == nil && strings.Contains(v, ",") {
				// The backend receives its paths as one comma-separated list.
				err = p.bad(it, where, "a path without a comma")
			}
			if it.name == "device" {
				d.Devices = append(d.Devices, v)
			} else {
				d.Files = append(d.Files, v)
			}
		case "filesize":
			d.FileSize, err = p.sizeValue(it, where, minDataSize, 0)
		case "write-block-size":
			d.WriteBlockSize, err = p.sizeValue(it, where, 4<<10, 8<<20)
			if err == nil && d.WriteBlockSize&(d.WriteBlockSize-1) != 0 {
				err = p.bad(it, where, "a power of two from 4K to 8M")
			}
		case "direct-io", "direct-files": // direct-files: Aerospike's, for files
			d.DirectIO, err = p.boolValue(it, where)
		case "read-page-cache":
			d.ReadPageCache, err = p.boolValue(it, where)
		case "post-write-queue":
			d.PostWriteQueue, err = p.intValue(it, where, 0, 8192)
			pwqLine = it.line
		case "post-write-cache":
			pwc = it
			pwcBytes, err = p.sizeValue(it, where, 0, 0)
		case "max-write-cache":
			d.MaxWriteCache, err = p.sizeValue(it, where, 4<<10, 0)
			mwcLine = it.line
		case "flush-size":
			// Aerospike 7.1's unit of partial flushes. Skiff writes a
			// partial block from the page where the previous write
			// stopped, so any flush-size is met; the value is checked.
			var n int64
			if n, err = p.sizeValue(it, where, 4<<10, 8<<20); err == nil && n&(n-1) != 0 {
				err = p.bad(it, where, "a power of two from 4K to 8M")
			}
		case "flush-max-ms":
			d.FlushMaxMs, err = p.intValue(it, where, 1, 60000)
		case "defrag-lwm-pct":
			d.DefragLWMPct, err = p.intValue(it, where, 1, 99)
		case "defrag-sleep":
			d.DefragSleepUs, err = p.intValue(it, where, 0, 1000000)
		case "compression":
			d.Compression, err = p.oneOf(it, where, "none", "lz4", "snappy", "zstd")
		case "compression-level":
			d.CompressionLevel, err = p.intValue(it, where, 1, 9)
		case "encryption-key-file", "encryption-old-key-file", "encryption":
			err = p.errorf(it.line, "%s%s is not supported: Skiff does not encrypt records; put the devices on an encrypted block device (dm-crypt, LUKS)", it.name, in(where))
		case "commit-to-device":
			d.CommitToDevice, err = p.boolValue(it, where)
		case "data-in-memory":
			d.DataInMemory, err = p.boolValue(it, where)
		case "cold-start-empty":
			d.ColdStartEmpty, err = p.boolValue(it, where)
		case "write-buffer-file":
			d.WriteBufferFile, err = p.absPathValue(it, where)
		case "region-file":
			st.RegionFile, err = p.absPathValue(it, where)
			regionLine = it.line
		case "mode":
			st.Mode, err = p.modeValue(it, where, true)
		case "path":
			st.Path, err = p.value(it, where)
		default:
			err = p.ignore(it, where, deviceIgnored)
		}
		return err
	})
	if err != nil {
		return err
	}
	if pwc != nil {
		if pwqLine != 0 {
			return p.errorf(pwc.line, "post-write-cache%s: post-write-queue is set too (line %d): keep one", in(where), pwqLine)
		}
		blocks := (pwcBytes + d.WriteBlockSize - 1) / d.WriteBlockSize
		if blocks > 8192 {
			return p.errorf(pwc.line, "post-write-cache%s: %s is %d write blocks of %s: at most 8192", in(where),
				formatScaled(pwcBytes, sizeUnits), blocks, formatScaled(d.WriteBlockSize, sizeUnits))
		}
		d.PostWriteQueue = int(blocks)
	}
	if blocks := d.MaxWriteCache / d.WriteBlockSize; blocks < 1 || blocks > maxWriteBlocks {
		return p.errorf(mwcLine, "max-write-cache%s: %s is %d write blocks of %s: want 1 to %d", in(where),
			formatScaled(d.MaxWriteCache, sizeUnits), blocks, formatScaled(d.WriteBlockSize, sizeUnits), maxWriteBlocks)
	}
	switch {
	case st.RegionFile != "" && d.WriteBufferFile != "":
		return p.errorf(regionLine, "region-file%s holds the write buffers too: not with write-buffer-file", in(where))
	case len(d.Devices) == 0 && len(d.Files) == 0:
		return p.errorf(b.line, "%s%s needs at least one device or file", engine, in(nsWhere))
	case len(d.Files) > 0 && d.FileSize == 0:
		return p.errorf(b.line, "%s%s: files need a filesize", engine, in(nsWhere))
	case len(d.Files) > 0 && d.FileSize%d.WriteBlockSize != 0:
		return p.errorf(b.line, "%s%s: filesize %s is not a multiple of write-block-size %s", engine, in(nsWhere),
			formatScaled(d.FileSize, sizeUnits), formatScaled(d.WriteBlockSize, sizeUnits))
	case len(d.Files) > 0 && d.FileSize < minDeviceBlocks*d.WriteBlockSize:
		// One write block of header region, and enough blocks for
		// writing and defragmentation to make progress.
		return p.errorf(b.line, "%s%s: filesize %s holds fewer than %d write blocks of %s", engine, in(nsWhere),
			formatScaled(d.FileSize, sizeUnits), minDeviceBlocks, formatScaled(d.WriteBlockSize, sizeUnits))
	}
	return nil
}

// storageLimit reads evict-used-pct, stop-writes-used-pct or
// stop-writes-avail-pct, which Aerospike 7 puts in the storage-engine block
// and Skiff takes there or in the namespace's (or Aerospike 6's
// max-used-pct and min-avail-pct for the last two), and reports whether it
// was one of them.
func (p *parser) storageLimit(it *item, where string, ns *Namespace) (bool, error) {
	var err error
	switch it.name {
	case "evict-used-pct":
		ns.EvictUsedPct, err = p.intValue(it, where, 0, 100)
	case "stop-writes-used-pct", "max-used-pct": // max-used-pct: Aerospike 6's
		ns.StopWritesUsedPct, err = p.intValue(it, where, 0, 100)
	case "stop-writes-avail-pct", "min-avail-pct": // min-avail-pct: Aerospike 6's
		ns.StopWritesAvailPct, err = p.intValue(it, where, 0, 100)
	default:
		return false, nil
	}
	return true, err
}

// indexType reads "index-type dram", "index-type shmem" or "index-type
// flash { mount DIR mounts-budget SIZE }" (mounts-size-limit before
// Aerospike 7).
func (p *parser) indexType(it *item, where string, ns *Namespace) error {
	switch {
	case len(it.args) != 1:
		return p.errorf(it.line, `"index-type"%s takes one type: dram, shmem or flash`, in(where))
	case (it.args[0] == "dram" || it.args[0] == "shmem") && it.block:
		return p.errorf(it.line, "index-type %s%s takes no block", it.args[0], in(where))
	case it.args[0] == "dram" || it.args[0] == "shmem":
		ns.IndexType = it.args[0]
		return nil
	case it.args[0] != "flash":
		return p.errorf(it.line, "unknown index-type %q%s: want dram, shmem or flash", it.args[0], in(where))
	case !it.block:
		return p.errorf(it.line, "index-type flash%s needs a block with its mount", in(where))
	}
	ns.IndexType = "flash"
	where += " index-type flash"
	err := p.each(it, where, func(s *item) (err error) {
		switch s.name {
		case "mount":
			ns.IndexMount, err = p.value(s, where)
		case "mounts-size-limit", "mounts-budget": // Aerospike 6's name, and 7's
			ns.IndexMountsSizeLimit, err = p.sizeValue(s, where, minDataSize, 0)
		case "evict-mounts-pct", "mounts-high-water-pct":
			return p.errorf(s.line, "%s%s is not supported: records are not evicted for the index's room; writes that need more than mounts-budget fail with SERVER_MEM_ERROR (8)", s.name, in(where))
		default:
			err = p.unknown(s, where)
		}
		return err
	})
	if err == nil && ns.IndexMount == "" {
		err = p.errorf(it.line, "index-type flash%s needs a mount", in(strings.TrimSuffix(where, " index-type flash")))
	}
	return err
}

// pluginStorage reads a third-party backend's block: its binary, and
// settings the node passes on without knowing them.
func (p *parser) pluginStorage(b *item, where string, st *StorageEngine) error {
	*st = StorageEngine{Type: "plugin", Mode: ModeProcess, Settings: map[string]string{}}
	if !b.block {
		return p.errorf(b.line, "storage-engine plugin needs a block with at least its path")
	}
	err := p.each(b, where, func(it *item) (err error) {
		switch it.name {
		case "path":
			st.Path, err = p.value(it, where)
		case "mode":
			st.Mode, err = p.modeValue(it, where, false)
		default:
			if it.block {
				return p.errorf(it.line, "%q%s: a plugin's settings are single values, not blocks", it.name, in(where))
			}
			st.Settings[it.name], err = p.value(it, where)
		}
		return err
	})
	if err != nil {
		return err
	}
	if st.Path == "" {
		return p.errorf(b.line, "storage-engine plugin%s needs a path: the plugin's binary", in(strings.TrimSuffix(where, " storage-engine plugin")))
	}
	return nil
}

// modeValue reads a backend mode; third-party plugins can only run as
// processes.
func (p *parser) modeValue(it *item, where string, inProcessOK bool) (string, error) {
	v, err := p.value(it, where)
	if err != nil {
		return "", err
	}
	switch {
	case v == ModeProcess, v == ModeInProcess && inProcessOK:
		return v, nil
	case v == ModeInProcess:
		return "", p.errorf(it.line, "mode in-process%s: a third-party plugin runs only as a process", in(where))
	}
	return "", p.bad(it, where, "process or in-process")
}

// crossCheck validates what spans blocks; lastLine is the file's last line.
func (p *parser) crossCheck(lastLine int) error {
	c := p.cfg
	if len(c.Namespaces) == 0 {
		return p.errorf(lastLine, "no namespace: at least one namespace block is required")
	}
	for _, ns := range c.Namespaces {
		if ns.MaxRecordSize > c.Service.ProtoMaxSize {
			return p.errorf(ns.Line, "namespace %s: max-record-size %s exceeds service proto-max-size %s", ns.Name,
				formatScaled(ns.MaxRecordSize, sizeUnits), formatScaled(c.Service.ProtoMaxSize, sizeUnits))
		}
	}
	for _, dc := range c.XDR {
		for _, x := range dc.Namespaces {
			if !slices.ContainsFunc(c.Namespaces, func(ns *Namespace) bool { return ns.Name == x.Name }) {
				return p.errorf(x.Line, "xdr dc %s: no namespace %q is configured", dc.Name, x.Name)
			}
		}
	}
	if clash(c.Network.Service, c.Network.Admin) {
		return p.errorf(p.networkLine, "network admin and service both listen on %s port %d",
			c.Network.Admin.Address, c.Network.Admin.Port)
	}
	return p.checkTLS()
}

// clash reports whether admin, if enabled, would listen where service does.
// Addresses are valid by now: defaults or checked by endpoint.
func clash(service, admin Endpoint) bool {
	if admin.Port == 0 || admin.Port != service.Port {
		return false
	}
	s, _ := netip.ParseAddr(service.Address)
	a, _ := netip.ParseAddr(admin.Address)
	return s == a || s.IsUnspecified() || a.IsUnspecified()
}

// repeatable are the items that may appear more than once with another
// first word.
var repeatable = map[string]bool{
	"namespace": true, "file": true, "device": true, "context": true, "set": true,
	"dc": true, "nats-url": true, "ship-set": true, "ignore-set": true,
	"tls": true, "tls-authenticate-client": true,
}

// each calls fn on the items of block b in order, after refusing an item
// that repeats an earlier one. Items are told apart by name, and those
// that may repeat with another first word (namespace NAME, file PATH,
// context NAME) by that word too.
func (p *parser) each(b *item, where string, fn func(*item) error) error {
	first := make(map[string]int)
	for _, it := range b.items {
		key, label := it.name, fmt.Sprintf("%q", it.name)
		if repeatable[it.name] && len(it.args) > 0 {
			key += " " + it.args[0]
			label = fmt.Sprintf("%s %q", it.name, it.args[0])
		}
		if line, dup := first[key]; dup {
			return p.errorf(it.line, "duplicate %s%s (first at line %d)", label, in(where), line)
		}
		first[key] = it.line
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// open checks that it is a block with the words it needs: none when
// argName is empty, else exactly one, described by argName ("path").
func (p *parser) open(it *item, where, argName string) error {
	switch {
	case !it.block:
		return p.errorf(it.line, `%q%s opens a block: put "{" at the end of its line`, it.name, in(where))
	case argName == "" && len(it.args) > 0:
		return p.errorf(it.line, "block %q%s takes no value, got %q", it.name, in(where), it.args[0])
	case argName != "" && len(it.args) == 0:
		return p.errorf(it.line, "block %q%s needs a %s", it.name, in(where), argName)
	case argName != "" && len(it.args) > 1:
		return p.errorf(it.line, "block %q%s takes one %s, got extra %q", it.name, in(where), argName, it.args[1])
	}
	return nil
}

// value returns the one value of setting it.
func (p *parser) value(it *item, where string) (string, error) {
	switch {
	case it.block:
		return "", p.errorf(it.line, "%q%s is a setting, not a block", it.name, in(where))
	case len(it.args) == 0:
		return "", p.errorf(it.line, "setting %q%s has no value", it.name, in(where))
	case len(it.args) > 1:
		return "", p.errorf(it.line, "setting %q%s takes one value, got extra %q", it.name, in(where), it.args[1])
	}
	return it.args[0], nil
}

// absPathValue is the value of setting it, which must be an absolute path.
func (p *parser) absPathValue(it *item, where string) (string, error) {
	v, err := p.value(it, where)
	if err == nil && !filepath.IsAbs(v) {
		err = p.errorf(it.line, "%s%s: %q is not an absolute path", it.name, in(where), v)
	}
	return v, err
}

func (p *parser) intValue(it *item, where string, lo, hi int) (int, error) {
	v, err := p.value(it, where)
	if err != nil {
		return 0, err
	}
	n, ok := parseScaled(v, nil)
	if !ok || n < int64(lo) || n > int64(hi) {
		return 0, p.bad(it, where, fmt.Sprintf("an integer from %d to %d", lo, hi))
	}
	return int(n), nil
}

// sizeValue reads a size from lo up to hi bytes; hi 0 means no limit.
func (p *parser) sizeValue(it *item, where string, lo, hi int64) (int64, error) {
	v, err := p.value(it, where)
	if err != nil {
		return 0, err
	}
	n, ok := parseSize(v)
	if !ok || n < lo || (hi != 0 && n > hi) {
		want := "a size of at least " + formatScaled(lo, sizeUnits)
		if hi != 0 {
			want = "a size from " + formatScaled(lo, sizeUnits) + " to " + formatScaled(hi, sizeUnits)
		}
		return 0, p.bad(it, where, want+", such as 4G or 128K")
	}
	return n, nil
}

// secondsValue reads a duration of at most hi seconds.
func (p *parser) secondsValue(it *item, where string, hi int64) (time.Duration, error) {
	v, err := p.value(it, where)
	if err != nil {
		return 0, err
	}
	n, ok := parseSeconds(v)
	if !ok || n > hi {
		return 0, p.bad(it, where, "seconds up to "+formatScaled(hi, secondUnits)+", such as 120 or 30D")
	}
	return time.Duration(n) * time.Second, nil
}

func (p *parser) boolValue(it *item, where string) (bool, error) {
	v, err := p.value(it, where)
	if err != nil {
		return false, err
	}
	b, ok := parseBool(v)
	if !ok {
		return false, p.bad(it, where, "true or false")
	}
	return b, nil
}

// bad reports a setting whose one value is not what it should be.
func (p *parser) bad(it *item, where, want string) error {
	return p.errorf(it.line, "bad %s %q%s: want %s", it.name, it.args[0], in(where), want)
}

func (p *parser) unknown(it *item, where string) error {
	kind := "setting"
	if it.block {
		kind = "block"
	}
	return p.errorf(it.line, "unknown %s %q%s", kind, it.name, in(where))
}

// errorf reports a problem at line of the file; line 0 is a setting from no
// file (set-config), which has no location.
func (p *parser) errorf(line int, format string, args ...any) error {
	if line == 0 {
		return fmt.Errorf(format, args...)
	}
	return fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...))
}

// in is the " in network service" of a message, or nothing at top level.
func in(where string) string {
	if where == "" {
		return ""
	}
	return " in " + where
}
