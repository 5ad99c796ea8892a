package bins

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/skiffdb/skiff/core/proto"
)

func i64(v int64) []byte   { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
func f64(v float64) []byte { return binary.BigEndian.AppendUint64(nil, math.Float64bits(v)) }

func TestEncodeDecode(t *testing.T) {
	in := []Bin{
		{Name: []byte("n"), Type: proto.ParticleInteger, Value: i64(-5)},
		{Name: []byte("fifteen-chars-x"), Type: proto.ParticleString, Value: []byte("hello")},
		{Name: []byte("empty"), Type: proto.ParticleBlob, Value: nil},
	}
	enc := Encode(nil, in)
	if len(enc) != EncodedSize(in) {
		t.Fatalf("encoded %d bytes, EncodedSize says %d", len(enc), EncodedSize(in))
	}
	out, err := Decode(nil, enc)
	if err != nil || len(out) != len(in) {
		t.Fatalf("%v %d", err, len(out))
	}
	for i := range in {
		if !bytes.Equal(out[i].Name, in[i].Name) || out[i].Type != in[i].Type || !bytes.Equal(out[i].Value, in[i].Value) {
			t.Errorf("bin %d: %+v", i, out[i])
		}
	}
	if enc := Encode(nil, nil); len(enc) != 0 {
		t.Fatalf("no bins encode as %x", enc)
	}
	for i := 1; i < len(enc); i++ {
		if _, err := Decode(nil, enc[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: %v", i, err)
		}
	}
}

func TestSetRemoveFind(t *testing.T) {
	var bs []Bin
	bs = Set(bs, []byte("a"), proto.ParticleInteger, i64(1))
	bs = Set(bs, []byte("b"), proto.ParticleInteger, i64(2))
	bs = Set(bs, []byte("a"), proto.ParticleString, []byte("x"))
	if len(bs) != 2 || bs[0].Type != proto.ParticleString {
		t.Fatalf("%+v", bs)
	}
	bs = Remove(bs, []byte("a"))
	bs = Remove(bs, []byte("zz"))
	if len(bs) != 1 || Find(bs, []byte("b")) != 0 || Find(bs, []byte("a")) != -1 {
		t.Fatalf("%+v", bs)
	}
}

func TestAddConcat(t *testing.T) {
	var a Arena
	typ, v, err := Add(&a, proto.ParticleInteger, i64(math.MaxInt64), proto.ParticleInteger, i64(1))
	if err != nil || typ != proto.ParticleInteger || int64(binary.BigEndian.Uint64(v)) != math.MinInt64 {
		t.Fatalf("integer add wraps: %v %x", err, v)
	}
	_, v, _ = Add(&a, proto.ParticleFloat, f64(1.5), proto.ParticleFloat, f64(2.25))
	if math.Float64frombits(binary.BigEndian.Uint64(v)) != 3.75 {
		t.Fatalf("float add: %x", v)
	}
	if _, v, _ = Add(&a, proto.ParticleNull, nil, proto.ParticleInteger, i64(7)); int64(binary.BigEndian.Uint64(v)) != 7 {
		t.Fatal("add to a missing bin")
	}
	for _, tc := range []struct {
		cur, op uint8
		want    error
	}{
		{proto.ParticleInteger, proto.ParticleFloat, ErrTypeMismatch},
		{proto.ParticleString, proto.ParticleInteger, ErrTypeMismatch},
		{proto.ParticleString, proto.ParticleString, ErrTypeMismatch},
	} {
		if _, _, err := Add(&a, tc.cur, i64(0), tc.op, i64(1)); !errors.Is(err, tc.want) {
			t.Errorf("add %d to %d: %v", tc.op, tc.cur, err)
		}
	}
	_, v, _ = Concat(&a, proto.ParticleString, []byte("mid"), proto.ParticleString, []byte("<"), true)
	_, v, _ = Concat(&a, proto.ParticleString, v, proto.ParticleString, []byte(">"), false)
	if string(v) != "<mid>" {
		t.Fatalf("concat: %q", v)
	}
	if _, _, err := Concat(&a, proto.ParticleBlob, nil, proto.ParticleString, []byte("x"), false); !errors.Is(err, ErrTypeMismatch) {
		t.Fatalf("string onto blob: %v", err)
	}
}

func TestArenaKeepsEarlierValues(t *testing.T) {
	var a Arena
	first := a.Alloc(10)
	copy(first, "0123456789")
	for range 100 {
		a.Alloc(4 << 10)
	}
	if string(first) != "0123456789" {
		t.Fatal("an earlier allocation changed when the arena grew")
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		typ uint8
		val []byte
		ok  bool
	}{
		{proto.ParticleInteger, i64(1), true},
		{proto.ParticleInteger, []byte{1}, false},
		{proto.ParticleFloat, f64(1), true},
		{proto.ParticleBool, []byte{1}, true},
		{proto.ParticleBool, nil, false},
		{proto.ParticleGeoJSON, append([]byte{0, 0, 0}, `{}`...), true},
		{proto.ParticleGeoJSON, []byte{0, 0, 5}, false},
		{proto.ParticleList, []byte{0x90}, true},
		{99, nil, false},
	} {
		if err := Check(tc.typ, tc.val); (err == nil) != tc.ok {
			t.Errorf("Check(%d, %x) = %v", tc.typ, tc.val, err)
		}
	}
}

// FuzzDecode: stored bins are only ever written by Encode, but a decoder of
// bytes from storage must fail cleanly on anything.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(nil, []Bin{{Name: []byte("a"), Type: proto.ParticleInteger, Value: i64(1)}}))
	f.Add([]byte{0xFF, 0xFF, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		bs, err := Decode(nil, data)
		if err != nil {
			return
		}
		if again := Encode(nil, bs); len(bs) > 0 && !bytes.Equal(again, data[:len(again)]) {
			t.Fatalf("re-encoding differs: %x vs %x", again, data)
		}
	})
}
