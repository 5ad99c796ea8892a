// Package proto is the Aerospike wire codec: frame headers, AS_MSG messages
// with their fields and operations, batch-index entries, info text and
// compressed frames, and the table of result codes. It does no I/O and keeps
// no state: decoders return slices that alias the caller's buffer, and the
// Writer appends replies to a buffer the caller reuses.
//
// A frame is an 8-byte header (version 2, type, 48-bit body size) and a
// body. An AS_MSG body is a 22-byte header (flags, result code, generation,
// record TTL, transaction TTL, field and operation counts) followed by the
// fields (size, type, data) and the operations (size, op, particle type,
// version, name length, name, value).
package proto
