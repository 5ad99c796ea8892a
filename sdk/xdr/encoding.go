package xdr

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors of DecodeChange, returned wrapped with what was wrong and where;
// test with errors.Is.
var (
	// ErrMalformed: the bytes are not a change: truncated, a length that
	// runs past the end, an unknown kind or flag, or bytes after the end.
	ErrMalformed = errors.New("malformed change")
	// ErrVersion: the change is in an encoding this build does not know,
	// such as one a newer peer wrote.
	ErrVersion = errors.New("unknown change encoding version")
)

// EncodingVersion is the encoding AppendChange writes, its first byte.
//
// Version 1 is, in order:
//
//	version     1 byte (1)
//	kind        1 byte (Write, Delete, Truncate)
//	flags       1 byte: bit 0 Partial; the other bits are zero
//	digest      20 bytes
//	generation  4 bytes, little-endian
//	void time   4 bytes, little-endian
//	last update 8 bytes, little-endian
//	namespace, set, origin, key, bins:
//	            each a uvarint length (in the fewest bytes), then that
//	            many bytes
//
// A decoder refuses anything else, trailing bytes included: a change of a
// later layout carries another version byte.
const EncodingVersion = 1

const (
	flagPartial = 1 << 0
	flagsKnown  = flagPartial

	// fixedSize is the size of version 1's fixed fields, version to last
	// update.
	fixedSize = 1 + 1 + 1 + 20 + 4 + 4 + 8
)

// AppendChange appends c's encoding (EncodingVersion) to dst and returns
// the extended slice. It allocates only when dst lacks the room. It does
// not check c: a change of an unknown Kind encodes, and DecodeChange then
// refuses it.
func AppendChange(dst []byte, c *Change) []byte {
	var flags byte
	if c.Partial {
		flags |= flagPartial
	}
	dst = append(dst, EncodingVersion, byte(c.Kind), flags)
	dst = append(dst, c.Digest[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, c.Generation)
	dst = binary.LittleEndian.AppendUint32(dst, c.VoidTime)
	dst = binary.LittleEndian.AppendUint64(dst, c.LastUpdate)
	dst = appendString(dst, c.Namespace)
	dst = appendString(dst, c.Set)
	dst = appendString(dst, c.Origin)
	dst = appendBytes(dst, c.Key)
	dst = appendBytes(dst, c.Bins)
	return dst
}

// EncodedSize is the number of bytes AppendChange appends for c.
func EncodedSize(c *Change) int {
	return fixedSize + lenSize(len(c.Namespace)) + lenSize(len(c.Set)) + lenSize(len(c.Origin)) +
		lenSize(len(c.Key)) + lenSize(len(c.Bins))
}

func lenSize(n int) int {
	size := 1
	for v := uint64(n); v >= 0x80; v >>= 7 {
		size++
	}
	return size + n
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// DecodeChange decodes one change that AppendChange encoded, the whole of
// b. The returned Key and Bins alias b (they are slices of it, nil when
// empty), so they are valid as long as b is not overwritten; the strings
// are copies. Errors wrap ErrMalformed or ErrVersion. It never panics.
func DecodeChange(b []byte) (Change, error) {
	var c Change
	if len(b) == 0 {
		return Change{}, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if b[0] != EncodingVersion {
		return Change{}, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, b[0], EncodingVersion)
	}
	if len(b) < fixedSize {
		return Change{}, fmt.Errorf("%w: %d bytes, shorter than the %d of the fixed fields", ErrMalformed, len(b), fixedSize)
	}
	c.Kind = Kind(b[1])
	if c.Kind < Write || c.Kind > Truncate {
		return Change{}, fmt.Errorf("%w: unknown kind %d", ErrMalformed, b[1])
	}
	flags := b[2]
	if flags&^flagsKnown != 0 {
		return Change{}, fmt.Errorf("%w: unknown flags %#02x", ErrMalformed, flags)
	}
	c.Partial = flags&flagPartial != 0
	copy(c.Digest[:], b[3:23])
	c.Generation = binary.LittleEndian.Uint32(b[23:])
	c.VoidTime = binary.LittleEndian.Uint32(b[27:])
	c.LastUpdate = binary.LittleEndian.Uint64(b[31:])

	d := decoder{b: b, off: fixedSize}
	c.Namespace = string(d.field("namespace"))
	c.Set = string(d.field("set"))
	c.Origin = string(d.field("origin"))
	c.Key = d.field("key")
	c.Bins = d.field("bins")
	if d.err != nil {
		return Change{}, d.err
	}
	if d.off != len(b) {
		return Change{}, fmt.Errorf("%w: %d bytes after the change", ErrMalformed, len(b)-d.off)
	}
	return c, nil
}

// decoder reads length-prefixed fields from b; after the first error it
// keeps that error and returns nil.
type decoder struct {
	b   []byte
	off int
	err error
}

// field returns the next field's bytes, nil when it is empty.
func (d *decoder) field(name string) []byte {
	if d.err != nil {
		return nil
	}
	n, size := binary.Uvarint(d.b[d.off:])
	if size <= 0 {
		d.err = fmt.Errorf("%w: bad or missing length of the %s at byte %d", ErrMalformed, name, d.off)
		return nil
	}
	if size > 1 && d.b[d.off+size-1] == 0 {
		// Refused so that every change has one encoding.
		d.err = fmt.Errorf("%w: overlong length of the %s at byte %d", ErrMalformed, name, d.off)
		return nil
	}
	d.off += size
	if left := len(d.b) - d.off; n > uint64(left) {
		d.err = fmt.Errorf("%w: the %s at byte %d has %d bytes, %d left", ErrMalformed, name, d.off, n, left)
		return nil
	}
	if n == 0 {
		return nil
	}
	p := d.b[d.off : d.off+int(n) : d.off+int(n)]
	d.off += int(n)
	return p
}
