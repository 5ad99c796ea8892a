// Package hll applies Aerospike's HyperLogLog operations to HLL bins: the
// operations of type hll read and hll modify, which keep a HyperMinHash
// sketch of the values added to a bin and estimate the size, union,
// intersection and similarity of such sets.
//
// # Operations on the wire
//
// An operation's value is a msgpack array, [code, arg...], as the clients
// pack it:
//
//	modify                                         read
//	0 init       [indexBits [minhashBits [flags]]]  50 count
//	1 add        values [indexBits [minhashBits     51 union            hlls
//	             [flags]]]                          52 union_count      hlls
//	2 set_union  hlls [flags]                       53 intersect_count  hlls
//	3 set_count                                     54 similarity       hlls
//	4 fold       indexBits                          55 describe
//	                                                56 may_contain      values
//
// indexBits is 4 to 16, minhashBits 0 or 4 to 51, and together they may
// not pass 64; -1 leaves either to the bin (or, creating one, minhash
// bits to 0). values is a non-empty list of scalars (no lists or maps).
// hlls is a non-empty list of HLLs, or one HLL; an HLL is a str or bin
// whose first byte (a particle type, whichever) is skipped. Policy flags:
// create-only 1, update-only 2, no-fail 4, allow-fold 8; add takes only
// create-only and no-fail, set_union all four, init all but allow-fold.
//
// # Results
//
// add answers with the number of values that raised a register, set_count
// with the count it caches in the bin; the other modify operations give no
// result. count, union_count and intersect_count answer with an integer,
// similarity with a double (NaN for sets that are all empty), union with
// an HLL, describe with the list [indexBits, minhashBits], may_contain
// with 1 if every value may be in the set, else 0. A read of a missing
// bin gives no result, its arguments unread, as Aerospike does.
//
// # The HLL value
//
// A bin holds Aerospike's own layout, so that values move between Skiff
// and Aerospike unchanged:
//
//	byte 0      flags, always 0
//	byte 1      index bits p: the sketch has 2^p registers
//	byte 2      minhash bits r
//	bytes 3-10  cached count, little-endian (as Aerospike's servers, all
//	            little-endian, store it); 0 when not cached
//	bytes 11-   registers of 6+r bits each, packed big-endian from the
//	            high bit of byte 11, the last byte padded with zeros
//
// A register holds a rank (6 bits: one more than the number of trailing
// zeros of the second half of the value's hash) above r minhash bits.
// Adding a value hashes its msgpack encoding, first rewritten to its
// shortest form as Aerospike rewrites it (an integer in the fewest bytes,
// a str or bin header that can be shorter as a str header, an ext header
// likewise), with MurmurHash3 x64-128, seed 0. The low p bits of the
// first 64-bit half pick the register; the next r bits are the minhash
// bits. A register takes the new rank and minhash bits when they compare
// greater, as one unsigned number, than what it holds.
//
// # Estimates
//
// Counts use Ertl's improved estimator (arXiv:1702.01284, algorithm 6)
// with the bias constant alpha Aerospike uses, rounded to the nearest
// integer; a cached count is returned as it is. Several HLLs are combined
// at the least index bits among them, folding larger ones by taking
// register index modulo the smaller size, and keep minhash bits only if
// all have the same. Without minhash bits, the intersection of two or
// three sets is estimated by inclusion-exclusion over union counts and
// similarity as intersection over union. With them, similarity follows
// HyperMinHash (arXiv:1710.08436): registers equal in every sketch over
// registers used in the union, less the expected chance collisions for
// two sets; the intersection count is similarity times the union count.
// Like Aerospike, similarity calls a sketch empty when the first 2^p
// bytes of its registers are zero.
//
// # Errors
//
// Apply's errors carry the result code Aerospike gives in the same case:
//
//	PARAMETER_ERROR    malformed arguments, bit counts out of range,
//	                   flags an operation does not take, an HLL argument
//	                   of the wrong size; intersect_count or similarity
//	                   of more than two HLLs whose minhash bits differ
//	                   or are 0
//	BIN_TYPE_ERROR     a bin that is not an HLL
//	SERVER_ERROR       a bin that is not a well-formed HLL (Check)
//	BIN_EXISTS_ERROR   create-only, and the bin exists
//	BIN_NOT_FOUND      no bin, for update-only, set_count or fold
//	OP_NOT_APPLICABLE  creating a bin with no index bits; init with bit
//	                   counts that together pass 64; set_union into a
//	                   bin with more index bits, or with minhash bits the
//	                   HLLs lack, without allow-fold; fold of a bin with
//	                   minhash bits or fewer index bits; intersect_count
//	                   or similarity of more than two HLLs and a bin
//	                   whose minhash bits differ or are 0
//
// The no-fail flag turns only the create-only and update-only denials
// into success with the bin left as it is.
package hll
