package expr

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/bitop"
	"github.com/skiffdb/skiff/core/internal/cdt"
	"github.com/skiffdb/skiff/core/internal/geo"
	"github.com/skiffdb/skiff/core/internal/hll"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// Op codes: the first element of an instruction array. The names follow
// the server's; codes 9 and up to 122 marked "8.1" are newer than the
// clients this node is tested with and are not evaluated.
const (
	opUnknown      = 0
	opEq           = 1
	opNe           = 2
	opGt           = 3
	opGe           = 4
	opLt           = 5
	opLe           = 6
	opRegex        = 7
	opGeo          = 8
	opInList       = 9 // 8.1
	opAnd          = 16
	opOr           = 17
	opNot          = 18
	opExclusive    = 19
	opAdd          = 20
	opSub          = 21
	opMul          = 22
	opDiv          = 23
	opPow          = 24
	opLog          = 25
	opMod          = 26
	opAbs          = 27
	opFloor        = 28
	opCeil         = 29
	opToInt        = 30
	opToFloat      = 31
	opIntAnd       = 32
	opIntOr        = 33
	opIntXor       = 34
	opIntNot       = 35
	opIntLShift    = 36
	opIntRShift    = 37
	opIntARShift   = 38
	opIntCount     = 39
	opIntLScan     = 40
	opIntRScan     = 41
	opMin          = 50
	opMax          = 51
	opDigestModulo = 64
	opDeviceSize   = 65
	opLastUpdate   = 66
	opSinceUpdate  = 67
	opVoidTime     = 68
	opTTL          = 69
	opSetName      = 70
	opKeyExists    = 71
	opIsTombstone  = 72
	opMemorySize   = 73
	opRecordSize   = 74
	opKey          = 80
	opBin          = 81
	opBinType      = 82
	opResultRemove = 100 // 8.1
	opMapKeys      = 101 // 8.1
	opMapValues    = 102 // 8.1
	opVarBuiltin   = 122 // 8.1
	opCond         = 123
	opVar          = 124
	opLet          = 125
	opQuote        = 126
	opCall         = 127

	// opValue is not on the wire: a literal.
	opValue = 255
)

var opNames = map[uint64]string{
	opUnknown: "unknown", opEq: "eq", opNe: "ne", opGt: "gt", opGe: "ge", opLt: "lt", opLe: "le",
	opRegex: "regex", opGeo: "geo", opInList: "in_list",
	opAnd: "and", opOr: "or", opNot: "not", opExclusive: "exclusive",
	opAdd: "add", opSub: "sub", opMul: "mul", opDiv: "div", opPow: "pow", opLog: "log",
	opMod: "mod", opAbs: "abs", opFloor: "floor", opCeil: "ceil", opToInt: "to_int", opToFloat: "to_float",
	opIntAnd: "int_and", opIntOr: "int_or", opIntXor: "int_xor", opIntNot: "int_not",
	opIntLShift: "int_lshift", opIntRShift: "int_rshift", opIntARShift: "int_arshift",
	opIntCount: "int_count", opIntLScan: "int_lscan", opIntRScan: "int_rscan",
	opMin: "min", opMax: "max",
	opDigestModulo: "digest_modulo", opDeviceSize: "device_size", opLastUpdate: "last_update",
	opSinceUpdate: "since_update", opVoidTime: "void_time", opTTL: "ttl", opSetName: "set_name",
	opKeyExists: "key_exists", opIsTombstone: "is_tombstone", opMemorySize: "memory_size",
	opRecordSize: "record_size", opKey: "key", opBin: "bin", opBinType: "bin_type",
	opResultRemove: "result_remove", opMapKeys: "map_keys", opMapValues: "map_values",
	opVarBuiltin: "var_builtin", opCond: "cond", opVar: "var", opLet: "let", opQuote: "quote", opCall: "call",
}

// typ is an expression's static type, numbered as the wire's ExpType (the
// type argument of bin, key and call).
type typ uint8

const (
	tNil   typ = 0
	tBool  typ = 1
	tInt   typ = 2
	tStr   typ = 3
	tList  typ = 4
	tMap   typ = 5
	tBlob  typ = 6
	tFloat typ = 7
	tGeo   typ = 8
	tHLL   typ = 9
	// tInputEnd bounds the types a bin or call may be asked for.
	tInputEnd typ = 10
	// tRemove is the type of result_remove.
	tRemove typ = 11
	// tAny is the type of an opaque msgpack literal (an ext), known
	// only at run time. Expressions of this type may only be compared.
	tAny typ = 255
)

var typNames = [...]string{"nil", "bool", "int", "str", "list", "map", "blob", "float", "geojson", "hll"}

func (t typ) String() string {
	switch {
	case int(t) < len(typNames):
		return typNames[t]
	case t == tRemove:
		return "result_remove"
	case t == tAny:
		return "msgpack"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// particle is the particle type of a bin holding a value of type t; for
// tNil no live bin has it.
func (t typ) particle() uint8 {
	switch t {
	case tBool:
		return proto.ParticleBool
	case tInt:
		return proto.ParticleInteger
	case tStr:
		return proto.ParticleString
	case tList:
		return proto.ParticleList
	case tMap:
		return proto.ParticleMap
	case tBlob:
		return proto.ParticleBlob
	case tFloat:
		return proto.ParticleFloat
	case tGeo:
		return proto.ParticleGeoJSON
	case tHLL:
		return proto.ParticleHLL
	}
	return proto.ParticleNull
}

// maxDepth bounds the nesting of instructions, so that a crafted
// expression cannot make compilation or evaluation recurse without limit.
// Client-built expressions nest a few levels.
const maxDepth = 256

// node is one instruction of a compiled expression.
type node struct {
	op  uint8
	typ typ
	// unk: the node is the unknown literal [0], or a let whose body is:
	// cond lets such branches have any type.
	unk  bool
	args []*node
	// val is the value of a literal (opValue) or quoted list.
	val Value
	// num is the modulus of digest_modulo, the particle type of key
	// and bin, the slot of var and the first slot of let.
	num int64
	// name is the bin name of bin and bin_type.
	name []byte
	re   *regexp.Regexp
	// call is the operation of a list, map or bit call.
	call *moduleCall
}

// Expr is a compiled expression. It is immutable and safe for concurrent
// use.
type Expr struct {
	root *node
	// slots is the number of let variables live at once.
	slots int
	// src is the expression's wire form, privately owned: literals alias it.
	src []byte
	// calls reports list or map calls, whose values need an arena.
	calls bool
}

// Compile compiles the expression of an expression operation, the msgpack
// element b. It returns an error wrapping ErrMalformed for anything the
// server would refuse with PARAMETER_ERROR, and ErrUnsupported for a
// well-formed expression that uses what package doc's "Not implemented"
// lists. b is copied.
func Compile(b []byte) (*Expr, error) {
	return compile(b, false)
}

// CompileFilter compiles a filter expression (the FILTER_EXP field), which
// must be boolean.
func CompileFilter(b []byte) (*Expr, error) {
	return compile(b, true)
}

func compile(b []byte, filter bool) (*Expr, error) {
	c := compiler{b: bytes.Clone(b)}
	root, err := c.expr()
	if err != nil {
		return nil, err
	}
	if c.off != len(c.b) {
		return nil, malformed("%d bytes after the expression", len(c.b)-c.off)
	}
	switch {
	case root.typ == tAny:
		return nil, malformed("expression of type %s cannot be a result", root.typ)
	case filter && root.typ != tBool:
		return nil, malformed("filter of type %s, not bool", root.typ)
	}
	if c.unsupported != nil {
		return nil, c.unsupported
	}
	return &Expr{root: root, slots: c.maxSlots, src: c.b, calls: c.calls}, nil
}

// compiler is the state of one Compile: a recursive-descent parser over the
// msgpack, which checks types as it builds nodes.
type compiler struct {
	b     []byte
	off   int
	depth int
	// vars are the let variables in scope, innermost last.
	vars     []variable
	nextSlot int
	maxSlots int
	// calls is set by a list, map, bit or HLL call.
	calls bool
	// unsupported is the first reason the expression cannot be evaluated,
	// reported only if it is otherwise well-formed.
	unsupported error
}

type variable struct {
	name     []byte
	slot     int
	typ      typ
	defining bool
}

// expr compiles the element at c.off.
func (c *compiler) expr() (*node, error) {
	if c.depth >= maxDepth {
		return nil, malformed("nested deeper than %d", maxDepth)
	}
	c.depth++
	defer func() { c.depth-- }()

	var h msgpack.Head
	if !h.Parse(c.b[c.off:]) {
		return nil, malformed("bad msgpack at offset %d", c.off)
	}
	if h.Type != msgpack.List {
		return c.literal(h)
	}
	if h.N == 0 {
		return nil, malformed("empty instruction at offset %d", c.off)
	}
	c.off += h.Size
	code, n, ok := msgpack.Uint(c.b[c.off:])
	if !ok {
		return nil, malformed("instruction at offset %d without an op code", c.off)
	}
	c.off += n
	return c.instr(code, h.N-1)
}

// literal compiles a non-array element, whose header is h.
func (c *compiler) literal(h msgpack.Head) (*node, error) {
	start := c.off
	nd := &node{op: opValue}
	switch h.Type {
	case msgpack.Nil:
		nd.typ, nd.val = tNil, Value{kind: Nil}
	case msgpack.False, msgpack.True:
		nd.typ, nd.val = tBool, boolValue(h.Type == msgpack.True)
	case msgpack.Int, msgpack.NegInt:
		nd.typ, nd.val = tInt, intValue(h.Int())
	case msgpack.Double:
		nd.typ, nd.val = tFloat, floatValue(h.Float())
	case msgpack.String:
		nd.typ, nd.val = tStr, bytesValue(String, h.Data[1:])
	case msgpack.Bytes:
		if len(h.Data) == 0 {
			return nil, malformed("empty blob at offset %d", start)
		}
		switch h.Data[0] {
		case proto.ParticleBlob:
			nd.typ, nd.val = tBlob, bytesValue(Blob, h.Data[1:])
		case proto.ParticleHLL:
			nd.typ, nd.val = tHLL, bytesValue(HLL, h.Data[1:])
		default:
			return nil, malformed("blob of particle type %d at offset %d", h.Data[0], start)
		}
	case msgpack.GeoJSON:
		text := h.Data[1:]
		s, err := geo.Parse(text)
		if err != nil {
			return nil, malformed("GeoJSON at offset %d: %v", start, err)
		}
		nd.typ, nd.val = tGeo, Value{kind: GeoJSON, b: text, geo: s}
	case msgpack.Map:
		size, ok := msgpack.Skip(c.b[start:])
		if !ok {
			return nil, malformed("bad map at offset %d", start)
		}
		h.Size = size
		nd.typ, nd.val = tMap, bytesValue(Map, c.b[start:start+size])
	case msgpack.Ext, msgpack.Wildcard, msgpack.Inf:
		nd.typ, nd.val = tAny, bytesValue(Ext, c.b[start:start+h.Size])
	default:
		return nil, malformed("unexpected msgpack at offset %d", start)
	}
	c.off += h.Size
	return nd, nil
}

// instr compiles the instruction with op code code and nargs arguments,
// whose op code has been read.
func (c *compiler) instr(code uint64, nargs int) (*node, error) {
	name, known := opNames[code]
	if !known {
		return nil, malformed("unknown op %d", code)
	}
	nd := &node{op: uint8(code)}
	arity := func(want int) error {
		if nargs != want {
			return malformed("%s takes %d arguments, got %d", name, want, nargs)
		}
		return nil
	}
	var err error
	switch code {
	case opUnknown:
		nd.typ, nd.unk = tBool, true
		err = arity(0)

	case opEq, opNe, opGt, opGe, opLt, opLe:
		nd.typ = tBool
		if err = arity(2); err == nil {
			err = c.args(nd, 2)
		}
		if err == nil {
			l, r := nd.args[0].typ, nd.args[1].typ
			switch {
			case l != r:
				err = malformed("%s compares %s with %s", name, l, r)
			case l == tGeo || l == tHLL:
				err = malformed("%s cannot compare %s", name, l)
			}
		}

	case opRegex:
		nd.typ = tBool
		err = c.regex(nd, nargs)

	case opGeo:
		nd.typ = tBool
		if err = arity(2); err == nil {
			err = c.typedArgs(nd, name, 2, tGeo)
		}

	case opInList:
		nd.typ = tBool
		if err = arity(2); err == nil {
			err = c.args(nd, 2)
		}
		if err == nil && nd.args[1].typ != tList {
			err = malformed("in_list needs a list, got %s", nd.args[1].typ)
		}
		c.unsupport(name)

	case opAnd, opOr, opExclusive:
		nd.typ = tBool
		if nargs < 2 {
			err = malformed("%s takes at least 2 arguments, got %d", name, nargs)
		} else {
			err = c.typedArgs(nd, name, nargs, tBool)
		}

	case opNot:
		nd.typ = tBool
		if err = arity(1); err == nil {
			err = c.typedArgs(nd, name, 1, tBool)
		}

	case opAdd, opSub, opMul, opDiv, opMin, opMax:
		err = c.numeric(nd, name, nargs)

	case opPow, opLog:
		nd.typ = tFloat
		if err = arity(2); err == nil {
			err = c.typedArgs(nd, name, 2, tFloat)
		}

	case opMod, opIntLShift, opIntRShift, opIntARShift:
		nd.typ = tInt
		if err = arity(2); err == nil {
			err = c.typedArgs(nd, name, 2, tInt)
		}

	case opAbs:
		if err = arity(1); err == nil {
			err = c.args(nd, 1)
		}
		if err == nil {
			if nd.typ = nd.args[0].typ; nd.typ != tInt && nd.typ != tFloat {
				err = malformed("abs of %s", nd.typ)
			}
		}

	case opFloor, opCeil, opToInt:
		nd.typ = tFloat
		if code == opToInt {
			nd.typ = tInt
		}
		if err = arity(1); err == nil {
			err = c.typedArgs(nd, name, 1, tFloat)
		}

	case opToFloat:
		nd.typ = tFloat
		if err = arity(1); err == nil {
			err = c.typedArgs(nd, name, 1, tInt)
		}

	case opIntAnd, opIntOr, opIntXor:
		nd.typ = tInt
		if nargs < 1 {
			err = malformed("%s takes at least 1 argument", name)
		} else {
			err = c.typedArgs(nd, name, nargs, tInt)
		}

	case opIntNot, opIntCount:
		nd.typ = tInt
		if err = arity(1); err == nil {
			err = c.typedArgs(nd, name, 1, tInt)
		}

	case opIntLScan, opIntRScan:
		nd.typ = tInt
		if err = arity(2); err == nil {
			err = c.args(nd, 2)
		}
		if err == nil && (nd.args[0].typ != tInt || nd.args[1].typ != tBool) {
			err = malformed("%s takes int and bool, got %s and %s", name, nd.args[0].typ, nd.args[1].typ)
		}

	case opDigestModulo:
		nd.typ = tInt
		if err = arity(1); err == nil {
			var v uint64
			if v, err = c.uint(name); err == nil {
				// The server keeps the modulus as a 32-bit integer.
				if nd.num = int64(int32(v)); nd.num == 0 {
					err = malformed("digest_modulo by zero")
				}
			}
		}

	case opDeviceSize, opLastUpdate, opSinceUpdate, opVoidTime, opTTL, opMemorySize, opRecordSize:
		nd.typ = tInt
		err = arity(0)
	case opSetName:
		nd.typ = tStr
		err = arity(0)
	case opKeyExists, opIsTombstone:
		nd.typ = tBool
		err = arity(0)

	case opKey:
		if err = arity(1); err == nil {
			var v uint64
			if v, err = c.uint(name); err == nil {
				switch typ(v) {
				case tInt, tStr, tBlob:
					nd.typ, nd.num = typ(v), int64(typ(v).particle())
				default:
					err = malformed("key of type %d", v)
				}
			}
		}

	case opBin:
		err = c.bin(nd, nargs)

	case opBinType:
		nd.typ = tInt
		if err = arity(1); err == nil {
			nd.name, err = c.binName()
		}

	case opResultRemove:
		nd.typ = tRemove
		err = arity(0)
		c.unsupport(name)

	case opMapKeys, opMapValues:
		nd.typ = tList
		if err = arity(1); err == nil {
			err = c.args(nd, 1)
		}
		c.unsupport(name)

	case opVarBuiltin:
		if err = arity(2); err == nil {
			var v uint64
			if v, err = c.uint(name); err == nil {
				if nd.typ = typ(v); nd.typ >= tInputEnd {
					err = malformed("builtin variable of type %d", v)
				} else {
					_, err = c.uint(name)
				}
			}
		}
		c.unsupport(name)

	case opCond:
		err = c.cond(nd, nargs)

	case opVar:
		if err = arity(1); err == nil {
			err = c.variable(nd)
		}

	case opLet:
		err = c.let(nd, nargs)

	case opQuote:
		nd.op, nd.typ = opValue, tList
		if err = arity(1); err == nil {
			err = c.quote(nd)
		}

	case opCall:
		if err = arity(4); err == nil {
			err = c.call(nd)
		}
	}
	if err != nil {
		return nil, err
	}
	return nd, nil
}

func (c *compiler) unsupport(what string) {
	if c.unsupported == nil {
		c.unsupported = fmt.Errorf("%w: %s", ErrUnsupported, what)
	}
}

// args compiles n sub-expressions into nd.args.
func (c *compiler) args(nd *node, n int) error {
	if err := c.fits(n); err != nil {
		return err
	}
	nd.args = make([]*node, n)
	for i := range nd.args {
		a, err := c.expr()
		if err != nil {
			return err
		}
		nd.args[i] = a
	}
	return nil
}

// fits checks that n elements can follow, each taking a byte at least,
// before anything is allocated for them.
func (c *compiler) fits(n int) error {
	if n > len(c.b)-c.off {
		return malformed("%d elements announced, %d bytes left", n, len(c.b)-c.off)
	}
	return nil
}

// typedArgs compiles n sub-expressions, all of type t.
func (c *compiler) typedArgs(nd *node, name string, n int, t typ) error {
	if err := c.args(nd, n); err != nil {
		return err
	}
	for i, a := range nd.args {
		if a.typ != t {
			return malformed("%s argument %d is %s, not %s", name, i+1, a.typ, t)
		}
	}
	return nil
}

// numeric compiles the arguments of a variadic arithmetic operator: all int
// or all float, which is also the result's type.
func (c *compiler) numeric(nd *node, name string, n int) error {
	if n < 1 {
		return malformed("%s takes at least 1 argument", name)
	}
	if err := c.args(nd, n); err != nil {
		return err
	}
	nd.typ = nd.args[0].typ
	for i, a := range nd.args {
		if a.typ != tInt && a.typ != tFloat {
			return malformed("%s argument %d is %s", name, i+1, a.typ)
		}
		if a.typ != nd.typ {
			return malformed("%s mixes %s and %s", name, nd.typ, a.typ)
		}
	}
	return nil
}

// uint reads a static integer parameter.
func (c *compiler) uint(name string) (uint64, error) {
	v, n, ok := msgpack.Uint(c.b[c.off:])
	if !ok {
		return 0, malformed("%s: integer parameter expected at offset %d", name, c.off)
	}
	c.off += n
	return v, nil
}

// raw reads a static string parameter.
func (c *compiler) raw(name string) ([]byte, error) {
	s, n, ok := msgpack.Raw(c.b[c.off:])
	if !ok {
		return nil, malformed("%s: string parameter expected at offset %d", name, c.off)
	}
	c.off += n
	return s, nil
}

// binName reads a bin name: shorter than 16 bytes, without NULs.
func (c *compiler) binName() ([]byte, error) {
	s, err := c.raw("bin")
	if err != nil {
		return nil, err
	}
	if len(s) > proto.MaxBinNameLen || bytes.IndexByte(s, 0) >= 0 {
		return nil, malformed("invalid bin name %q", s)
	}
	return s, nil
}

func (c *compiler) bin(nd *node, nargs int) error {
	if nargs != 2 {
		return malformed("bin takes 2 arguments, got %d", nargs)
	}
	v, err := c.uint("bin")
	if err != nil {
		return err
	}
	if typ(v) >= tInputEnd {
		return malformed("bin of type %d", v)
	}
	nd.typ, nd.num = typ(v), int64(typ(v).particle())
	nd.name, err = c.binName()
	return err
}

// regex compiles [7, flags, pattern, string-expr].
func (c *compiler) regex(nd *node, nargs int) error {
	if nargs != 3 {
		return malformed("regex takes 3 arguments, got %d", nargs)
	}
	flags, err := c.uint("regex")
	if err != nil {
		return err
	}
	pattern, err := c.raw("regex")
	if err != nil {
		return err
	}
	if err := c.args(nd, 1); err != nil {
		return err
	}
	if t := nd.args[0].typ; t != tStr {
		return malformed("regex on %s, not str", t)
	}
	nd.re, err = compileRegex(pattern, int64(flags))
	if err != nil {
		return malformed("regex %q: %v", pattern, err)
	}
	return nil
}

// cond compiles [123, cond1, action1, ..., default]: the actions and the
// default have one type, except the unknown literal, which fits any.
func (c *compiler) cond(nd *node, nargs int) error {
	if nargs < 3 || nargs%2 == 0 {
		return malformed("cond takes condition-action pairs and a default, got %d arguments", nargs)
	}
	if err := c.args(nd, nargs); err != nil {
		return err
	}
	t, set := tNil, false
	for i := 0; i < nargs-1; i += 2 {
		if ct := nd.args[i].typ; ct != tBool {
			return malformed("cond condition %d is %s, not bool", i/2+1, ct)
		}
		switch a := nd.args[i+1]; {
		case a.unk: // an unknown branch does not fix the type
		case !set:
			t, set = a.typ, true
		case a.typ != t:
			return malformed("cond mixes %s and %s", t, a.typ)
		}
	}
	switch d := nd.args[nargs-1]; {
	case !set:
		t = d.typ
	case !d.unk && d.typ != t:
		return malformed("cond mixes %s and %s", t, d.typ)
	}
	if t == tAny {
		return malformed("cond of type %s", t)
	}
	nd.typ = t
	return nil
}

// variable compiles [124, name].
func (c *compiler) variable(nd *node) error {
	name, err := c.raw("var")
	if err != nil {
		return err
	}
	v := c.lookup(name)
	switch {
	case v == nil:
		return malformed("undefined variable %q", name)
	case v.defining:
		return malformed("variable %q used in its own definition", name)
	case v.typ == tAny:
		return malformed("variable %q of type %s", name, v.typ)
	}
	nd.typ, nd.num = v.typ, int64(v.slot)
	return nil
}

func (c *compiler) lookup(name []byte) *variable {
	for i := len(c.vars) - 1; i >= 0; i-- {
		if bytes.Equal(c.vars[i].name, name) {
			return &c.vars[i]
		}
	}
	return nil
}

// let compiles [125, name1, def1, ..., body]. Each variable gets a slot,
// reused once the let's scope ends; names may not shadow.
func (c *compiler) let(nd *node, nargs int) error {
	if nargs < 3 || nargs%2 == 0 {
		return malformed("let takes name-definition pairs and a body, got %d arguments", nargs)
	}
	if err := c.fits(nargs); err != nil {
		return err
	}
	n := nargs / 2
	nd.num = int64(c.nextSlot)
	nd.args = make([]*node, 0, n+1)
	for i := 0; i < n; i++ {
		name, err := c.raw("let")
		if err != nil {
			return err
		}
		if !validVarName(name) {
			return malformed("invalid variable name %q", name)
		}
		if c.lookup(name) != nil {
			return malformed("variable %q defined twice", name)
		}
		c.vars = append(c.vars, variable{name: name, slot: c.nextSlot, defining: true})
		c.nextSlot++
		def, err := c.expr()
		if err != nil {
			return err
		}
		c.vars[len(c.vars)-1].typ, c.vars[len(c.vars)-1].defining = def.typ, false
		nd.args = append(nd.args, def)
	}
	c.maxSlots = max(c.maxSlots, c.nextSlot)
	body, err := c.expr()
	if err != nil {
		return err
	}
	nd.args = append(nd.args, body)
	nd.typ, nd.unk = body.typ, body.unk
	c.vars = c.vars[:len(c.vars)-n]
	c.nextSlot -= n
	return nil
}

// validVarName: a letter or underscore, then letters, digits, underscores.
func validVarName(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for i, ch := range s {
		letter := ch == '_' || ('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z')
		if !letter && (i == 0 || ch < '0' || ch > '9') {
			return false
		}
	}
	return true
}

// quote compiles the list of [126, list].
func (c *compiler) quote(nd *node) error {
	var h msgpack.Head
	if !h.Parse(c.b[c.off:]) || h.Type != msgpack.List {
		return malformed("quote of a non-list at offset %d", c.off)
	}
	size, ok := msgpack.Skip(c.b[c.off:])
	if !ok {
		return malformed("bad list at offset %d", c.off)
	}
	nd.val = bytesValue(List, c.b[c.off:c.off+size])
	c.off += size
	return nil
}

// Modules of call, and the flag of the calls that modify their bin.
const (
	moduleCDT    = 0
	moduleBits   = 1
	moduleHLL    = 2
	moduleModify = 0x40
)

// CDT op codes with a special argument layout.
const (
	cdtSelect      = 0xfe
	cdtContextEval = 0xff
)

// call compiles [127, type, module, [op, params...], bin-expr]: a list,
// map, bit or HLL call (see moduleCall).
func (c *compiler) call(nd *node) error {
	t, err := c.uint("call")
	if err != nil {
		return err
	}
	if typ(t) >= tInputEnd {
		return malformed("call of type %d", t)
	}
	module, err := c.uint("call")
	if err != nil {
		return err
	}
	modify := module&moduleModify != 0
	switch module &^ moduleModify {
	case moduleCDT:
		return c.moduleCall(nd, typ(t), &moduleCall{apply: cdt.Apply, modify: modify}, tList, tMap)
	case moduleBits:
		return c.moduleCall(nd, typ(t), &moduleCall{apply: bitop.Apply, modify: modify, flat: true}, tBlob, tBlob)
	case moduleHLL:
		return c.moduleCall(nd, typ(t), &moduleCall{apply: hll.Apply, modify: modify, flat: true}, tHLL, tHLL)
	}
	return malformed("call to module %d", module)
}

// moduleCall compiles a list, map, bit or HLL call: its operation, with an
// optional context of raw values (list and map calls), and the
// sub-expressions that give its params and its bin, whose type must be
// binType or alt. nd.args holds the bin's expression, then the params'.
func (c *compiler) moduleCall(nd *node, t typ, call *moduleCall, binType, alt typ) error {
	var h msgpack.Head
	if !h.Parse(c.b[c.off:]) || h.Type != msgpack.List || h.N == 0 {
		return malformed("call parameters at offset %d are not a list", c.off)
	}
	params := h.N - 1
	if code, _, ok := msgpack.Uint(c.b[c.off+h.Size:]); ok && code == cdtSelect && !call.flat {
		// select walks a context with its own semantics: not yet.
		if err := c.callParams(); err != nil {
			return err
		}
		c.unsupport("list/map select")
		params = 0
	} else {
		c.off += h.Size
		code, err := c.uint("call")
		if err != nil {
			return err
		}
		if code == cdtContextEval && !call.flat { // [0xff, context, [op, params...]]
			if h.N != 3 {
				return malformed("call context of %d elements", h.N)
			}
			var ch msgpack.Head
			if !ch.Parse(c.b[c.off:]) || ch.Type != msgpack.List || ch.N == 0 || ch.N%2 != 0 {
				return malformed("call context at offset %d is not a list of pairs", c.off)
			}
			start := c.off
			if err := c.skip(); err != nil {
				return err
			}
			call.ctx = c.b[start:c.off]
			if !h.Parse(c.b[c.off:]) || h.Type != msgpack.List || h.N == 0 {
				return malformed("call parameters at offset %d are not a list", c.off)
			}
			c.off += h.Size
			if code, err = c.uint("call"); err != nil {
				return err
			}
			params = h.N - 1
		}
		call.code = code
	}
	if err := c.fits(params + 1); err != nil {
		return err
	}
	nd.args = make([]*node, params+1)
	for i := 1; i < len(nd.args); i++ {
		p, err := c.expr()
		if err != nil {
			return err
		}
		nd.args[i] = p
	}
	bin, err := c.expr()
	if err != nil {
		return err
	}
	nd.args[0] = bin
	nd.call = call
	c.calls = true
	nd.typ = t
	switch bin.typ {
	case binType, alt:
	case tNil:
		// The server types a read call on nil as nil; a modify call makes
		// a value of its type.
		if !call.modify {
			nd.typ = tNil
		}
	default:
		return malformed("call on %s", bin.typ)
	}
	return nil
}

// moduleCall is what a list, map, bit or HLL call runs.
type moduleCall struct {
	apply  func(a *bins.Arena, modify bool, binType uint8, bin, arg []byte) (bins.Outcome, error)
	code   uint64
	modify bool
	// flat marks a bit or HLL call: one without a context.
	flat bool
	// ctx is the context's msgpack array, nil for none.
	ctx []byte
}

// callParams checks a call's [op, params...].
func (c *compiler) callParams() error {
	var h msgpack.Head
	if !h.Parse(c.b[c.off:]) || h.Type != msgpack.List || h.N == 0 {
		return malformed("call parameters at offset %d are not a list", c.off)
	}
	c.off += h.Size
	op, err := c.uint("call")
	if err != nil {
		return err
	}
	n := h.N
	switch op {
	case cdtContextEval: // [0xff, context, [op, params...]]
		if n != 3 {
			return malformed("call context of %d elements", n)
		}
		if err := c.skip(); err != nil {
			return err
		}
		var h msgpack.Head
		if !h.Parse(c.b[c.off:]) || h.Type != msgpack.List || h.N == 0 {
			return malformed("call parameters at offset %d are not a list", c.off)
		}
		c.off += h.Size
		if _, err := c.uint("call"); err != nil {
			return err
		}
		n = h.N
	case cdtSelect: // [0xfe, context, flags, modify-expr?]
		if n < 3 || n > 4 {
			return malformed("select of %d elements", n)
		}
		if !h.Parse(c.b[c.off:]) || h.Type != msgpack.List {
			return malformed("select context at offset %d is not a list", c.off)
		}
		if err := c.skip(); err != nil {
			return err
		}
		if _, err := c.uint("select"); err != nil {
			return err
		}
		if n == 4 {
			if err := c.skip(); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 1; i < n; i++ {
		var h msgpack.Head
		if !h.Parse(c.b[c.off:]) {
			return malformed("bad call parameter at offset %d", c.off)
		}
		if h.Type == msgpack.List {
			if _, err := c.expr(); err != nil {
				return err
			}
			continue
		}
		if err := c.skip(); err != nil {
			return err
		}
	}
	return nil
}

// skip steps over one raw msgpack element.
func (c *compiler) skip() error {
	n, ok := msgpack.Skip(c.b[c.off:])
	if !ok {
		return malformed("bad msgpack at offset %d", c.off)
	}
	c.off += n
	return nil
}
