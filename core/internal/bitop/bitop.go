package bitop

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
	errBinExists   = error(proto.BinExists)
	errBinNotFound = error(proto.BinNotFound)
	errNotApplic   = error(proto.OpNotApplicable)
)

// errNoOp stops an operation that leaves its bin as it is and succeeds:
// one denied under the no-fail flag, or one with nothing to change.
var errNoOp = errors.New("bitop: bin unchanged")

// maxBlob bounds offsets, sizes and results, as Aerospike bounds them: by
// the largest message it accepts (128 MiB).
const maxBlob = 128 << 20

// Apply runs one bit operation, whose wire value is arg, on a bin of type
// binType holding bin (ParticleNull: no such bin). modify is the
// operation's type: a read may not use a modify code, nor a modify a read
// code. New values and results live in a or alias bin; bin and arg are
// never written.
func Apply(a *bins.Arena, modify bool, binType uint8, bin []byte, arg []byte) (bins.Outcome, error) {
	o, err := parseOp(arg, modify)
	if err != nil {
		return bins.Outcome{}, err
	}
	if !modify {
		return applyRead(a, &o, binType, bin)
	}
	return applyModify(a, &o, binType, bin)
}

// applyRead runs a read operation. A missing bin gives no result.
func applyRead(a *bins.Arena, o *op, binType uint8, bin []byte) (bins.Outcome, error) {
	switch binType {
	case proto.ParticleNull:
		return bins.Outcome{}, nil
	case proto.ParticleBlob:
	default:
		return bins.Outcome{}, errBinType
	}
	typ, res, err := o.def.read(a, *o, bin)
	if err != nil {
		return bins.Outcome{}, err
	}
	return bins.Outcome{HasResult: true, ResType: typ, Res: res}, nil
}

// applyModify runs a modify operation after checking the bin against the
// policy flags: create-only refuses an existing bin, update-only a
// missing one, and only resize and insert may create a bin.
func applyModify(a *bins.Arena, o *op, binType uint8, bin []byte) (bins.Outcome, error) {
	var err error
	exists := binType != proto.ParticleNull
	if !exists {
		bin = nil // whatever the caller passed, a missing bin has no bytes
	}
	switch {
	case exists && o.flags&flagCreateOnly != 0:
		err = o.deny(errBinExists)
	case exists && binType != proto.ParticleBlob:
		err = errBinType
	case !exists && (!o.def.creates || o.flags&flagUpdateOnly != 0):
		err = o.deny(errBinNotFound)
	}
	var val []byte
	if err == nil {
		val, err = o.def.modify(a, *o, bin)
	}
	switch {
	case err == errNoOp:
		return bins.Outcome{}, nil
	case err != nil:
		return bins.Outcome{}, err
	}
	return bins.Outcome{Changed: true, Type: proto.ParticleBlob, Value: val}, nil
}

// Policy flags.
const (
	flagCreateOnly = 1
	flagUpdateOnly = 2
	flagNoFail     = 4
	flagPartial    = 8
)

// Resize flags.
const (
	resizeFromFront  = 1
	resizeGrowOnly   = 2
	resizeShrinkOnly = 4
)

// Math flags: signedness, then what an overflow does (failing if neither
// saturate nor wrap).
const (
	mathSigned   = 1
	mathSaturate = 2
	mathWrap     = 4
)

// op is one decoded operation. Fields an operation has no argument for
// stay zero.
type op struct {
	def *opDef
	// offset is in bits (byte offsets are converted); a negative one
	// counts back from the end of the blob.
	offset int
	// size is in bits (byte sizes are converted); for insert, the blob's.
	size int
	// value is an integer argument (two's complement for a negative one),
	// a shift's bit count, or a scan's bit (0 or 1).
	value uint64
	// blob is a blob argument without its particle type byte.
	blob []byte
	// flags holds the policy flags, sub the resize or math flags.
	flags uint64
	sub   uint64
}

// deny returns err for an operation refused for its bin's state or its
// range, or errNoOp under the no-fail flag.
func (o *op) deny(err error) error {
	if o.flags&flagNoFail != 0 {
		return errNoOp
	}
	return err
}

// parseOp reads an operation's wire value: the code, which must be of the
// operation's type, then the arguments its definition lists.
func parseOp(arg []byte, modify bool) (op, error) {
	var o op
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
	argByteOffset  argKind = iota // integer, |v| <= maxBlob, into offset (in bits)
	argBitOffset                  // integer, |v| <= maxBlob*8, into offset
	argByteSize                   // 1 to maxBlob, into size (in bits)
	argByteSize0                  // 0 to maxBlob, into size (in bits)
	argBitSize                    // 1 to maxBlob*8, into size
	argIntSize                    // 1 to 64, into size
	argShift                      // 0 to maxBlob*8, into value
	argInt                        // any integer, into value
	argBool                       // true or false, into value
	argBlob                       // a blob of at least size bits, into blob
	argFlags                      // policy flags the operation accepts, into flags
	argResizeFlags                // resize flags, into sub
	argMathFlags                  // math flags, into sub
	argSigned                     // the signed flag alone, into sub
)

// parseArg reads the argument at the start of b as k says, and returns its
// length.
func (o *op) parseArg(k argKind, b []byte) (int, error) {
	var h msgpack.Head
	if !h.Parse(b) {
		return 0, errParam
	}
	isInt := h.Type == msgpack.Int || h.Type == msgpack.NegInt
	v := h.Int()
	ok := isInt
	switch k {
	case argByteOffset:
		ok = ok && v >= -maxBlob && v <= maxBlob
		o.offset = int(v) * 8
	case argBitOffset:
		ok = ok && v >= -maxBlob*8 && v <= maxBlob*8
		o.offset = int(v)
	case argByteSize, argByteSize0:
		ok = ok && v >= 0 && v <= maxBlob && (v > 0 || k == argByteSize0)
		o.size = int(v) * 8
	case argBitSize:
		ok = ok && v > 0 && v <= maxBlob*8
		o.size = int(v)
	case argIntSize:
		ok = ok && v > 0 && v <= 64
		o.size = int(v)
	case argShift:
		ok = ok && v >= 0 && v <= maxBlob*8
		o.value = h.U
	case argInt:
		o.value = h.U
	case argBool:
		ok = h.Type == msgpack.True || h.Type == msgpack.False
		if h.Type == msgpack.True {
			o.value = 1
		}
	case argBlob:
		ok = o.parseBlob(&h)
	case argFlags:
		ok = ok && only(h.U, o.def.flags, flagCreateOnly|flagUpdateOnly)
		o.flags = h.U
	case argResizeFlags:
		ok = ok && only(h.U, resizeFromFront|resizeGrowOnly|resizeShrinkOnly, resizeGrowOnly|resizeShrinkOnly)
		o.sub = h.U
	case argMathFlags:
		ok = ok && only(h.U, mathSigned|mathSaturate|mathWrap, mathSaturate|mathWrap)
		o.sub = h.U
	case argSigned:
		ok = ok && h.U&^mathSigned == 0
		o.sub = h.U
	}
	if !ok {
		return 0, errParam
	}
	return h.Size, nil
}

// only reports whether flags holds only bits of allowed, and not both of
// the two contradictory bits of exclusive.
func only(flags, allowed, exclusive uint64) bool {
	return flags&^allowed == 0 && flags&exclusive != exclusive
}

// parseBlob takes a blob argument: a str or bin of a particle type byte
// and at least one byte. An operation with a size needs that many bits;
// one without (insert) takes the blob's.
func (o *op) parseBlob(h *msgpack.Head) bool {
	switch h.Type {
	case msgpack.String, msgpack.Bytes, msgpack.GeoJSON:
	default:
		return false
	}
	if len(h.Data) < 2 {
		return false
	}
	o.blob = h.Data[1:]
	if o.size == 0 {
		o.size = len(o.blob) * 8
	}
	return len(o.blob)*8 >= o.size
}
