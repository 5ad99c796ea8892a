// Package config reads a node's configuration, written in the aerospike.conf
// dialect, into a typed and validated Config. Every error names the file and
// line of the offending setting.
package config

import (
	"slices"
	"time"
)

// Config is a node's whole configuration.
type Config struct {
	Service    Service
	Network    Network
	Logging    []LogSink
	Namespaces []*Namespace
	UDF        UDF
	// XDR lists the destinations the namespaces replicate with.
	XDR []*DC

	// Warnings lists what the file says that Skiff accepts but ignores,
	// such as the network heartbeat block, one message per item, each
	// starting with FILE:LINE. The node should log them at startup.
	Warnings []string
}

// Service is the service { } block.
type Service struct {
	// ClusterName is the cluster-name a client may require ("" for none).
	ClusterName string
	// NodeID is the node's id as hex digits (node-id); empty means derive one
	// from the service address and port.
	NodeID string
	// ProtoFdMax is the most client connections served at once (proto-fd-max).
	ProtoFdMax int
	// WorkDirectory holds the node's system metadata: truncation points and
	// secondary index definitions kept across restarts (work-directory).
	WorkDirectory string
	// ProtoMaxSize is the largest request frame accepted, in bytes
	// (proto-max-size, a Skiff setting). Larger frames are refused before
	// their body is read.
	ProtoMaxSize int64
	// PidFile is where skiffd writes its process id while it runs
	// (pidfile); empty for none.
	PidFile string
}

// DefaultWorkDirectory is the service's work-directory when the
// configuration sets none.
const DefaultWorkDirectory = "/var/lib/skiff"

// UDF is the mod-udf { } block: where WebAssembly UDF modules live and the
// limits they run under.
type UDF struct {
	// UserPath is the directory registered modules are stored in, and
	// loaded from at startup (user-path).
	UserPath string
	// MaxModuleSize is the largest module registration accepts.
	MaxModuleSize int64
	// MaxMemory is the most linear memory one module instance may use.
	MaxMemory int64
	// MaxCallTime bounds one call of a UDF function (max-call-ms).
	MaxCallTime time.Duration
	// InstancesPerModule is the most instances of a module, each serving
	// one call at a time; a call waits for a free one.
	InstancesPerModule int
}

// DC is an xdr { dc NAME { } } block: a destination (a NATS cluster, for
// the first-party transport) that the node ships its namespaces' changes
// to and applies its peers' changes from.
type DC struct {
	Name string
	// URLs are the servers of the destination (nats-url, repeatable).
	URLs []string
	// Mode is how the transport runs: ModeProcess (default) or
	// ModeInProcess; Path is its plugin binary.
	Mode, Path string
	// Settings are the block's other settings, passed to the transport.
	Settings   map[string]string
	Namespaces []*XDRNamespace
	File       string
	Line       int
}

// XDRNamespace is a dc block's namespace NAME { } block.
type XDRNamespace struct {
	Name string
	// ShipOnlySpecifiedSets ships only the sets of ShipSets; otherwise all
	// sets but those of IgnoreSets.
	ShipOnlySpecifiedSets bool
	ShipSets, IgnoreSets  []string
	// BinPolicy is "all" (ship whole records) or "only-changed".
	BinPolicy string
	// ConflictResolution is "last-update-time" or "generation".
	ConflictResolution string
	// QueueLimit is how many changes wait to be shipped at most
	// (transaction-queue-limit); past it, they are dropped and the
	// records re-shipped by a recovery scan.
	QueueLimit int
	Line       int
}

// Ships reports whether changes of set are shipped.
func (x *XDRNamespace) Ships(set string) bool {
	if x.ShipOnlySpecifiedSets {
		return slices.Contains(x.ShipSets, set)
	}
	return !slices.Contains(x.IgnoreSets, set)
}

// Network is the network { } block.
type Network struct {
	// Service is where clients connect: network { service { address port } }.
	Service Endpoint
	// Admin serves /metrics, /healthz and /readyz over HTTP:
	// network { admin { address port } }, a Skiff block. Port 0 disables it.
	Admin Endpoint
	// ServiceTLS is where clients connect over TLS: tls-address, tls-port,
	// tls-name and tls-authenticate-client in network service. Port 0: no
	// TLS listener.
	ServiceTLS TLSEndpoint
	// TLS are the network tls NAME { } blocks, by name.
	TLS map[string]TLS
}

// Endpoint is an address and port to listen on.
type Endpoint struct {
	Address string
	Port    int
}

// LogSink is one sink of the logging { } block: console or a file.
type LogSink struct {
	// Path is the file to write to; empty means the console (stderr).
	Path string
	// Level is the level of context "any": "critical", "warning", "info",
	// "debug" or "detail". A sink without a "context any" line gets
	// "critical", as in Aerospike.
	Level string
}

// Namespace is a namespace NAME { } block.
type Namespace struct {
	Name string
	// DefaultTTL is the time to live of a record written with TTL 0; 0 means
	// records never expire (default-ttl).
	DefaultTTL time.Duration
	// NsupPeriod is how often expired records are removed; 0 disables the
	// background removal (nsup-period).
	NsupPeriod time.Duration
	// AllowTTLWithoutNsup lets clients write records with a TTL although
	// NsupPeriod is 0 (allow-ttl-without-nsup).
	AllowTTLWithoutNsup bool
	// MaxRecordSize is the largest record accepted, in bytes (max-record-size).
	MaxRecordSize int64
	// ReplicationFactor is accepted for compatibility; a single node keeps
	// one copy (replication-factor).
	ReplicationFactor int
	// Storage is the storage-engine of the namespace.
	Storage StorageEngine
	// EvictUsedPct: above this share of the storage in use, nsup evicts the
	// records closest to expiry (evict-used-pct); 0 disables eviction.
	// Records without a TTL are never evicted.
	EvictUsedPct int
	// EvictTenthsPct caps each eviction pass at this many tenths of a
	// percent of the namespace's records (evict-tenths-pct); 0, Skiff's
	// default, evicts down to the threshold in one pass.
	EvictTenthsPct int
	// DefaultReadTouchTTLPct: a read that sends no read-touch-ttl-pct of
	// its own touches a record read within this percent of the end of the
	// TTL its last write gave it (default-read-touch-ttl-pct); 0 never.
	DefaultReadTouchTTLPct int
	// DisallowNullSetname refuses writes that name no set
	// (disallow-null-setname).
	DisallowNullSetname bool
	// TombRaiderPeriod is how often a device namespace's index is swept
	// for durable-delete tombstones no longer needed (tomb-raider-period).
	TombRaiderPeriod time.Duration
	// StopWritesUsedPct: at this share of the storage in use, writes are
	// refused until deletes, expiry or eviction make room
	// (stop-writes-used-pct); 0 disables it.
	StopWritesUsedPct int
	// StopWritesAvailPct: once less than this share of the storage is
	// free (for a device namespace, whole free write blocks), writes are
	// refused as above (stop-writes-avail-pct); 0 disables it.
	StopWritesAvailPct int
	// StopWritesSysMemoryPct: once this share of the memory the node may
	// use (the machine's, or its container's limit) is in use, writes are
	// refused as above (stop-writes-sys-memory-pct); 0 disables it.
	StopWritesSysMemoryPct int
	// BackgroundQueryMaxRPS bounds the records a second a background job
	// (operations or a UDF applied to what a scan or query finds) works
	// on; a job asking for fewer gets what it asks (background-query-max-rps).
	BackgroundQueryMaxRPS int
	// IndexType is where the primary index lives (index-type): "dram",
	// "shmem" (dram, in Storage.RegionFile, by default a file of shmemDir
	// named after the namespace) or "flash" (in a file under IndexMount).
	IndexType            string
	IndexMount           string
	IndexMountsSizeLimit int64
	// Sets holds the set NAME { } blocks' settings, by set name; a set
	// without a block has the zero SetSettings. set-config replaces the map
	// whole, never modifies it.
	Sets map[string]SetSettings

	// File and Line locate the namespace block, for messages about it.
	File string
	Line int
}

// SetSettings are a set's settings: a namespace's set NAME { } block.
type SetSettings struct {
	// DisableEviction keeps eviction from removing the set's records
	// (disable-eviction); they still expire.
	DisableEviction bool
	// StopWritesCount refuses new records once the set holds this many
	// (stop-writes-count); 0: no limit.
	StopWritesCount int64
	// StopWritesSize refuses writes to the set once its records take more
	// than this many bytes (stop-writes-size); 0: no limit.
	StopWritesSize int64
	// DefaultReadTouchTTLPct is the set's default-read-touch-ttl-pct, for
	// reads that send none: 0 takes the namespace's, -1 never touches.
	DefaultReadTouchTTLPct int
}

// Limited reports whether the set has a limit on its records.
func (st SetSettings) Limited() bool { return st.StopWritesCount != 0 || st.StopWritesSize != 0 }

// StorageEngine is a namespace's storage-engine TYPE { } block.
type StorageEngine struct {
	// Type is the backend: "memory", "device", or "plugin" for a
	// third-party backend.
	Type string
	// DataSize is the memory for record data (data-size); writes fail with a
	// clear error once it is used up. Memory only.
	DataSize int64
	// Mode is how the node runs the backend: ModeProcess or ModeInProcess
	// (mode). Third-party plugins run as processes only.
	Mode string
	// RegionFile is a file on a tmpfs that keeps a memory namespace's
	// index and records, or a device namespace's index and write buffers,
	// across restarts of the node (region-file); empty for none.
	RegionFile string
	// SnapshotFile is where a clean stop writes a memory namespace's
	// records and index, for the next start to load (snapshot-file); empty
	// for none. Memory only; not with RegionFile.
	SnapshotFile string
	// Path is the backend's plugin binary (path); empty means the
	// first-party binary beside the node's (skiff-storage-memory).
	Path string
	// Settings are a plugin's other settings as written, passed to it when
	// it opens the backend. Plugin only.
	Settings map[string]string

	// Device is the device engine's block.
	Device Device
}

// Device is the settings of storage-engine device, Aerospike's names and
// meanings.
type Device struct {
	// Devices are raw devices (device, repeatable) and Files files (file,
	// repeatable) that records are striped across.
	Devices, Files []string
	// FileSize is the size of each file, created at that size (filesize).
	FileSize int64
	// WriteBlockSize is the unit records are written to the devices in
	// (write-block-size).
	WriteBlockSize int64
	// DirectIO opens devices and files with O_DIRECT (direct-io).
	DirectIO bool
	// ReadPageCache reads through the page cache, writes staying direct
	// (read-page-cache).
	ReadPageCache bool
	// PostWriteQueue is how many recently written blocks stay in memory
	// for reads (post-write-queue).
	PostWriteQueue int
	// DefragSleepUs is the pause after each block the defragmenter
	// handles, in microseconds (defrag-sleep).
	DefragSleepUs int
	// MaxWriteCache is how many bytes of full write blocks a device may
	// have waiting to be written before writes fail with DEVICE_OVERLOAD
	// (max-write-cache).
	MaxWriteCache int64
	// FlushMaxMs bounds how long a partly filled write buffer waits before
	// it is written (flush-max-ms).
	FlushMaxMs int
	// DefragLWMPct: blocks with less of their bytes live are defragmented
	// (defrag-lwm-pct).
	DefragLWMPct int
	// CommitToDevice acknowledges a write only once it is on the device
	// (commit-to-device).
	CommitToDevice bool
	// Compression is the codec of the bins of records written: none, lz4,
	// snappy or zstd (compression); CompressionLevel is zstd's, 1 to 9, 0
	// for the default (compression-level).
	Compression      string
	CompressionLevel int
	// ColdStartEmpty starts empty where a start would read the devices
	// (cold-start-empty).
	ColdStartEmpty bool
	// DataInMemory keeps a copy of the data in memory (data-in-memory).
	DataInMemory bool
	// WriteBufferFile is a file on a tmpfs holding the write buffers, so
	// that a crash of the node loses no acknowledged write
	// (write-buffer-file); empty for none. Skiff only.
	WriteBufferFile string
}

// Backend modes.
const (
	// ModeProcess runs the backend as a plugin process, started and
	// supervised by the node: the default.
	ModeProcess = "process"
	// ModeInProcess links the backend into the node.
	ModeInProcess = "in-process"
)
