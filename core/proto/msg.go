package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Decoding errors. A decoder wraps them with the offset or item at fault.
var (
	ErrVersion   = errors.New("proto: unsupported protocol version")
	ErrType      = errors.New("proto: unknown frame type")
	ErrTooBig    = errors.New("proto: frame too big")
	ErrTruncated = errors.New("proto: truncated message")
	ErrMalformed = errors.New("proto: malformed message")
)

// FrameHeader is the 8-byte header in front of every request and reply.
type FrameHeader struct {
	Version uint8
	Type    uint8
	Size    uint64 // length of the body that follows
}

// ParseFrameHeader decodes a frame header and checks its version and type.
// The caller checks Size against its own limit before reading the body.
func ParseFrameHeader(b []byte) (FrameHeader, error) {
	if len(b) < FrameHeaderSize {
		return FrameHeader{}, ErrTruncated
	}
	v := binary.BigEndian.Uint64(b)
	h := FrameHeader{Version: b[0], Type: b[1], Size: v & MaxFrameSize}
	if h.Version != Version {
		return h, fmt.Errorf("%w %d", ErrVersion, h.Version)
	}
	switch h.Type {
	case TypeInfo, TypeAdmin, TypeMsg, TypeMsgCompressed:
		return h, nil
	}
	return h, fmt.Errorf("%w %d", ErrType, h.Type)
}

// PutFrameHeader writes a frame header for a body of size bytes into b[:8].
func PutFrameHeader(b []byte, typ uint8, size int) {
	binary.BigEndian.PutUint64(b, uint64(Version)<<56|uint64(typ)<<48|uint64(size))
}

// Field is a message field: a type and the bytes that follow it.
type Field struct {
	Type uint8
	Data []byte
}

// Op is a message operation. Name and Value alias the decoded buffer.
type Op struct {
	Type         uint8
	ParticleType uint8
	Name         []byte
	Value        []byte
}

// Msg is a decoded AS_MSG. Its slices alias the buffer it was decoded from
// and are reused by the next Decode, so one Msg per connection decodes
// every request without allocating.
type Msg struct {
	Info1, Info2, Info3, Info4 uint8
	ResultCode                 uint8
	Generation                 uint32
	RecordTTL                  uint32
	Timeout                    uint32
	Fields                     []Field
	Ops                        []Op
}

// Decode decodes the message at the start of b (the body of a TypeMsg frame)
// and returns the number of bytes it took.
func (m *Msg) Decode(b []byte) (int, error) {
	if len(b) < MsgHeaderSize {
		return 0, fmt.Errorf("message header: %w", ErrTruncated)
	}
	if b[0] != MsgHeaderSize {
		return 0, fmt.Errorf("%w: header size %d", ErrMalformed, b[0])
	}
	m.Info1, m.Info2, m.Info3, m.Info4 = b[1], b[2], b[3], b[4]
	m.ResultCode = b[5]
	m.Generation = binary.BigEndian.Uint32(b[6:])
	m.RecordTTL = binary.BigEndian.Uint32(b[10:])
	m.Timeout = binary.BigEndian.Uint32(b[14:])
	nFields := int(binary.BigEndian.Uint16(b[18:]))
	nOps := int(binary.BigEndian.Uint16(b[20:]))
	off := MsgHeaderSize
	var err error
	if m.Fields, off, err = decodeFields(b, off, nFields, m.Fields[:0], nOps == 0); err != nil {
		return 0, err
	}
	if m.Ops, off, err = decodeOps(b, off, nOps, m.Ops[:0]); err != nil {
		return 0, err
	}
	return off, nil
}

// Field returns the data of the first field of type t.
func (m *Msg) Field(t uint8) ([]byte, bool) {
	return findField(m.Fields, t)
}

func findField(fields []Field, t uint8) ([]byte, bool) {
	for i := range fields {
		if fields[i].Type == t {
			return fields[i].Data, true
		}
	}
	return nil, false
}

// decodeFields appends n fields read from b at off to dst. A hostile count
// cannot make it allocate more than the message holds: each field takes at
// least fieldHeaderSize bytes.
//
// lastBatch tolerates one known client quirk: a batch whose filter
// expression field precedes the batch-index field declares the batch field
// as long as if it came first, overstating it by the filter's length. When
// the batch field is the message's last item, it is cut to the message's
// end; the batch reader still checks each entry against the bytes there.
func decodeFields(b []byte, off, n int, dst []Field, lastBatch bool) ([]Field, int, error) {
	if n*fieldHeaderSize > len(b)-off {
		return dst, off, fmt.Errorf("%d fields in %d bytes: %w", n, len(b)-off, ErrTruncated)
	}
	for i := 0; i < n; i++ {
		if len(b)-off < fieldHeaderSize {
			return dst, off, fmt.Errorf("field %d header: %w", i, ErrTruncated)
		}
		size := int(binary.BigEndian.Uint32(b[off:]))
		if size > len(b)-off-4 && lastBatch && i == n-1 && isBatchField(b[off+4]) {
			size = len(b) - off - 4
		}
		if size < 1 || size > len(b)-off-4 {
			return dst, off, fmt.Errorf("field %d size %d: %w", i, size, ErrTruncated)
		}
		dst = append(dst, Field{Type: b[off+4], Data: b[off+5 : off+4+size]})
		off += 4 + size
	}
	return dst, off, nil
}

func isBatchField(t uint8) bool { return t == FieldBatchIndex || t == FieldBatchIndexSet }

// decodeOps appends n operations read from b at off to dst.
func decodeOps(b []byte, off, n int, dst []Op) ([]Op, int, error) {
	if n*opHeaderSize > len(b)-off {
		return dst, off, fmt.Errorf("%d operations in %d bytes: %w", n, len(b)-off, ErrTruncated)
	}
	for i := 0; i < n; i++ {
		if len(b)-off < opHeaderSize {
			return dst, off, fmt.Errorf("operation %d header: %w", i, ErrTruncated)
		}
		size := int(binary.BigEndian.Uint32(b[off:]))
		nameLen := int(b[off+7])
		if size < 4+nameLen || size > len(b)-off-4 {
			return dst, off, fmt.Errorf("operation %d size %d: %w", i, size, ErrTruncated)
		}
		nameEnd := off + opHeaderSize + nameLen
		dst = append(dst, Op{
			Type:         b[off+4],
			ParticleType: b[off+5],
			Name:         b[off+opHeaderSize : nameEnd],
			Value:        b[nameEnd : off+4+size],
		})
		off += 4 + size
	}
	return dst, off, nil
}
