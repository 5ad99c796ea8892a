package expr

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"math/bits"
	"sync"
	"time"
	"unsafe"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/geo"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// Record is what an expression reads: a live record's metadata and bins.
// Eval only reads it, and does not keep it.
type Record struct {
	Digest storage.Digest
	Meta   storage.Meta
	// Key is the stored key (its particle type, then its bytes), or nil.
	Key []byte
	// Bins are the record's bins, decoded.
	Bins []bins.Bin
	// Size is the record's stored size in bytes (record_size).
	Size int
	// Now is the time since_update and ttl count from; the zero time
	// means time.Now() when needed. Set it once per request or scan.
	Now time.Time
}

// Type returns the kind of value e evaluates to, when it is not Unknown.
func (e *Expr) Type() Kind {
	switch e.root.typ {
	case tNil:
		return Nil
	case tBool:
		return Bool
	case tInt:
		return Int
	case tStr:
		return String
	case tList:
		return List
	case tMap:
		return Map
	case tBlob:
		return Blob
	case tFloat:
		return Float
	case tGeo:
		return GeoJSON
	case tHLL:
		return HLL
	}
	return Unknown
}

// Eval evaluates e against r. It never fails: whatever cannot be computed
// (a missing bin, a bin of another type, a key that was not stored,
// integer division by zero...) is Unknown. Values that list and map calls
// make live in a.
func (e *Expr) Eval(r *Record, a *bins.Arena) Value {
	return e.eval(r, false, a)
}

// Filter reports whether r matches the filter expression e: false means
// the record is FILTERED_OUT, unknown included.
func (e *Expr) Filter(r *Record) bool {
	if e.calls {
		return e.filterCalls(r)
	}
	v := e.eval(r, false, nil)
	return v.kind == Bool && v.num != 0
}

// filterCalls is Filter for an expression with list, map, bit or HLL calls,
// whose values need an arena for the time of the evaluation.
func (e *Expr) filterCalls(r *Record) bool {
	a := arenas.Get().(*bins.Arena)
	v := e.eval(r, false, a)
	a.Reset()
	arenas.Put(a)
	return v.kind == Bool && v.num != 0
}

// arenas hold the values of list and map calls while a filter runs.
var arenas = sync.Pool{New: func() any { return new(bins.Arena) }}

// FilterMeta evaluates filter e from r's digest and metadata only, before
// the record's bins are read: r.Bins and r.Key are ignored, and the bin,
// bin_type, key and key_exists operations are unknown. When decided is
// false the filter needs the bins: call Filter with them.
func (e *Expr) FilterMeta(r *Record) (match, decided bool) {
	v := e.eval(r, true, nil)
	if v.kind != Bool {
		return false, false
	}
	return v.num != 0, true
}

func (e *Expr) eval(r *Record, metaOnly bool, a *bins.Arena) Value {
	s := state{r: r, metaOnly: metaOnly, arena: a}
	if e.slots > len(s.slots) {
		s.more = make([]Value, e.slots-len(s.slots))
	}
	return s.eval(e.root)
}

// state is one evaluation's.
type state struct {
	r        *Record
	metaOnly bool
	arena    *bins.Arena
	// slots and more hold the let variables. The slots live in the state
	// itself, not behind a slice of it: a call passes the state's pointers
	// (arena, values) on to code that keeps them, and a slice would carry
	// the variables to the heap with them.
	slots [8]Value
	more  []Value
}

// slot returns let variable i.
func (s *state) slot(i int) *Value {
	if i < len(s.slots) {
		return &s.slots[i]
	}
	return &s.more[i-len(s.slots)]
}

var unknown = Value{}

// eval evaluates n. It only dispatches, so that its stack frame, paid at
// each level of the expression, stays small.
func (s *state) eval(n *node) Value {
	switch n.op {
	case opValue:
		return n.val
	case opBin:
		return s.bin(n)
	case opEq, opNe, opGt, opGe, opLt, opLe:
		return s.compare(n)
	case opAnd, opOr:
		return s.logical(n)
	case opNot, opExclusive:
		return s.notExclusive(n)
	case opUnknown:
		return unknown
	case opRegex:
		return s.regex(n)
	case opGeo:
		return s.geo(n)
	case opAdd, opSub, opMul, opDiv, opMin, opMax:
		return s.arith(n)
	case opPow, opLog:
		return s.floatBinary(n)
	case opMod, opIntLShift, opIntRShift, opIntARShift, opIntLScan, opIntRScan:
		return s.intBinary(n)
	case opAbs, opFloor, opCeil, opToInt, opToFloat, opIntNot, opIntCount:
		return s.unary(n)
	case opIntAnd, opIntOr, opIntXor:
		return s.bitwise(n)
	case opCond:
		return s.cond(n)
	case opLet:
		return s.let(n)
	case opVar:
		return *s.slot(int(n.num))
	case opCall:
		return s.call(n)
	default:
		return s.meta(n)
	}
}

func (s *state) bin(n *node) Value {
	if s.metaOnly {
		return unknown
	}
	if i := bins.Find(s.r.Bins, n.name); i >= 0 {
		return binValue(&s.r.Bins[i], uint8(n.num))
	}
	return unknown
}

func (s *state) compare(n *node) Value {
	a := s.eval(n.args[0])
	if a.kind == Unknown {
		return unknown
	}
	if r := n.args[1]; r.op == opValue { // the common bin-against-literal case
		return compare(n.op, &a, &r.val)
	}
	b := s.eval(n.args[1])
	if b.kind == Unknown {
		return unknown
	}
	return compare(n.op, &a, &b)
}

func (s *state) regex(n *node) Value {
	v := s.eval(n.args[0])
	if v.kind != String {
		return unknown
	}
	subject := v.b
	if i := bytes.IndexByte(subject, 0); i >= 0 {
		subject = subject[:i] // the server matches a C string
	}
	return boolValue(n.re.Match(subject))
}

func (s *state) notExclusive(n *node) Value {
	if n.op == opNot {
		v := s.eval(n.args[0])
		if v.kind == Unknown {
			return unknown
		}
		return boolValue(v.num == 0)
	}
	// exclusive: exactly one argument is true.
	seen := false
	for _, a := range n.args {
		v := s.eval(a)
		if v.kind == Unknown {
			return unknown
		}
		if v.num != 0 {
			if seen {
				return boolValue(false)
			}
			seen = true
		}
	}
	return boolValue(seen)
}

func (s *state) floatBinary(n *node) Value {
	a := s.eval(n.args[0])
	if a.kind == Unknown {
		return unknown
	}
	b := s.eval(n.args[1])
	if b.kind == Unknown {
		return unknown
	}
	if n.op == opPow {
		return floatValue(math.Pow(a.Float(), b.Float()))
	}
	return floatValue(math.Log(a.Float()) / math.Log(b.Float()))
}

func (s *state) bitwise(n *node) Value {
	acc := s.eval(n.args[0])
	if acc.kind == Unknown {
		return unknown
	}
	for _, a := range n.args[1:] {
		v := s.eval(a)
		if v.kind == Unknown {
			return unknown
		}
		switch n.op {
		case opIntAnd:
			acc.num &= v.num
		case opIntOr:
			acc.num |= v.num
		default:
			acc.num ^= v.num
		}
	}
	return acc
}

// cond evaluates the action of the first true condition, or the default;
// an unknown condition on the way makes it unknown.
func (s *state) cond(n *node) Value {
	last := len(n.args) - 1
	for i := 0; i < last; i += 2 {
		c := s.eval(n.args[i])
		if c.kind == Unknown {
			return unknown
		}
		if c.num != 0 {
			return s.eval(n.args[i+1])
		}
	}
	return s.eval(n.args[last])
}

// let evaluates its definitions into their slots, then its body.
func (s *state) let(n *node) Value {
	last := len(n.args) - 1
	for i, def := range n.args[:last] {
		*s.slot(int(n.num) + i) = s.eval(def)
	}
	return s.eval(n.args[last])
}

// meta evaluates the operations that read the record itself.
func (s *state) meta(n *node) Value {
	r := s.r
	switch n.op {
	case opDigestModulo:
		// The server reads digest bytes 16-19 as a little-endian uint32.
		return intValue(int64(binary.LittleEndian.Uint32(r.Digest[16:])) % n.num)
	case opRecordSize, opDeviceSize, opMemorySize:
		return intValue(int64(r.Size))
	case opLastUpdate:
		// The server keeps last-update times in milliseconds.
		return intValue(int64(r.Meta.LastUpdate / 1e6 * 1e6))
	case opSinceUpdate:
		now, lut := s.now().UnixMilli(), int64(r.Meta.LastUpdate/1e6)
		if now > lut {
			return intValue(now - lut)
		}
		return intValue(0)
	case opVoidTime:
		if r.Meta.VoidTime == 0 {
			return intValue(-1)
		}
		return intValue((int64(r.Meta.VoidTime) + storage.EpochUnix) * 1e9)
	case opTTL:
		if r.Meta.VoidTime == 0 {
			return intValue(-1)
		}
		now := s.now().Unix() - storage.EpochUnix
		if v := int64(r.Meta.VoidTime); v > now {
			return intValue(v - now)
		}
		return intValue(1) // expired but not yet removed
	case opSetName:
		// The set name's bytes, shared with the string: never written.
		set := r.Meta.Set
		return bytesValue(String, unsafe.Slice(unsafe.StringData(set), len(set)))
	case opIsTombstone:
		return boolValue(false) // only live records are evaluated
	}
	if s.metaOnly {
		return unknown
	}
	switch n.op {
	case opKeyExists:
		return boolValue(len(r.Key) > 0)
	case opKey:
		return keyValue(r.Key, uint8(n.num))
	case opBinType:
		if i := bins.Find(r.Bins, n.name); i >= 0 {
			return intValue(int64(r.Bins[i].Type))
		}
		return intValue(proto.ParticleNull)
	}
	panic("expr: unexpected op in a compiled expression") // Compile admits no other
}

func (s *state) now() time.Time {
	if s.r.Now.IsZero() {
		return time.Now()
	}
	return s.r.Now
}

// keyValue decodes a stored key of particle type want.
func keyValue(key []byte, want uint8) Value {
	if len(key) == 0 || key[0] != want {
		return unknown
	}
	switch want {
	case proto.ParticleInteger:
		if len(key) != 9 {
			return unknown
		}
		return intValue(int64(binary.BigEndian.Uint64(key[1:])))
	case proto.ParticleString:
		return bytesValue(String, key[1:])
	default:
		return bytesValue(Blob, key[1:])
	}
}

// compare applies comparison op to two known values of one static type.
func compare(op uint8, a, b *Value) Value {
	if a.kind != b.kind {
		return unknown
	}
	var c int
	switch a.kind {
	case Nil:
	case Bool, Int:
		c = cmp.Compare(int64(a.num), int64(b.num))
	case Float:
		x, y := a.Float(), b.Float()
		if x != x || y != y {
			return boolValue(op == opNe) // NaN: only ne holds, as in C
		}
		c = cmp.Compare(x, y)
	case String, Blob:
		c = bytes.Compare(a.b, b.b)
	case List, Map, Ext:
		var unordered, ok bool
		c, unordered, ok = msgpack.Compare(a.b, b.b)
		if !ok || unordered {
			return unknown
		}
	default:
		return unknown
	}
	return boolValue(holds(op, c))
}

// holds reports whether comparison op holds for the ordering c (-1, 0, 1).
func holds(op uint8, c int) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	}
	return c <= 0
}

// logical evaluates and/or: false (true) decides, unknown arguments make
// the result unknown otherwise.
func (s *state) logical(n *node) Value {
	decider := n.op == opOr // the value that decides
	sawUnknown := false
	for _, a := range n.args {
		v := s.eval(a)
		if v.kind == Unknown {
			sawUnknown = true
		} else if (v.num != 0) == decider {
			return boolValue(decider)
		}
	}
	if sawUnknown {
		return unknown
	}
	return boolValue(!decider)
}

// geo evaluates the geo comparison: does the first (candidate) geometry
// match the second (query) one.
func (s *state) geo(n *node) Value {
	a := s.eval(n.args[0])
	if a.kind == Unknown {
		return unknown
	}
	b := s.eval(n.args[1])
	if b.kind == Unknown {
		return unknown
	}
	sa, sb := geoShape(a), geoShape(b)
	if sa == nil || sb == nil {
		return unknown
	}
	return boolValue(geo.Match(sa, sb))
}

// geoShape returns the shape of a GeoJSON value, parsing a bin's JSON.
func geoShape(v Value) *geo.Shape {
	if v.kind != GeoJSON {
		return nil
	}
	if v.geo != nil {
		return v.geo
	}
	sh, err := geo.Parse(v.Bytes())
	if err != nil {
		return nil
	}
	return sh
}

// arith evaluates the variadic operators over all-int or all-float
// arguments. Integers wrap around.
func (s *state) arith(n *node) Value {
	acc := s.eval(n.args[0])
	if acc.kind == Unknown {
		return unknown
	}
	isFloat := acc.kind == Float
	rest := n.args[1:]
	switch {
	case n.op == opSub && len(rest) == 0:
		if isFloat {
			return floatValue(-acc.Float())
		}
		return intValue(-acc.Int())
	case n.op == opDiv:
		// The first argument divided by the product of the others; one
		// argument is inverted.
		iprod, fprod := int64(1), 1.0
		for _, a := range rest {
			v := s.eval(a)
			if v.kind == Unknown {
				return unknown
			}
			iprod *= v.Int()
			fprod *= v.Float()
		}
		if len(rest) == 0 {
			iprod, fprod = acc.Int(), acc.Float()
			acc = intValue(1)
			if isFloat {
				acc = floatValue(1)
			}
		}
		if isFloat {
			return floatValue(acc.Float() / fprod)
		}
		if iprod == 0 {
			return unknown
		}
		return intValue(acc.Int() / iprod) // MinInt64 / -1 wraps, no panic in Go
	}
	for _, a := range rest {
		v := s.eval(a)
		if v.kind == Unknown {
			return unknown
		}
		if isFloat {
			x, y := acc.Float(), v.Float()
			switch n.op {
			case opAdd:
				x += y
			case opSub:
				x -= y
			case opMul:
				x *= y
			case opMin:
				if y < x {
					x = y
				}
			case opMax:
				if y > x {
					x = y
				}
			}
			acc = floatValue(x)
			continue
		}
		x, y := acc.Int(), v.Int()
		switch n.op {
		case opAdd:
			x += y
		case opSub:
			x -= y
		case opMul:
			x *= y
		case opMin:
			x = min(x, y)
		case opMax:
			x = max(x, y)
		}
		acc = intValue(x)
	}
	return acc
}

// intBinary evaluates the two-argument integer operators.
func (s *state) intBinary(n *node) Value {
	a := s.eval(n.args[0])
	if a.kind == Unknown {
		return unknown
	}
	b := s.eval(n.args[1])
	if b.kind == Unknown {
		return unknown
	}
	x := a.Int()
	// Shift counts are taken modulo 64, as x86 shift instructions do in the
	// server; Go would panic on negative counts.
	shift := uint(b.num) & 63
	switch n.op {
	case opMod:
		if b.Int() == 0 {
			return unknown
		}
		return intValue(x % b.Int())
	case opIntLShift:
		return intValue(x << shift)
	case opIntRShift:
		return intValue(int64(uint64(x) >> shift))
	case opIntARShift:
		return intValue(x >> shift)
	case opIntLScan, opIntRScan:
		// The index, counted from the most significant bit, of the first
		// bit equal to the search value, scanning from the left (lscan)
		// or right (rscan); -1 if there is none.
		u := uint64(x)
		if b.num == 0 {
			u = ^u
		}
		if u == 0 {
			return intValue(-1)
		}
		if n.op == opIntLScan {
			return intValue(int64(bits.LeadingZeros64(u)))
		}
		return intValue(63 - int64(bits.TrailingZeros64(u)))
	}
	return unknown
}

// unary evaluates abs, the numeric conversions and the one-argument bit
// operators.
func (s *state) unary(n *node) Value {
	v := s.eval(n.args[0])
	if v.kind == Unknown {
		return unknown
	}
	switch n.op {
	case opAbs:
		if v.kind == Float {
			return floatValue(math.Abs(v.Float()))
		}
		if i := v.Int(); i < 0 {
			return intValue(-i) // wraps for MinInt64, like the server's labs
		}
		return v
	case opFloor:
		return floatValue(math.Floor(v.Float()))
	case opCeil:
		return floatValue(math.Ceil(v.Float()))
	case opToInt:
		return intValue(floatToInt(v.Float()))
	case opToFloat:
		return floatValue(float64(v.Int()))
	case opIntNot:
		return intValue(^v.Int())
	case opIntCount:
		return intValue(int64(bits.OnesCount64(v.num)))
	}
	return unknown
}

// floatToInt truncates f toward zero; NaN and values out of range give
// MinInt64, as the server's conversion does on x86 (Go leaves them to the
// platform).
func floatToInt(f float64) int64 {
	if math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return math.MinInt64
	}
	return int64(f)
}

// callBuf is the arena space a call's operation is built in at first.
const callBuf = 64

// call runs a list, map, bit or HLL call on its bin's value. Unknown params
// or bin, and operations the value refuses, make it unknown; a nil bin
// value is no value. A modify
// call's value is the changed bin value, a read call's the operation's
// result.
func (s *state) call(n *node) Value {
	if s.metaOnly {
		return unknown
	}
	bin := s.eval(n.args[0])
	var binType uint8
	switch bin.kind {
	case List:
		binType = proto.ParticleList
	case Map:
		binType = proto.ParticleMap
	case Blob:
		binType = proto.ParticleBlob
	case HLL:
		binType = proto.ParticleHLL
	case Nil:
		// No value yet: a modify call may create one (hll_init on nil
		// makes an empty HLL).
		binType = proto.ParticleNull
	default:
		return unknown
	}
	c := n.call
	w := s.arena.Alloc(callBuf)[:0]
	if c.ctx != nil {
		w = append(msgpack.AppendInt(msgpack.AppendArrayHeader(w, 3), cdtContextEval), c.ctx...)
	}
	w = msgpack.AppendInt(msgpack.AppendArrayHeader(w, len(n.args)), int64(c.code))
	for _, p := range n.args[1:] {
		v := s.eval(p)
		if v.kind == Ext {
			w = append(w, v.b...)
			continue
		}
		typ, val, ok := v.Particle(s.arena)
		if !ok {
			return unknown
		}
		if w, ok = msgpack.AppendParticle(w, typ, val); !ok {
			return unknown
		}
	}
	o, err := c.apply(s.arena, c.modify, binType, bin.b, w)
	if err != nil {
		return unknown
	}
	if c.modify {
		// The bin after the call, as the type the call declares: unknown
		// when it is none (a call that made nothing of nil, or a list of
		// a call declared to give a map).
		after := bins.Bin{Type: binType, Value: bin.b}
		if o.Changed {
			after = bins.Bin{Type: o.Type, Value: o.Value}
		}
		return binValue(&after, n.typ.particle())
	}
	return binValue(&bins.Bin{Type: o.ResType, Value: o.Res}, n.typ.particle())
}
