// Package msgpack reads and writes the msgpack that Aerospike clients and
// servers use for list and map values (particles), for expressions and for
// operation arguments: one element header at a time, classified as the
// server classifies values.
//
// # Element forms
//
// As the official clients pack them:
//
//	nil c0, false c2, true c3, float32 ca, float64 cb
//	integers: fixint 00-7f / e0-ff, uint8-64 cc-cf, int8-64 d0-d3
//	  (a uint64 over MaxInt64 keeps its bits: Head.Int reads it as the
//	  negative int64 the clients' own unpackers make of it)
//	strings and blobs: str (a0-bf, d9, da, db) or bin (c4, c5, c6) whose
//	  first payload byte is the particle type: 3 string, 4 blob,
//	  23 GeoJSON (JSON text follows, no cell header), 18 HLL, ...
//	arrays 90-9f, dc, dd; maps 80-8f, de, df
//	ext (d4-d8, c7-c9): the flags entry ordered lists and maps start with
//	  (e.g. c7 00 01 then nil for a key-ordered map: a key with a nil
//	  value), and ext type 0xff, the clients' wildcard (data 00) and
//	  infinity (data 01) used in comparisons
//
// # Use
//
// Head.Parse reads one element's header; Header returns the same in
// registers, for loops over every element; Skip steps over whole elements;
// Compare orders two elements as the server orders list items. The Append
// functions write elements; AppendParticle and ToParticle convert between
// bin values (particle type and wire bytes) and elements.
//
// # Contract
//
// Nothing here allocates, recurses or reads past the slice it is given: a
// truncated or malformed element makes a call report false, never panic.
// Slices in a Head alias the input. The hot paths that use it (a filter
// expression per record, index keys per write) are pinned to zero
// allocations by TestAllocs here and by the tests of those paths.
package msgpack
