package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"time"
)

// Partitions is the number of partitions of every namespace.
const Partitions = 4096

// Digest is a record's address: RIPEMD-160 over the set name, the key's
// particle type and the key's bytes, computed by the client.
type Digest [20]byte

// Partition returns the partition that owns the record: the low 12 bits of
// the digest's first two bytes read little-endian.
func (d Digest) Partition() uint16 {
	return binary.LittleEndian.Uint16(d[:2]) & (Partitions - 1)
}

// Epoch is the Aerospike epoch, 2010-01-01T00:00:00Z. Void times count
// seconds from it.
var Epoch = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC)

// EpochUnix is Epoch in seconds since the Unix epoch.
const EpochUnix = 1262304000

// Meta is the metadata the core needs about a record without reading its
// bins: enough for generation checks, expiry and eviction.
type Meta struct {
	// Generation counts the record's writes; the first write makes it 1.
	Generation uint32
	// VoidTime is when the record expires, in seconds since Epoch; 0 means
	// it never expires.
	VoidTime uint32
	// LastUpdate is the time of the record's last write, in nanoseconds
	// since the Unix epoch.
	LastUpdate uint64
	// Set is the record's set name, "" for none. Backends intern set names,
	// so returning metadata does not allocate a new string.
	Set string
	// HasKey reports that the record holds a stored user key. It lets the
	// core replace a record's bins from its metadata alone, without reading
	// the data, and still keep a key the write did not send. A backend sets
	// it wherever it returns metadata; Put ignores it (the key decides).
	HasKey bool
}

// Record is a stored record. Key and Bins are opaque to a backend: it stores
// and returns them byte for byte.
type Record struct {
	Meta
	// Key is the stored user key (a particle type byte followed by the key's
	// bytes) when the writer sent it, else empty.
	Key []byte
	// Bins is the core's encoding of the record's bins.
	Bins []byte
}

// Size is the number of bytes the record occupies as data, excluding index
// overhead: what max-record-size and data-size limits are checked against.
func (r *Record) Size() int {
	return len(r.Set) + len(r.Key) + len(r.Bins)
}

// Stats are a backend's own figures, reported in info and /metrics.
type Stats struct {
	// Records is the number of records held, expired ones not yet removed
	// included.
	Records uint64
	// DataBytes is the space the records take in the backend's data store,
	// including allocation overhead.
	DataBytes uint64
	// IndexBytes is the memory the primary index takes.
	IndexBytes uint64
	// Capacity is the configured size of the data store in bytes; 0 means
	// unbounded.
	Capacity uint64
	// Sets are the figures of each set that holds records, in any order.
	// Records without a set are counted in Records only.
	Sets []SetStats
	// Extra are the backend's own figures, by Aerospike's metric names
	// where one exists (device_read_tps, defrag_reads, ...). The node shows
	// them in the namespace's info and in /metrics. The figures the node
	// derives from the fields above (objects, data_used_bytes,
	// data_total_bytes, data_used_pct, index_used_bytes) are the node's: an
	// Extra of one of those names is ignored. data_avail_pct and
	// tombstones, which the node can only guess, are taken from Extra.
	Extra map[string]float64
}

// SetStats are one set's figures.
type SetStats struct {
	Name string
	// Records is the number of records of the set.
	Records uint64
	// DataBytes is the space the set's records take, counted as in
	// Stats.DataBytes.
	DataBytes uint64
}

// ScanFunc receives one record of a scan. The record's Key and Bins, and d,
// are valid only until the function returns. Returning a non-nil error stops
// the scan, and ScanPartition returns that error.
type ScanFunc func(d Digest, rec *Record) error

// Backend is the storage of one namespace: a primary index from digest to
// record and the media that hold the records.
//
// Concurrency: every method may be called from many goroutines at once. The
// core serialises writes to one digest (it holds a per-record lock across a
// Get and the Put or Delete that follows), so a backend need not order
// concurrent writes to the same digest, but it must stay consistent under
// concurrent calls for different digests and under scans.
//
// Expiry: a backend stores VoidTime but never acts on it. The core treats an
// expired record as absent and removes it, lazily on access and through
// metadata scans.
//
// Errors: methods return the sentinel errors of this package (possibly
// wrapped), so that the core can map them to wire result codes.
type Backend interface {
	// Get returns the record with digest d. The returned Key and Bins share
	// storage with buf, which Get grows (by allocation) when it is too small;
	// they stay valid until the caller reuses buf. It returns ErrNotFound
	// when there is no such record.
	Get(ctx context.Context, d Digest, buf []byte) (Record, error)

	// GetMeta returns the metadata of the record with digest d without
	// reading its data, or ErrNotFound.
	GetMeta(ctx context.Context, d Digest) (Meta, error)

	// Put stores rec under digest d, replacing any record there. The backend
	// copies what it keeps; rec's slices are the caller's again once Put
	// returns. It returns ErrRecordTooBig when the record can never fit,
	// ErrOutOfSpace when the store is full and ErrOverloaded when writes
	// come faster than the media take them.
	Put(ctx context.Context, d Digest, rec Record) error

	// Delete removes the record with digest d, or returns ErrNotFound.
	// Durable asks a persistent backend to leave a tombstone, so that the
	// record does not come back when the index is rebuilt from the media.
	Delete(ctx context.Context, d Digest, durable bool) error

	// ScanPartition calls fn for each record of partition pid. With metaOnly,
	// only Meta is filled in: no data is read. A backend must not
	// hold locks while fn runs, so fn may call any method of the backend,
	// writes to the same partition included. Records present for the whole
	// scan are seen exactly once; records written or removed during it may or
	// may not be seen.
	ScanPartition(ctx context.Context, pid uint16, metaOnly bool, fn ScanFunc) error

	// Stats returns the backend's figures.
	Stats(ctx context.Context) (Stats, error)

	// Close releases the backend's resources. No other method may be called
	// once Close has been called.
	Close() error
}

// IOBound is implemented by a backend whose point operations wait for I/O:
// a device read, a write acknowledged once durable. MaxInFlight is how many
// point requests a plugin process serving it has in progress at once, on as
// many goroutines, whatever data connection they came on. A backend
// that does not implement it has each connection's requests answered one
// after another, which costs less when they never wait.
type IOBound interface {
	MaxInFlight() int
}

// The sentinel errors of the contract. Backends return them, wrapped with
// context if they like; callers test with errors.Is.
var (
	// ErrNotFound: no record with that digest.
	ErrNotFound = errors.New("storage: record not found")
	// ErrRecordTooBig: the record is larger than the backend can ever store.
	ErrRecordTooBig = errors.New("storage: record too big")
	// ErrOutOfSpace: the backend's store is full; the write was not done.
	ErrOutOfSpace = errors.New("storage: out of space")
	// ErrOverloaded: writes are coming faster than the backend's media
	// take them and its queue of writes is full; the write was not done
	// and may succeed later. The client sees DEVICE_OVERLOAD.
	ErrOverloaded = errors.New("storage: write queue full")
	// ErrClosed: the backend has been closed.
	ErrClosed = errors.New("storage: backend closed")
	// ErrUnavailable: the backend cannot serve requests now (for example its
	// process is restarting); the request may succeed later.
	ErrUnavailable = errors.New("storage: backend unavailable")
)
