// Package plugin runs a storage backend as a separate process, started and
// supervised by a Skiff node with hashicorp/go-plugin, and gives the node a
// storage.Backend that talks to it.
//
// # Writing a backend
//
// A backend is a package that implements storage.Backend (see
// sdk/storage) and an OpenFunc that creates it from the settings of a
// namespace's storage-engine block. Its plugin binary is one line of main:
//
//	func main() { plugin.Serve("capped", capped.Open) }
//
// storagetest checks the package, linked in and through this glue: a test
// binary whose TestMain calls Serve when IsPluginProcess reports true can
// start itself as the plugin with Start (examples/storage-capped does).
// A node runs the binary for a namespace configured with
//
//	storage-engine plugin {
//		path /usr/local/lib/skiff/skiff-storage-capped
//		max-records 1000000     # any other setting is passed to OpenFunc
//	}
//
// # Protocol
//
// The node starts the binary with the handshake's cookie in its
// environment; go-plugin checks the cookie and ProtocolVersion on both
// sides, so that a binary that is not a Skiff storage plugin, or one built
// for another version, is refused with an error naming it. Control calls
// (open, stats, health, close) are gRPC methods of the service in pb/ over
// go-plugin's connection. Records do not travel over gRPC: Open returns the
// path of a Unix socket that carries them as pipelined binary frames
// (wire.go describes them). Many goroutines' requests share one write, the
// plugin answers them in order and writes the replies that are ready in one
// write, and the node matches replies to requests by id, so a record costs
// a few hundred bytes of copying and a share of a system call, not a gRPC
// round trip. A backend that waits for I/O implements storage.IOBound, and
// its requests are answered concurrently instead, by as many worker
// goroutines as its MaxInFlight, their replies sharing writes as they
// complete.
//
// Records of 2 KiB or more do not go through the socket: on Linux each
// data connection also has 64 MiB of memory both processes map (resident
// only as far as records have used it), where a large Put's record, Get's
// reply or scan's record is written once and read in place, the frame
// saying where (shm.go). Through the socket such a record cost each side a
// kernel copy and wake-ups while the socket's buffer filled and drained.
//
// A backend may go further and keep its index and records where the node
// can read them: one that has a SharedIndex method returning a
// sharedindex.Region (the memory and device backends) sends the region's
// descriptor, and a device backend its files' too, in its answer to each
// data connection's greeting. The node maps the region read-only and
// answers Get, GetMeta and the reads of scans itself
// (Process.ReadsSharedIndex), reading a device's records from its files,
// and leaves to the plugin only what it could not read consistently (or,
// on a device, what is still in the plugin's write buffers) and every
// write.
//
// # Failure
//
// A plugin's logs, written with slog (Serve installs a default logger that
// speaks go-plugin's format), reach the node's log with the plugin's name.
// When the process dies, every call in flight and after fails at once with
// storage.ErrUnavailable and Process.Broken is closed; the node then starts
// a new process. A backend whose region holds what its successor needs
// (a memory backend's records, a device backend's write buffers) leaves it
// behind: the node keeps the region's memory file (Process.Leftover) and
// passes it to the new process (Config.Resume), whose backend, if served
// WithResume, takes it over instead of starting without it. A plugin exits
// within half a second of its node going away, even if the node was
// killed, and closes its backend before exiting on SIGTERM.
package plugin
