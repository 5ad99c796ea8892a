package bitop

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// wireOp is one operation as a client sends it.
type wireOp struct {
	modify bool
	arg    []byte
}

// pack packs [code, args...] as the client's bitwise encoder does: ints,
// blobs as str elements led by the blob particle type, and bools.
func pack(code int, args ...any) wireOp {
	b := msgpack.AppendArrayHeader(nil, len(args)+1)
	b = msgpack.AppendInt(b, int64(code))
	for _, a := range args {
		switch v := a.(type) {
		case int:
			b = msgpack.AppendInt(b, int64(v))
		case int64:
			b = msgpack.AppendInt(b, v)
		case []byte:
			b = msgpack.AppendTyped(b, proto.ParticleBlob, v)
		case bool:
			if v {
				b = append(b, 0xc3)
			} else {
				b = append(b, 0xc2)
			}
		default:
			panic("pack: unexpected argument type")
		}
	}
	return wireOp{modify: code < readBase, arg: b}
}

// Constructors with the argument lists of the client's Bit*Op functions,
// packed as it packs them.

func resizeOp(flags, size, resizeFlags int) wireOp { return pack(0, size, flags, resizeFlags) }
func insertOp(flags, off int, v []byte) wireOp     { return pack(1, off, v, flags) }
func removeOp(flags, off, size int) wireOp         { return pack(2, off, size, flags) }
func setOp(flags, off, size int, v []byte) wireOp  { return pack(3, off, size, v, flags) }
func orOp(flags, off, size int, v []byte) wireOp   { return pack(4, off, size, v, flags) }
func xorOp(flags, off, size int, v []byte) wireOp  { return pack(5, off, size, v, flags) }
func andOp(flags, off, size int, v []byte) wireOp  { return pack(6, off, size, v, flags) }
func notOp(flags, off, size int) wireOp            { return pack(7, off, size, flags) }
func lshiftOp(flags, off, size, n int) wireOp      { return pack(8, off, size, n, flags) }
func rshiftOp(flags, off, size, n int) wireOp      { return pack(9, off, size, n, flags) }
func setIntOp(flags, off, size int, v int64) wireOp {
	return pack(12, off, size, v, flags)
}
func addOp(flags, off, size int, v int64, signed bool, action int) wireOp {
	return pack(10, off, size, v, flags, mathFlags(signed, action))
}
func subOp(flags, off, size int, v int64, signed bool, action int) wireOp {
	return pack(11, off, size, v, flags, mathFlags(signed, action))
}
func getOp(off, size int) wireOp             { return pack(50, off, size) }
func countOp(off, size int) wireOp           { return pack(51, off, size) }
func lscanOp(off, size int, bit bool) wireOp { return pack(52, off, size, bit) }
func rscanOp(off, size int, bit bool) wireOp { return pack(53, off, size, bit) }
func getIntOp(off, size int, signed bool) wireOp {
	if signed {
		return pack(54, off, size, mathSigned)
	}
	return pack(54, off, size)
}

func mathFlags(signed bool, action int) int {
	if signed {
		return action | mathSigned
	}
	return action
}

// Overflow actions, as the client names them.
const (
	actFail     = 0
	actSaturate = mathSaturate
	actWrap     = mathWrap
)

// binState is a bin as a sequence of operations leaves it.
type binState struct {
	typ uint8 // ParticleNull: no bin
	val []byte
}

func blobBin(b []byte) binState { return binState{typ: proto.ParticleBlob, val: b} }

// apply runs op on st, checking that it writes neither the bin nor its
// argument, and returns the bin after it.
func apply(t testing.TB, a *bins.Arena, st binState, op wireOp) (binState, bins.Outcome, error) {
	t.Helper()
	binCopy, argCopy := bytes.Clone(st.val), bytes.Clone(op.arg)
	out, err := Apply(a, op.modify, st.typ, st.val, op.arg)
	if !bytes.Equal(binCopy, st.val) || !bytes.Equal(argCopy, op.arg) {
		t.Fatalf("Apply(% x) wrote its input bin or argument", argCopy)
	}
	if err == nil && out.Changed {
		if !op.modify || out.Type != proto.ParticleBlob {
			t.Fatalf("Apply(% x): changed the bin to type %d on a read", op.arg, out.Type)
		}
		st = blobBin(out.Value)
	}
	return st, out, err
}

// applyAll runs ops in order, failing the test on an error, and returns
// the bin and the results.
func applyAll(t testing.TB, st binState, ops ...wireOp) (binState, []bins.Outcome) {
	t.Helper()
	var a bins.Arena
	var outs []bins.Outcome
	for i, op := range ops {
		var out bins.Outcome
		var err error
		if st, out, err = apply(t, &a, st, op); err != nil {
			t.Fatalf("op %d (% x): %v", i, op.arg, err)
		}
		outs = append(outs, out)
	}
	return st, outs
}

// resultInt returns an integer result.
func resultInt(t testing.TB, o bins.Outcome) int64 {
	t.Helper()
	if !o.HasResult || o.ResType != proto.ParticleInteger || len(o.Res) != 8 {
		t.Fatalf("want an integer result, got %+v", o)
	}
	return int64(binary.BigEndian.Uint64(o.Res))
}

// resultBlob returns a blob result.
func resultBlob(t testing.TB, o bins.Outcome) []byte {
	t.Helper()
	if !o.HasResult || o.ResType != proto.ParticleBlob {
		t.Fatalf("want a blob result, got %+v", o)
	}
	return o.Res
}

// filled returns n bytes of b.
func filled(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// Code returns the result code of an error Apply returned.
func Code(err error) proto.ResultCode { return proto.CodeOf(err, proto.ParameterError) }
