package udf

import (
	"fmt"
	"math"
	"reflect"
)

// Value is a UDF argument, result or bin value. Decoded values (arguments,
// Record.Get, Record.Key) hold one of:
//
//	nil
//	bool
//	int64
//	float64
//	string
//	[]byte
//	GeoJSON
//	HLL
//	[]Value            a list
//	map[Value]Value    a map; a bytes key decodes as BytesKey
//
// Values given to the SDK (results, Record.Set) may also hold any Go
// integer type (encoded as a msgpack integer; a uint64 above MaxInt64 is
// an error), float32, BytesKey, and any slice, array or map whose elements
// are values themselves, such as []string or map[string]any. Map keys must
// be integers, strings or bytes (BytesKey).
type Value = any

// GeoJSON is a GeoJSON text (a Point, Polygon, AeroCircle...). It is stored
// as a GeoJSON particle, which geo secondary indexes and geo filters use,
// where a plain string would be a string particle.
type GeoJSON string

// HLL is a HyperLogLog sketch as an HLL bin holds it. A UDF can read one,
// keep it in another bin or return it, and the client's HLL operations
// work on it there; setting a bin to bytes that are no sketch fails.
type HLL []byte

// BytesKey holds the bytes of a blob where Go needs a comparable type: a
// map key. It encodes as bytes, like []byte; a map key stored as bytes
// decodes as a BytesKey.
type BytesKey string

// Particle types: the first payload byte of a msgpack str or bin.
const (
	particleString  = 3
	particleBlob    = 4
	particleHLL     = 18
	particleGeoJSON = 23
)

// msgpack format bytes used here.
const (
	mpNil      = 0xc0
	mpFalse    = 0xc2
	mpTrue     = 0xc3
	mpBin8     = 0xc4
	mpBin16    = 0xc5
	mpBin32    = 0xc6
	mpExt8     = 0xc7
	mpExt16    = 0xc8
	mpExt32    = 0xc9
	mpFloat32  = 0xca
	mpFloat64  = 0xcb
	mpUint8    = 0xcc
	mpUint16   = 0xcd
	mpUint32   = 0xce
	mpUint64   = 0xcf
	mpInt8     = 0xd0
	mpInt16    = 0xd1
	mpInt32    = 0xd2
	mpInt64    = 0xd3
	mpFixExt1  = 0xd4
	mpFixExt16 = 0xd8
	mpStr8     = 0xd9
	mpStr16    = 0xda
	mpStr32    = 0xdb
	mpArray16  = 0xdc
	mpArray32  = 0xdd
	mpMap16    = 0xde
	mpMap32    = 0xdf
)

// maxDepth bounds the nesting of lists and maps, on encode (which also
// stops a self-referencing value) and on decode.
const maxDepth = 256

// appendValue appends the msgpack encoding of v to dst. Errors wrap
// ErrInvalid; dst may then hold a partial encoding.
func appendValue(dst []byte, v Value) ([]byte, error) {
	return appendDepth(dst, v, 0)
}

func appendDepth(dst []byte, v Value, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, mpNil), nil
	case bool:
		if v {
			return append(dst, mpTrue), nil
		}
		return append(dst, mpFalse), nil
	case int64:
		return appendInt(dst, v), nil
	case int:
		return appendInt(dst, int64(v)), nil
	case int32:
		return appendInt(dst, int64(v)), nil
	case int16:
		return appendInt(dst, int64(v)), nil
	case int8:
		return appendInt(dst, int64(v)), nil
	case uint64:
		return appendUint(dst, v)
	case uint:
		return appendUint(dst, uint64(v))
	case uint32:
		return appendInt(dst, int64(v)), nil
	case uint16:
		return appendInt(dst, int64(v)), nil
	case uint8:
		return appendInt(dst, int64(v)), nil
	case float64:
		return appendFloat(dst, v), nil
	case float32:
		return appendFloat(dst, float64(v)), nil
	case string:
		return appendStr(dst, particleString, v), nil
	case GeoJSON:
		return appendStr(dst, particleGeoJSON, string(v)), nil
	case []byte:
		return appendBin(dst, particleBlob, v), nil
	case BytesKey:
		return appendBin(dst, particleBlob, v), nil
	case HLL:
		return appendBin(dst, particleHLL, v), nil
	case []Value:
		if depth >= maxDepth {
			return dst, errTooDeep
		}
		dst = appendArrayHeader(dst, len(v))
		for _, e := range v {
			var err error
			if dst, err = appendDepth(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case map[Value]Value:
		if depth >= maxDepth {
			return dst, errTooDeep
		}
		dst = appendMapHeader(dst, len(v))
		for k, e := range v {
			var err error
			if dst, err = appendKey(dst, k); err != nil {
				return dst, err
			}
			if dst, err = appendDepth(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case map[string]Value:
		if depth >= maxDepth {
			return dst, errTooDeep
		}
		dst = appendMapHeader(dst, len(v))
		for k, e := range v {
			dst = appendStr(dst, particleString, k)
			var err error
			if dst, err = appendDepth(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return appendReflect(dst, reflect.ValueOf(v), depth)
}

var errTooDeep = fmt.Errorf("%w: lists and maps nested more than %d deep", ErrInvalid, maxDepth)

// appendReflect encodes the forms the type switch of appendDepth does not
// name: named types, and slices, arrays and maps of other element types.
func appendReflect(dst []byte, rv reflect.Value, depth int) ([]byte, error) {
	switch rv.Kind() {
	case reflect.Bool:
		return appendDepth(dst, rv.Bool(), depth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(dst, rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return appendUint(dst, rv.Uint())
	case reflect.Float32, reflect.Float64:
		return appendFloat(dst, rv.Float()), nil
	case reflect.String:
		return appendStr(dst, particleString, rv.String()), nil
	case reflect.Pointer:
		if rv.IsNil() {
			return append(dst, mpNil), nil
		}
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			for i := range b {
				b[i] = byte(rv.Index(i).Uint())
			}
			return appendBin(dst, particleBlob, b), nil
		}
		if depth >= maxDepth {
			return dst, errTooDeep
		}
		n := rv.Len()
		dst = appendArrayHeader(dst, n)
		for i := range n {
			var err error
			if dst, err = appendDepth(dst, rv.Index(i).Interface(), depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case reflect.Map:
		if depth >= maxDepth {
			return dst, errTooDeep
		}
		dst = appendMapHeader(dst, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			var err error
			if dst, err = appendKey(dst, it.Key().Interface()); err != nil {
				return dst, err
			}
			if dst, err = appendDepth(dst, it.Value().Interface(), depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	if !rv.IsValid() {
		return append(dst, mpNil), nil
	}
	return dst, fmt.Errorf("%w: cannot encode a %s as a UDF value", ErrInvalid, rv.Type())
}

// appendKey encodes a map key: an integer, string or bytes.
func appendKey(dst []byte, k Value) ([]byte, error) {
	switch k.(type) {
	case nil, bool, float32, float64, GeoJSON, []Value, map[Value]Value, map[string]Value:
		return dst, fmt.Errorf("%w: map key %v (%T): keys are integers, strings or bytes", ErrInvalid, k, k)
	}
	rv := reflect.ValueOf(k)
	switch rv.Kind() {
	case reflect.Map, reflect.Bool, reflect.Float32, reflect.Float64, reflect.Pointer, reflect.Interface:
		return dst, fmt.Errorf("%w: map key %v (%T): keys are integers, strings or bytes", ErrInvalid, k, k)
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() != reflect.Uint8 {
			return dst, fmt.Errorf("%w: map key of type %T: keys are integers, strings or bytes", ErrInvalid, k)
		}
	}
	return appendDepth(dst, k, maxDepth)
}

// appendInt appends i in its smallest msgpack form: the unsigned forms for
// non-negative values, as the Aerospike clients write them.
func appendInt(dst []byte, i int64) []byte {
	switch {
	case i >= 0 && i <= 0x7f:
		return append(dst, byte(i))
	case i >= -32 && i < 0:
		return append(dst, byte(i))
	case i >= 0 && i <= math.MaxUint8:
		return append(dst, mpUint8, byte(i))
	case i >= 0 && i <= math.MaxUint16:
		return append(dst, mpUint16, byte(i>>8), byte(i))
	case i >= 0 && i <= math.MaxUint32:
		return append(dst, mpUint32, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
	case i >= 0:
		return appendBE64(append(dst, mpUint64), uint64(i))
	case i >= math.MinInt8:
		return append(dst, mpInt8, byte(i))
	case i >= math.MinInt16:
		return append(dst, mpInt16, byte(i>>8), byte(i))
	case i >= math.MinInt32:
		return append(dst, mpInt32, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
	}
	return appendBE64(append(dst, mpInt64), uint64(i))
}

func appendUint(dst []byte, u uint64) ([]byte, error) {
	if u > math.MaxInt64 {
		return dst, fmt.Errorf("%w: integer %d overflows int64", ErrInvalid, u)
	}
	return appendInt(dst, int64(u)), nil
}

func appendFloat(dst []byte, f float64) []byte {
	return appendBE64(append(dst, mpFloat64), math.Float64bits(f))
}

func appendBE64(dst []byte, u uint64) []byte {
	return append(dst, byte(u>>56), byte(u>>48), byte(u>>40), byte(u>>32),
		byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}

// appendStr appends s as a msgpack str whose payload is the particle type
// then s.
func appendStr(dst []byte, particle byte, s string) []byte {
	n := len(s) + 1
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, mpStr8, byte(n))
	case n <= math.MaxUint16:
		dst = append(dst, mpStr16, byte(n>>8), byte(n))
	default:
		dst = append(dst, mpStr32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(append(dst, particle), s...)
}

// appendBin appends b as a msgpack bin whose payload is the particle type
// then b.
func appendBin[B []byte | BytesKey | HLL](dst []byte, particle byte, b B) []byte {
	n := len(b) + 1
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, mpBin8, byte(n))
	case n <= math.MaxUint16:
		dst = append(dst, mpBin16, byte(n>>8), byte(n))
	default:
		dst = append(dst, mpBin32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(append(dst, particle), b...)
}

func appendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n <= math.MaxUint16:
		return append(dst, mpArray16, byte(n>>8), byte(n))
	}
	return append(dst, mpArray32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendMapHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x80|byte(n))
	case n <= math.MaxUint16:
		return append(dst, mpMap16, byte(n>>8), byte(n))
	}
	return append(dst, mpMap32, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
