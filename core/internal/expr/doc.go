// Package expr compiles and evaluates Aerospike expressions: the filter
// expressions of the FILTER_EXP field (43), and the expressions of the
// expression operations OpExpRead (7) and OpExpModify (8).
//
// # Use
//
// Compile a request's filter once, then test each record it touches:
//
//	f, err := expr.CompileFilter(field) // reply expr.Code(err) on error
//	r := expr.Record{Digest: d, Meta: meta, Key: key, Bins: bins, Size: size, Now: now}
//	if !f.Filter(&r) { /* FILTERED_OUT; a scan skips the record */ }
//
// A scan can call FilterMeta first and read the bins only when metadata
// does not decide. Expression operations go through ParseReadOp and
// ApplyRead, or ParseModifyOp and ApplyWrite.
//
// # Wire form
//
// The client sends an expression as one msgpack element. An array is an
// instruction, [op, args...]; anything else is a literal:
//
//	nil, true/false, integers, doubles  themselves
//	string   str whose first byte is the string particle type (3)
//	blob     str/bin whose first byte is the blob (4) or HLL (18) type
//	GeoJSON  str whose first byte is the GeoJSON particle type (23)
//	map      a msgpack map, as is
//	list     [126 (quote), [items...]]: a bare array would be an instruction
//	unknown  [0]
//	infinity, wildcard  ext 0xff with data 0x01 / 0x00 (meaningful only to
//	         list/map calls; here they are opaque msgpack values)
//
// Some instructions carry static parameters in place of sub-expressions:
// bin [81, type, "name"] and bin_type [82, "name"] take raw (untyped)
// strings, key [80, type] and digest_modulo [64, mod] integers, regex
// [7, flags, "pattern", string-expr], var [124, "name"], and let
// [125, "name1", def1, ..., body] alternates raw names and definitions.
//
// # Static typing
//
// Compile checks arity and types the way the server does, so that an
// expression the server would refuse is refused here with PARAMETER_ERROR:
// both sides of a comparison have the same type (and are not GeoJSON or
// HLL), logical operators take booleans, arithmetic takes all-integer or
// all-float arguments, cond's branches agree, variables are defined before
// use and never shadowed. A filter must be boolean.
//
// # Unknown
//
// Reading a bin that is missing or has another type, a key that was not
// stored, dividing an integer by zero and similar evaluate to "unknown".
// Unknown propagates through every operator except and/or: and is false if
// any argument is false, or is true if any argument is true, otherwise an
// unknown argument makes them unknown. not(unknown) and exclusive with an
// unknown argument are unknown, and so is cond when a condition it reaches
// is unknown. A filter that evaluates to unknown does not match (the record
// is FILTERED_OUT); an expression operation that evaluates to unknown fails
// with OP_NOT_APPLICABLE unless its flags say EvalNoFail.
//
// # Calls
//
// A call into the list and map module (op 127, module 0) runs the list or
// map operation of package cdt on the value of its bin expression, a call
// into the bit module (1) the bit operation of package bitop, and a call
// into the HLL module (2) the HLL operation of package hll, with their
// params evaluated first: a read call's value is the operation's
// result, a modify call's the changed value (the bin itself changes only
// when an expression write operation stores that value).
//
// # Not implemented
//
// Server 8.1's additions, the select call ([0xfe, ...]), in_list (9),
// remove_result (100), map_keys/map_values (101, 102) and builtin
// variables (122), compile to ErrUnsupported, after the rest of the
// expression has been type checked (a mistyped call is still a
// PARAMETER_ERROR). GeoJSON
// regions are checked with plain spherical geometry (package geo, which
// geo indexes share, so a filter and an index query agree), not the
// server's S2 cell coverings; POSIX regular expressions are translated to
// Go's RE2 syntax, which has no back-references.
//
// # Cost
//
// An Expr is immutable and safe for concurrent use; it keeps a private copy
// of the bytes it was compiled from, and values it returns alias that copy
// or the record's bins. Evaluation does not allocate for expressions over
// scalar bins and metadata (see BenchmarkFilter); GeoJSON bins are parsed
// on each evaluation, and list, map, bit and HLL calls decode their values and
// build their results on each (a filter's in a pooled arena).
package expr
