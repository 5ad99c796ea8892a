package sindex

import (
	"encoding/binary"
	"slices"

	"github.com/skiffdb/skiff/core/internal/geo"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// Key is an index key: the integer itself for a numeric index, HashKey of
// the bytes for a string or blob index, a cell id (see geo.go) for a geo
// index. Entries are ordered by key, then digest, and the key is what the
// node sends a client as a record's bval (and gets back to resume).
type Key = int64

// HashKey is the key of a string or blob value: a 64-bit hash of its bytes
// (the string's own bytes, without the particle-type byte msgpack carries).
//
// String and blob indexes answer equality queries only, so a hash is all
// they need, and it keeps every entry the same 28 bytes. Two values may
// share a hash: a query finds the records of both, and the node, which
// re-checks each record's bin against the query's value, drops the wrong
// ones. Collisions therefore cost a wasted read, never a wrong answer.
//
// The function is deterministic across processes and versions on purpose:
// a client resuming a query after a node restart sends back keys (bvals)
// computed before it. Changing it makes such resumes skip or repeat records.
func HashKey(b []byte) Key {
	const (
		k0 = 0x9e3779b97f4a7c15
		k1 = 0xbf58476d1ce4e5b9
		k2 = 0x94d049bb133111eb
	)
	mix := func(z uint64) uint64 { // splitmix64's finalizer
		z = (z ^ z>>30) * k1
		z = (z ^ z>>27) * k2
		return z ^ z>>31
	}
	h := k2 ^ uint64(len(b))*k0
	for len(b) >= 8 {
		h = mix(h ^ binary.LittleEndian.Uint64(b) + k0)
		b = b[8:]
	}
	if len(b) > 0 {
		var t uint64
		for i, c := range b {
			t |= uint64(c) << (8 * i)
		}
		h = mix(h ^ t + k1)
	}
	return Key(mix(h))
}

// Keys appends to dst the keys the index takes from a bin value of
// particle type pt, in wire form (integers 8 bytes big-endian, strings and
// blobs raw, lists and maps msgpack, GeoJSON flags+ncells+cells+JSON):
//
//   - Default: the value itself, if its type is the index's type;
//   - List: each element of a list of the index's type;
//   - MapKeys, MapValues: each key, or each value, of a map of that type.
//
// Values of other types, nested lists and maps, and malformed values give
// no keys (a malformed msgpack value gives none at all, so the node removes
// exactly what it added). GeoJSON that does not parse gives no keys; a
// point gives its leaf cell, a region its covering (at most MaxCovering
// cells).
//
// The appended keys are sorted and unique: a list holding a value twice
// yields one entry. Keys allocates nothing, except for GeoJSON values,
// which it parses and covers. It does not lock the index.
func (x *Index) Keys(dst []Key, pt uint8, value []byte) []Key {
	start := len(dst)
	Scalars(x.def.Collection, pt, value, func(v Scalar) bool {
		dst = appendKeys(dst, x.def.Type, v)
		return true
	})
	keys := dst[start:]
	if len(keys) > 1 {
		slices.Sort(keys)
		keys = slices.Compact(keys)
	}
	return dst[:start+len(keys)]
}

// appendKeys appends the keys an index of type t takes from one value.
func appendKeys(dst []Key, t Type, v Scalar) []Key {
	switch {
	case t == Numeric && v.Type == proto.ParticleInteger && v.IntOK:
		return append(dst, v.Int)
	case t == String && v.Type == proto.ParticleString, t == Blob && v.Type == proto.ParticleBlob:
		return append(dst, HashKey(v.Bytes))
	case t == Geo2DSphere && v.Type == proto.ParticleGeoJSON:
		s, err := geo.Parse(v.Bytes)
		if err != nil {
			return dst
		}
		return appendCovering(dst, s, MaxCovering)
	}
	return dst
}

// Scalar is one value Scalars yields.
type Scalar struct {
	Type  uint8  // particle type: proto.ParticleInteger, ParticleString, ...
	Int   int64  // an integer's value, when IntOK
	IntOK bool   // Type is ParticleInteger and the value is well formed
	Bytes []byte // the value's bytes, for other types; GeoJSON as JSON text
}

// Scalars calls fn with each value a collection takes from a bin of
// particle type pt: for Default the bin's value itself, for List each
// element of a list bin, for MapKeys / MapValues each key / value of a map
// bin. Of list and map elements it yields integers and strings, blobs,
// GeoJSON (with the particle type msgpack carries in their first byte, and
// the bytes after it); it skips what no index holds: nil, bools, floats,
// nested lists and maps, ext elements (the order header of ordered lists
// and maps). GeoJSON, a bin's or an element's, comes as JSON text without
// the bin's cell header.
//
// v.Bytes aliases value; fn returns false to stop. Scalars first checks
// that the whole msgpack value decodes, so that fn sees all of its elements
// or none, and reports whether the value was well formed. It allocates
// nothing.
//
// The node uses it to re-check a candidate record against a query (does
// some element of the list lie in [lo, hi]?); Keys uses it to index.
func Scalars(c Collection, pt uint8, value []byte, fn func(v Scalar) bool) bool {
	switch c {
	case Default:
		v := Scalar{Type: pt, Bytes: value}
		switch pt {
		case proto.ParticleInteger:
			if len(value) != 8 {
				return false
			}
			v.Int, v.IntOK = int64(binary.BigEndian.Uint64(value)), true
		case proto.ParticleGeoJSON:
			text, ok := geo.ParticleText(value)
			if !ok {
				return false
			}
			v.Bytes = text
		}
		fn(v)
		return true
	case List:
		if pt != proto.ParticleList {
			return true
		}
	case MapKeys, MapValues:
		if pt != proto.ParticleMap {
			return true
		}
	default:
		return true
	}
	if _, ok := msgpack.Skip(value); !ok {
		return false
	}
	// The value is whole: nothing below can fail.
	t, _, size, n, _, _ := msgpack.Header(value)
	b := value[size:]
	switch {
	case c == List && t == msgpack.List:
		for range n {
			size, more := elem(b, fn)
			if !more {
				break
			}
			b = b[size:]
		}
	case c != List && t == msgpack.Map:
		for range n / 2 {
			if k, _, _, _, _, _ := msgpack.Header(b); k.IsExt() { // an order header: skip it and its (nil) value
				size, _ := msgpack.SkipN(b, 2)
				b = b[size:]
				continue
			}
			if c == MapValues {
				size, _ := msgpack.Skip(b)
				b = b[size:]
			}
			size, more := elem(b, fn)
			if !more {
				break
			}
			b = b[size:]
			if c == MapKeys {
				size, _ := msgpack.Skip(b)
				b = b[size:]
			}
		}
	}
	return true
}

// elem reads the element at the start of b, which must be whole, and
// passes it to fn if it is an integer or a str/bin with a particle-type
// byte; it skips others, containers whole. It returns the element's length
// and fn's answer (true when fn was not called).
func elem(b []byte, fn func(v Scalar) bool) (int, bool) {
	t, payload, size, _, u, _ := msgpack.Header(b)
	switch t {
	case msgpack.Int, msgpack.NegInt:
		return size, fn(Scalar{Type: proto.ParticleInteger, Int: int64(u), IntOK: true})
	case msgpack.String, msgpack.Bytes, msgpack.GeoJSON:
		if size == payload { // empty: no particle type
			return size, true
		}
		return size, fn(Scalar{Type: b[payload], Bytes: b[payload+1 : size]})
	}
	size, _ = msgpack.Skip(b)
	return size, true
}
