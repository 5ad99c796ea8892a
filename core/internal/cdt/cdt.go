// Package cdt applies Aerospike's list and map operations (collection data
// types) to bin values, which hold lists and maps as msgpack.
//
// # Operations on the wire
//
// A list or map operation comes as an operation of type CDT read or CDT
// modify (map operations share those types) whose value is msgpack:
//
//	[code, arg...]                              on the bin's collection
//	[0xff, [ctxType, ctxValue, ...], [code, arg...]]   on a collection nested in it
//
// Codes under 64 are list operations (list.go), the others map operations
// (map.go). Each context step picks one element of the collection it is in
// (context.go); a step may create the collection it names when a modify
// finds none. The operation's result is a msgpack element, turned into a
// particle for the reply: a count is an integer bin, a list of values a
// list bin.
//
// # Representation
//
// A collection is decoded one level at a time into slices of its items'
// msgpack, which alias the bytes they came from, and encoded again when an
// operation changes it. Ordered lists and maps carry their order as an ext
// element in front of their items, as the server stores them and as the
// clients skip them: list flags 1 = ordered; map flags 1 = key-ordered,
// 3 = key-value-ordered.
package cdt

import (
	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// ctxMarker starts an operation that works inside its bin's collection.
const ctxMarker = 0xff

// mapCodes is the first map operation code.
const mapCodes = 64

// Errors are the result codes the client gets (proto.ResultCode is an
// error); Apply's callers read them with proto.CodeOf.
var (
	errParam       = error(proto.ParameterError)
	errBinType     = error(proto.BinTypeError)
	errNotApplic   = error(proto.OpNotApplicable)
	errElemExists  = error(proto.ElementExists)
	errElemMissing = error(proto.ElementNotFound)
)

// Apply runs one list or map operation, whose wire value is arg, on a bin
// of type binType holding bin (ParticleNull: no such bin). modify is the
// operation's type: a CDT read may not change the bin. New values and the
// result live in a or alias bin and arg.
func Apply(a *bins.Arena, modify bool, binType uint8, bin []byte, arg []byte) (bins.Outcome, error) {
	o, err := parseOp(arg)
	if err != nil {
		return bins.Outcome{}, err
	}
	o.modify = modify
	o.a = a
	var cur []byte
	switch binType {
	case proto.ParticleNull:
	case proto.ParticleList, proto.ParticleMap:
		cur = bin
	default:
		if o.nctx > 0 {
			// A context into a bin that holds no collection is a
			// parameter error on a server, an operation on one a type
			// error.
			return bins.Outcome{}, errParam
		}
		return bins.Outcome{}, errBinType
	}
	r, err := applyIn(&o, cur, o.ctx, o.nctx)
	if err != nil {
		return bins.Outcome{}, err
	}
	var out bins.Outcome
	if r.changed {
		if !modify {
			return bins.Outcome{}, errParam
		}
		out.Changed = true
		out.Value = r.val
		out.Type = proto.ParticleList
		if len(r.val) > 0 && isMap(r.val) {
			out.Type = proto.ParticleMap
		}
	}
	if r.res != nil {
		// A scalar's particle is written into the arena, for the reply.
		buf := a.Alloc(8)[:0]
		typ, val, ok := msgpack.ToParticle(&buf, r.res)
		if !ok {
			return bins.Outcome{}, errParam
		}
		out.HasResult, out.ResType, out.Res = true, typ, val
	}
	return out, nil
}

// op is one decoded operation.
type op struct {
	a      *bins.Arena
	modify bool
	code   int
	// args are the operation's arguments, nargs msgpack elements.
	args  []byte
	nargs int
	// ctx holds the context steps, pairs of type and value elements.
	ctx  []byte
	nctx int
}

// result is what an operation at the end of its context gives.
type result struct {
	// changed reports that the collection is now val.
	changed bool
	val     []byte
	// res is the result element, nil for none.
	res []byte
}

// parseOp reads an operation's wire value.
func parseOp(arg []byte) (op, error) {
	var o op
	code, args, n, ok := msgpack.Op(arg)
	if !ok {
		return o, errParam
	}
	if code == ctxMarker && n == 2 {
		var ch msgpack.Head
		if !ch.Parse(args) || ch.Type != msgpack.List || ch.N == 0 || ch.N%2 != 0 {
			return o, errParam
		}
		ctxLen, _ := msgpack.Skip(args)
		o.ctx, o.nctx = args[ch.Size:ctxLen], ch.N/2
		if code, args, n, ok = msgpack.Op(args[ctxLen:]); !ok {
			return o, errParam
		}
	}
	if code >= 1<<16 {
		return o, errParam
	}
	o.code, o.args, o.nargs = int(code), args, n
	return o, nil
}

// applyIn runs o on cur, the collection (nil for none), after descending
// through the nctx context steps left in ctx.
func applyIn(o *op, cur []byte, ctx []byte, nctx int) (result, error) {
	if nctx == 0 {
		return applyLeaf(o, cur)
	}
	return descend(o, cur, ctx, nctx)
}

// applyLeaf runs o on the collection its context reached.
func applyLeaf(o *op, cur []byte) (result, error) {
	if r, ok := fastApply(o, cur); ok {
		return r, nil
	}
	if o.code < mapCodes {
		return applyList(o, cur)
	}
	return applyMap(o, cur)
}

// isMap reports whether b is a msgpack map.
func isMap(b []byte) bool {
	var h msgpack.Head
	return h.Parse(b) && h.Type == msgpack.Map
}

// argReader reads an operation's arguments in order.
type argReader struct {
	b []byte
	n int
}

func (o *op) argReader() argReader { return argReader{b: o.args, n: o.nargs} }

// left is the number of arguments not yet read.
func (r *argReader) left() int { return r.n }

// next returns the next argument whole.
func (r *argReader) next() ([]byte, error) {
	if r.n == 0 {
		return nil, errParam
	}
	n, ok := msgpack.Skip(r.b)
	if !ok {
		return nil, errParam
	}
	v := r.b[:n]
	r.b, r.n = r.b[n:], r.n-1
	return v, nil
}

// int reads the next argument as an integer.
func (r *argReader) int() (int64, error) {
	v, err := r.next()
	if err != nil {
		return 0, err
	}
	var h msgpack.Head
	if !h.Parse(v) || (h.Type != msgpack.Int && h.Type != msgpack.NegInt) {
		return 0, errParam
	}
	return h.Int(), nil
}

// optInt reads the next argument as an integer, or gives def when there
// is none left.
func (r *argReader) optInt(def int64) (int64, error) {
	if r.n == 0 {
		return def, nil
	}
	return r.int()
}

// listArg reads a list argument's items.
func listArg(r *argReader) ([][]byte, error) {
	b, err := r.next()
	if err != nil {
		return nil, err
	}
	var h msgpack.Head
	if !h.Parse(b) || h.Type != msgpack.List {
		return nil, errParam
	}
	l, err := parseList(b)
	return l.items, err
}

// intervalArgs reads an interval's begin and its end, nil when it has
// none and runs to the end.
func intervalArgs(r *argReader) (begin, end []byte, err error) {
	if begin, err = r.next(); err != nil {
		return nil, nil, err
	}
	if r.left() > 0 {
		end, err = r.next()
	}
	return begin, end, err
}

// rangeArgs reads a start and an optional count, -1 (to the end) when
// there is none.
func rangeArgs(r *argReader) (start, count int64, err error) {
	if start, err = r.int(); err != nil {
		return 0, 0, err
	}
	count, err = r.optInt(-1)
	return start, count, err
}
