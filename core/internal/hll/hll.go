package hll

import (
	"errors"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// Errors are the result codes the client gets (proto.ResultCode is an
// error); Apply's callers read them with proto.CodeOf.
var (
	errParam       = error(proto.ParameterError)
	errBinType     = error(proto.BinTypeError)
	errBadBin      = error(proto.ServerError)
	errBinExists   = error(proto.BinExists)
	errBinNotFound = error(proto.BinNotFound)
	errNotApplic   = error(proto.OpNotApplicable)
)

// errNoOp stops an operation denied under the no-fail flag: it leaves the
// bin as it is and succeeds.
var errNoOp = errors.New("hll: bin unchanged")

// Apply runs one HLL operation, whose wire value is arg, on a bin of type
// binType holding bin (ParticleNull: no such bin). modify is the
// operation's type: a read may not use a modify code, nor a modify a read
// code. New values and results live in a or alias bin and arg; bin and
// arg are never written.
func Apply(a *bins.Arena, modify bool, binType uint8, bin []byte, arg []byte) (bins.Outcome, error) {
	exists := binType != proto.ParticleNull
	switch {
	case !exists && !modify:
		return bins.Outcome{}, nil
	case !exists:
		bin = nil // whatever the caller passed, a missing bin has no bytes
	case binType != proto.ParticleHLL:
		return bins.Outcome{}, errBinType
	case Check(bin) != nil:
		return bins.Outcome{}, errBadBin
	}
	o, err := parseOp(arg, modify)
	if err != nil {
		return bins.Outcome{}, err
	}
	if !modify {
		return o.def.read(a, o, bin)
	}
	return applyModify(a, o, bin)
}

// applyModify runs a modify operation after checking the bin (nil: none)
// against the create-only and update-only flags.
func applyModify(a *bins.Arena, o op, bin sketch) (bins.Outcome, error) {
	var err error
	switch {
	case bin != nil && o.flags&flagCreateOnly != 0:
		err = o.deny(errBinExists)
	case bin == nil && o.flags&flagUpdateOnly != 0:
		err = o.deny(errBinNotFound)
	default:
		return o.def.modify(a, o, bin)
	}
	if err == errNoOp {
		return bins.Outcome{}, nil
	}
	return bins.Outcome{}, err
}

// Policy flags.
const (
	flagCreateOnly = 1
	flagUpdateOnly = 2
	flagNoFail     = 4
	flagAllowFold  = 8
)

// unset is a bit count the client leaves to the bin (-1 on the wire).
const unset = -1

// op is one decoded operation.
type op struct {
	def *opDef
	// indexBits and minhashBits are unset unless given.
	indexBits, minhashBits int
	flags                  uint64
	// items holds the encoded values or HLLs of the list argument, n of
	// them (the bytes of the one HLL given in place of a list, n = 1).
	items []byte
	n     int
}

// deny returns err for an operation refused for its bin's state, or
// errNoOp under the no-fail flag.
func (o *op) deny(err error) error {
	if o.flags&flagNoFail != 0 {
		return errNoOp
	}
	return err
}

// parseOp reads an operation's wire value: the code, which must be of the
// operation's type, then the arguments its definition lists.
func parseOp(arg []byte, modify bool) (op, error) {
	o := op{indexBits: unset, minhashBits: unset}
	code, body, nargs, ok := msgpack.Op(arg)
	if !ok {
		return o, errParam
	}
	if o.def = lookup(code, modify); o.def == nil {
		return o, errParam
	}
	if nargs < o.def.min || nargs > len(o.def.args) {
		return o, errParam
	}
	for _, k := range o.def.args[:nargs] {
		n, err := o.parseArg(k, body)
		if err != nil {
			return o, err
		}
		body = body[n:]
	}
	return o, nil
}

// lookup returns the definition of the operation with code, nil if there
// is none of the type asked for.
func lookup(code uint64, modify bool) *opDef {
	switch {
	case modify && code < uint64(len(modifyOps)):
		return &modifyOps[code]
	case !modify && code >= readBase && code-readBase < uint64(len(readOps)):
		return &readOps[code-readBase]
	}
	return nil
}

// argKind says how to read and check one argument.
type argKind uint8

const (
	argIndexBits     argKind = iota // -1 or 4 to 16
	argMinhashBits                  // -1, 0 or 4 to 51; with index bits, at most 64 together
	argFlags                        // policy flags the operation accepts
	argValues                       // a non-empty list of values other than lists and maps
	argHLLs                         // a non-empty list of HLLs, or one HLL
	argHLLsIntersect                // argHLLs; more than two must share non-zero minhash bits
)

// parseArg reads the argument at the start of b as k says, and returns its
// length. The whole wire value is known to be well-formed msgpack.
func (o *op) parseArg(k argKind, b []byte) (int, error) {
	var h msgpack.Head
	h.Parse(b)
	isInt := h.Type == msgpack.Int || h.Type == msgpack.NegInt
	size := h.Size
	ok := true
	switch k {
	case argIndexBits:
		ok = isInt && (h.Int() == unset || validIndexBits(h.Int()))
		o.indexBits = int(h.Int())
	case argMinhashBits:
		v := h.Int()
		ok = isInt && (v == unset || validMinhashBits(v) &&
			(o.indexBits == unset || validBits(o.indexBits, int(v))))
		o.minhashBits = int(v)
	case argFlags:
		ok = isInt && h.U&^o.def.flags == 0 &&
			h.U&(flagCreateOnly|flagUpdateOnly) != flagCreateOnly|flagUpdateOnly
		o.flags = h.U
	case argValues:
		size, ok = o.parseValues(b, &h)
	case argHLLs, argHLLsIntersect:
		size, ok = o.parseHLLs(b, &h)
		ok = ok && (k == argHLLs || o.n <= 2 || o.sharedMinhash())
	}
	if !ok {
		return 0, errParam
	}
	return size, nil
}

// parseValues takes a list of values, h its header, and returns its
// length.
func (o *op) parseValues(b []byte, h *msgpack.Head) (int, bool) {
	if h.Type != msgpack.List || h.N == 0 {
		return 0, false
	}
	size := h.Size
	for range h.N {
		var e msgpack.Head
		e.Parse(b[size:])
		if e.Type == msgpack.List || e.Type == msgpack.Map {
			return 0, false
		}
		n, _ := msgpack.Skip(b[size:])
		size += n
	}
	o.items, o.n = b[h.Size:size], h.N
	return size, true
}

// parseHLLs takes a list of HLLs, or one HLL, h its header, and returns
// its length.
func (o *op) parseHLLs(b []byte, h *msgpack.Head) (int, bool) {
	start, n := 0, 1
	if h.Type == msgpack.List {
		start, n = h.Size, h.N
	}
	if n == 0 {
		return 0, false
	}
	size := start
	for range n {
		data, m, ok := msgpack.Raw(b[size:])
		if !ok || len(data) == 0 || !wellFormed(data[1:], false) {
			return 0, false
		}
		size += m
	}
	o.items, o.n = b[start:size], n
	return size, true
}

// sharedMinhash reports whether the HLL arguments all have the same
// minhash bits, and not 0.
func (o *op) sharedMinhash() bool {
	var buf [4]sketch
	hs := o.sketches(buf[:0], nil)
	for _, h := range hs {
		if h.minhashBits() == 0 || h.minhashBits() != hs[0].minhashBits() {
			return false
		}
	}
	return true
}

// sketches appends to dst the HLL arguments, then bin if it is not nil.
func (o *op) sketches(dst []sketch, bin sketch) []sketch {
	b := o.items
	for range o.n {
		data, n, _ := msgpack.Raw(b)
		dst = append(dst, data[1:])
		b = b[n:]
	}
	if bin != nil {
		dst = append(dst, bin)
	}
	return dst
}

// values calls f with each value argument in the form Aerospike hashes,
// until f returns false.
func (o *op) values(a *bins.Arena, f func(elem []byte) bool) {
	b := o.items
	for range o.n {
		n, _ := msgpack.Skip(b)
		if !f(canonical(a, b[:n])) {
			return
		}
		b = b[n:]
	}
}
