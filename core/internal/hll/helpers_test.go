package hll

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/internal/clientpack"
)

// wireOp is one operation as a client sends it.
type wireOp struct {
	modify bool
	arg    []byte
}

// clientPack packs [code, args...] with the client's own packer, as its
// HLL encoder does: an array of the code and the argument Values.
func clientPack(code int, args ...as.Value) wireOp {
	vals := append([]as.Value{as.IntegerValue(code)}, args...)
	return wireOp{modify: code < readBase, arg: clientpack.List(vals...)}
}

// Constructors with the argument lists of the client's HLL*Op functions.

func opInit(flags, index, minhash int) wireOp {
	return clientPack(0, as.IntegerValue(index), as.IntegerValue(minhash), as.IntegerValue(flags))
}
func opAdd(flags int, vals []as.Value, index, minhash int) wireOp {
	return clientPack(1, as.ValueArray(vals), as.IntegerValue(index), as.IntegerValue(minhash), as.IntegerValue(flags))
}
func opSetUnion(flags int, hlls ...[]byte) wireOp {
	return clientPack(2, hllList(hlls), as.IntegerValue(flags))
}

// packValues returns the client's packing of a list of values, for
// opAddPacked.
func packValues(vals []as.Value) []byte { return clientPack(56, as.ValueArray(vals)).arg[2:] }

// opAddPacked is opAdd with the values packed by packValues: packing a
// large list once saves time in tests that add it at many bit counts.
func opAddPacked(flags int, list []byte, index, minhash int) wireOp {
	b := msgpack.AppendArrayHeader(nil, 5)
	b = msgpack.AppendInt(b, 1)
	b = append(b, list...)
	for _, v := range []int{index, minhash, flags} {
		b = msgpack.AppendInt(b, int64(v))
	}
	return wireOp{modify: true, arg: b}
}
func opRefreshCount() wireOp              { return clientPack(3) }
func opFold(index int) wireOp             { return clientPack(4, as.IntegerValue(index)) }
func opCount() wireOp                     { return clientPack(50) }
func opUnion(hlls ...[]byte) wireOp       { return clientPack(51, hllList(hlls)) }
func opUnionCount(hlls ...[]byte) wireOp  { return clientPack(52, hllList(hlls)) }
func opIntersect(hlls ...[]byte) wireOp   { return clientPack(53, hllList(hlls)) }
func opSimilarity(hlls ...[]byte) wireOp  { return clientPack(54, hllList(hlls)) }
func opDescribe() wireOp                  { return clientPack(55) }
func opMayContain(vals []as.Value) wireOp { return clientPack(56, as.ValueArray(vals)) }

// hllList packs HLLs as the client does: HLLValues, which it packs as
// blobs.
func hllList(hlls [][]byte) as.Value {
	vals := make([]as.Value, len(hlls))
	for i, h := range hlls {
		vals[i] = as.HLLValue(h)
	}
	return as.ValueArray(vals)
}

// strings returns the client's StringValues prefix+"0", prefix+"1", ...
func strings(prefix string, from, to int) []as.Value {
	var vals []as.Value
	for i := from; i < to; i++ {
		vals = append(vals, as.StringValue(prefix+strconv.Itoa(i)))
	}
	return vals
}

// binState is a bin as a sequence of operations leaves it.
type binState struct {
	typ uint8 // ParticleNull: no bin
	val []byte
}

func hllBin(b []byte) binState { return binState{typ: proto.ParticleHLL, val: b} }

// apply runs op on st, checking that it writes neither the bin nor its
// argument and that a bin it changes is a well-formed HLL, and returns
// the bin after it.
func apply(t testing.TB, a *bins.Arena, st binState, op wireOp) (binState, bins.Outcome, error) {
	t.Helper()
	binCopy, argCopy := bytes.Clone(st.val), bytes.Clone(op.arg)
	out, err := Apply(a, op.modify, st.typ, st.val, op.arg)
	if !bytes.Equal(binCopy, st.val) || !bytes.Equal(argCopy, op.arg) {
		t.Fatalf("Apply(% x) wrote its input bin or argument", argCopy)
	}
	if err == nil && out.Changed {
		if !op.modify || out.Type != proto.ParticleHLL || Check(out.Value) != nil {
			t.Fatalf("Apply(% x): changed the bin to type %d, % x", op.arg, out.Type, out.Value)
		}
		st = hllBin(bytes.Clone(out.Value))
	}
	return st, out, err
}

// run runs ops in order, failing the test on an error, and returns the bin
// and the results.
func run(t testing.TB, st binState, ops ...wireOp) (binState, []bins.Outcome) {
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

// runErr runs ops in order and returns the code of the first error, OK if
// none.
func runErr(t testing.TB, st binState, ops ...wireOp) (binState, proto.ResultCode) {
	t.Helper()
	var a bins.Arena
	for _, op := range ops {
		var err error
		if st, _, err = apply(t, &a, st, op); err != nil {
			return st, code(err)
		}
	}
	return st, proto.OK
}

// code returns the result code of an error Apply returned.
func code(err error) proto.ResultCode { return proto.CodeOf(err, proto.ParameterError) }

// resultInt returns an integer result.
func resultInt(t testing.TB, o bins.Outcome) int {
	t.Helper()
	if !o.HasResult || o.ResType != proto.ParticleInteger || len(o.Res) != 8 {
		t.Fatalf("want an integer result, got %+v", o)
	}
	return int(binary.BigEndian.Uint64(o.Res))
}

// resultFloat returns a double result.
func resultFloat(t testing.TB, o bins.Outcome) float64 {
	t.Helper()
	if !o.HasResult || o.ResType != proto.ParticleFloat || len(o.Res) != 8 {
		t.Fatalf("want a double result, got %+v", o)
	}
	return math.Float64frombits(binary.BigEndian.Uint64(o.Res))
}

// resultHLL returns an HLL result.
func resultHLL(t testing.TB, o bins.Outcome) []byte {
	t.Helper()
	if !o.HasResult || o.ResType != proto.ParticleHLL || Check(o.Res) != nil {
		t.Fatalf("want an HLL result, got %+v", o)
	}
	return bytes.Clone(o.Res)
}

// checkDescription checks a describe result.
func checkDescription(t testing.TB, o bins.Outcome, index, minhash int) {
	t.Helper()
	want := []byte{0x92, byte(index), byte(minhash)}
	if !o.HasResult || o.ResType != proto.ParticleList || !bytes.Equal(o.Res, want) {
		t.Fatalf("describe: got %+v, want list % x", o, want)
	}
}

// Bit-count limits, as the client's tests name them.
const (
	testMinIndexBits   = 4
	testMaxIndexBits   = 16
	testMinMinhashBits = 4
	testMaxMinhashBits = 51
)

// legalDescriptions returns the client tests' legal [indexBits,
// minhashBits] pairs: for index bits 4, 8, 12 and 16, minhash bits 0, the
// least, a middle value and the most allowed.
func legalDescriptions() [][2]int {
	var ds [][2]int
	for index := testMinIndexBits; index <= testMaxIndexBits; index += 4 {
		most := min(testMaxMinhashBits, 64-index)
		ds = append(ds, [2]int{index, 0}, [2]int{index, testMinMinhashBits},
			[2]int{index, (most + index) / 2}, [2]int{index, most})
	}
	return ds
}

// illegalDescriptions returns the client tests' illegal pairs.
func illegalDescriptions() [][2]int {
	var ds [][2]int
	for index := testMinIndexBits - 1; index <= testMaxIndexBits+5; index += 4 {
		if index < testMinIndexBits || index > testMaxIndexBits {
			ds = append(ds, [2]int{index, 0}, [2]int{index, testMinMinhashBits - 1},
				[2]int{index, testMaxMinhashBits})
			continue
		}
		ds = append(ds, [2]int{index, testMinMinhashBits - 1}, [2]int{index, testMaxMinhashBits + 1})
		if index+testMaxMinhashBits > 64 {
			ds = append(ds, [2]int{index, 1 + testMaxMinhashBits - (64 - (index + testMaxMinhashBits))})
		}
	}
	return ds
}

// checkCount checks an estimate against the true count within six
// standard errors of HyperLogLog with 2^index registers. (The client's
// tests mean to check this; their check, an "or" of two bounds, always
// passes.)
func checkCount(t testing.TB, index, got, want int) {
	t.Helper()
	rel := 6 * 1.04 / math.Sqrt(float64(int(1)<<index))
	if math.Abs(float64(got-want)) > rel*float64(want) {
		t.Errorf("count %d, want %d within %.1f%% (index bits %d)", got, want, 100*rel, index)
	}
}
