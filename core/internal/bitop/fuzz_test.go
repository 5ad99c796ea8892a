package bitop

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/internal/clientpack"
)

// clientPack packs [code, args...] with the client's own packer: its
// bitwise encoder writes an array of the code and the argument Values,
// which is how it packs a list of Values.
func clientPack(tb testing.TB, code int, args ...any) wireOp {
	tb.Helper()
	vals := []as.Value{as.IntegerValue(code)}
	for _, a := range args {
		switch v := a.(type) {
		case int:
			vals = append(vals, as.IntegerValue(v))
		case int64:
			vals = append(vals, as.IntegerValue(v))
		case []byte:
			vals = append(vals, as.BytesValue(v))
		case bool:
			vals = append(vals, as.BoolValue(v))
		}
	}
	return wireOp{modify: code < readBase, arg: clientpack.List(vals...)}
}

// TestClientEncoding checks that operations packed by the client, with
// its smallest integer encodings, do what the same operations packed here
// do.
func TestClientEncoding(t *testing.T) {
	blob := bytes.Repeat([]byte{0x5A, 0xC3, 0x01}, 100)
	big := bytes.Repeat([]byte{0xA5}, 300) // a blob argument with a 2-byte length
	for _, args := range [][]any{
		{0, 200, 0, 0}, {0, 70000, flagNoFail, resizeFromFront}, {0, 1 << 33, 0, 0},
		{1, 300, big, 0}, {1, -200, []byte{1}, 0},
		{2, 150, 140, flagPartial},
		{3, 1000, 2400, big, 0}, {4, -2000, 300, big, 0}, {5, 5, 2000, big, 0}, {6, 0, 8, []byte{0x0F}, 0},
		{7, -129, 129, 0}, {8, 100, 1000, 300, 0}, {9, 7, 2000, 130, 0},
		{10, 200, 64, int64(-1 << 40), 0, mathSigned | mathSaturate},
		{11, 300, 40, 1 << 35, 0, mathWrap}, {12, 1000, 33, int64(-70000), 0},
		{50, 1000, 1000}, {51, -2399, 2399}, {52, 130, 2000, true}, {53, 130, 2000, false},
		{54, 100, 64, mathSigned}, {54, -33000, 17},
	} {
		mine := pack(args[0].(int), args[1:]...)
		theirs := clientPack(t, args[0].(int), args[1:]...)
		var a bins.Arena
		_, o1, err1 := apply(t, &a, blobBin(blob), mine)
		_, o2, err2 := apply(t, &a, blobBin(blob), theirs)
		if !reflect.DeepEqual(o1, o2) || Code(err1) != Code(err2) || (err1 == nil) != (err2 == nil) {
			t.Errorf("%v: here %+v %v, client %+v %v", args, o1, err1, o2, err2)
		}
	}
}

// randomOp returns an operation of any code with random arguments, mostly
// of the kinds and sizes the code takes.
func randomOp(rng *rand.Rand) wireOp {
	codes := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 50, 51, 52, 53, 54}
	code := codes[rng.IntN(len(codes))]
	if rng.IntN(20) == 0 {
		code = rng.IntN(300) - 20
	}
	args := make([]any, rng.IntN(7))
	for i := range args {
		switch rng.IntN(8) {
		case 0:
			b := make([]byte, rng.IntN(12))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			args[i] = b
		case 1:
			args[i] = rng.IntN(2) == 0
		case 2:
			args[i] = int64(rng.Uint64())
		case 3:
			args[i] = rng.IntN(16)
		default:
			args[i] = rng.IntN(200) - 100
		}
	}
	op := pack(code, args...)
	op.modify = rng.IntN(10) != 0 && code < readBase || rng.IntN(10) == 0
	return op
}

// checkOutcome checks what Apply returned for any input: a known result
// code, a change only from a modify and to a blob, results only from a
// read.
func checkOutcome(t testing.TB, modify bool, out bins.Outcome, err error) {
	t.Helper()
	if err != nil {
		switch Code(err) {
		case proto.ParameterError, proto.BinTypeError, proto.BinExists, proto.BinNotFound, proto.OpNotApplicable:
		default:
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	if out.Changed && (!modify || out.Type != proto.ParticleBlob) || out.HasResult && modify {
		t.Fatalf("modify %v gave %+v", modify, out)
	}
}

// TestRandomArgs throws random operations, and every truncation and
// single-byte change of them, at bins of every kind.
func TestRandomArgs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	binStates := []binState{
		{}, blobBin([]byte{}), blobBin([]byte{0xFF}), blobBin(bytes.Repeat([]byte{0x3C}, 20)),
		{typ: proto.ParticleString, val: []byte("str")}, {typ: proto.ParticleInteger, val: make([]byte, 8)},
	}
	var a bins.Arena
	try := func(op wireOp) {
		for _, st := range binStates {
			a.Reset()
			_, out, err := apply(t, &a, st, op)
			checkOutcome(t, op.modify, out, err)
		}
	}
	for range 3000 {
		op := randomOp(rng)
		try(op)
		for n := range len(op.arg) {
			try(wireOp{modify: op.modify, arg: op.arg[:n]})
		}
		mutated := bytes.Clone(op.arg)
		mutated[rng.IntN(len(mutated))] = byte(rng.Uint32())
		try(wireOp{modify: op.modify, arg: mutated})
	}
}

// FuzzApply checks that no input makes Apply panic, write its inputs, or
// return what it may not.
func FuzzApply(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	for range 40 {
		op := randomOp(rng)
		f.Add(op.modify, uint8(proto.ParticleBlob), []byte{0x0F, 0xF0, 0x55}, op.arg)
	}
	f.Add(true, uint8(proto.ParticleNull), []byte(nil), insertOp(0, 2, []byte{1, 2}).arg)
	f.Add(false, uint8(proto.ParticleBlob), []byte{0xFF}, lscanOp(-3, 2, true).arg)
	f.Fuzz(func(t *testing.T, modify bool, binType uint8, bin, arg []byte) {
		var a bins.Arena
		_, out, err := apply(t, &a, binState{typ: binType, val: bin}, wireOp{modify: modify, arg: arg})
		checkOutcome(t, modify, out, err)
	})
}
