// Package xdrnats is Skiff's cross-datacenter replication transport over
// NATS JetStream: an xdr.Transport whose Open is the xdr.OpenFunc of the
// transport's plugin binary, or that the node links in-process.
//
// # Layout on NATS
//
// Each namespace has one stream, SKIFF_<namespace>, with file storage and
// limits retention (the stream-* settings below), capturing the subjects
//
//	skiff.<namespace>.<origin>.<set>
//
// where origin is the node that made the change and set is the record's
// set, or "_" for none. Names are escaped into single tokens: letters,
// digits, '-' and '_' stay, any other byte becomes %XX, and a set named
// "_" becomes %5F; so any name is legal and no two names meet. Every
// node that opens the transport creates the stream if it is missing, or
// updates it to its settings, so the nodes of a cluster should agree on
// them.
//
// A message holds a group of consecutive changes of one batch Ship was
// given that share their origin and set, up to 256 changes or 256 KB
// (message.go; a truncate travels alone): one publish, stored message,
// delivery and ack for the group, where a message per change cost each
// of those per change and held shipping to about half a node's write
// rate. Its header Nats-Msg-Id is the ids of its first and last changes,
// <origin>:<digest hex>:<last update>:<generation>:<kind> (and :<set>
// for a truncate), and the group's length, joined by '/'. The id is the
// same each time the node ships the same batch again, so JetStream
// stores a retried batch within the stream's duplicate window (2
// minutes, or the max age if shorter) once; a change shipped again in
// another batch (a recovery scan) may arrive twice, which applying
// tolerates.
//
// Each node consumes the stream with a durable pull consumer named after
// its node id: explicit acks, all messages from the start of the stream
// for a new consumer, at most 10,000 unacknowledged, a 30 s ack wait.
// The consumer's position on the server is the node's durable position.
//
// # Ship
//
// Ship publishes asynchronously, up to 4,096 messages in flight, and
// returns nil once JetStream acknowledged every change, or an error at
// the first failure (then the node ships the batch again). It fails fast
// with ErrNotConnected while the client is disconnected: the client does
// not buffer publishes during an outage. A publish whose ack is lost
// fails after 10 s even if ctx has no deadline.
//
// # Receive
//
// Receive pulls with up to 512 messages prefetched and delivers batches:
// the messages that arrive within 2 ms of the first, whole, until they
// hold 1,024 changes. The
// node's own changes (Origin equal to its node id) are acknowledged
// without being delivered. A batch is acknowledged when apply returns
// nil. When apply fails, the batch and every message the client holds
// after it are Nak'd with a delay (100 ms, doubling to 5 s on repeated
// failures), and consumption resumes after that delay, so that the
// redelivered changes come first. A message that does not decode (a
// newer peer's encoding, say) is logged, counted in Errors and
// terminated: it is never redelivered.
//
// Receive keeps going through NATS outages and restarts, of the server or
// of the consumer, retrying with a backoff from 100 ms to 5 s, until its
// context ends or Close; it then returns the context's error, or
// ErrClosed.
//
// When the stream's limits drop changes before this node received them,
// Stats reports Gap and the transport logs it once. It is seen when
// Receive starts, when a change arrives whose stream sequence skips
// others, and on each Stats.
//
// # Stats
//
// Pending is the consumer's count of messages not yet delivered to the
// node, its own changes included; Errors counts failed Ships, failed
// receive sessions, apply failures, acks that could not be sent and
// messages that did not decode. Stats asks the server each time it is
// called, and reports the last figures it knows when it cannot reach it.
//
// # Settings
//
// The dc block's settings other than nats-url, mode and path; Open refuses
// any other key, naming it.
//
//	nats-user, nats-password   user and password, together
//	nats-token                 an authentication token
//	nats-creds                 a credentials file (JWT and NKey seed)
//	nats-tls-ca                a PEM file of the CAs to trust
//	nats-tls-cert, nats-tls-key
//	                           a client certificate and its key (PEM files)
//	stream-max-age             how long the stream keeps a change: seconds
//	                           (604800), a number with an S, M, H or D
//	                           suffix (7D), or a Go duration (168h);
//	                           default 7 days
//	stream-replicas            the stream's replicas in a NATS cluster,
//	                           1 to 5; default 1
//	stream-max-bytes           the most the stream holds, the oldest
//	                           changes dropped first: bytes, or a number
//	                           with a K, M, G, T or P suffix (1024-based);
//	                           default unlimited
//
// Only one of the user, token and credentials may be given.
//
// # Caveats
//
// A change larger than the server's max_payload (1 MB by default) cannot
// be published: raise max_payload on the NATS servers for namespaces with
// larger records. JetStream remembers every message id of the duplicate
// window, about 200 bytes each on the server: at most that per change
// (a group of one), far less when writes come in bursts.
package xdrnats
