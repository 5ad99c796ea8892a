// Package bins is the record's bin list: how bins are encoded in the bytes a
// storage backend keeps, and how particle values are checked, read and
// combined (add, append, prepend).
//
// Encoding of a record's bins:
//
//	count   uint16 big-endian
//	count × { name length uint8 | name | particle type uint8 | value length uint32 BE | value }
//
// Values are kept in their wire form (integers and doubles as 8 big-endian
// bytes, lists and maps as msgpack), so a read copies them to the reply
// without converting.
package bins

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt reports stored bins that do not decode: a broken invariant,
// since only this package writes them.
var ErrCorrupt = errors.New("bins: corrupt record bins")

// Bin is one bin. Name and Value alias the buffer the bin was decoded from,
// or the Arena a new value was made in.
type Bin struct {
	Name  []byte
	Type  uint8
	Value []byte
}

// Decode appends the bins encoded in data to dst.
func Decode(dst []Bin, data []byte) ([]Bin, error) {
	if len(data) == 0 {
		return dst, nil
	}
	if len(data) < 2 {
		return dst, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(data))
	}
	n := int(binary.BigEndian.Uint16(data))
	off := 2
	for i := 0; i < n; i++ {
		if len(data)-off < 1 {
			return dst, fmt.Errorf("%w: bin %d", ErrCorrupt, i)
		}
		nameLen := int(data[off])
		off++
		if len(data)-off < nameLen+5 {
			return dst, fmt.Errorf("%w: bin %d", ErrCorrupt, i)
		}
		name := data[off : off+nameLen]
		off += nameLen
		typ := data[off]
		vlen := int(binary.BigEndian.Uint32(data[off+1:]))
		off += 5
		if len(data)-off < vlen {
			return dst, fmt.Errorf("%w: bin %d value", ErrCorrupt, i)
		}
		dst = append(dst, Bin{Name: name, Type: typ, Value: data[off : off+vlen]})
		off += vlen
	}
	return dst, nil
}

// EncodedSize is the length of the encoding of bins.
func EncodedSize(bins []Bin) int {
	if len(bins) == 0 {
		return 0
	}
	n := 2
	for i := range bins {
		n += 1 + len(bins[i].Name) + 5 + len(bins[i].Value)
	}
	return n
}

// Encode appends the encoding of bins to dst. No bins encode as nothing.
func Encode(dst []byte, bins []Bin) []byte {
	if len(bins) == 0 {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(bins)))
	for i := range bins {
		b := &bins[i]
		dst = append(dst, byte(len(b.Name)))
		dst = append(dst, b.Name...)
		dst = append(dst, b.Type)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(b.Value)))
		dst = append(dst, b.Value...)
	}
	return dst
}

// Find returns the index of the bin called name, or -1.
func Find(bins []Bin, name []byte) int {
	for i := range bins {
		if bytes.Equal(bins[i].Name, name) {
			return i
		}
	}
	return -1
}

// Set replaces the value of the bin called name, or appends the bin.
func Set(bins []Bin, name []byte, typ uint8, value []byte) []Bin {
	if i := Find(bins, name); i >= 0 {
		bins[i].Type, bins[i].Value = typ, value
		return bins
	}
	return append(bins, Bin{Name: name, Type: typ, Value: value})
}

// Remove deletes the bin called name, keeping the order of the others.
func Remove(bins []Bin, name []byte) []Bin {
	i := Find(bins, name)
	if i < 0 {
		return bins
	}
	copy(bins[i:], bins[i+1:])
	return bins[:len(bins)-1]
}
