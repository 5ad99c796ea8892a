package proto

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"testing"
)

// msgBytes builds an AS_MSG body the way a client does.
func msgBytes(info1, info2, info3 uint8, gen, ttl uint32, fields []Field, ops []Op) []byte {
	b := []byte{MsgHeaderSize, info1, info2, info3, 0, 0}
	b = binary.BigEndian.AppendUint32(b, gen)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(fields)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(ops)))
	w := Writer{B: b}
	for _, f := range fields {
		w.Field(f.Type, f.Data)
	}
	for _, op := range ops {
		w.Op(op.Type, op.ParticleType, op.Name, op.Value)
	}
	return w.B
}

func TestMsgRoundTrip(t *testing.T) {
	digest := bytes.Repeat([]byte{0xAB}, 20)
	fields := []Field{
		{FieldNamespace, []byte("test")},
		{FieldSet, []byte("users")},
		{FieldDigest, digest},
		{FieldKey, []byte{ParticleString, 'k'}},
	}
	ops := []Op{
		{OpWrite, ParticleInteger, []byte("n"), []byte{0, 0, 0, 0, 0, 0, 0, 7}},
		{OpWrite, ParticleString, []byte("s"), []byte("hello")},
		{OpRead, ParticleNull, nil, nil},
		{OpWrite, ParticleNull, []byte("gone"), nil},
	}
	body := msgBytes(Info1Read, Info2Write|Info2Generation, Info3UpdateOnly, 7, 3600, fields, ops)
	var m Msg
	n, err := m.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(body) {
		t.Fatalf("consumed %d of %d bytes", n, len(body))
	}
	if m.Info1 != Info1Read || m.Info2 != Info2Write|Info2Generation || m.Info3 != Info3UpdateOnly || m.Generation != 7 || m.RecordTTL != 3600 {
		t.Fatalf("header: %+v", m)
	}
	if len(m.Fields) != len(fields) || len(m.Ops) != len(ops) {
		t.Fatalf("%d fields %d ops", len(m.Fields), len(m.Ops))
	}
	for i, f := range fields {
		if m.Fields[i].Type != f.Type || !bytes.Equal(m.Fields[i].Data, f.Data) {
			t.Errorf("field %d: %+v", i, m.Fields[i])
		}
	}
	for i, op := range ops {
		got := m.Ops[i]
		if got.Type != op.Type || got.ParticleType != op.ParticleType || !bytes.Equal(got.Name, op.Name) || !bytes.Equal(got.Value, op.Value) {
			t.Errorf("op %d: %+v", i, got)
		}
	}
	if d, ok := m.Field(FieldDigest); !ok || !bytes.Equal(d, digest) {
		t.Error("Field(FieldDigest) lookup failed")
	}
	if _, ok := m.Field(FieldFilterExp); ok {
		t.Error("Field found an absent field")
	}
}

func TestMsgDecodeErrors(t *testing.T) {
	good := msgBytes(Info1Read, 0, 0, 0, 0, []Field{{FieldNamespace, []byte("test")}}, []Op{{OpRead, 0, []byte("a"), nil}})
	hostileCount := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(hostileCount[18:], 0xFFFF)
	badFieldSize := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(badFieldSize[MsgHeaderSize:], 0xFFFFFFFF)
	zeroFieldSize := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(zeroFieldSize[MsgHeaderSize:], 0)
	badOpName := append([]byte(nil), good...)
	badOpName[len(badOpName)-2] = 200 // name length beyond the op
	badHeaderSize := append([]byte(nil), good...)
	badHeaderSize[0] = 30

	for name, b := range map[string][]byte{
		"empty":           nil,
		"short header":    good[:10],
		"header size":     badHeaderSize,
		"field count":     hostileCount,
		"field size":      badFieldSize,
		"zero field size": zeroFieldSize,
		"op name length":  badOpName,
		"truncated op":    good[:len(good)-1],
	} {
		t.Run(name, func(t *testing.T) {
			var m Msg
			if _, err := m.Decode(b); err == nil {
				t.Fatal("decoded a malformed message")
			}
		})
	}
}

func TestFrameHeader(t *testing.T) {
	var b [8]byte
	PutFrameHeader(b[:], TypeMsg, 12345)
	h, err := ParseFrameHeader(b[:])
	if err != nil || h.Type != TypeMsg || h.Size != 12345 || h.Version != Version {
		t.Fatalf("%+v %v", h, err)
	}
	b[0] = 3
	if _, err := ParseFrameHeader(b[:]); !errors.Is(err, ErrVersion) {
		t.Errorf("version 3: %v", err)
	}
	b[0], b[1] = Version, 9
	if _, err := ParseFrameHeader(b[:]); !errors.Is(err, ErrType) {
		t.Errorf("type 9: %v", err)
	}
	if _, err := ParseFrameHeader(b[:4]); !errors.Is(err, ErrTruncated) {
		t.Errorf("short: %v", err)
	}
}

// batchBytes builds a batch-index field the way the client does, entry
// after entry.
type batchBuilder struct{ b []byte }

func newBatch(n int) *batchBuilder {
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	return &batchBuilder{b: append(b, 1)}
}

func (bb *batchBuilder) key(index uint32, digest byte) {
	bb.b = binary.BigEndian.AppendUint32(bb.b, index)
	bb.b = append(bb.b, bytes.Repeat([]byte{digest}, 20)...)
}

func (bb *batchBuilder) full(flags, info1, info2, info3 uint8, gen uint16, ttl uint32, fields []Field, ops []Op) {
	bb.b = append(bb.b, flags, info1)
	if flags&BatchInfo != 0 {
		bb.b = append(bb.b, info2, info3)
	}
	if flags&BatchGen != 0 {
		bb.b = binary.BigEndian.AppendUint16(bb.b, gen)
	}
	if flags&BatchTTL != 0 {
		bb.b = binary.BigEndian.AppendUint32(bb.b, ttl)
	}
	bb.b = binary.BigEndian.AppendUint16(bb.b, uint16(len(fields)))
	bb.b = binary.BigEndian.AppendUint16(bb.b, uint16(len(ops)))
	w := Writer{B: bb.b}
	for _, f := range fields {
		w.Field(f.Type, f.Data)
	}
	for _, op := range ops {
		w.Op(op.Type, op.ParticleType, op.Name, op.Value)
	}
	bb.b = w.B
}

func TestBatchReader(t *testing.T) {
	ns := []Field{{FieldNamespace, []byte("test")}, {FieldSet, []byte("s")}}
	bb := newBatch(4)
	bb.key(0, 1)
	bb.full(0, Info1Read|Info1GetAll, 0, 0, 0, 0, ns, nil) // old-style read
	bb.key(1, 2)
	bb.b = append(bb.b, BatchRepeat)
	bb.key(7, 3)
	bb.full(BatchInfo|BatchGen|BatchTTL, 0, Info2Write, Info3UpdateOnly, 9, 60, ns, []Op{{OpWrite, ParticleString, []byte("a"), []byte("v")}})
	bb.key(8, 4)
	bb.b = append(bb.b, BatchRepeat)

	var r BatchReader
	if err := r.Reset(bb.b); err != nil {
		t.Fatal(err)
	}
	if r.Count() != 4 || r.Flags != 1 {
		t.Fatalf("count %d flags %d", r.Count(), r.Flags)
	}
	type want struct {
		index         uint32
		digest        byte
		repeat        bool
		info1, info2  uint8
		gen, ttl      uint32
		nFields, nOps int
	}
	for i, w := range []want{
		{0, 1, false, Info1Read | Info1GetAll, 0, 0, 0, 2, 0},
		{1, 2, true, Info1Read | Info1GetAll, 0, 0, 0, 2, 0},
		{7, 3, false, 0, Info2Write, 9, 60, 2, 1},
		{8, 4, true, 0, Info2Write, 9, 60, 2, 1},
	} {
		e, err := r.Next()
		if err != nil || e == nil {
			t.Fatalf("entry %d: %v %v", i, e, err)
		}
		if e.Index != w.index || e.Digest[0] != w.digest || e.Repeat != w.repeat || e.Info1 != w.info1 || e.Info2 != w.info2 ||
			e.Generation != w.gen || e.TTL != w.ttl || len(e.Fields) != w.nFields || len(e.Ops) != w.nOps {
			t.Errorf("entry %d: %+v", i, e)
		}
		if set, _ := e.Field(FieldSet); string(set) != "s" {
			t.Errorf("entry %d: set %q", i, set)
		}
	}
	if e, err := r.Next(); e != nil || err != nil {
		t.Fatalf("after the last entry: %v %v", e, err)
	}
}

func TestBatchReaderErrors(t *testing.T) {
	bb := newBatch(1)
	bb.key(0, 1)
	bb.b = append(bb.b, BatchRepeat)
	var r BatchReader
	if err := r.Reset(bb.b); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err == nil {
		t.Error("a first entry that repeats was accepted")
	}
	if err := r.Reset(binary.BigEndian.AppendUint32(nil, 1<<30)); err == nil {
		t.Error("a hostile count was accepted")
	}
	bb = newBatch(1)
	bb.key(0, 1)
	bb.full(0, Info1Read, 0, 0, 0, 0, nil, nil)
	if err := r.Reset(bb.b[:len(bb.b)-1]); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err == nil {
		t.Error("a truncated entry was accepted")
	}
}

func TestDecompress(t *testing.T) {
	inner := make([]byte, FrameHeaderSize)
	body := msgBytes(Info1Read, 0, 0, 0, 0, []Field{{FieldNamespace, []byte("test")}}, nil)
	PutFrameHeader(inner, TypeMsg, len(body))
	inner = append(inner, body...)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(inner)
	zw.Close()
	frame := binary.BigEndian.AppendUint64(nil, uint64(len(inner)))
	frame = append(frame, z.Bytes()...)

	out, err := Decompress(nil, frame, 1<<20)
	if err != nil || !bytes.Equal(out, inner) {
		t.Fatalf("%v %x", err, out)
	}
	if _, err := Decompress(nil, frame, 8); !errors.Is(err, ErrTooBig) {
		t.Errorf("over the limit: %v", err)
	}
	bomb := binary.BigEndian.AppendUint64(nil, 1<<40)
	if _, err := Decompress(nil, append(bomb, z.Bytes()...), 1<<20); !errors.Is(err, ErrTooBig) {
		t.Errorf("claimed size: %v", err)
	}
	lying := binary.BigEndian.AppendUint64(nil, uint64(len(inner)+10))
	if _, err := Decompress(nil, append(lying, z.Bytes()...), 1<<20); err == nil {
		t.Error("a short stream was accepted")
	}
	if _, err := Decompress(nil, append(binary.BigEndian.AppendUint64(nil, 100), 1, 2, 3), 1<<20); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage: %v", err)
	}
}

func TestInfo(t *testing.T) {
	var names []string
	InfoNames([]byte("node\n\nbuild\nnamespace/test"), func(n []byte) { names = append(names, string(n)) })
	if len(names) != 3 || names[0] != "node" || names[2] != "namespace/test" {
		t.Fatalf("%q", names)
	}
	b := AppendInfo(nil, "node", "ABC")
	b = AppendInfo(b, "build", "7.2.0.0")
	m := ParseInfoReply(b)
	if m["node"] != "ABC" || m["build"] != "7.2.0.0" || len(m) != 2 {
		t.Fatalf("%v", m)
	}
}

func TestResultCodeNames(t *testing.T) {
	if KeyNotFound.String() != "KEY_NOT_FOUND_ERROR" || ResultCode(99).String() != "RESULT_CODE_99" {
		t.Fatal(KeyNotFound.String(), ResultCode(99).String())
	}
}

func TestWriterAllocs(t *testing.T) {
	var w Writer
	name, value := []byte("bin"), make([]byte, 100)
	fill := func() {
		w.Reset()
		w.BeginFrame()
		w.Msg(MsgHeader{ResultCode: OK, Generation: 1, NOps: 2})
		w.Op(OpRead, ParticleBlob, name, value)
		w.Op(OpRead, ParticleBlob, name, value)
		w.EndFrame(TypeMsg)
	}
	fill()
	if n := testing.AllocsPerRun(100, fill); n != 0 {
		t.Fatalf("%v allocations per reply", n)
	}
	var m Msg
	body := msgBytes(Info1Read, 0, 0, 0, 0, []Field{{FieldNamespace, []byte("test")}, {FieldDigest, make([]byte, 20)}}, []Op{{OpRead, 0, []byte("a"), nil}})
	m.Decode(body)
	if n := testing.AllocsPerRun(100, func() { m.Decode(body) }); n != 0 {
		t.Fatalf("%v allocations per decode", n)
	}
}

// The official client declares a batch field as long as if the filter field
// before it did not exist. The decoder accepts that, and only that.
func TestBatchFieldSizeQuirk(t *testing.T) {
	bb := newBatch(1)
	bb.key(0, 1)
	bb.full(0, Info1Read, 0, 0, 0, 0, nil, nil)
	filter := []byte{0x93, 1, 2, 3}
	body := msgBytes(Info1Batch, 0, 0, 0, 0, []Field{{FieldFilterExp, filter}, {FieldBatchIndex, bb.b}}, nil)
	sizeAt := len(body) - len(bb.b) - 5
	binary.BigEndian.PutUint32(body[sizeAt:], uint32(len(bb.b)+1+len(filter)+5))
	var m Msg
	if _, err := m.Decode(body); err != nil {
		t.Fatalf("overstated batch field: %v", err)
	}
	if data, _ := m.Field(FieldBatchIndex); !bytes.Equal(data, bb.b) {
		t.Fatalf("batch field %x", data)
	}
	other := msgBytes(Info1Read, 0, 0, 0, 0, []Field{{FieldNamespace, []byte("test")}}, nil)
	binary.BigEndian.PutUint32(other[MsgHeaderSize:], 50)
	if _, err := m.Decode(other); err == nil {
		t.Fatal("an overstated namespace field was accepted")
	}
}
