package udf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// decodeValue decodes b, which must hold exactly one msgpack value.
// Errors wrap ErrInvalid. Strings and bytes are copied: the result does not
// alias b.
func decodeValue(b []byte) (Value, error) {
	d := decoder{b: b}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.off != len(b) {
		return nil, d.errorf("%d bytes after the value", len(b)-d.off)
	}
	return v, nil
}

// decodeArgs decodes b, one msgpack array (or nothing, for no arguments),
// appending its elements to dst.
func decodeArgs(b []byte, dst []Value) ([]Value, error) {
	if len(b) == 0 {
		return dst, nil
	}
	d := decoder{b: b}
	n, ok, err := d.arrayHeader()
	if err != nil {
		return dst, err
	}
	if !ok {
		return dst, d.errorf("arguments are not a msgpack array")
	}
	if dst, err = d.elements(dst, n, 0); err != nil {
		return dst, err
	}
	if d.off != len(b) {
		return dst, d.errorf("%d bytes after the arguments", len(b)-d.off)
	}
	return dst, nil
}

// decoder reads msgpack values from b. Each method checks bounds and
// returns an error rather than panicking on any input.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: malformed msgpack at byte %d: %s", ErrInvalid, d.off, fmt.Sprintf(format, args...))
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b)-d.off {
		return nil, d.errorf("%d bytes wanted, %d left", n, len(d.b)-d.off)
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p, nil
}

func (d *decoder) uint(size int) (uint64, error) {
	p, err := d.take(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

// length reads a size-byte container or payload length.
func (d *decoder) length(size int) (int, error) {
	u, err := d.uint(size)
	return int(u), err
}

// arrayHeader reads an array header if one is next.
func (d *decoder) arrayHeader() (n int, ok bool, err error) {
	if d.off >= len(d.b) {
		return 0, false, d.errorf("unexpected end")
	}
	c := d.b[d.off]
	switch {
	case c >= 0x90 && c <= 0x9f:
		d.off++
		return int(c & 0x0f), true, nil
	case c == mpArray16:
		d.off++
		n, err = d.length(2)
		return n, true, err
	case c == mpArray32:
		d.off++
		n, err = d.length(4)
		return n, true, err
	}
	return 0, false, nil
}

// isExt reports whether the next value is a msgpack ext, which Aerospike
// writes as the first element of an ordered list or the first key of a
// map to carry its flags.
func (d *decoder) isExt() bool {
	if d.off >= len(d.b) {
		return false
	}
	c := d.b[d.off]
	return (c >= mpExt8 && c <= mpExt32) || (c >= mpFixExt1 && c <= mpFixExt16)
}

// skipExt skips an ext value.
func (d *decoder) skipExt() error {
	c := d.b[d.off]
	d.off++
	var n int
	var err error
	switch c {
	case mpExt8:
		n, err = d.length(1)
	case mpExt16:
		n, err = d.length(2)
	case mpExt32:
		n, err = d.length(4)
	default: // fixext 1, 2, 4, 8, 16
		n = 1 << (c - mpFixExt1)
	}
	if err != nil {
		return err
	}
	_, err = d.take(n + 1) // the type byte, then the data
	return err
}

// elements decodes n values, appending them to dst. An ext first element
// (an ordered list's flags) is skipped.
func (d *decoder) elements(dst []Value, n, depth int) ([]Value, error) {
	if n > 0 && d.isExt() {
		if err := d.skipExt(); err != nil {
			return dst, err
		}
		n--
	}
	if n > len(d.b)-d.off {
		return dst, d.errorf("list of %d elements in %d bytes", n, len(d.b)-d.off)
	}
	for range n {
		v, err := d.value(depth + 1)
		if err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
	return dst, nil
}

func (d *decoder) value(depth int) (Value, error) {
	if d.off >= len(d.b) {
		return nil, d.errorf("unexpected end")
	}
	c := d.b[d.off]
	switch {
	case c <= 0x7f:
		d.off++
		return int64(c), nil
	case c >= 0xe0:
		d.off++
		return int64(int8(c)), nil
	case c <= 0x8f:
		d.off++
		return d.mapBody(int(c&0x0f), depth)
	case c <= 0x9f:
		d.off++
		return d.list(int(c&0x0f), depth)
	case c <= 0xbf:
		d.off++
		return d.particle(int(c & 0x1f))
	}
	d.off++
	switch c {
	case mpNil:
		return nil, nil
	case mpFalse:
		return false, nil
	case mpTrue:
		return true, nil
	case mpBin8, mpStr8:
		return d.sizedParticle(1)
	case mpBin16, mpStr16:
		return d.sizedParticle(2)
	case mpBin32, mpStr32:
		return d.sizedParticle(4)
	case mpFloat32:
		u, err := d.uint(4)
		return float64(math.Float32frombits(uint32(u))), err
	case mpFloat64:
		u, err := d.uint(8)
		return math.Float64frombits(u), err
	case mpUint8:
		u, err := d.uint(1)
		return int64(u), err
	case mpUint16:
		u, err := d.uint(2)
		return int64(u), err
	case mpUint32:
		u, err := d.uint(4)
		return int64(u), err
	case mpUint64:
		u, err := d.uint(8)
		return int64(u), err // as the server reads it: two's complement
	case mpInt8:
		u, err := d.uint(1)
		return int64(int8(u)), err
	case mpInt16:
		u, err := d.uint(2)
		return int64(int16(u)), err
	case mpInt32:
		u, err := d.uint(4)
		return int64(int32(u)), err
	case mpInt64:
		u, err := d.uint(8)
		return int64(u), err
	case mpArray16, mpArray32:
		n, err := d.length(2 << (c - mpArray16))
		if err != nil {
			return nil, err
		}
		return d.list(n, depth)
	case mpMap16, mpMap32:
		n, err := d.length(2 << (c - mpMap16))
		if err != nil {
			return nil, err
		}
		return d.mapBody(n, depth)
	}
	d.off--
	return nil, d.errorf("unexpected msgpack type byte %#x", c)
}

func (d *decoder) sizedParticle(size int) (Value, error) {
	n, err := d.length(size)
	if err != nil {
		return nil, err
	}
	return d.particle(n)
}

// particle decodes a str or bin payload of n bytes: the particle type,
// then the string, bytes, HLL or GeoJSON text.
func (d *decoder) particle(n int) (Value, error) {
	p, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return "", nil
	}
	switch p[0] {
	case particleString:
		return string(p[1:]), nil
	case particleBlob:
		return append([]byte{}, p[1:]...), nil
	case particleGeoJSON:
		return GeoJSON(p[1:]), nil
	case particleHLL:
		return HLL(append([]byte{}, p[1:]...)), nil
	}
	d.off -= n
	return nil, d.errorf("unsupported particle type %d in a string or bytes value", p[0])
}

func (d *decoder) list(n, depth int) (Value, error) {
	if depth >= maxDepth {
		return nil, d.errorf("lists and maps nested more than %d deep", maxDepth)
	}
	if n > len(d.b)-d.off {
		return nil, d.errorf("list of %d elements in %d bytes", n, len(d.b)-d.off)
	}
	l, err := d.elements(make([]Value, 0, n), n, depth)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// mapBody decodes n key-value pairs. A first entry whose key is an ext
// (an ordered map's flags) is skipped with its value.
func (d *decoder) mapBody(n, depth int) (Value, error) {
	if depth >= maxDepth {
		return nil, d.errorf("lists and maps nested more than %d deep", maxDepth)
	}
	if n > (len(d.b)-d.off)/2 {
		return nil, d.errorf("map of %d entries in %d bytes", n, len(d.b)-d.off)
	}
	if n > 0 && d.isExt() {
		if err := d.skipExt(); err != nil {
			return nil, err
		}
		if _, err := d.value(depth + 1); err != nil {
			return nil, err
		}
		n--
	}
	m := make(map[Value]Value, n)
	for range n {
		at := d.off
		k, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		switch kk := k.(type) {
		case int64, string:
		case []byte:
			k = BytesKey(kk)
		default:
			d.off = at
			return nil, d.errorf("map key of type %T: keys are integers, strings or bytes", k)
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}
