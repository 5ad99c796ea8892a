package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// defaults is what Parse returns for a file holding only "namespace test"
// opened on line nsLine of file t.conf.
func defaults(nsLine int) *Config {
	return &Config{
		Service: Service{ProtoFdMax: 15000, ProtoMaxSize: 128 << 20, WorkDirectory: "/var/lib/skiff"},
		Network: Network{
			Service: Endpoint{Address: "127.0.0.1", Port: 3000},
			Admin:   Endpoint{Address: "127.0.0.1", Port: 9145},
		},
		Logging: []LogSink{{Level: "info"}},
		UDF:     UDF{UserPath: "/var/lib/skiff/udf", MaxModuleSize: 16 << 20, MaxMemory: 64 << 20, MaxCallTime: 100 * time.Millisecond, InstancesPerModule: 16},
		Namespaces: []*Namespace{{
			Name:                   "test",
			NsupPeriod:             120 * time.Second,
			MaxRecordSize:          1 << 20,
			ReplicationFactor:      1,
			Storage:                StorageEngine{Type: "memory", DataSize: 4 << 30, Mode: ModeProcess},
			StopWritesUsedPct:      90,
			StopWritesAvailPct:     5,
			StopWritesSysMemoryPct: 90,
			BackgroundQueryMaxRPS:  10000,
			TombRaiderPeriod:       time.Minute,
			IndexType:              "dram",
			File:                   "t.conf",
			Line:                   nsLine,
		}},
	}
}

// ns is a namespace test block, opened on line 1, holding the given lines.
func ns(lines ...string) string {
	var b strings.Builder
	b.WriteString("namespace test {\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// TestParseValues checks what valid files turn into: each case edits the
// defaults into the Config it expects.
func TestParseValues(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want func(c *Config)
	}{
		{"minimal", ns(), func(c *Config) {}},
		{"sets", ns("set users {", "disable-eviction true", "}", "set logs {", "}"), func(c *Config) {
			c.Namespaces[0].Sets = map[string]SetSettings{"users": {DisableEviction: true}, "logs": {}}
		}},
		{"set limits", ns("set events {", "stop-writes-count 1000000", "stop-writes-size 2G", "default-read-touch-ttl-pct -1", "}"), func(c *Config) {
			c.Namespaces[0].Sets = map[string]SetSettings{"events": {StopWritesCount: 1000000, StopWritesSize: 2 << 30, DefaultReadTouchTTLPct: -1}}
		}},
		{"minimal no trailing newline", "namespace test {\n}", func(c *Config) {}},
		{"crlf line ends", "namespace test {\r\n  default-ttl 1H\r\n}\r\n", func(c *Config) {
			c.Namespaces[0].DefaultTTL = time.Hour
		}},
		{"service", ns() + `
service {
	cluster-name prod-cache
	node-id A1b2
	proto-fd-max 100
	proto-max-size 1M
	work-directory /srv/skiff
}`, func(c *Config) {
			c.Service = Service{ClusterName: "prod-cache", NodeID: "A1b2", ProtoFdMax: 100, ProtoMaxSize: 1 << 20, WorkDirectory: "/srv/skiff"}
		}},
		{"aerospike's docker service block", "service {\nuser root\npidfile /var/run/aerospike/asd.pid\nservice-threads 4\nproto-fd-idle-ms 60000\n}\n" +
			"network {\nservice {\naddress 127.0.0.1\nport 3000\naccess-address 10.0.0.1\n}\n}\n" + ns(), func(c *Config) {
			c.Service.PidFile = "/var/run/aerospike/asd.pid"
			c.Namespaces[0].Line = 14
			c.Warnings = []string{
				"t.conf:2: user in service ignored: Skiff runs as the user that starts it: set the user in the service manager (systemd User=, a pod's securityContext)",
				"t.conf:4: service-threads in service ignored: the Go runtime schedules requests on every CPU",
				"t.conf:5: proto-fd-idle-ms in service ignored: idle client connections stay open until the client closes them",
				"t.conf:11: access-address in network service ignored: a single node advertises no peers: clients reach it at the address they were given",
			}
		}},
		{"cluster settings", "namespace test {\nrack-id 2\nprefer-uniform-balance true\npartition-tree-sprigs 4096\n" +
			"conflict-resolution-policy last-update-time\nstrong-consistency false\nsindex-type shmem\nenable-benchmarks-read true\n}\n", func(c *Config) {
			c.Warnings = []string{
				"t.conf:2: rack-id in namespace test ignored: a single node has no racks",
				"t.conf:3: prefer-uniform-balance in namespace test ignored: a single node holds every partition",
				"t.conf:4: partition-tree-sprigs in namespace test ignored: Skiff's index has no sprigs",
				"t.conf:5: conflict-resolution-policy in namespace test ignored: one copy has no replicas to reconcile (XDR's is set in its namespace block)",
				"t.conf:7: sindex-type in namespace test ignored: secondary indexes live in the node's memory and are rebuilt at start",
				"t.conf:8: enable-benchmarks-read in namespace test ignored: latencies are in the latencies info command and /metrics",
			}
		}},
		{"feature key", ns() + "service {\nfeature-key-file /etc/aerospike/features.conf\n}", func(c *Config) {
			c.Warnings = []string{"t.conf:4: feature-key-file ignored: Skiff needs no feature key"}
		}},
		{"node-id 16 digits", ns() + "service {\nnode-id ffffffffffffffff\n}", func(c *Config) {
			c.Service.NodeID = "ffffffffffffffff"
		}},
		{"network", ns() + `
network {
	service {
		address any
		port 4000
	}
	admin {
		address ::1
		port 0
	}
}`, func(c *Config) {
			c.Network = Network{Service: Endpoint{"0.0.0.0", 4000}, Admin: Endpoint{"::1", 0}}
		}},
		{"admin on the service port but disabled", ns() + "network {\nservice {\nport 9145\n}\nadmin {\nport 0\n}\n}", func(c *Config) {
			c.Network.Service.Port, c.Network.Admin.Port = 9145, 0
		}},
		{"admin on the service port of another address", ns() + "network {\nadmin {\naddress 10.0.0.1\nport 3000\n}\n}", func(c *Config) {
			c.Network.Admin = Endpoint{"10.0.0.1", 3000}
		}},
		{"ignored network blocks warn", ns() + `
network {
	heartbeat {
		mode mesh
		mesh-seed-address-port 10.0.0.2 3002 # two values: not read at all
		interval 150
		nested { anything goes }
	}
	fabric { port 3001 }
	info {
		port 3003
	}
}`, func(c *Config) {
			c.Warnings = []string{
				"t.conf:5: network heartbeat block ignored: Skiff runs as a single node",
				"t.conf:11: network fabric block ignored: Skiff runs as a single node",
				"t.conf:12: network info block ignored: Skiff answers info commands on the service port",
			}
		}},
		{"logging sinks in order", ns() + `
logging {
	file /var/log/skiff.log {
		context any DEBUG
		context namespace detail   # other contexts are accepted, not applied
	}
	console {
		context any warning
	}
	file /var/log/other.log {
	}
}`, func(c *Config) {
			c.Logging = []LogSink{
				{Path: "/var/log/skiff.log", Level: "debug"},
				{Level: "warning"},
				{Path: "/var/log/other.log", Level: "critical"},
			}
		}},
		{"empty logging block logs nothing", ns() + "logging {\n}", func(c *Config) {
			c.Logging = []LogSink{}
		}},
		{"namespace settings", ns(
			"default-ttl 30d",
			"nsup-period 5M",
			"allow-ttl-without-nsup yes",
			"max-record-size 128k",
			"replication-factor 2",
			"background-query-max-rps 500",
			"storage-engine memory {",
			"  data-size 1g",
			"}",
		), func(c *Config) {
			n := c.Namespaces[0]
			n.BackgroundQueryMaxRPS = 500
			n.DefaultTTL = 30 * 24 * time.Hour
			n.NsupPeriod = 5 * time.Minute
			n.AllowTTLWithoutNsup = true
			n.MaxRecordSize = 128 << 10
			n.ReplicationFactor = 2
			n.Storage.DataSize = 1 << 30
		}},
		{"durations", ns("default-ttl 3650D", "nsup-period 86400s"), func(c *Config) {
			c.Namespaces[0].DefaultTTL = 3650 * 24 * time.Hour
			c.Namespaces[0].NsupPeriod = 24 * time.Hour
		}},
		{"ttl without nsup allowed", ns("default-ttl 2h", "nsup-period 0", "allow-ttl-without-nsup TRUE"), func(c *Config) {
			c.Namespaces[0].DefaultTTL = 2 * time.Hour
			c.Namespaces[0].NsupPeriod = 0
			c.Namespaces[0].AllowTTLWithoutNsup = true
		}},
		{"no ttl needs no nsup", ns("nsup-period 0", "allow-ttl-without-nsup false"), func(c *Config) {
			c.Namespaces[0].NsupPeriod = 0
		}},
		{"sizes", ns("max-record-size 128M", "storage-engine memory {", "data-size 2T", "}"), func(c *Config) {
			c.Namespaces[0].MaxRecordSize = 128 << 20
			c.Namespaces[0].Storage.DataSize = 2 << 40
		}},
		{"size in bytes", ns("max-record-size 2048", "storage-engine memory {", "data-size 1048576", "}"), func(c *Config) {
			c.Namespaces[0].MaxRecordSize = 2048
			c.Namespaces[0].Storage.DataSize = 1 << 20
		}},
		{"storage-engine memory without a block", ns("storage-engine memory"), func(c *Config) {}},
		{"memory in-process", ns("storage-engine memory {", "mode in-process", "}"), func(c *Config) {
			c.Namespaces[0].Storage.Mode = ModeInProcess
		}},
		{"memory plugin path", ns("storage-engine memory {", "mode process", "path /opt/skiff/skiff-storage-memory", "}"), func(c *Config) {
			c.Namespaces[0].Storage.Path = "/opt/skiff/skiff-storage-memory"
		}},
		{"memory region file", ns("storage-engine memory {", "region-file /dev/shm/skiff/test.region", "}"), func(c *Config) {
			c.Namespaces[0].Storage.RegionFile = "/dev/shm/skiff/test.region"
		}},
		{"memory snapshot file", ns("storage-engine memory {", "region-file /dev/shm/skiff/test.region", "snapshot-file /var/lib/skiff/test.snapshot", "}"), func(c *Config) {
			c.Namespaces[0].Storage.RegionFile = "/dev/shm/skiff/test.region"
			c.Namespaces[0].Storage.SnapshotFile = "/var/lib/skiff/test.snapshot"
		}},
		{"device", ns("storage-engine device {", "device /dev/nvme0n1", "device /dev/nvme1n1", "file /var/lib/skiff/a.dat", "filesize 16G",
			"write-block-size 128K", "direct-io false", "post-write-queue 64", "max-write-cache 32M", "flush-max-ms 100", "defrag-lwm-pct 40",
			"commit-to-device true", "write-buffer-file /dev/shm/skiff/test.buffers", "}", "index-type flash {", "mount /mnt/idx", "mounts-size-limit 4G", "}",
			"evict-used-pct 70", "stop-writes-used-pct 85"), func(c *Config) {
			n := c.Namespaces[0]
			n.Storage = StorageEngine{Type: "device", Mode: ModeProcess, Device: Device{
				Devices: []string{"/dev/nvme0n1", "/dev/nvme1n1"}, Files: []string{"/var/lib/skiff/a.dat"}, FileSize: 16 << 30,
				WriteBlockSize: 128 << 10, PostWriteQueue: 64, Compression: "none", DefragSleepUs: 1000, MaxWriteCache: 32 << 20, FlushMaxMs: 100, DefragLWMPct: 40, CommitToDevice: true,
				WriteBufferFile: "/dev/shm/skiff/test.buffers",
			}}
			n.IndexType, n.IndexMount, n.IndexMountsSizeLimit = "flash", "/mnt/idx", 4<<30
			n.EvictUsedPct, n.StopWritesUsedPct = 70, 85
		}},
		{"device region file", ns("storage-engine device {", "file /x", "filesize 17M", "region-file /dev/shm/skiff/test.region", "}"), func(c *Config) {
			n := c.Namespaces[0]
			n.Storage = StorageEngine{Type: "device", Mode: ModeProcess, RegionFile: "/dev/shm/skiff/test.region", Device: Device{
				Files: []string{"/x"}, FileSize: 17 << 20, WriteBlockSize: 1 << 20, DirectIO: true,
				PostWriteQueue: 256, Compression: "none", DefragSleepUs: 1000, MaxWriteCache: 64 << 20, FlushMaxMs: 1000, DefragLWMPct: 50,
			}}
		}},
		{"index-type flash, Aerospike 7's budget", ns("storage-engine device {", "file /x", "filesize 17M", "}", "index-type flash {", "mount /a", "mounts-budget 4G", "}"), func(c *Config) {
			n := c.Namespaces[0]
			n.IndexType, n.IndexMount, n.IndexMountsSizeLimit = "flash", "/a", 4<<30
			n.Storage = StorageEngine{Type: "device", Mode: ModeProcess, Device: Device{
				Files: []string{"/x"}, FileSize: 17 << 20, WriteBlockSize: 1 << 20, DirectIO: true,
				PostWriteQueue: 256, Compression: "none", DefragSleepUs: 1000, MaxWriteCache: 64 << 20, FlushMaxMs: 1000, DefragLWMPct: 50,
			}}
		}},
		{"evict-tenths-pct", ns("evict-used-pct 60", "evict-tenths-pct 5"), func(c *Config) {
			c.Namespaces[0].EvictUsedPct, c.Namespaces[0].EvictTenthsPct = 60, 5
		}},
		{"index-type shmem on memory", ns("index-type shmem"), func(c *Config) {
			c.Namespaces[0].IndexType = "shmem"
			c.Namespaces[0].Storage.RegionFile = "/dev/shm/skiff/test.region"
		}},
		{"index-type shmem with a region file", ns("storage-engine device {", "file /x", "filesize 17M", "region-file /dev/shm/r", "}", "index-type shmem"), func(c *Config) {
			n := c.Namespaces[0]
			n.IndexType = "shmem"
			n.Storage = StorageEngine{Type: "device", Mode: ModeProcess, RegionFile: "/dev/shm/r", Device: Device{
				Files: []string{"/x"}, FileSize: 17 << 20, WriteBlockSize: 1 << 20, DirectIO: true,
				PostWriteQueue: 256, Compression: "none", DefragSleepUs: 1000, MaxWriteCache: 64 << 20, FlushMaxMs: 1000, DefragLWMPct: 50,
			}}
		}},
		{"aerospike 7 memory backed by files", ns("storage-engine memory {", "file /opt/aerospike/data/test.dat", "filesize 1G",
			"evict-used-pct 60", "stop-writes-used-pct 70", "}"), func(c *Config) {
			n := c.Namespaces[0]
			n.Storage = StorageEngine{Type: "device", Mode: ModeProcess, Device: Device{
				Files: []string{"/opt/aerospike/data/test.dat"}, FileSize: 1 << 30, WriteBlockSize: 1 << 20, DirectIO: true,
				PostWriteQueue: 256, Compression: "none", DefragSleepUs: 1000, MaxWriteCache: 64 << 20, FlushMaxMs: 1000, DefragLWMPct: 50, DataInMemory: true,
			}}
			n.EvictUsedPct, n.StopWritesUsedPct = 60, 70
		}},
		{"used pcts in storage-engine", ns("storage-engine device {", "file /x", "filesize 17M", "evict-used-pct 50", "stop-writes-avail-pct 10", "}", "stop-writes-used-pct 80"), func(c *Config) {
			n := c.Namespaces[0]
			n.Storage = StorageEngine{Type: "device", Mode: ModeProcess, Device: Device{
				Files: []string{"/x"}, FileSize: 17 << 20, WriteBlockSize: 1 << 20, DirectIO: true,
				PostWriteQueue: 256, Compression: "none", DefragSleepUs: 1000, MaxWriteCache: 64 << 20, FlushMaxMs: 1000, DefragLWMPct: 50,
			}}
			n.EvictUsedPct, n.StopWritesUsedPct, n.StopWritesAvailPct = 50, 80, 10
		}},
		{"aerospike 6 device block", ns("tomb-raider-period 3600", "storage-engine device {", "file /x", "filesize 17M", "max-used-pct 60", "min-avail-pct 10",
			"defrag-sleep 2000", "cold-start-empty true", "read-page-cache true", "direct-files false", "disable-odsync true", "scheduler-mode noop", "compression lz4", "commit-min-size 4K", "}"), func(c *Config) {
			n := c.Namespaces[0]
			n.TombRaiderPeriod = time.Hour
			n.Storage = StorageEngine{Type: "device", Mode: ModeProcess, Device: Device{
				Files: []string{"/x"}, FileSize: 17 << 20, WriteBlockSize: 1 << 20,
				PostWriteQueue: 256, Compression: "lz4", DefragSleepUs: 2000, MaxWriteCache: 64 << 20, FlushMaxMs: 1000, DefragLWMPct: 50, ColdStartEmpty: true, ReadPageCache: true,
			}}
			n.StopWritesUsedPct, n.StopWritesAvailPct = 60, 10
			c.Warnings = []string{
				"t.conf:12: disable-odsync in namespace test storage-engine device ignored: Skiff never opens devices with O_DSYNC: commit-to-device syncs after each write",
				"t.conf:13: scheduler-mode in namespace test storage-engine device ignored: set a device's I/O scheduler in /sys/block/DEVICE/queue/scheduler",
				"t.conf:15: commit-min-size in namespace test storage-engine device ignored: a partial write starts at the page where the last one stopped",
			}
		}},
		{"aerospike 7.1 cache and flush sizes", ns("storage-engine device {", "file /x", "filesize 32M", "write-block-size 128K", "post-write-cache 1M", "flush-size 64K", "}"), func(c *Config) {
			c.Namespaces[0].Storage = StorageEngine{Type: "device", Mode: ModeProcess, Device: Device{
				Files: []string{"/x"}, FileSize: 32 << 20, WriteBlockSize: 128 << 10, DirectIO: true,
				PostWriteQueue: 8, Compression: "none", DefragSleepUs: 1000, MaxWriteCache: 64 << 20, FlushMaxMs: 1000, DefragLWMPct: 50,
			}}
		}},
		{"third-party plugin", ns("storage-engine plugin {", "path /opt/capped", "max-records 100", "colour blue", "}"), func(c *Config) {
			c.Namespaces[0].Storage = StorageEngine{Type: "plugin", Mode: ModeProcess, Path: "/opt/capped",
				Settings: map[string]string{"max-records": "100", "colour": "blue"}}
		}},
		{"braces on one line", "namespace test { storage-engine memory { data-size 8G } }", func(c *Config) {
			c.Namespaces[0].Storage.DataSize = 8 << 30
		}},
		{"comments", "# header\nnamespace test { # the namespace\n  default-ttl 60#no space\n# }\n}\n", func(c *Config) {
			c.Namespaces[0].DefaultTTL = time.Minute
			c.Namespaces[0].Line = 2
		}},
		{"32 namespaces", manyNamespaces(32), func(c *Config) {
			n := c.Namespaces[0]
			c.Namespaces = nil
			for i := range 32 {
				m := *n
				m.Name, m.Line = fmt.Sprintf("ns%d", i), i+1
				c.Namespaces = append(c.Namespaces, &m)
			}
		}},
		{"mod-udf and xdr", "namespace test {\n}\nmod-udf {\nuser-path /srv/udf\nmax-module-size 2M\nmax-memory 32M\nmax-call-ms 50\ninstances-per-module 4\n}\n" +
			"mod-lua {\nuser-path /opt/lua\n}\nxdr {\ndc tokyo {\nnats-url nats://10.0.0.1:4222\nnats-url nats://10.0.0.2:4222\nmode in-process\nstream-max-age 24h\n" +
			"namespace test {\nship-only-specified-sets true\nship-set profiles\nship-set carts\nbin-policy only-changed\nconflict-resolution generation\n}\n}\n}\n", func(c *Config) {
			c.UDF = UDF{UserPath: "/srv/udf", MaxModuleSize: 2 << 20, MaxMemory: 32 << 20, MaxCallTime: 50 * time.Millisecond, InstancesPerModule: 4}
			c.Warnings = []string{"t.conf:10: mod-lua ignored: Skiff runs WebAssembly UDFs, configured in mod-udf"}
			c.XDR = []*DC{{Name: "tokyo", URLs: []string{"nats://10.0.0.1:4222", "nats://10.0.0.2:4222"}, Mode: ModeInProcess,
				Settings: map[string]string{"stream-max-age": "24h"}, File: "t.conf", Line: 14,
				Namespaces: []*XDRNamespace{{Name: "test", ShipOnlySpecifiedSets: true, ShipSets: []string{"profiles", "carts"},
					BinPolicy: "only-changed", ConflictResolution: "generation", QueueLimit: 65536, Line: 19}}}}
		}},
		{"namespace names", "namespace a {\n}\nnamespace Ab-c_d.e$0123456789012345678901 {\n}\n", func(c *Config) {
			a, b := *c.Namespaces[0], *c.Namespaces[0]
			a.Name = "a"
			b.Name, b.Line = "Ab-c_d.e$0123456789012345678901", 3
			c.Namespaces = []*Namespace{&a, &b}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("t.conf", []byte(tt.src))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := defaults(1)
			tt.want(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse =\n%s\nwant\n%s", dump(got), dump(want))
			}
		})
	}
}

func manyNamespaces(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "namespace ns%d { }\n", i)
	}
	return b.String()
}

func dump(c *Config) string {
	s := fmt.Sprintf("%+v", *c)
	for _, n := range c.Namespaces {
		s += fmt.Sprintf("\n  %+v", *n)
	}
	return s
}

// TestParseErrors checks every refusal: the message must contain want,
// which starts with the file and line it blames.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		// Grammar.
		{"stray close", ns() + "}\n", `t.conf:3: unexpected "}": no block is open`},
		{"stray open", "namespace test\n{\n}\n", `t.conf:2: unexpected "{"`},
		{"unclosed block", "namespace test {\n  default-ttl 1\n", `t.conf:1: block "namespace test" is not closed`},
		{"unclosed inner block", ns() + "network {\n  service {\n    port 3000\n}\n", `t.conf:3: block "network" is not closed`},
		{"unclosed innermost", "namespace test {\nstorage-engine memory {\n", `t.conf:2: block "storage-engine memory" is not closed`},
		{"setting without value", ns("default-ttl"), `t.conf:2: setting "default-ttl" in namespace test has no value`},
		{"setting with two values", ns("default-ttl 1 2"), `t.conf:2: setting "default-ttl" in namespace test takes one value, got extra "2"`},
		{"two settings on a line", ns() + "service { cluster-name a proto-fd-max 10 }", `t.conf:3: setting "cluster-name" in service takes one value, got extra "proto-fd-max"`},
		{"setting as block", ns("default-ttl 1 {", "}"), `t.conf:2: "default-ttl" in namespace test is a setting, not a block`},
		{"value given to block", "service skiff {\n}\n" + ns(), `t.conf:1: block "service" takes no value, got "skiff"`},
		{"value given to inner block", ns() + "network {\nservice 3000 {\n}\n}", `t.conf:4: block "service" in network takes no value, got "3000"`},
		{"logging with value", ns() + "logging stderr {\n}", `t.conf:3: block "logging" takes no value, got "stderr"`},
		{"network without brace", ns() + "network", `t.conf:3: "network" opens a block`},
		{"port without value", ns() + "network {\nservice {\nport\n}\n}", `t.conf:5: setting "port" in network service has no value`},
		{"shared region file", ns("storage-engine memory {", "region-file /dev/shm/a", "}") + "namespace other {\nstorage-engine memory {\nregion-file /dev/shm/a\n}\n}\n",
			`t.conf:6: namespace other: region-file /dev/shm/a is namespace test's too (line 1)`},
		{"relative write buffer file", ns("storage-engine device {", "file /a.dat", "filesize 1G", "write-buffer-file buffers", "}"), `t.conf:5: write-buffer-file in namespace test storage-engine device: "buffers" is not an absolute path`},
		{"relative device region file", ns("storage-engine device {", "file /a.dat", "filesize 1G", "region-file idx", "}"), `t.conf:5: region-file in namespace test storage-engine device: "idx" is not an absolute path`},
		{"device region file and write buffer file", ns("storage-engine device {", "file /a.dat", "filesize 1G", "region-file /dev/shm/r", "write-buffer-file /dev/shm/b", "}"),
			`t.conf:5: region-file in namespace test storage-engine device holds the write buffers too: not with write-buffer-file`},
		{"device region file and flash index", ns("storage-engine device {", "file /a.dat", "filesize 1G", "region-file /dev/shm/r", "}", "index-type flash {", "mount /mnt/idx", "}"),
			`t.conf:1: namespace test: region-file holds an index in DRAM: not with index-type flash`},
		{"shared device region file", ns("storage-engine device {", "file /a.dat", "filesize 1G", "region-file /dev/shm/r", "}") +
			"namespace other {\nstorage-engine device {\nfile /b.dat\nfilesize 1G\nregion-file /dev/shm/r\n}\n}\n",
			`t.conf:8: namespace other: region-file /dev/shm/r is namespace test's too (line 1)`},
		{"shared write buffer file", ns("storage-engine device {", "file /a.dat", "filesize 1G", "write-buffer-file /dev/shm/b", "}") +
			"namespace other {\nstorage-engine device {\nfile /b.dat\nfilesize 1G\nwrite-buffer-file /dev/shm/b\n}\n}\n",
			`t.conf:8: namespace other: write-buffer-file /dev/shm/b is namespace test's too (line 1)`},
		{"relative region file", ns("storage-engine memory {", "region-file test.region", "}"), `t.conf:3: region-file in namespace test storage-engine memory: "test.region" is not an absolute path`},
		{"shared snapshot file", ns("storage-engine memory {", "snapshot-file /var/lib/a", "}") + "namespace other {\nstorage-engine memory {\nsnapshot-file /var/lib/a\n}\n}\n",
			`t.conf:6: namespace other: snapshot-file /var/lib/a is namespace test's too (line 1)`},
		{"storage-backed memory without filesize", ns("storage-engine memory {", "file /opt/aerospike/test.dat", "}"), `t.conf:2: storage-engine memory in namespace test: files need a filesize`},
		{"storage-backed memory with data-size", ns("storage-engine memory {", "file /x", "filesize 1G", "data-size 1G", "}"),
			`t.conf:5: data-size in namespace test storage-engine memory: not with a file or device, whose records are all in memory and written through to disk`},
		{"post-write-cache and queue", ns("storage-engine device {", "file /x", "filesize 17M", "post-write-queue 8", "post-write-cache 8M", "}"),
			`t.conf:6: post-write-cache in namespace test storage-engine device: post-write-queue is set too (line 5): keep one`},
		{"max-write-cache under a block", ns("storage-engine device {", "file /x", "filesize 17M", "max-write-cache 512K", "}"),
			`t.conf:5: max-write-cache in namespace test storage-engine device: 512K is 0 write blocks of 1M: want 1 to 65536`},
		{"max-write-cache too large", ns("storage-engine device {", "file /x", "filesize 17M", "write-block-size 4K", "max-write-cache 1G", "}"),
			`t.conf:6: max-write-cache in namespace test storage-engine device: 1G is 262144 write blocks of 4K: want 1 to 65536`},
		{"max-write-cache not a size", ns("storage-engine device {", "file /x", "filesize 17M", "max-write-cache lots", "}"),
			`t.conf:5: bad max-write-cache "lots" in namespace test storage-engine device: want a size of at least 4K`},
		{"aerospike 6 high water mark", ns("high-water-disk-pct 50"),
			`t.conf:2: unknown setting "high-water-disk-pct" in namespace test (Aerospike 6): write "evict-used-pct 50", Aerospike 7's share of the storage in use`},
		{"aerospike 6 stop-writes-pct", ns("stop-writes-pct 90"),
			`t.conf:2: unknown setting "stop-writes-pct" in namespace test (Aerospike 6): write "stop-writes-used-pct 90"`},
		{"single-bin", ns("single-bin true"), `t.conf:2: single-bin true in namespace test is not supported`},
		{"tomb-raider-period zero", ns("tomb-raider-period 0"), `t.conf:2: bad tomb-raider-period "0" in namespace test: want at least 1 second`},
		{"compression", ns("storage-engine device {", "file /x", "filesize 17M", "compression brotli", "}"),
			`t.conf:5: bad compression "brotli" in namespace test storage-engine device`},
		{"compression-level", ns("storage-engine device {", "file /x", "filesize 17M", "compression zstd", "compression-level 22", "}"),
			`t.conf:6: bad compression-level "22" in namespace test storage-engine device: want an integer from 1 to 9`},
		{"encryption", ns("storage-engine device {", "file /x", "filesize 17M", "encryption-key-file /etc/key", "}"),
			`t.conf:5: encryption-key-file in namespace test storage-engine device is not supported: Skiff does not encrypt records; put the devices on an encrypted block device`},
		{"scheduler-mode unknown", ns("storage-engine device {", "file /x", "filesize 17M", "scheduler-mode fastest", "}"),
			`t.conf:5: bad scheduler-mode "fastest"`},
		{"an unknown device setting", ns("storage-engine device {", "file /x", "filesize 17M", "turbo true", "}"),
			`t.conf:5: unknown setting "turbo" in namespace test storage-engine device`},
		{"post-write-cache too large", ns("storage-engine device {", "file /x", "filesize 17M", "write-block-size 4K", "post-write-cache 1G", "}"),
			`t.conf:6: post-write-cache in namespace test storage-engine device: 1G is 262144 write blocks of 4K: at most 8192`},
		{"flush-size not a power of two", ns("storage-engine device {", "file /x", "filesize 17M", "flush-size 96K", "}"),
			`t.conf:5: bad flush-size "96K" in namespace test storage-engine device: want a power of two from 4K to 8M`},
		{"memory filesize alone", ns("storage-engine memory {", "filesize 1G", "}"), `t.conf:3: filesize in namespace test storage-engine memory: no file to size`},
		{"used pct in storage-engine", ns("storage-engine memory {", "evict-used-pct 101", "}"), `t.conf:3: bad evict-used-pct "101" in namespace test storage-engine memory`},
		{"relative snapshot file", ns("storage-engine memory {", "snapshot-file test.snapshot", "}"), `t.conf:3: snapshot-file in namespace test storage-engine memory: "test.snapshot" is not an absolute path`},
		{"size without value", ns("max-record-size"), `t.conf:2: setting "max-record-size" in namespace test has no value`},
		{"bool without value", ns("allow-ttl-without-nsup"), `t.conf:2: setting "allow-ttl-without-nsup" in namespace test has no value`},
		{"block without brace", "service\n" + ns(), `t.conf:1: "service" opens a block: put "{" at the end of its line`},
		{"block brace on next line", "network\n{\n}\n" + ns(), `t.conf:2: unexpected "{": a block opens with "{" after its name on the same line`},
		{"inner block without brace", ns() + "logging {\nconsole\n}", `t.conf:4: "console" in logging opens a block`},
		{"braces not separated", "namespace test {}\n", `t.conf:1: "namespace" opens a block`},
		{"value glued to brace", "namespace test {\ndefault-ttl 1}\n}\n", `t.conf:2: bad default-ttl "1}" in namespace test`},

		// Unknown names.
		{"unknown top block", ns() + "xdr-lua {\n}", `t.conf:3: unknown block "xdr-lua"`},
		{"udf relative path", ns() + "mod-udf {\nuser-path udf\n}", `t.conf:4: bad user-path "udf" in mod-udf: want an absolute directory path`},
		{"udf tiny memory", ns() + "mod-udf {\nmax-memory 64K\n}", `t.conf:4: bad max-memory "64K" in mod-udf: want a size from 1M to 4G, such as 4G or 128K`},
		{"udf zero call time", ns() + "mod-udf {\nmax-call-ms 0\n}", `t.conf:4: bad max-call-ms "0" in mod-udf: want an integer from 1 to 3600000`},
		{"udf unknown", ns() + "mod-udf {\ncache-enabled true\n}", `t.conf:4: unknown setting "cache-enabled" in mod-udf`},
		{"xdr no url", ns() + "xdr {\ndc a {\nnamespace test {\n}\n}\n}", `t.conf:4: xdr dc a needs at least one nats-url`},
		{"xdr bad url", ns() + "xdr {\ndc a {\nnats-url 10.0.0.1\n}\n}", `t.conf:5: bad nats-url "10.0.0.1" in xdr dc a: want a URL such as nats://127.0.0.1:4222`},
		{"xdr no namespace", ns() + "xdr {\ndc a {\nnats-url nats://h:1\n}\n}", `t.conf:4: xdr dc a ships no namespace: add a namespace NAME { } block`},
		{"xdr unknown namespace", ns() + "xdr {\ndc a {\nnats-url nats://h:1\nnamespace users {\n}\n}\n}", `t.conf:6: xdr dc a: no namespace "users" is configured`},
		{"xdr bad policy", ns() + "xdr {\ndc a {\nnats-url nats://h:1\nnamespace test {\nconflict-resolution newest\n}\n}\n}", `t.conf:7: bad conflict-resolution "newest" in xdr dc a namespace test: want last-update-time or generation`},
		{"xdr duplicate dc", ns() + "xdr {\ndc a {\nnats-url nats://h:1\nnamespace test {\n}\n}\ndc a {\n}\n}", `t.conf:9: duplicate dc "a" in xdr (first at line 4)`},
		{"xdr bad dc name", ns() + "xdr {\ndc a.b {\n}\n}", `t.conf:4: bad dc name "a.b": want 1 to 31 letters, digits, '_' or '-'`},
		{"unknown top setting", ns() + "verbose true", `t.conf:3: unknown setting "verbose"`},
		{"security", "security {\nenable-security true\n}\n" + ns(), `t.conf:1: security block: Skiff has no users, roles or access control`},
		{"aerospike's xdr", "xdr {\ndc DC1 {\nnode-address-port 10.0.0.1 3000\nnamespace test {\n}\n}\n}\n" + ns(),
			`t.conf:3: node-address-port in xdr dc DC1: Skiff ships changes through NATS JetStream, not to another node's service port: set nats-url`},
		{"unknown service setting", ns() + "service {\ncolour blue\n}", `t.conf:4: unknown setting "colour" in service`},
		{"relative pidfile", ns() + "service {\npidfile asd.pid\n}", `t.conf:4: pidfile in service: "asd.pid" is not an absolute path`},
		{"names are case-sensitive", ns() + "Service {\n}", `t.conf:3: unknown block "Service"`},
		{"unknown network block", ns() + "network {\nmesh x {\n}\n}", `t.conf:4: unknown block "mesh" in network`},
		{"access-port not a port", ns() + "network {\nservice {\naccess-port 0\n}\n}", `t.conf:5: bad access-port "0" in network service`},
		{"unknown admin setting", ns() + "network {\nadmin {\ntls-name x\n}\n}", `t.conf:5: unknown setting "tls-name" in network admin`},
		{"unknown logging sink", ns() + "logging {\nsyslog {\n}\n}", `t.conf:4: unknown block "syslog" in logging`},
		{"unknown sink setting", ns() + "logging {\nconsole {\nlevel info\n}\n}", `t.conf:5: unknown setting "level" in logging console`},
		{"unknown namespace setting", ns("conflict-resolution generation"), `t.conf:2: unknown setting "conflict-resolution" in namespace test`},
		{"unknown namespace block", ns("bin users {", "}"), `t.conf:2: unknown block "bin" in namespace test`},
		{"unknown set setting", ns("set users {", "enable-index true", "}"), `t.conf:3: unknown setting "enable-index" in namespace test set users`},
		{"bad disable-eviction", ns("set users {", "disable-eviction maybe", "}"), `t.conf:3: bad disable-eviction "maybe" in namespace test set users: want true or false`},
		{"bad stop-writes-count", ns("set users {", "stop-writes-count -5", "}"), `t.conf:3: bad stop-writes-count "-5" in namespace test set users: want an integer from 0 to`},
		{"bad stop-writes-size", ns("set users {", "stop-writes-size big", "}"), `t.conf:3: bad stop-writes-size "big" in namespace test set users: want a size of at least 0`},
		{"bad set name", ns("set a;b {", "}"), `t.conf:2: bad set name "a;b" in namespace test: want at most 63 bytes, without ':' or ';'`},
		{"duplicate set", ns("set u {", "}", "set u {", "}"), `t.conf:4: duplicate set "u" in namespace test (first at line 2)`},
		{"set without a block", ns("set u"), `t.conf:2: "set" in namespace test opens a block: put "{" at the end of its line`},
		{"memory-size hint", ns("memory-size 4G"), `t.conf:2: unknown setting "memory-size" in namespace test: write "storage-engine memory { data-size 4G }" instead`},
		{"unknown storage setting", ns("storage-engine memory {", "write-block-size 1M", "}"), `t.conf:3: unknown setting "write-block-size" in namespace test storage-engine memory`},

		// Duplicates.
		{"duplicate setting", ns("default-ttl 1", "nsup-period 1", "default-ttl 2"), `t.conf:4: duplicate "default-ttl" in namespace test (first at line 2)`},
		{"duplicate top block", "service {\n}\n" + ns() + "service {\n}\n", `t.conf:5: duplicate "service" (first at line 1)`},
		{"duplicate network block", ns() + "network {\nheartbeat {\n}\nheartbeat {\n}\n}", `t.conf:6: duplicate "heartbeat" in network (first at line 4)`},
		{"duplicate namespace", ns() + "\nnamespace test {\n}", `t.conf:4: duplicate namespace "test" (first at line 1)`},
		{"duplicate storage-engine", ns("storage-engine memory", "storage-engine memory"), `t.conf:3: duplicate "storage-engine" in namespace test (first at line 2)`},
		{"duplicate console", ns() + "logging {\nconsole {\n}\nconsole {\n}\n}", `t.conf:6: duplicate "console" in logging (first at line 4)`},
		{"duplicate log file", ns() + "logging {\nfile /a {\n}\nfile /a {\n}\n}", `t.conf:6: duplicate file "/a" in logging (first at line 4)`},
		{"duplicate context", ns() + "logging {\nconsole {\ncontext any info\ncontext any debug\n}\n}", `t.conf:6: duplicate context "any" in logging console (first at line 5)`},

		// service.
		{"cluster-name too long", ns() + "service {\ncluster-name " + strings.Repeat("c", 64) + "\n}", `t.conf:4: bad cluster-name "ccc`},
		{"node-id not hex", ns() + "service {\nnode-id xyz\n}", `t.conf:4: bad node-id "xyz" in service: want 1 to 16 hex digits, not all zero`},
		{"node-id too long", ns() + "service {\nnode-id 00000000000000001\n}", `t.conf:4: bad node-id "00000000000000001"`},
		{"node-id zero", ns() + "service {\nnode-id 000\n}", `t.conf:4: bad node-id "000"`},
		{"node-id prefix", ns() + "service {\nnode-id 0x1\n}", `t.conf:4: bad node-id "0x1"`},
		{"proto-fd-max zero", ns() + "service {\nproto-fd-max 0\n}", `t.conf:4: bad proto-fd-max "0" in service: want an integer from 1 to 2147483647`},
		{"proto-fd-max negative", ns() + "service {\nproto-fd-max -5\n}", `t.conf:4: bad proto-fd-max "-5"`},
		{"proto-fd-max plus", ns() + "service {\nproto-fd-max +5\n}", `t.conf:4: bad proto-fd-max "+5"`},
		{"proto-fd-max suffix", ns() + "service {\nproto-fd-max 5K\n}", `t.conf:4: bad proto-fd-max "5K"`},
		{"work-directory relative", ns() + "service {\nwork-directory var/skiff\n}", `t.conf:4: bad work-directory "var/skiff" in service: want an absolute path`},
		{"proto-max-size small", ns() + "service {\nproto-max-size 1023\n}", `t.conf:4: bad proto-max-size "1023" in service: want a size of at least 1K`},
		{"proto-max-size below max-record-size", ns() + "service {\nproto-max-size 512K\n}", `t.conf:1: namespace test: max-record-size 1M exceeds service proto-max-size 512K`},

		// logging.
		{"log level", ns() + "logging {\nconsole {\ncontext any loud\n}\n}", `t.conf:5: bad log level "loud" in logging console: want critical, warning, info, debug, detail`},
		{"log level of other context", ns() + "logging {\nconsole {\ncontext namespace loud\n}\n}", `t.conf:5: bad log level "loud"`},
		{"context without level", ns() + "logging {\nconsole {\ncontext any\n}\n}", `t.conf:5: setting "context" in logging console takes a context and a level, such as "context any info"`},
		{"context with three words", ns() + "logging {\nfile /x {\ncontext any info x\n}\n}", `t.conf:5: setting "context" in logging file /x takes a context and a level`},
		{"file without path", ns() + "logging {\nfile {\n}\n}", `t.conf:4: block "file" in logging needs a path`},
		{"file with two paths", ns() + "logging {\nfile /a /b {\n}\n}", `t.conf:4: block "file" in logging takes one path, got extra "/b"`},
		{"console with value", ns() + "logging {\nconsole stderr {\n}\n}", `t.conf:4: block "console" in logging takes no value, got "stderr"`},

		// network.
		{"service port zero", ns() + "network {\nservice {\nport 0\n}\n}", `t.conf:5: bad port "0" in network service: want an integer from 1 to 65535`},
		{"service port too big", ns() + "network {\nservice {\nport 65536\n}\n}", `t.conf:5: bad port "65536"`},
		{"admin port negative", ns() + "network {\nadmin {\nport -1\n}\n}", `t.conf:5: bad port "-1" in network admin: want an integer from 0 to 65535`},
		{"address name", ns() + "network {\nservice {\naddress localhost\n}\n}", `t.conf:5: bad address "localhost" in network service: want an IP address or any`},
		{"address with port", ns() + "network {\nadmin {\naddress 127.0.0.1:80\n}\n}", `t.conf:5: bad address "127.0.0.1:80" in network admin`},
		{"admin clashes with service", ns() + "network {\nadmin {\nport 3000\n}\n}", `t.conf:3: network admin and service both listen on 127.0.0.1 port 3000`},
		{"admin clashes with any", ns() + "network {\nservice {\naddress any\nport 9145\n}\n}", `t.conf:3: network admin and service both listen on 127.0.0.1 port 9145`},
		{"ignored block with value", ns() + "network {\nheartbeat mesh {\n}\n}", `t.conf:4: block "heartbeat" in network takes no value, got "mesh"`},
		{"ignored block without brace", ns() + "network {\nfabric\n}", `t.conf:4: "fabric" in network opens a block`},
		{"ignored block is still balanced", ns() + "network {\nheartbeat {\nmode mesh\n}\n", `t.conf:3: block "network" is not closed`},

		// namespace.
		{"no namespace", "", `t.conf:1: no namespace: at least one namespace block is required`},
		{"no namespace after other blocks", "service {\n}\n\n", `t.conf:3: no namespace`},
		{"namespace without name", "namespace {\n}\n", `t.conf:1: block "namespace" needs a name`},
		{"namespace with two names", "namespace a b {\n}\n", `t.conf:1: block "namespace" takes one name, got extra "b"`},
		{"namespace name too long", "namespace " + strings.Repeat("n", 32) + " {\n}\n", `t.conf:1: bad namespace name "nnn`},
		{"namespace name colon", "namespace a:b {\n}\n", `t.conf:1: bad namespace name "a:b": want at most 31 bytes, without ':' or ';'`},
		{"namespace name semicolon", "namespace a;b {\n}\n", `t.conf:1: bad namespace name "a;b"`},
		{"namespace name control", "namespace a\x01b {\n}\n", `t.conf:1: bad namespace name "a\x01b"`},
		{"33 namespaces", manyNamespaces(33), `t.conf:33: namespace "ns32" is one too many: at most 32 namespaces`},
		{"default-ttl too long", ns("default-ttl 3651D"), `t.conf:2: bad default-ttl "3651D" in namespace test: want seconds up to 3650D, such as 120 or 30D`},
		{"default-ttl negative", ns("default-ttl -1"), `t.conf:2: bad default-ttl "-1"`},
		{"default-ttl overflow", ns("default-ttl 99999999999999999999"), `t.conf:2: bad default-ttl "99999999999999999999"`},
		{"default-ttl overflow with suffix", ns("default-ttl 9223372036854775807D"), `t.conf:2: bad default-ttl "9223372036854775807D"`},
		{"default-ttl fraction", ns("default-ttl 1.5D"), `t.conf:2: bad default-ttl "1.5D"`},
		{"default-ttl suffix only", ns("default-ttl D"), `t.conf:2: bad default-ttl "D"`},
		{"default-ttl unknown suffix", ns("default-ttl 30Y"), `t.conf:2: bad default-ttl "30Y"`},
		{"default-ttl two suffixes", ns("default-ttl 1DD"), `t.conf:2: bad default-ttl "1DD"`},
		{"nsup-period too long", ns("nsup-period 2D"), `t.conf:2: bad nsup-period "2D" in namespace test: want seconds up to 1D`},
		{"ttl without nsup", ns("default-ttl 1D", "nsup-period 0"), `t.conf:1: namespace test: default-ttl 1D needs a non-zero nsup-period or allow-ttl-without-nsup true`},
		{"bool", ns("allow-ttl-without-nsup maybe"), `t.conf:2: bad allow-ttl-without-nsup "maybe" in namespace test: want true or false`},
		{"background-query-max-rps zero", ns("background-query-max-rps 0"), `t.conf:2: bad background-query-max-rps "0" in namespace test: want`},
		{"background-query-max-rps big", ns("background-query-max-rps 1000001"), `t.conf:2: bad background-query-max-rps "1000001"`},
		{"max-record-size small", ns("max-record-size 1000"), `t.conf:2: bad max-record-size "1000" in namespace test: want a size from 1K to 128M`},
		{"max-record-size big", ns("max-record-size 129M"), `t.conf:2: bad max-record-size "129M"`},
		{"max-record-size above data-size", ns("max-record-size 8M", "storage-engine memory {", "data-size 4M", "}"), `t.conf:1: namespace test: max-record-size 8M exceeds data-size 4M`},
		{"max-record-size above proto-max-size", ns("max-record-size 4M") + "service {\nproto-max-size 2M\n}", `t.conf:1: namespace test: max-record-size 4M exceeds service proto-max-size 2M`},
		{"limits in bytes", ns("max-record-size 2K") + "service {\nproto-max-size 1500\n}", `t.conf:1: namespace test: max-record-size 2K exceeds service proto-max-size 1500`},
		{"replication-factor zero", ns("replication-factor 0"), `t.conf:2: bad replication-factor "0" in namespace test: want an integer from 1 to 256`},
		{"replication-factor big", ns("replication-factor 257"), `t.conf:2: bad replication-factor "257"`},
		{"data-size small", ns("storage-engine memory {", "data-size 512K", "}"), `t.conf:3: bad data-size "512K" in namespace test storage-engine memory: want a size of at least 1M, such as 4G or 128K`},
		{"data-size overflow", ns("storage-engine memory {", "data-size 8192P", "}"), `t.conf:3: bad data-size "8192P"`},
		{"data-size unit", ns("storage-engine memory {", "data-size 4GB", "}"), `t.conf:3: bad data-size "4GB"`},
		{"device file without filesize", ns("storage-engine device {", "file /x", "}"), `t.conf:2: storage-engine device in namespace test: files need a filesize`},
		{"device without devices", ns("storage-engine device {", "filesize 1G", "}"), `t.conf:2: storage-engine device in namespace test needs at least one device or file`},
		{"device small file", ns("storage-engine device {", "file /x", "filesize 1M", "}"), `t.conf:2: storage-engine device in namespace test: filesize 1M holds fewer than 17 write blocks of 1M`},
		{"device path with a comma", ns("storage-engine device {", "file /x,y", "filesize 17M", "}"), `t.conf:3: bad file "/x,y" in namespace test storage-engine device: want a path without a comma`},
		{"device unaligned file", ns("storage-engine device {", "file /x", "filesize 17M", "write-block-size 2M", "}"), `t.conf:2: storage-engine device in namespace test: filesize 17M is not a multiple of write-block-size 2M`},
		{"device block size", ns("storage-engine device {", "file /x", "filesize 1G", "write-block-size 100K", "}"), `t.conf:5: bad write-block-size "100K"`},
		{"device duplicate file", ns("storage-engine device {", "file /x", "file /x", "filesize 1G", "}"), `t.conf:4: duplicate file "/x"`},
		{"device without block", ns("storage-engine device"), `t.conf:2: storage-engine device needs a block`},
		{"evict above stop-writes", ns("evict-used-pct 95", "stop-writes-used-pct 90"), `t.conf:1: namespace test: evict-used-pct 95 must be below stop-writes-used-pct 90`},
		{"index-type flash on memory", ns("index-type flash {", "mount /mnt/idx", "}"), `t.conf:1: namespace test: index-type flash needs storage-engine device`},
		{"index-type flash without mount", ns("index-type flash {", "}"), `t.conf:2: index-type flash in namespace test needs a mount`},
		{"index-type flash with two mounts", ns("storage-engine device {", "file /x", "filesize 17M", "}", "index-type flash {", "mount /a", "mount /b", "}"),
			`t.conf:8: duplicate "mount" in namespace test index-type flash (first at line 7)`},
		{"index-type flash eviction", ns("storage-engine device {", "file /x", "filesize 17M", "}", "index-type flash {", "mount /a", "evict-mounts-pct 80", "}"),
			`t.conf:8: evict-mounts-pct in namespace test index-type flash is not supported`},
		{"evict-tenths-pct too big", ns("evict-tenths-pct 1001"), `t.conf:2: bad evict-tenths-pct "1001" in namespace test: want an integer from 0 to 1000`},
		{"strong consistency", ns("strong-consistency true"), `t.conf:2: strong-consistency true in namespace test is not supported`},
		{"rack-id not a number", ns("rack-id one"), `t.conf:2: bad rack-id "one" in namespace test: want an integer from 0 to 1000000`},
		{"sindex-type flash", ns("sindex-type flash"), `t.conf:2: bad sindex-type "flash" in namespace test: want shmem`},
		{"conflict-resolution-policy other", ns("conflict-resolution-policy newest"), `t.conf:2: bad conflict-resolution-policy "newest"`},
		{"index-type pmem", ns("index-type pmem"), `t.conf:2: unknown index-type "pmem" in namespace test: want dram, shmem or flash`},
		{"index-type shmem with a block", ns("index-type shmem {", "}"), `t.conf:2: index-type shmem in namespace test takes no block`},
		{"index-type shmem on a plugin", ns("storage-engine plugin {", "path /x", "}", "index-type shmem"), `t.conf:1: namespace test: index-type shmem needs storage-engine memory or device`},
		{"index-type shmem with write buffers in a file", ns("storage-engine device {", "file /x", "filesize 17M", "write-buffer-file /dev/shm/b", "}", "index-type shmem"),
			`t.conf:1: namespace test: index-type shmem keeps the write buffers in its region-file /dev/shm/skiff/test.region: not with write-buffer-file`},
		{"storage-engine pmem", ns("storage-engine pmem {", "}"), `t.conf:2: unknown storage-engine type "pmem" in namespace test: want memory`},
		{"storage-engine without type", ns("storage-engine {", "}"), `t.conf:2: "storage-engine" in namespace test needs a type, such as "storage-engine memory"`},
		{"storage-engine bare without type", ns("storage-engine"), `t.conf:2: "storage-engine" in namespace test needs a type`},
		{"storage-engine two types", ns("storage-engine memory 4G"), `t.conf:2: "storage-engine" in namespace test takes one type, got extra "4G"`},
		{"bad mode", ns("storage-engine memory {", "mode thread", "}"), `t.conf:3: bad mode "thread" in namespace test storage-engine memory: want process or in-process`},
		{"plugin in-process", ns("storage-engine plugin {", "path /x", "mode in-process", "}"), `t.conf:4: mode in-process in namespace test storage-engine plugin: a third-party plugin runs only as a process`},
		{"plugin without path", ns("storage-engine plugin {", "max-records 1", "}"), `t.conf:2: storage-engine plugin in namespace test needs a path`},
		{"plugin without block", ns("storage-engine plugin"), `t.conf:2: storage-engine plugin needs a block`},
		{"plugin setting block", ns("storage-engine plugin {", "path /x", "tuning {", "}", "}"), `t.conf:4: "tuning" in namespace test storage-engine plugin: a plugin's settings are single values`},

		// The first problem wins.
		{"first error", ns("default-ttl x", "nsup-period y"), `t.conf:2: bad default-ttl "x"`},
	}
	lineRE := regexp.MustCompile(`^t\.conf:[0-9]+: `)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("t.conf", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %s, want error %q", dump(c), tt.want)
			}
			if c != nil {
				t.Errorf("Parse returned a Config with error %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
			if !lineRE.MatchString(err.Error()) {
				t.Errorf("error %q does not start with FILE:LINE: ", err)
			}
		})
	}
}

// TestAerospikeFile parses a file the way Aerospike ships them, to show
// that such files load with only the expected warnings.
func TestAerospikeFile(t *testing.T) {
	src := `# Aerospike database configuration file.

service {
	proto-fd-max 15000
}

logging {
	file /var/log/aerospike/aerospike.log {
		context any info
	}
}

network {
	service {
		address any
		port 3000
	}

	heartbeat {
		mode multicast
		multicast-group 239.1.99.222
		port 9918

		# To use unicast-mesh heartbeats, remove the 3 lines above, and see
		# aerospike_mesh.conf for alternative.

		interval 150
		timeout 10
	}

	fabric {
		port 3001
	}

	info {
		port 3003
	}
}

namespace test {
	replication-factor 2
	default-ttl 30d # 30 days, use 0 to never expire/evict.
	nsup-period 120

	storage-engine memory {
		data-size 4G
	}
}

namespace bar {
	replication-factor 2
	storage-engine memory
}
`
	c, err := Load(writeFile(t, src))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 3 || len(c.Namespaces) != 2 || c.Namespaces[1].Name != "bar" || c.Namespaces[1].Line != 50 {
		t.Errorf("got %s\nwarnings %q", dump(c), c.Warnings)
	}
	if want := (LogSink{Path: "/var/log/aerospike/aerospike.log", Level: "info"}); len(c.Logging) != 1 || c.Logging[0] != want {
		t.Errorf("Logging = %+v, want [%+v]", c.Logging, want)
	}
}

func TestDefault(t *testing.T) {
	got := Default()
	// The built-in defaults, but for what the file sets.
	want := defaults(1 + strings.Count(string(defaultText[:bytes.Index(defaultText, []byte("namespace test {"))]), "\n"))
	want.Service.ClusterName = "skiff"
	want.Service.WorkDirectory = "/tmp/skiff"
	want.UDF.UserPath = "/tmp/skiff/udf"
	want.Namespaces[0].DefaultTTL = 30 * 24 * time.Hour
	want.Namespaces[0].File = "default.conf"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Default() =\n%s\nwant\n%s", dump(got), dump(want))
	}

	// DefaultText is the embedded text, and a copy of it.
	text := DefaultText()
	c, err := Parse("default.conf", text)
	if err != nil || !reflect.DeepEqual(c, want) {
		t.Errorf("Parse(DefaultText()) = %v, %v", c, err)
	}
	clear(text)
	if !reflect.DeepEqual(Default(), want) {
		t.Error("changing DefaultText's result changed Default")
	}
}

func TestLoad(t *testing.T) {
	t.Run("ok", func(t *testing.T) {
		path := writeFile(t, ns("default-ttl 1"))
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.Namespaces[0].File != path || c.Namespaces[0].DefaultTTL != time.Second {
			t.Errorf("got %s", dump(c))
		}
	})
	t.Run("parse error names the path", func(t *testing.T) {
		path := writeFile(t, ns("default-ttl forever"))
		_, err := Load(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+":2: ") {
			t.Errorf("Load error = %v, want it to start with %q", err, path+":2: ")
		}
	})
	t.Run("missing file names the path", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing.conf")
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load error = %v, want a not-exist error naming %s", err, path)
		}
	})
}

func writeFile(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "skiff.conf")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
