// Package xdr is the contract between a Skiff node and a cross-datacenter
// replication transport: the node hands the transport the changes its
// namespaces commit (Ship) and applies the changes of its peers that the
// transport delivers (Receive). The first-party transport is NATS
// JetStream (plugins/xdr-nats), run as a plugin process like storage
// backends; another transport implements Transport and serves it with
// sdk/xdr/plugin.
//
// # Semantics
//
// A transport instance serves one namespace towards one destination (an
// xdr dc block). Ship returns nil only once the changes are durable in the
// transport (for JetStream: the stream acknowledged them), so a node that
// crashes after Ship loses nothing it shipped. Receive delivers every
// change a peer shipped at least once, in the order each peer shipped
// them, never the changes whose Origin is the node's own; a batch whose
// apply returns nil is acknowledged, and redelivered otherwise. Delivery
// resumes, after a restart of either side or an outage, from the node's
// durable position. Changes carry everything needed to resolve conflicts
// (generation, last-update time, origin), so that applying one twice, or
// late, is harmless.
package xdr

import "context"

// Kind is what a change does.
type Kind uint8

const (
	// Write sets a record: Bins hold all its bins, or only those the write
	// changed when Partial.
	Write Kind = 1
	// Delete removes a record.
	Delete Kind = 2
	// Truncate removes the records of Set (of the namespace when Set is
	// empty) last updated before LastUpdate.
	Truncate Kind = 3
)

// Change is one committed change, as its origin node made it.
type Change struct {
	Kind      Kind
	Namespace string
	Set       string
	Digest    [20]byte
	// Key is the record's stored user key, its particle type byte then its
	// value, or empty.
	Key []byte
	// Bins are the record's bins in Skiff's record encoding (a count, then
	// per bin its name, particle type and value); nil for a delete.
	Bins    []byte
	Partial bool
	// Generation, VoidTime (seconds since the Aerospike epoch, 0 for never)
	// and LastUpdate (nanoseconds since the Unix epoch) are the record's
	// after the change, on its origin.
	Generation uint32
	VoidTime   uint32
	LastUpdate uint64
	// Origin is the node id of the node where the change was made.
	Origin string
}

// Config is what a transport instance serves.
type Config struct {
	// DC names the destination (the xdr dc block); Namespace the namespace.
	DC, Namespace string
	// Node is the id of the node the transport runs for: the Origin of the
	// changes it ships, and the name of its durable position.
	Node string
	// URLs are the servers to connect to (nats-url).
	URLs []string
	// Settings are the dc block's other settings, as written, for the
	// transport to read (credentials, TLS, retention); a transport refuses
	// those it does not know.
	Settings map[string]string
}

// Stats are a transport instance's figures since it opened.
type Stats struct {
	Shipped  uint64 // changes Ship made durable
	Received uint64 // changes delivered to apply and acknowledged
	// Pending is how many changes of peers wait for this node in the
	// transport, when it knows: the lag in changes.
	Pending uint64
	Errors  uint64 // failed publishes, deliveries and acknowledgements
	// Connected reports whether the transport reaches its servers now.
	Connected bool
	// Gap reports that changes were lost to the transport's retention
	// before this node received them: a peer must re-ship (skiff xdr
	// rewind).
	Gap bool
}

// Transport moves a namespace's changes to and from one destination.
// Ship and Receive may run concurrently; Ship is not called concurrently
// with itself.
type Transport interface {
	Ship(ctx context.Context, changes []Change) error
	// Receive delivers peers' changes to apply until ctx ends or the
	// transport is closed, returning the reason.
	Receive(ctx context.Context, apply func([]Change) error) error
	Stats(ctx context.Context) (Stats, error)
	Close() error
}

// OpenFunc opens a transport instance.
type OpenFunc func(ctx context.Context, cfg Config) (Transport, error)
