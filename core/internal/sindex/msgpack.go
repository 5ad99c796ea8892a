package sindex

import "encoding/binary"

// A small msgpack reader for the subset Aerospike clients produce in list
// and map bins: it reads one element header at a time, allocates nothing,
// and never reads past its buffer (a malformed value makes it fail).
//
// Element forms, as the official Go client packs them (packer.go):
//
//	nil c0, false c2, true c3, float32 ca, float64 cb
//	integers: fixint 00-7f / e0-ff, uint8-64 cc-cf, int8-64 d0-d3
//	  (uint64 values over MaxInt64 are read as their int64 bits, as the
//	  client's own unpacker does)
//	strings and blobs: str (a0-bf, d9, da, db) or bin (c4, c5, c6) whose
//	  first payload byte is the particle type: 3 string, 4 blob,
//	  23 GeoJSON (JSON text follows, no cell header), 18 HLL, ...
//	arrays 90-9f, dc, dd; maps 80-8f, de, df
//	ext (d4-d8, c7-c9): the header ordered lists and maps start with
//	  (e.g. c7 00 01 for a key-ordered map: a key with a nil value), and
//	  the client's infinity and wildcard values: never indexed

// mpKind is the kind of a msgpack element.
type mpKind uint8

const (
	mpBad   mpKind = iota // malformed or truncated
	mpNil                 // nil
	mpBool                // true, false
	mpInt                 // any integer width
	mpFloat               // float32, float64
	mpBytes               // str or bin: payload with its particle-type byte
	mpArray               // n elements follow
	mpMap                 // n key/value pairs follow
	mpExt                 // an extension, already skipped whole
)

type mpReader struct {
	b   []byte
	off int
}

// remaining is the number of unread bytes.
func (r *mpReader) remaining() int { return len(r.b) - r.off }

// take returns the next n bytes, or false if there are fewer.
func (r *mpReader) take(n int) ([]byte, bool) {
	if n < 0 || n > r.remaining() {
		r.off = len(r.b)
		return nil, false
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, true
}

// next reads one element's header: an integer's value, a str/bin's
// payload, an array's or map's element count (the elements follow and must
// be read or skipped). Counts larger than the bytes left are mpBad: every
// element takes at least one byte.
func (r *mpReader) next() (k mpKind, i int64, s []byte, n int) {
	if r.off >= len(r.b) {
		return mpBad, 0, nil, 0
	}
	c := r.b[r.off]
	r.off++
	switch {
	case c <= 0x7f:
		return mpInt, int64(c), nil, 0
	case c >= 0xe0:
		return mpInt, int64(int8(c)), nil, 0
	case c&0xe0 == 0xa0:
		return r.bytes(int(c & 0x1f))
	case c&0xf0 == 0x90:
		return r.count(mpArray, int(c&0x0f), 1)
	case c&0xf0 == 0x80:
		return r.count(mpMap, int(c&0x0f), 2)
	}
	switch c {
	case 0xc0:
		return mpNil, 0, nil, 0
	case 0xc2, 0xc3:
		return mpBool, 0, nil, 0
	case 0xca:
		return r.fixed(mpFloat, 4)
	case 0xcb:
		return r.fixed(mpFloat, 8)
	case 0xcc:
		if b, ok := r.take(1); ok {
			return mpInt, int64(b[0]), nil, 0
		}
	case 0xcd:
		if b, ok := r.take(2); ok {
			return mpInt, int64(binary.BigEndian.Uint16(b)), nil, 0
		}
	case 0xce:
		if b, ok := r.take(4); ok {
			return mpInt, int64(binary.BigEndian.Uint32(b)), nil, 0
		}
	case 0xcf, 0xd3:
		if b, ok := r.take(8); ok {
			return mpInt, int64(binary.BigEndian.Uint64(b)), nil, 0
		}
	case 0xd0:
		if b, ok := r.take(1); ok {
			return mpInt, int64(int8(b[0])), nil, 0
		}
	case 0xd1:
		if b, ok := r.take(2); ok {
			return mpInt, int64(int16(binary.BigEndian.Uint16(b))), nil, 0
		}
	case 0xd2:
		if b, ok := r.take(4); ok {
			return mpInt, int64(int32(binary.BigEndian.Uint32(b))), nil, 0
		}
	case 0xc4, 0xd9:
		if b, ok := r.take(1); ok {
			return r.bytes(int(b[0]))
		}
	case 0xc5, 0xda:
		if b, ok := r.take(2); ok {
			return r.bytes(int(binary.BigEndian.Uint16(b)))
		}
	case 0xc6, 0xdb:
		if b, ok := r.take(4); ok {
			return r.bytes(int(binary.BigEndian.Uint32(b)))
		}
	case 0xdc:
		if b, ok := r.take(2); ok {
			return r.count(mpArray, int(binary.BigEndian.Uint16(b)), 1)
		}
	case 0xdd:
		if b, ok := r.take(4); ok {
			return r.count(mpArray, int(binary.BigEndian.Uint32(b)), 1)
		}
	case 0xde:
		if b, ok := r.take(2); ok {
			return r.count(mpMap, int(binary.BigEndian.Uint16(b)), 2)
		}
	case 0xdf:
		if b, ok := r.take(4); ok {
			return r.count(mpMap, int(binary.BigEndian.Uint32(b)), 2)
		}
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16: type byte + data
		return r.fixed(mpExt, 1+1<<(c-0xd4))
	case 0xc7:
		if b, ok := r.take(1); ok {
			return r.fixed(mpExt, 1+int(b[0]))
		}
	case 0xc8:
		if b, ok := r.take(2); ok {
			return r.fixed(mpExt, 1+int(binary.BigEndian.Uint16(b)))
		}
	case 0xc9:
		if b, ok := r.take(4); ok {
			return r.fixed(mpExt, 1+int(binary.BigEndian.Uint32(b)))
		}
	}
	return mpBad, 0, nil, 0 // c1 (never used) or truncated
}

func (r *mpReader) bytes(n int) (mpKind, int64, []byte, int) {
	if s, ok := r.take(n); ok {
		return mpBytes, 0, s, 0
	}
	return mpBad, 0, nil, 0
}

func (r *mpReader) fixed(k mpKind, n int) (mpKind, int64, []byte, int) {
	if _, ok := r.take(n); ok {
		return k, 0, nil, 0
	}
	return mpBad, 0, nil, 0
}

func (r *mpReader) count(k mpKind, n, per int) (mpKind, int64, []byte, int) {
	if n > r.remaining()/per {
		r.off = len(r.b)
		return mpBad, 0, nil, 0
	}
	return k, 0, nil, n
}

// skip skips n whole elements, containers included, without recursion.
func (r *mpReader) skip(n int) bool {
	pending := n
	for pending > 0 {
		k, _, _, c := r.next()
		pending--
		switch k {
		case mpBad:
			return false
		case mpArray:
			pending += c
		case mpMap:
			pending += 2 * c
		}
		if pending > r.remaining() {
			return false
		}
	}
	return true
}

// skipContents skips the elements of a container whose header next just
// returned (none for other kinds).
func (r *mpReader) skipContents(k mpKind, n int) bool {
	switch k {
	case mpArray:
		return r.skip(n)
	case mpMap:
		return r.skip(2 * n)
	}
	return k != mpBad
}
