package expr

import (
	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// Flags of the expression operations, the second element of their value.
const (
	// WriteCreateOnly: fail with BIN_EXISTS_ERROR if the bin exists.
	WriteCreateOnly = 1 << 0
	// WriteUpdateOnly: fail with BIN_NOT_FOUND if the bin does not exist.
	WriteUpdateOnly = 1 << 1
	// WriteAllowDelete: a nil result deletes the bin (else the write
	// fails with OP_NOT_APPLICABLE).
	WriteAllowDelete = 1 << 2
	// WritePolicyNoFail: skip the write silently where CreateOnly or
	// UpdateOnly would fail.
	WritePolicyNoFail = 1 << 3
	// EvalNoFail (read and write): an expression that evaluates to
	// unknown, or to a value no bin can hold, yields nil instead of
	// failing with OP_NOT_APPLICABLE.
	EvalNoFail = 1 << 4

	readFlags  = EvalNoFail
	writeFlags = WriteCreateOnly | WriteUpdateOnly | WriteAllowDelete | WritePolicyNoFail | EvalNoFail
)

// ParseReadOp decodes and compiles the value of an OpExpRead operation:
// msgpack [expression, flags] (flags optional). Errors map to result codes
// with Code.
func ParseReadOp(value []byte) (e *Expr, flags uint64, err error) {
	return parseOp(value, readFlags)
}

// ParseModifyOp decodes and compiles the value of an OpExpModify operation.
func ParseModifyOp(value []byte) (e *Expr, flags uint64, err error) {
	return parseOp(value, writeFlags)
}

func parseOp(value []byte, valid uint64) (*Expr, uint64, error) {
	var h msgpack.Head
	if !h.Parse(value) || h.Type != msgpack.List || h.N < 1 || h.N > 2 {
		return nil, 0, malformed("expression operation is not [expression, flags]")
	}
	off := h.Size
	n, ok := msgpack.Skip(value[off:])
	if !ok {
		return nil, 0, malformed("bad expression in operation")
	}
	exp := value[off : off+n]
	var flags uint64
	if h.N == 2 {
		// Flags that are not an integer are ignored, as by the server.
		flags, _, _ = msgpack.Uint(value[off+n:])
	}
	if flags&^valid != 0 {
		return nil, 0, malformed("invalid expression operation flags %#x", flags)
	}
	e, err := Compile(exp)
	if err != nil {
		return nil, 0, err
	}
	return e, flags, nil
}

// ApplyRead evaluates the expression of a read operation against r and
// returns the result as a bin value for the reply under the operation's
// name: typ ParticleNull for nil (and for a failed evaluation with
// EvalNoFail). It fails with OpNotApplicable when e evaluates to unknown.
// New bytes come from a; others alias e or r's bins.
func ApplyRead(e *Expr, flags uint64, r *Record, a *bins.Arena) (typ uint8, val []byte, code proto.ResultCode) {
	typ, val, ok := e.Eval(r, a).Particle(a)
	if !ok {
		if flags&EvalNoFail != 0 {
			return proto.ParticleNull, nil, proto.OK
		}
		return 0, nil, proto.OpNotApplicable
	}
	return typ, val, proto.OK
}

// ApplyWrite evaluates the expression of a modify operation on the bin
// called bin of r (whose bins must reflect the request's earlier
// operations) and says what to do with the bin:
//
//	code != OK                      fail the request with code
//	del                             remove the bin
//	typ == ParticleNull && !del     leave the bin as it is
//	otherwise                       set the bin to (typ, val)
//
// Failures, as the server's: BinExists (CreateOnly, bin exists),
// BinNotFound (UpdateOnly, no bin), OpNotApplicable (unknown result without
// EvalNoFail; nil result for an existing bin without AllowDelete, unless
// other flags are set: the server tests any flag there). New bytes come from
// a; others alias e or r's bins.
func ApplyWrite(e *Expr, flags uint64, r *Record, bin []byte, a *bins.Arena) (typ uint8, val []byte, del bool, code proto.ResultCode) {
	exists := bins.Find(r.Bins, bin) >= 0
	switch {
	case exists && flags&WriteCreateOnly != 0:
		if flags&WritePolicyNoFail != 0 {
			return proto.ParticleNull, nil, false, proto.OK
		}
		return 0, nil, false, proto.BinExists
	case !exists && flags&WriteUpdateOnly != 0:
		if flags&WritePolicyNoFail != 0 {
			return proto.ParticleNull, nil, false, proto.OK
		}
		return 0, nil, false, proto.BinNotFound
	}
	typ, val, ok := e.Eval(r, a).Particle(a)
	switch {
	case !ok:
		if flags&EvalNoFail != 0 {
			return proto.ParticleNull, nil, false, proto.OK
		}
		return 0, nil, false, proto.OpNotApplicable
	case typ != proto.ParticleNull:
		return typ, val, false, proto.OK
	case !exists: // nil for a bin that is not there: nothing to do
		return proto.ParticleNull, nil, false, proto.OK
	case flags&WriteAllowDelete != 0:
		return proto.ParticleNull, nil, true, proto.OK
	case flags != 0:
		return proto.ParticleNull, nil, false, proto.OK
	}
	return 0, nil, false, proto.OpNotApplicable
}
