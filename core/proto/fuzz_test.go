package proto

import (
	"encoding/binary"
	"testing"
)

// FuzzDecode feeds arbitrary frames through the decoders a connection uses:
// frame header, message, batch entries and compressed frames. They must
// return errors, never panic or allocate beyond what the input holds.
func FuzzDecode(f *testing.F) {
	ns := []Field{{FieldNamespace, []byte("test")}, {FieldDigest, make([]byte, 20)}}
	seed := func(typ uint8, body []byte) {
		frame := make([]byte, FrameHeaderSize, FrameHeaderSize+len(body))
		PutFrameHeader(frame, typ, len(body))
		f.Add(append(frame, body...))
	}
	seed(TypeMsg, msgBytes(Info1Read|Info1GetAll, 0, 0, 0, 0, ns, nil))
	seed(TypeMsg, msgBytes(0, Info2Write, 0, 3, 60, ns, []Op{{OpWrite, ParticleInteger, []byte("n"), make([]byte, 8)}}))
	bb := newBatch(2)
	bb.key(0, 1)
	bb.full(BatchInfo|BatchGen|BatchTTL, Info1Read, 0, 0, 1, 2, ns[:1], []Op{{OpRead, 0, []byte("a"), nil}})
	bb.key(1, 2)
	bb.b = append(bb.b, BatchRepeat)
	seed(TypeMsg, msgBytes(Info1Batch, 0, 0, 0, 0, []Field{{FieldBatchIndex, bb.b}}, nil))
	seed(TypeInfo, []byte("node\nbuild\n"))
	seed(TypeMsgCompressed, binary.BigEndian.AppendUint64(nil, 40))
	f.Add([]byte{2, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})

	f.Fuzz(func(t *testing.T, frame []byte) {
		h, err := ParseFrameHeader(frame)
		if err != nil {
			return
		}
		body := frame[FrameHeaderSize:]
		if uint64(len(body)) < h.Size {
			return
		}
		body = body[:h.Size]
		switch h.Type {
		case TypeInfo:
			InfoNames(body, func([]byte) {})
		case TypeMsgCompressed:
			Decompress(nil, body, 1<<16)
		case TypeMsg:
			var m Msg
			if _, err := m.Decode(body); err != nil {
				return
			}
			for _, ft := range []uint8{FieldBatchIndex, FieldBatchIndexSet} {
				data, ok := m.Field(ft)
				if !ok {
					continue
				}
				var r BatchReader
				if r.Reset(data) != nil {
					continue
				}
				for {
					e, err := r.Next()
					if e == nil || err != nil {
						break
					}
				}
			}
		}
	})
}
