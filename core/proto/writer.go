package proto

import "encoding/binary"

// Writer builds replies by appending to B. One Writer per connection is
// reused for every reply, so encoding does not allocate once B has grown.
type Writer struct {
	B     []byte
	frame int // offset of the open frame's header, or -1
}

// Reset empties the writer, keeping its storage.
func (w *Writer) Reset() {
	w.B = w.B[:0]
	w.frame = -1
}

// BeginFrame opens a frame; EndFrame writes its header once the body is
// complete.
func (w *Writer) BeginFrame() {
	w.frame = len(w.B)
	w.B = append(w.B, 0, 0, 0, 0, 0, 0, 0, 0)
}

// EndFrame closes the open frame as type typ.
func (w *Writer) EndFrame(typ uint8) {
	PutFrameHeader(w.B[w.frame:], typ, len(w.B)-w.frame-FrameHeaderSize)
	w.frame = -1
}

// FrameLen is the length of the open frame's body so far.
func (w *Writer) FrameLen() int {
	return len(w.B) - w.frame - FrameHeaderSize
}

// MsgHeader describes a reply message.
type MsgHeader struct {
	Info3      uint8
	ResultCode ResultCode
	Generation uint32
	// VoidTime is the record's expiry in seconds since the Aerospike epoch,
	// 0 for never.
	VoidTime uint32
	// BatchIndex is the key's position in a batch reply (the header's
	// transaction TTL field); 0 otherwise.
	BatchIndex uint32
	NFields    uint16
	NOps       uint16
}

// Msg appends a reply message header.
func (w *Writer) Msg(h MsgHeader) {
	w.B = append(w.B, MsgHeaderSize, 0, 0, h.Info3, 0, byte(h.ResultCode))
	w.B = binary.BigEndian.AppendUint32(w.B, h.Generation)
	w.B = binary.BigEndian.AppendUint32(w.B, h.VoidTime)
	w.B = binary.BigEndian.AppendUint32(w.B, h.BatchIndex)
	w.B = binary.BigEndian.AppendUint16(w.B, h.NFields)
	w.B = binary.BigEndian.AppendUint16(w.B, h.NOps)
}

// Field appends a field.
func (w *Writer) Field(typ uint8, data []byte) {
	w.B = binary.BigEndian.AppendUint32(w.B, uint32(len(data)+1))
	w.B = append(w.B, typ)
	w.B = append(w.B, data...)
}

// FieldString appends a field whose data is a string.
func (w *Writer) FieldString(typ uint8, data string) {
	w.B = binary.BigEndian.AppendUint32(w.B, uint32(len(data)+1))
	w.B = append(w.B, typ)
	w.B = append(w.B, data...)
}

// Op appends an operation (a bin in a reply).
func (w *Writer) Op(op, particleType uint8, name, value []byte) {
	w.B = binary.BigEndian.AppendUint32(w.B, uint32(4+len(name)+len(value)))
	w.B = append(w.B, op, particleType, 0, byte(len(name)))
	w.B = append(w.B, name...)
	w.B = append(w.B, value...)
}

// Result appends a whole single-message reply frame carrying only a result
// code and the record's metadata.
func (w *Writer) Result(code ResultCode, generation, voidTime uint32) {
	w.BeginFrame()
	w.Msg(MsgHeader{ResultCode: code, Generation: generation, VoidTime: voidTime})
	w.EndFrame(TypeMsg)
}
