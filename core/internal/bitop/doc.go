// Package bitop applies Aerospike's bitwise operations to blob bins: the
// operations of type bit read and bit modify, which treat a blob as a
// string of bits.
//
// # Operations on the wire
//
// An operation's value is a msgpack array, [code, arg...], as the clients
// pack it:
//
//	modify                                        read
//	 0 resize   byteSize [flags [resizeFlags]]     50 get     offset size
//	 1 insert   byteOffset blob [flags]            51 count   offset size
//	 2 remove   byteOffset byteSize [flags]        52 lscan   offset size bool
//	 3 set      offset size blob [flags]           53 rscan   offset size bool
//	 4 or, 5 xor, 6 and   (as set)                 54 get_int offset intSize [signed]
//	 7 not      offset size [flags]
//	 8 lshift, 9 rshift   offset size shift [flags]
//	10 add, 11 subtract   offset intSize value [flags [mathFlags]]
//	12 set_int  offset intSize value [flags]
//
// Offsets and sizes are in bits unless named byte...; intSize is 1 to 64.
// A blob is a str or bin whose first byte is a particle type, which is
// skipped. Policy flags: create-only 1, update-only 2, no-fail 4,
// partial 8, each accepted only by the operations it means something to.
// Resize flags: from-front 1, grow-only 2, shrink-only 4. Math flags:
// signed 1, then overflow handling: fail 0, saturate 2, wrap 4. The
// context prefix clients send for nested bitmaps is refused, as Aerospike
// refuses it.
//
// # Bits
//
// Bit 0 is the high bit of the blob's first byte. A negative offset counts
// back from the end of the blob. Integers in a blob are big-endian. A
// range must lie in the blob, except that the partial flag cuts the range
// of an operation that accepts it short at the blob's end. Only insert and
// resize grow a blob, and only they create a missing bin; no result may
// reach 128 MiB.
//
// Add and subtract judge overflow exactly. Aerospike's own check (a sign
// test) lets two overflows through: the least n-bit value added to itself,
// and the least value subtracted from a non-negative one; here they
// overflow like any other.
//
// # Errors
//
// Apply's errors carry the result code Aerospike gives in the same case
// (Code):
//
//	PARAMETER_ERROR    malformed arguments, flags an operation does not
//	                   take, sizes and offsets past the limits (128 MiB),
//	                   a negative offset reaching before the blob's start,
//	                   a remove outside the blob, a resize against its
//	                   grow-only or shrink-only flag
//	BIN_TYPE_ERROR     a bin that is not a blob
//	BIN_EXISTS_ERROR   create-only, and the bin exists
//	BIN_NOT_FOUND      no bin, for an update-only operation or one that
//	                   cannot create it
//	OP_NOT_APPLICABLE  a bit range outside the blob; an add or subtract
//	                   that overflows with the fail action
//
// With the no-fail flag, an operation refused for its bin's state, its
// range or an overflow leaves the bin as it is and succeeds; malformed
// arguments still fail. A read of a missing bin gives no result.
package bitop
