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
//	geo (2dsphere)    key = cell id (geo.go)      points: their leaf cell;
//	                                              regions: ≤ 16 covering cells
//
// Index.Keys turns a bin value (wire form: integers 8 bytes big-endian,
// lists and maps msgpack, GeoJSON with its cell header) into the index's
// keys, sorted and unique, for the index's collection type (the value, list
// elements, map keys or map values); values of another type give none. The
// node keeps an index up to date by calling
// Index.Update(digest, Keys(old value), Keys(new value)) after each write,
// with no new keys for deletes, expiry and eviction. A bin whose type
// changes needs nothing special: the old value's keys go, the new one's (if
// any) come.
//
// Queries walk one ordered range (Index.Range, Equal) or a few
// (Index.EqualKeys and Index.RangeCells for geo), filtering partitions with
// a PartitionSet and skipping what a client already received with a Cursor
// (the DIGEST_ARRAY and BVAL_ARRAY of a resumed query). The key handed to
// the callback is the bval to send with the record.
//
// # Concurrency
//
// Catalog and Index are safe for concurrent use. Each Index has one
// RWMutex: writers hold it for one call; a walk holds it shared for a
// batch of at most 128 entries handed out (4096 examined) and calls its
// callback without it, so a callback may read storage, block on a socket or
// write to the index. The Catalog's lock is never held while an Index's is
// taken.
//
// # Caveats
//
//   - Results are candidates. A string key is a hash and a geo key a cell:
//     the node re-reads each record and checks its bin against the query
//     (Scalars, and geo.Match for GeoJSON); this also catches a bin
//     that changed after the entry was read, and a record deleted since.
//   - A collection index finds a record once per matching key: a list
//     [1, 2, 3] matches a range [1, 3] three times. The node drops repeats
//     if it wants each record once.
//   - Walks are not snapshots: entries added or removed during a walk may or
//     may not be seen; entries present throughout are seen exactly once.
//   - Memory, measured with runtime.MemStats on 10M entries
//     (BenchmarkMemoryPerEntry): about 36 bytes an entry inserted in random
//     order, 29 in ascending order; an entry itself is 28 bytes (key 8,
//     digest 20). No node holds a pointer per entry, and leaves none at
//     all, so the garbage collector does not scan entries.
//   - Expression indexes (exp=) index the value an expression computes
//     from each record, and indexes on a CDT context (context=) an element
//     nested in the bin's (or the expression's) list or map; this package
//     keeps their definition (Def.Exp, Def.Ctx) and the node computes the
//     values.
//   - Geometry is package geo's, shared with filter expressions (see its
//     caveats): a loop across the antimeridian or spanning tens of degrees
//     may be covered by many more cells than its area needs.
package sindex
