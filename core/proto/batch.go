package proto

import (
	"encoding/binary"
	"fmt"
)

// BatchEntry is one key of a batch-index request with the command to run on
// it. After a Next, its slices alias the request buffer; for a repeated entry
// they are the previous entry's.
type BatchEntry struct {
	// Index is the key's position in the client's batch, echoed in the reply.
	Index  uint32
	Digest [20]byte
	// Repeat reports that the entry reuses the previous entry's namespace,
	// set, attributes and operations.
	Repeat                     bool
	Info1, Info2, Info3, Info4 uint8
	Generation                 uint32
	TTL                        uint32
	Fields                     []Field
	Ops                        []Op
}

// Field returns the data of the entry's first field of type t.
func (e *BatchEntry) Field(t uint8) ([]byte, bool) {
	return findField(e.Fields, t)
}

// BatchReader walks the entries of a batch-index field (FieldBatchIndex, or
// the older FieldBatchIndexSet, which has the same layout for reads).
type BatchReader struct {
	data  []byte
	off   int
	count int
	read  int
	// Flags is the batch's flags byte (allow inline and respond-all-keys).
	Flags uint8
	entry BatchEntry
	// fields and ops keep their storage across entries.
	fields []Field
	ops    []Op
}

// Reset starts reading the batch field data. It returns an error when the
// count does not fit the data.
func (r *BatchReader) Reset(data []byte) error {
	if len(data) < 5 {
		return fmt.Errorf("batch header: %w", ErrTruncated)
	}
	r.data = data
	r.count = int(binary.BigEndian.Uint32(data))
	r.Flags = data[4]
	r.off = 5
	r.read = 0
	// Each entry takes at least an index, a digest and a flags byte.
	if r.count > (len(data)-5)/25 {
		return fmt.Errorf("batch of %d keys in %d bytes: %w", r.count, len(data), ErrTruncated)
	}
	return nil
}

// Count is the number of entries in the batch.
func (r *BatchReader) Count() int { return r.count }

// Next decodes the next entry. It returns nil, nil after the last one.
func (r *BatchReader) Next() (*BatchEntry, error) {
	if r.read == r.count {
		return nil, nil
	}
	b, off := r.data, r.off
	if len(b)-off < 25 {
		return nil, fmt.Errorf("batch entry %d: %w", r.read, ErrTruncated)
	}
	e := &r.entry
	e.Index = binary.BigEndian.Uint32(b[off:])
	copy(e.Digest[:], b[off+4:off+24])
	flags := b[off+24]
	off += 25
	if flags&BatchRepeat != 0 {
		if r.read == 0 {
			return nil, fmt.Errorf("%w: first batch entry repeats", ErrMalformed)
		}
		e.Repeat = true
		r.off = off
		r.read++
		return e, nil
	}
	e.Repeat = false
	need := 1
	if flags&BatchInfo != 0 {
		need = 3
		if flags&BatchInfo4 != 0 {
			need = 4
		}
	}
	if flags&BatchGen != 0 {
		need += 2
	}
	if flags&BatchTTL != 0 {
		need += 4
	}
	if len(b)-off < need+4 {
		return nil, fmt.Errorf("batch entry %d attributes: %w", r.read, ErrTruncated)
	}
	e.Info1, e.Info2, e.Info3, e.Info4 = b[off], 0, 0, 0
	off++
	if flags&BatchInfo != 0 {
		e.Info2, e.Info3 = b[off], b[off+1]
		off += 2
		if flags&BatchInfo4 != 0 {
			e.Info4 = b[off]
			off++
		}
	}
	e.Generation, e.TTL = 0, 0
	if flags&BatchGen != 0 {
		e.Generation = uint32(binary.BigEndian.Uint16(b[off:]))
		off += 2
	}
	if flags&BatchTTL != 0 {
		e.TTL = binary.BigEndian.Uint32(b[off:])
		off += 4
	}
	nFields := int(binary.BigEndian.Uint16(b[off:]))
	nOps := int(binary.BigEndian.Uint16(b[off+2:]))
	off += 4
	var err error
	if r.fields, off, err = decodeFields(b, off, nFields, r.fields[:0], false); err != nil {
		return nil, fmt.Errorf("batch entry %d: %w", r.read, err)
	}
	if r.ops, off, err = decodeOps(b, off, nOps, r.ops[:0]); err != nil {
		return nil, fmt.Errorf("batch entry %d: %w", r.read, err)
	}
	e.Fields, e.Ops = r.fields, r.ops
	r.off = off
	r.read++
	return e, nil
}
