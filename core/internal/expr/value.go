package expr

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/geo"
	"github.com/skiffdb/skiff/core/proto"
)

// Kind is the kind of a Value.
type Kind uint8

// Value kinds. The zero Value is Unknown.
const (
	Unknown Kind = iota
	Nil
	Bool
	Int
	Float
	String
	Blob
	GeoJSON
	HLL
	List
	Map
	// Ext is an opaque msgpack value other than a list or map: the
	// infinity and wildcard values of list/map calls.
	Ext
)

var kindNames = [...]string{"unknown", "nil", "bool", "int", "float", "string", "blob", "geojson", "hll", "list", "map", "ext"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is the result of an expression. Bytes of strings, blobs, lists and
// maps alias the record's bins, its set name or the expression, so a Value
// is valid as long as they are, and its bytes must never be modified.
type Value struct {
	kind Kind
	// num holds an Int, a Float's bits or a Bool (0 or 1); for a GeoJSON
	// value read from a bin, the length of the particle header in b.
	num uint64
	// b holds the bytes of String, Blob, HLL, List, Map and Ext values,
	// and the particle (num > 0) or JSON text (num == 0) of GeoJSON.
	b []byte
	// geo is the parsed shape of a GeoJSON literal.
	geo *geo.Shape
}

// Kind returns v's kind.
func (v Value) Kind() Kind { return v.kind }

// Int returns an Int value.
func (v Value) Int() int64 { return int64(v.num) }

// Float returns a Float value.
func (v Value) Float() float64 { return math.Float64frombits(v.num) }

// Bool returns a Bool value.
func (v Value) Bool() bool { return v.num != 0 }

// Bytes returns the bytes of a String, Blob or HLL value, the msgpack of a
// List, Map or Ext value, or the JSON text of a GeoJSON value.
func (v Value) Bytes() []byte {
	if v.kind == GeoJSON {
		return v.b[v.num:]
	}
	return v.b
}

func intValue(i int64) Value     { return Value{kind: Int, num: uint64(i)} }
func floatValue(f float64) Value { return Value{kind: Float, num: math.Float64bits(f)} }

func boolValue(b bool) Value {
	if b {
		return Value{kind: Bool, num: 1}
	}
	return Value{kind: Bool}
}

func bytesValue(k Kind, b []byte) Value { return Value{kind: k, b: b} }

// Particle returns v as a bin value: its particle type and bytes in wire
// form (integers and doubles as 8 big-endian bytes, GeoJSON with its
// flags and cell-count header). A Nil value has type ParticleNull and no
// bytes. New bytes come from a; others alias v. ok is false for values
// no bin can hold: Unknown, and Ext.
func (v Value) Particle(a *bins.Arena) (typ uint8, val []byte, ok bool) {
	switch v.kind {
	case Nil:
		return proto.ParticleNull, nil, true
	case Bool:
		out := a.Alloc(1)
		out[0] = byte(v.num)
		return proto.ParticleBool, out, true
	case Int, Float:
		out := a.Alloc(8)
		binary.BigEndian.PutUint64(out, v.num)
		if v.kind == Int {
			return proto.ParticleInteger, out, true
		}
		return proto.ParticleFloat, out, true
	case String:
		return proto.ParticleString, v.b, true
	case Blob:
		return proto.ParticleBlob, v.b, true
	case HLL:
		return proto.ParticleHLL, v.b, true
	case List:
		return proto.ParticleList, v.b, true
	case Map:
		return proto.ParticleMap, v.b, true
	case GeoJSON:
		if v.num > 0 {
			return proto.ParticleGeoJSON, v.b, true
		}
		// flags 0 and no cells, as the clients send GeoJSON bins.
		out := a.Alloc(3 + len(v.b))
		out[0], out[1], out[2] = 0, 0, 0
		copy(out[3:], v.b)
		return proto.ParticleGeoJSON, out, true
	}
	return 0, nil, false
}

// binValue returns the value of a bin, or Unknown if the bin does not hold
// a valid value of particle type want.
func binValue(b *bins.Bin, want uint8) Value {
	if b.Type != want {
		return Value{}
	}
	switch b.Type {
	case proto.ParticleInteger:
		if len(b.Value) != 8 {
			return Value{}
		}
		return Value{kind: Int, num: binary.BigEndian.Uint64(b.Value)}
	case proto.ParticleFloat:
		if len(b.Value) != 8 {
			return Value{}
		}
		return Value{kind: Float, num: binary.BigEndian.Uint64(b.Value)}
	case proto.ParticleBool:
		if len(b.Value) != 1 {
			return Value{}
		}
		return boolValue(b.Value[0] != 0)
	case proto.ParticleString:
		return bytesValue(String, b.Value)
	case proto.ParticleBlob:
		return bytesValue(Blob, b.Value)
	case proto.ParticleHLL:
		return bytesValue(HLL, b.Value)
	case proto.ParticleList:
		return bytesValue(List, b.Value)
	case proto.ParticleMap:
		return bytesValue(Map, b.Value)
	case proto.ParticleGeoJSON:
		text, ok := geo.ParticleText(b.Value)
		if !ok {
			return Value{}
		}
		return Value{kind: GeoJSON, num: uint64(len(b.Value) - len(text)), b: b.Value}
	}
	return Value{}
}
