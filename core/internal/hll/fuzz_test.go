package hll

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// randomOp returns an operation of any code with random arguments, mostly
// of the kinds the codes take: bit counts, flags, lists of values or of
// HLLs (valid ones, from hlls, or damaged).
func randomOp(rng *rand.Rand, hlls [][]byte) wireOp {
	codes := []int{0, 1, 2, 3, 4, 50, 51, 52, 53, 54, 55, 56}
	code := codes[rng.IntN(len(codes))]
	if rng.IntN(20) == 0 {
		code = rng.IntN(300) - 20
	}
	nargs := rng.IntN(6)
	b := msgpack.AppendArrayHeader(nil, nargs+1)
	b = msgpack.AppendInt(b, int64(code))
	for range nargs {
		switch rng.IntN(6) {
		case 0: // values
			n := rng.IntN(5)
			b = msgpack.AppendArrayHeader(b, n)
			for range n {
				switch rng.IntN(4) {
				case 0:
					b = msgpack.AppendInt(b, int64(rng.Uint64()))
				case 1:
					b = append(b, 0xd1, byte(rng.Uint32()), byte(rng.Uint32())) // not compact
				case 2:
					b = msgpack.AppendArrayHeader(b, 0)
				default:
					b = msgpack.AppendTyped(b, proto.ParticleString, []byte{byte(rng.Uint32())})
				}
			}
		case 1: // HLLs
			n := rng.IntN(4)
			b = msgpack.AppendArrayHeader(b, n)
			for range n {
				h := bytes.Clone(hlls[rng.IntN(len(hlls))])
				if rng.IntN(4) == 0 && len(h) > 0 {
					h[rng.IntN(min(len(h), headerSize))] = byte(rng.IntN(20))
				}
				b = msgpack.AppendTyped(b, proto.ParticleBlob, h)
			}
		case 2: // one HLL
			b = msgpack.AppendTyped(b, proto.ParticleHLL, hlls[rng.IntN(len(hlls))])
		default: // bit counts and flags
			b = msgpack.AppendInt(b, int64(rng.IntN(70)-2))
		}
	}
	modify := code < readBase
	if rng.IntN(10) == 0 {
		modify = !modify
	}
	return wireOp{modify: modify, arg: b}
}

// testHLLs returns small HLLs of several shapes, and a damaged one.
func testHLLs(t testing.TB) [][]byte {
	var hlls [][]byte
	for _, d := range [][2]int{{4, 0}, {4, 4}, {4, 51}, {5, 0}, {6, 8}, {7, 0}} {
		st, _ := run(t, noBin, opAdd(0, entries[:20], d[0], d[1]))
		hlls = append(hlls, st.val)
	}
	return append(hlls, []byte{0, 4, 0, 1})
}

// checkOutcome checks what Apply returned for any input: a known result
// code, a change only from a modify and to a well-formed HLL.
func checkOutcome(t testing.TB, op wireOp, out bins.Outcome, err error) {
	t.Helper()
	if err != nil {
		switch code(err) {
		case proto.ParameterError, proto.BinTypeError, proto.ServerError, proto.BinExists,
			proto.BinNotFound, proto.OpNotApplicable:
		default:
			t.Fatalf("% x: unexpected error %v", op.arg, err)
		}
		return
	}
	if out.Changed && (!op.modify || out.Type != proto.ParticleHLL || Check(out.Value) != nil) {
		t.Fatalf("% x: modify %v gave %+v", op.arg, op.modify, out)
	}
}

// TestRandomArgs throws random operations, truncations of them (every
// one within the first bytes, a few past) and a single-byte change of
// them, at bins of every kind.
func TestRandomArgs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	hlls := testHLLs(t)
	states := []binState{{}, {typ: proto.ParticleString, val: []byte("str")}}
	for _, h := range hlls {
		states = append(states, hllBin(h))
	}
	var a bins.Arena
	try := func(op wireOp) {
		for _, st := range states {
			a.Reset()
			_, out, err := apply(t, &a, st, op)
			checkOutcome(t, op, out, err)
		}
	}
	for range 1500 {
		op := randomOp(rng, hlls)
		try(op)
		for n := range len(op.arg) {
			if n < 48 || rng.IntN(len(op.arg)) < 8 {
				try(wireOp{modify: op.modify, arg: op.arg[:n]})
			}
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
	hlls := testHLLs(f)
	for range 40 {
		op := randomOp(rng, hlls)
		f.Add(op.modify, uint8(proto.ParticleHLL), hlls[rng.IntN(len(hlls))], op.arg)
	}
	f.Add(true, uint8(proto.ParticleNull), []byte(nil), opAdd(0, entries[:3], 8, 4).arg)
	f.Add(false, uint8(proto.ParticleHLL), hlls[1], opSimilarity(hlls[1], hlls[1], hlls[1]).arg)
	f.Fuzz(func(t *testing.T, modify bool, binType uint8, bin, arg []byte) {
		var a bins.Arena
		op := wireOp{modify: modify, arg: arg}
		_, out, err := apply(t, &a, binState{typ: binType, val: bin}, op)
		checkOutcome(t, op, out, err)
	})
}
