// Package sindex holds the secondary indexes of a namespace in memory: their
// definitions (parsed from the sindex-create info command), the keys a bin
// value yields, one ordered structure of (key, digest) entries per index,
// and the walks queries make over it.
//
// # Basics
//
// A Catalog holds a namespace's indexes by name. An Index keeps entries
// (key, digest) in one B+tree ordered by key, then digest (see tree):
//
//	numeric index     key = the integer
//	string, blob      key = HashKey(bytes)        equality queries only
//	geo (2dsphere)    key = cell id (geo.go)      points: a leaf cell;
//	                                              regions: ≤ 16 covering cells
//
// Index.Keys turns a bin value (wire form: integers 8 bytes big-endian,
// lists and maps msgpack, GeoJSON with its cell header) into the index's
// keys, sorted and unique, for the index's collection type (the value, list
// elements, map keys or map values). The node keeps the index up to date by
// calling Index.Update(digest, keysBefore, keysAfter) after each write, with
// empty "after" keys for deletes, expiry and eviction.
//
// Queries walk one ordered range (Index.Range, Equal) or a few
// (Index.EqualKeys, RangeCells for geo), filtering partitions with a
// PartitionSet and skipping what a client already received with a Cursor
// (the DIGEST_ARRAY and BVAL_ARRAY of a resumed query). The key handed to
// the callback is the record's bval for the reply.
//
// # Caveats
//
//   - Results are candidates. A string key is a hash and a geo key a cell:
//     the node re-reads each record and checks its bin against the query
//     (Scalars, Shape.ContainsPoint). A bin that changed since the entry was
//     read is also caught there.
//   - A collection index finds a record once per matching key: a list
//     [1, 2, 3] matches a range [1, 3] three times. The node drops repeats
//     if it wants each record once (the server returns them).
//   - Walks are not snapshots: entries added or removed during a walk may or
//     may not be seen; entries present throughout are seen exactly once.
//   - Memory: an entry takes 28 bytes in leaves that are about 80% full on
//     random inserts and full on ascending ones: about 35 bytes an entry
//     (BenchmarkMemoryPerEntry measures it). Nodes hold no pointer per
//     entry, so the garbage collector does not scan entries.
//   - Not supported yet: indexes on a CDT context (context=) and expression
//     indexes (exp=): ParseCreate returns ErrUnsupported. Geo polygons are
//     planar in longitude/latitude (see geo.go).
package sindex
