package bitop

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
)

// The expectations below are those of the client's cdt_bitwise_test.go:
// its inputs and the bytes, results and codes the server gives for them.

var (
	bit0  = []byte{0x80}
	bits1 = []byte{0x11, 0x22, 0x33}
)

func TestModify(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial []byte // nil: no bin
		ops     []wireOp
		want    []byte
	}{
		{"set, remove", []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}, []wireOp{
			setOp(0, 1, 1, bit0),
			setOp(flagUpdateOnly, 3, 1, bit0),
			removeOp(flagUpdateOnly, 6, 2),
		}, []byte{0x51, 0x02, 0x03, 0x04, 0x05, 0x06}},
		{"insert creates", nil, []wireOp{
			insertOp(flagCreateOnly, 1, []byte{0x0A}),
		}, []byte{0x00, 0x0A}},
		{"set bits", []byte{0x01, 0x12, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A,
			0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x41}, []wireOp{
			setOp(0, 1, 1, bit0),
			setOp(0, 15, 1, bit0),
			setOp(0, 16, 24, bits1),
			setOp(0, 40, 22, bits1),
			setOp(0, 73, 21, bits1),
			setOp(0, 100, 20, bits1),
			setOp(0, 120, 17, bits1),
			setOp(0, 144, 1, bit0),
		}, []byte{0x41, 0x13, 0x11, 0x22, 0x33, 0x11, 0x22, 0x33, 0x08, 0x08, 0x91, 0x1B,
			0x01, 0x12, 0x23, 0x11, 0x22, 0x11, 0xc1}},
		{"lshift", []byte{0x01, 0x01, 0x00, 0x80, 0xFF, 0x01, 0x01, 0x18, 0x01}, []wireOp{
			lshiftOp(0, 0, 8, 1),
			lshiftOp(0, 9, 7, 6),
			lshiftOp(0, 23, 2, 1),
			lshiftOp(0, 37, 18, 3),
			lshiftOp(0, 58, 2, 1),
			lshiftOp(0, 64, 4, 7),
		}, []byte{0x02, 0x40, 0x01, 0x00, 0xF8, 0x08, 0x01, 0x28, 0x01}},
		{"lshift across bytes", []byte{0xFF, 0xFF, 0xFF}, []wireOp{
			lshiftOp(0, 0, 20, 15),
		}, []byte{0xF8, 0x00, 0x0F}},
		{"rshift", []byte{0x80, 0x40, 0x01, 0x00, 0xFF, 0x01, 0x01, 0x18, 0x80}, []wireOp{
			rshiftOp(0, 0, 8, 1),
			rshiftOp(0, 9, 7, 6),
			rshiftOp(0, 23, 2, 1),
			rshiftOp(0, 37, 18, 3),
			rshiftOp(0, 60, 2, 1),
			rshiftOp(0, 68, 4, 7),
		}, []byte{0x40, 0x01, 0x00, 0x80, 0xF8, 0xE0, 0x21, 0x14, 0x80}},
		{"or", []byte{0x80, 0x40, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03}, []wireOp{
			orOp(0, 0, 5, bits1),
			orOp(0, 9, 7, bits1),
			orOp(0, 23, 6, bits1),
			orOp(0, 32, 8, bits1),
			orOp(0, 40, 24, bits1),
		}, []byte{0x90, 0x48, 0x01, 0x20, 0x11, 0x11, 0x22, 0x33}},
		{"xor", []byte{0x80, 0x40, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03}, []wireOp{
			xorOp(0, 0, 5, bits1),
			xorOp(0, 9, 7, bits1),
			xorOp(0, 23, 6, bits1),
			xorOp(0, 32, 8, bits1),
			xorOp(0, 40, 24, bits1),
		}, []byte{0x90, 0x48, 0x01, 0x20, 0x11, 0x10, 0x20, 0x30}},
		{"and", []byte{0x80, 0x40, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03}, []wireOp{
			andOp(0, 0, 5, bits1),
			andOp(0, 9, 7, bits1),
			andOp(0, 23, 6, bits1),
			andOp(0, 32, 8, bits1),
			andOp(0, 40, 24, bits1),
		}, []byte{0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03}},
		{"not", []byte{0x80, 0x40, 0x01, 0x00, 0x00, 0x01, 0x02, 0x03}, []wireOp{
			notOp(0, 0, 5),
			notOp(0, 9, 7),
			notOp(0, 23, 6),
			notOp(0, 32, 8),
			notOp(0, 40, 24),
		}, []byte{0x78, 0x3F, 0x00, 0xF8, 0xFF, 0xFE, 0xFD, 0xFC}},
		{"add", []byte{0x38, 0x1F, 0x00, 0xE8, 0x7F, 0x00, 0x00, 0x00, 0x01, 0x01, 0x01,
			0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x03, 0x03, 0x03}, []wireOp{
			addOp(0, 0, 5, 1, false, actFail),
			addOp(0, 9, 7, 1, false, actFail),
			addOp(0, 23, 6, 0x21, false, actFail),
			addOp(0, 32, 8, 1, false, actFail),
			addOp(0, 40, 24, 0x7F7F7F, false, actFail),
			addOp(0, 64, 20, 0x01010, false, actFail),
			addOp(0, 92, 20, 0x10101, false, actFail),
			addOp(0, 113, 22, 0x8082, false, actFail),
			addOp(0, 136, 23, 0x20202, false, actFail),
		}, []byte{0x40, 0x20, 0x01, 0xF0, 0x80, 0x7F, 0x7F, 0x7F, 0x02, 0x02, 0x01,
			0x02, 0x02, 0x02, 0x03, 0x03, 0x06, 0x07, 0x07, 0x07}},
		{"add overflow actions", make([]byte, 6), []wireOp{
			addOp(0, 0, 8, 0xFF, false, actWrap),
			addOp(0, 0, 8, 0xFF, false, actWrap),
			addOp(0, 8, 8, 0x7F, true, actWrap),
			addOp(0, 8, 8, 0x7F, true, actWrap),
			addOp(0, 16, 8, 0x80, true, actWrap),
			addOp(0, 16, 8, 0xFF, true, actWrap),
			addOp(0, 24, 8, 0x80, false, actSaturate),
			addOp(0, 24, 8, 0x80, false, actSaturate),
			addOp(0, 32, 8, 0x77, true, actSaturate),
			addOp(0, 32, 8, 0x77, true, actSaturate),
			addOp(0, 40, 8, 0x8F, true, actSaturate),
			addOp(0, 40, 8, 0x8F, true, actSaturate),
		}, []byte{0xFE, 0xFE, 0x7F, 0xFF, 0x7F, 0x80}},
		{"subtract", []byte{0x38, 0x1F, 0x00, 0xE8, 0x7F, 0x80, 0x80, 0x80, 0x01, 0x01, 0x01,
			0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x03, 0x03, 0x03}, []wireOp{
			subOp(0, 0, 5, 0x01, false, actFail),
			subOp(0, 9, 7, 0x01, false, actFail),
			subOp(0, 23, 6, 0x03, false, actFail),
			subOp(0, 32, 8, 0x01, false, actFail),
			subOp(0, 40, 24, 0x10101, false, actFail),
			subOp(0, 64, 20, 0x101, false, actFail),
			subOp(0, 92, 20, 0x10101, false, actFail),
			subOp(0, 113, 21, 0x101, false, actFail),
			subOp(0, 136, 23, 0x11111, false, actFail),
		}, []byte{0x30, 0x1E, 0x00, 0xD0, 0x7E, 0x7F, 0x7F, 0x7F, 0x00, 0xF0, 0xF1,
			0x00, 0x00, 0x00, 0x01, 0xFD, 0xFE, 0x00, 0xE0, 0xE1}},
		{"subtract overflow actions", make([]byte, 6), []wireOp{
			subOp(0, 0, 8, 0x01, false, actWrap),
			subOp(0, 8, 8, 0x80, true, actWrap),
			subOp(0, 8, 8, 0x8A, true, actWrap),
			subOp(0, 16, 8, 0x7F, true, actWrap),
			subOp(0, 16, 8, 0x02, true, actWrap),
			subOp(0, 24, 8, 0xAA, false, actSaturate),
			subOp(0, 32, 8, 0x77, true, actSaturate),
			subOp(0, 32, 8, 0x77, true, actSaturate),
			subOp(0, 40, 8, 0x81, true, actSaturate),
			subOp(0, 40, 8, 0x8F, true, actSaturate),
		}, []byte{0xFF, 0xF6, 0x7F, 0x00, 0x80, 0x7F}},
		{"set int", []byte{0x38, 0x1F, 0x00, 0xE8, 0x7F, 0x80, 0x80, 0x80, 0x01, 0x01, 0x01,
			0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x03, 0x03, 0x03}, []wireOp{
			setIntOp(0, 0, 5, 0x01),
			setIntOp(0, 9, 7, 0x01),
			setIntOp(0, 23, 6, 0x03),
			setIntOp(0, 32, 8, 0x01),
			setIntOp(0, 40, 24, 0x10101),
			setIntOp(0, 64, 20, 0x101),
			setIntOp(0, 92, 20, 0x10101),
			setIntOp(0, 113, 21, 0x101),
			setIntOp(0, 136, 23, 0x11111),
		}, []byte{0x08, 0x01, 0x00, 0x18, 0x01, 0x01, 0x01, 0x01, 0x00, 0x10, 0x11,
			0x01, 0x01, 0x01, 0x00, 0x04, 0x06, 0x02, 0x22, 0x23}},
		// Overflows Aerospike's sign test misses (see the package doc).
		{"saturate least values", []byte{0x80, 0x00}, []wireOp{
			addOp(0, 0, 8, 0x80, true, actSaturate),
			subOp(0, 8, 8, 0x80, true, actSaturate),
		}, []byte{0x80, 0x7F}},
		// The client's doc comments' examples.
		{"doc insert", []byte{0x01, 0x42, 0x03, 0x04, 0x05}, []wireOp{insertOp(0, 1, []byte{0xFF, 0xC7})},
			[]byte{0x01, 0xFF, 0xC7, 0x42, 0x03, 0x04, 0x05}},
		{"doc remove", []byte{0x01, 0x42, 0x03, 0x04, 0x05}, []wireOp{removeOp(0, 2, 3)}, []byte{0x01, 0x42}},
		{"doc set", []byte{0x01, 0x42, 0x03, 0x04, 0x05}, []wireOp{setOp(0, 13, 3, []byte{0xE0})},
			[]byte{0x01, 0x47, 0x03, 0x04, 0x05}},
		{"doc and", []byte{0x01, 0x42, 0x03, 0x04, 0x05}, []wireOp{andOp(0, 23, 9, []byte{0x3C, 0x80})},
			[]byte{0x01, 0x42, 0x02, 0x00, 0x05}},
		{"doc not", []byte{0x01, 0x42, 0x03, 0x04, 0x05}, []wireOp{notOp(0, 25, 6)},
			[]byte{0x01, 0x42, 0x03, 0x7A, 0x05}},
		{"doc lshift", []byte{0x01, 0x42, 0x03, 0x04, 0x05}, []wireOp{lshiftOp(0, 32, 8, 3)},
			[]byte{0x01, 0x42, 0x03, 0x04, 0x28}},
		{"doc rshift", []byte{0x01, 0x42, 0x03, 0x04, 0x05}, []wireOp{rshiftOp(0, 0, 9, 1)},
			[]byte{0x00, 0xC2, 0x03, 0x04, 0x05}},
		{"doc add", []byte{0x01, 0x42, 0x03, 0x04, 0x05}, []wireOp{addOp(0, 24, 16, 128, false, actFail)},
			[]byte{0x01, 0x42, 0x03, 0x04, 0x85}},
		{"doc set int", []byte{0x01, 0x42, 0x03, 0x04, 0x05}, []wireOp{setIntOp(0, 1, 8, 127)},
			[]byte{0x3F, 0xC2, 0x03, 0x04, 0x05}},
		{"resize from front", []byte{0x01, 0x02}, []wireOp{
			resizeOp(0, 4, resizeFromFront),
			resizeOp(0, 3, resizeFromFront),
		}, []byte{0x00, 0x01, 0x02}},
		{"negative offsets", []byte{0x00, 0x00, 0x00}, []wireOp{
			setOp(0, -4, 4, []byte{0xF0}),
			insertOp(0, -1, []byte{0xAA}),
			removeOp(0, -4, 1),
		}, []byte{0x00, 0xAA, 0x0F}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := binState{}
			if tc.initial != nil {
				st = blobBin(tc.initial)
			}
			got, _ := applyAll(t, st, tc.ops...)
			if got.typ != proto.ParticleBlob || !bytes.Equal(got.val, tc.want) {
				t.Fatalf("got % x, want % x", got.val, tc.want)
			}
		})
	}
}

func TestResize(t *testing.T) {
	noFail := flagNoFail
	st, outs := applyAll(t, binState{},
		resizeOp(0, 20, 0),
		getOp(19*8, 8),
		resizeOp(noFail, 10, resizeGrowOnly),
		getOp(19*8, 8),
		resizeOp(0, 10, resizeShrinkOnly),
		getOp(9*8, 8),
		resizeOp(noFail, 30, resizeShrinkOnly),
		getOp(9*8, 8),
		resizeOp(0, 19, resizeGrowOnly),
		getOp(18*8, 8),
		resizeOp(noFail, 0, resizeGrowOnly),
		resizeOp(0, 0, resizeShrinkOnly),
	)
	for _, i := range []int{1, 3, 5, 7, 9} {
		if got := resultBlob(t, outs[i]); !bytes.Equal(got, []byte{0}) {
			t.Fatalf("get %d: % x", i, got)
		}
	}
	if st.typ != proto.ParticleBlob || len(st.val) != 0 {
		t.Fatalf("final bin %+v, want an empty blob", st)
	}
	if _, outs = applyAll(t, binState{}, resizeOp(0, 0, 0)); outs[0].Changed {
		t.Fatal("resizing a missing bin to 0 bytes created it")
	}
}

func TestGet(t *testing.T) {
	_, outs := applyAll(t, blobBin([]byte{0xC1, 0xAA, 0xAA}),
		getOp(0, 1), getOp(1, 1), getOp(7, 1), getOp(0, 8),
		getOp(8, 16), getOp(9, 15), getOp(9, 14))
	want := [][]byte{{0x80}, {0x80}, {0x80}, {0xC1}, {0xAA, 0xAA}, {0x55, 0x54}, {0x55, 0x54}}
	for i, w := range want {
		if got := resultBlob(t, outs[i]); !bytes.Equal(got, w) {
			t.Errorf("get %d: % x, want % x", i, got, w)
		}
	}
	// The client's doc example.
	_, outs = applyAll(t, blobBin([]byte{0x01, 0x42, 0x03, 0x04, 0x05}), getOp(9, 5))
	if !bytes.Equal(outs[0].Res, []byte{0x80}) {
		t.Errorf("doc get: % x", outs[0].Res)
	}
}

func TestIntegerReads(t *testing.T) {
	scanBlob := []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x01}
	doc := []byte{0x01, 0x42, 0x03, 0x04, 0x05}
	for _, tc := range []struct {
		name string
		bin  []byte
		ops  []wireOp
		want []int64
	}{
		{"count", []byte{0xC1, 0xAA, 0xAB}, []wireOp{
			countOp(0, 1), countOp(1, 1), countOp(7, 1), countOp(0, 8),
			countOp(8, 16), countOp(9, 15), countOp(9, 14),
		}, []int64{1, 1, 1, 3, 9, 8, 7}},
		{"lscan", scanBlob, []wireOp{
			lscanOp(0, 1, true), lscanOp(0, 8, true), lscanOp(0, 9, true),
			lscanOp(0, 32, true), lscanOp(0, 32, false), lscanOp(1, 30, false),
			lscanOp(32, 40, true), lscanOp(33, 38, true), lscanOp(32, 40, false), lscanOp(33, 38, false),
			lscanOp(0, 72, true), lscanOp(0, 72, false),
			lscanOp(-1, 1, true), lscanOp(-1, 1, false),
		}, []int64{0, 0, 0, 0, -1, -1, 39, -1, 0, 0, 0, 32, 0, -1}},
		{"rscan", scanBlob, []wireOp{
			rscanOp(0, 1, true), rscanOp(0, 8, true), rscanOp(0, 9, true),
			rscanOp(0, 32, true), rscanOp(0, 32, false), rscanOp(1, 30, false),
			rscanOp(32, 40, true), rscanOp(33, 38, true), rscanOp(32, 40, false), rscanOp(33, 38, false),
			rscanOp(0, 72, true), rscanOp(0, 72, false),
			rscanOp(-1, 1, true), rscanOp(-1, 1, false),
		}, []int64{0, 7, 8, 31, -1, -1, 39, -1, 38, 37, 71, 70, 0, -1}},
		{"get int", []byte{0x0F, 0x0F, 0x00}, []wireOp{
			getIntOp(4, 4, false), getIntOp(4, 4, true),
			getIntOp(0, 8, false), getIntOp(0, 8, true),
			getIntOp(7, 4, false), getIntOp(7, 4, true),
			getIntOp(8, 16, false), getIntOp(8, 16, true),
			getIntOp(9, 15, false), getIntOp(9, 15, true),
			getIntOp(9, 14, false), getIntOp(9, 14, true),
			getIntOp(5, 17, false), getIntOp(5, 17, true),
			getIntOp(-12, 4, false), getIntOp(-12, 4, true),
		}, []int64{15, -1, 15, 15, 8, -8, 3840, 3840, 3840, 3840, 1920, 1920, 115648, -15424, 15, -1}},
		{"get int 64 bits", []byte{0x80, 0, 0, 0, 0, 0, 0, 1, 0xFF}, []wireOp{
			getIntOp(0, 64, false), getIntOp(0, 64, true), getIntOp(8, 64, true), getIntOp(4, 64, true),
		}, []int64{-1<<63 + 1, -1<<63 + 1, 0x1FF, 0x1F}},
		{"doc examples", doc, []wireOp{
			countOp(20, 4), lscanOp(24, 8, true), rscanOp(32, 8, true), getIntOp(8, 16, false),
		}, []int64{2, 5, 7, 16899}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, outs := applyAll(t, blobBin(tc.bin), tc.ops...)
			for i, w := range tc.want {
				if got := resultInt(t, outs[i]); got != w {
					t.Errorf("op %d: %d, want %d", i, got, w)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	zeros := blobBin(make([]byte, 6))
	empty := blobBin([]byte{})
	five := blobBin([]byte{1, 2, 3, 4, 5})
	str := binState{typ: proto.ParticleString, val: []byte("abc")}
	for _, tc := range []struct {
		name string
		bin  binState
		ops  []wireOp // all but the last succeed
		code proto.ResultCode
	}{
		// The client's tests.
		{"update without bin", binState{}, []wireOp{setOp(0, 1, 1, bit0)}, proto.BinNotFound},
		{"create only on set", five, []wireOp{setOp(flagCreateOnly, 1, 1, bit0)}, proto.ParameterError},
		{"unsigned add overflow", zeros, []wireOp{
			addOp(0, 0, 8, 0xFF, false, actFail), addOp(0, 0, 8, 0xFF, false, actFail)}, proto.OpNotApplicable},
		{"signed add overflow", zeros, []wireOp{
			addOp(0, 0, 8, 0x7F, true, actFail), addOp(0, 0, 8, 0x02, true, actFail)}, proto.OpNotApplicable},
		{"signed add underflow", zeros, []wireOp{
			addOp(0, 0, 8, 0x81, true, actFail), addOp(0, 0, 8, 0xFE, true, actFail)}, proto.OpNotApplicable},
		{"unsigned subtract underflow", zeros, []wireOp{subOp(0, 0, 8, 1, false, actFail)}, proto.OpNotApplicable},
		{"signed subtract underflow", zeros, []wireOp{
			subOp(0, 0, 8, 0x7F, true, actFail), subOp(0, 0, 8, 0x02, true, actFail)}, proto.OpNotApplicable},
		{"signed subtract overflow", zeros, []wireOp{
			subOp(0, 0, 8, 0x81, true, actFail), subOp(0, 0, 8, 0xFE, true, actFail)}, proto.OpNotApplicable},
		{"signed add of the least values", blobBin([]byte{0x80}), []wireOp{
			addOp(0, 0, 8, 0x80, true, actFail)}, proto.OpNotApplicable},
		{"signed subtract of the least value", blobBin([]byte{0x00}), []wireOp{
			subOp(0, 0, 8, 0x80, true, actFail)}, proto.OpNotApplicable},
		{"empty set", empty, []wireOp{setOp(0, 0, 1, bit0)}, proto.OpNotApplicable},
		{"empty or", empty, []wireOp{orOp(0, 0, 1, bit0)}, proto.OpNotApplicable},
		{"empty xor", empty, []wireOp{xorOp(0, 0, 1, bit0)}, proto.OpNotApplicable},
		{"empty and", empty, []wireOp{andOp(0, 0, 1, bit0)}, proto.OpNotApplicable},
		{"empty not", empty, []wireOp{notOp(0, 0, 1)}, proto.OpNotApplicable},
		{"empty lshift", empty, []wireOp{lshiftOp(0, 0, 1, 1)}, proto.OpNotApplicable},
		{"empty rshift", empty, []wireOp{rshiftOp(0, 0, 1, 1)}, proto.OpNotApplicable},
		{"empty remove", empty, []wireOp{removeOp(0, 0, 1)}, proto.ParameterError},
		{"empty add", empty, []wireOp{addOp(0, 0, 1, 1, false, actFail)}, proto.OpNotApplicable},
		{"empty subtract", empty, []wireOp{subOp(0, 0, 1, 1, false, actFail)}, proto.OpNotApplicable},
		{"empty set int", empty, []wireOp{setIntOp(0, 0, 1, 1)}, proto.OpNotApplicable},
		{"empty get", empty, []wireOp{getOp(0, 1)}, proto.OpNotApplicable},
		{"empty count", empty, []wireOp{countOp(0, 1)}, proto.OpNotApplicable},
		{"empty lscan", empty, []wireOp{lscanOp(0, 1, true)}, proto.OpNotApplicable},
		{"empty rscan", empty, []wireOp{rscanOp(0, 1, true)}, proto.OpNotApplicable},
		{"empty get int", empty, []wireOp{getIntOp(0, 1, false)}, proto.OpNotApplicable},
		// Ranges.
		{"range past end", five, []wireOp{setOp(0, 39, 2, bit0)}, proto.OpNotApplicable},
		{"read past end", five, []wireOp{getOp(32, 9)}, proto.OpNotApplicable},
		{"int past end", five, []wireOp{getIntOp(36, 5, false)}, proto.OpNotApplicable},
		{"negative offset before start", five, []wireOp{getOp(-41, 1)}, proto.ParameterError},
		{"negative offset on missing bin", binState{}, []wireOp{insertOp(0, -1, bit0)}, proto.ParameterError},
		{"remove past end", five, []wireOp{removeOp(0, 4, 2)}, proto.ParameterError},
		{"grow only", five, []wireOp{resizeOp(0, 4, resizeGrowOnly)}, proto.ParameterError},
		{"shrink only", five, []wireOp{resizeOp(0, 6, resizeShrinkOnly)}, proto.ParameterError},
		{"partial on integer", five, []wireOp{setIntOp(flagPartial, 36, 8, 1)}, proto.ParameterError},
		{"result too big", five, []wireOp{resizeOp(0, maxBlob, 0)}, proto.ParameterError},
		// Bins and policy flags.
		{"not a blob", str, []wireOp{getOp(0, 1)}, proto.BinTypeError},
		{"modify not a blob", binState{typ: proto.ParticleInteger, val: make([]byte, 8)},
			[]wireOp{insertOp(0, 0, bit0)}, proto.BinTypeError},
		{"create only on existing", five, []wireOp{insertOp(flagCreateOnly, 0, bit0)}, proto.BinExists},
		{"create only on existing other type", str, []wireOp{resizeOp(flagCreateOnly, 1, 0)}, proto.BinExists},
		{"update only on missing", binState{}, []wireOp{resizeOp(flagUpdateOnly, 1, 0)}, proto.BinNotFound},
		{"remove on missing", binState{}, []wireOp{removeOp(0, 0, 1)}, proto.BinNotFound},
		{"create and update only", five, []wireOp{
			insertOp(flagCreateOnly|flagUpdateOnly, 0, bit0)}, proto.ParameterError},
		{"unknown flag", five, []wireOp{notOp(16, 0, 1)}, proto.ParameterError},
		// Arguments.
		{"modify code as read", five, []wireOp{{modify: false, arg: notOp(0, 0, 1).arg}}, proto.ParameterError},
		{"read code as modify", five, []wireOp{{modify: true, arg: getOp(0, 1).arg}}, proto.ParameterError},
		{"unknown code", five, []wireOp{pack(13, 0, 1, 0)}, proto.ParameterError},
		{"context", five, []wireOp{pack(0xff, 1, 2)}, proto.ParameterError},
		{"too few args", five, []wireOp{pack(3, 0, 1)}, proto.ParameterError},
		{"too many args", five, []wireOp{pack(50, 0, 1, 2)}, proto.ParameterError},
		{"zero size", five, []wireOp{getOp(0, 0)}, proto.ParameterError},
		{"int size 65", blobBin(make([]byte, 9)), []wireOp{getIntOp(0, 65, false)}, proto.ParameterError},
		{"blob shorter than size", five, []wireOp{setOp(0, 0, 9, bit0)}, proto.ParameterError},
		{"empty blob argument", five, []wireOp{insertOp(0, 0, []byte{})}, proto.ParameterError},
		{"scan value not bool", five, []wireOp{pack(52, 0, 1, 1)}, proto.ParameterError},
		{"offset not int", five, []wireOp{pack(50, bit0, 1)}, proto.ParameterError},
		{"offset too large", five, []wireOp{getOp(maxBlob*8+1, 1)}, proto.ParameterError},
		{"negative size", five, []wireOp{getOp(0, -1)}, proto.ParameterError},
		{"negative shift", five, []wireOp{lshiftOp(0, 0, 8, -1)}, proto.ParameterError},
		{"saturate and wrap", five, []wireOp{addOp(0, 0, 8, 1, false, actSaturate|actWrap)}, proto.ParameterError},
		{"grow and shrink only", five, []wireOp{
			resizeOp(0, 1, resizeGrowOnly|resizeShrinkOnly)}, proto.ParameterError},
		{"get int flag", five, []wireOp{pack(54, 0, 8, 2)}, proto.ParameterError},
		{"trailing bytes", five, []wireOp{{modify: false, arg: append(getOp(0, 1).arg, 0)}}, proto.ParameterError},
		{"not an array", five, []wireOp{{modify: false, arg: []byte{50}}}, proto.ParameterError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a bins.Arena
			st := tc.bin
			for i, op := range tc.ops {
				var err error
				st, _, err = apply(t, &a, st, op)
				last := i == len(tc.ops)-1
				switch {
				case !last && err != nil:
					t.Fatalf("op %d: %v", i, err)
				case last && err == nil:
					t.Fatalf("got no error, want %v", tc.code)
				case last && Code(err) != tc.code:
					t.Fatalf("got %v, want %v", err, tc.code)
				}
			}
		})
	}
}

// TestNoFail checks that the no-fail flag turns a refusal for the bin's
// state or the operation's range into success that leaves the bin alone,
// but not a malformed operation.
func TestNoFail(t *testing.T) {
	five := blobBin([]byte{1, 2, 3, 4, 5})
	nf := flagNoFail
	for _, tc := range []struct {
		name string
		bin  binState
		op   wireOp
	}{
		{"bin exists", five, insertOp(nf|flagCreateOnly, 0, bit0)},
		{"bin missing", binState{}, notOp(nf, 0, 1)},
		{"update only", binState{}, insertOp(nf|flagUpdateOnly, 0, bit0)},
		{"range past end", five, setOp(nf, 39, 2, bit0)},
		{"offset past end", five, notOp(nf, 40, 1)},
		{"int past end", five, setIntOp(nf, 36, 8, 1)},
		{"remove past end", five, removeOp(nf, 4, 2)},
		{"grow only", five, resizeOp(nf, 4, resizeGrowOnly)},
		{"overflow", five, addOp(nf, 0, 8, 0xFF, false, actFail)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a bins.Arena
			_, out, err := apply(t, &a, tc.bin, tc.op)
			if err != nil || !reflect.DeepEqual(out, bins.Outcome{}) {
				t.Fatalf("got %+v, %v; want nothing done", out, err)
			}
		})
	}
	for _, op := range []wireOp{
		getOp(-41, 1), notOp(nf, -41, 1), notOp(nf, 0, 0), resizeOp(nf, maxBlob, 0),
	} {
		var a bins.Arena
		if _, _, err := apply(t, &a, five, op); Code(err) != proto.ParameterError {
			t.Errorf("% x: got %v, want a parameter error", op.arg, err)
		}
	}
}

func TestPartial(t *testing.T) {
	five := blobBin([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	p := flagPartial
	for _, tc := range []struct {
		name string
		op   wireOp
		want []byte
	}{
		{"set", setOp(p, 36, 8, []byte{0x00}), []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xF0}},
		{"not", notOp(p, 30, 100), []byte{0xFF, 0xFF, 0xFF, 0xFC, 0x00}},
		{"rshift", rshiftOp(p, 38, 5, 1), []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFD}},
		{"remove", removeOp(p, 3, 10), []byte{0xFF, 0xFF, 0xFF}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := applyAll(t, five, tc.op)
			if !bytes.Equal(got.val, tc.want) {
				t.Fatalf("got % x, want % x", got.val, tc.want)
			}
		})
	}
}

// TestReadMissingBin checks that a read of a missing bin gives no result
// and a modify of one that cannot create it fails.
func TestReadMissingBin(t *testing.T) {
	var a bins.Arena
	out, err := Apply(&a, false, proto.ParticleNull, nil, getOp(0, 8).arg)
	if err != nil || !reflect.DeepEqual(out, bins.Outcome{}) {
		t.Fatalf("got %+v, %v", out, err)
	}
}

// TestRegions ports the client's *Ex tests: an operation on every range of
// a blob of ones that should leave the range zero (or, for insert, zeros
// inserted), checked by reads around it.
func TestRegions(t *testing.T) {
	const binBytes = 15
	const binBits = binBytes * 8
	check := func(t *testing.T, offset, size int, insert bool, ops ...wireOp) {
		t.Helper()
		bits := binBits
		if insert {
			bits += size
		}
		ops = append(ops,
			lscanOp(offset, size, true),
			rscanOp(offset, size, true),
			getIntOp(offset, min(size, 64), false),
			countOp(offset, size),
			lscanOp(0, bits, false),
			rscanOp(0, bits, false),
			getOp(offset, size))
		_, outs := applyAll(t, blobBin(filled(binBytes, 0xFF)), ops...)
		r := outs[len(outs)-7:]
		got := []int64{resultInt(t, r[0]), resultInt(t, r[1]), resultInt(t, r[2]), resultInt(t, r[3]),
			resultInt(t, r[4]), resultInt(t, r[5])}
		want := []int64{-1, -1, 0, 0, int64(offset), int64(offset + size - 1)}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("offset %d size %d: lscan1, rscan1, getint, count, lscan, rscan = %v, want %v",
				offset, size, got, want)
		}
		if g := resultBlob(t, r[6]); !bytes.Equal(g, make([]byte, (size+7)/8)) {
			t.Fatalf("offset %d size %d: get % x", offset, size, g)
		}
	}
	t.Run("set", func(t *testing.T) {
		for size := 1; size <= 80; size++ {
			zeros := make([]byte, (size+7)/8)
			for off := 0; off <= binBits-size; off++ {
				check(t, off, size, false, setOp(0, off, size, zeros))
			}
		}
	})
	t.Run("and", func(t *testing.T) {
		for size := 1; size <= 80; size++ {
			zeros := make([]byte, (size+7)/8)
			for off := 0; off <= binBits-size; off++ {
				check(t, off, size, false, andOp(0, off, size, zeros))
			}
		}
	})
	t.Run("not", func(t *testing.T) {
		for size := 1; size <= 80; size++ {
			for off := 0; off <= binBits-size; off++ {
				check(t, off, size, false, notOp(0, off, size))
			}
		}
	})
	t.Run("shifts", func(t *testing.T) {
		for size := 1; size <= 4; size++ {
			zeros := make([]byte, (size+7)/8)
			for off := 0; off <= binBits-size; off++ {
				for n := 0; n <= size+1; n++ {
					check(t, off, size, false, setOp(0, off, size, zeros), lshiftOp(0, off, size, n))
					check(t, off, size, false, setOp(0, off, size, zeros), rshiftOp(0, off, size, n))
				}
			}
			// With the partial flag, a range past the end is cut short.
			for off := binBits - size + 1; off < binBits; off++ {
				p := flagPartial
				check(t, off, binBits-off, false, setOp(p, off, size, zeros), rshiftOp(p, off, size, 1))
			}
		}
	})
	t.Run("insert", func(t *testing.T) {
		for size := 1; size <= 10; size++ {
			for off := 0; off <= binBytes; off++ {
				check(t, off*8, size*8, true, insertOp(0, off, make([]byte, size)))
			}
		}
	})
	t.Run("add", func(t *testing.T) {
		for size := 1; size <= 64; size++ {
			for off := 0; off <= binBits-size; off++ {
				check(t, off, size, false, addOp(0, off, size, 1, false, actWrap))
			}
		}
	})
	t.Run("subtract", func(t *testing.T) {
		for size := 1; size <= 64; size++ {
			v := int64(^uint64(0) >> (64 - size))
			for off := 0; off <= binBits-size; off++ {
				check(t, off, size, false, subOp(0, off, size, v, false, actWrap))
			}
		}
	})
}

// TestAllocs pins Apply to the arena: no heap allocation per operation.
func TestAllocs(t *testing.T) {
	var a bins.Arena
	blob := bytes.Repeat([]byte{0x5A}, 64)
	for _, op := range []wireOp{
		countOp(3, 400), getOp(5, 100), getIntOp(-20, 17, true), lscanOp(1, 500, false),
		setOp(0, 9, 16, []byte{1, 2, 3}), lshiftOp(0, 3, 300, 7), addOp(0, 7, 33, 5, true, actFail),
		insertOp(0, 3, []byte{1, 2}), resizeOp(0, 100, 0),
	} {
		allocs := testing.AllocsPerRun(100, func() {
			a.Reset()
			if _, err := Apply(&a, op.modify, proto.ParticleBlob, blob, op.arg); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("% x: %v allocations", op.arg, allocs)
		}
	}
}
