package cdt

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/proto"
)

// Elements for building list and map operations by hand.

func mi(v int64) []byte { return msgpack.AppendInt(nil, v) }

func ms(v string) []byte { return msgpack.AppendTyped(nil, proto.ParticleString, []byte(v)) }

func mf(v float64) []byte {
	return binary.BigEndian.AppendUint64([]byte{0xcb}, math.Float64bits(v))
}

// mm builds a map of alternating keys and values.
func mm(kv ...[]byte) []byte {
	b := msgpack.AppendMapHeader(nil, len(kv)/2)
	for _, e := range kv {
		b = append(b, e...)
	}
	return b
}

// ml builds a list.
func ml(items ...[]byte) []byte {
	b := msgpack.AppendArrayHeader(nil, len(items))
	for _, e := range items {
		b = append(b, e...)
	}
	return b
}

var (
	mNil = []byte{0xc0}
	mInf = []byte{0xd4, 0xff, 0x01}
	mAny = []byte{0xd4, 0xff, 0x00}
)

// mop builds an operation's wire value: [code, args...].
func mop(code int, args ...[]byte) []byte {
	return ml(append([][]byte{mi(int64(code))}, args...)...)
}

// mrt is a return type argument.
func mrt(rt int) []byte { return mi(int64(rt)) }

// render shows msgpack compactly: nil, 1, 1.5, "s", [a b], {k:v} and an
// order flag as #n at the front of its map.
func render(b []byte) string {
	var sb strings.Builder
	rest := renderTo(&sb, b)
	if len(rest) != 0 {
		fmt.Fprintf(&sb, " +% x", rest)
	}
	return sb.String()
}

func renderTo(sb *strings.Builder, b []byte) []byte {
	var h msgpack.Head
	if !h.Parse(b) {
		fmt.Fprintf(sb, "bad(% x)", b)
		return nil
	}
	b = b[h.Size:]
	switch h.Type {
	case msgpack.Nil:
		sb.WriteString("nil")
	case msgpack.True:
		sb.WriteString("true")
	case msgpack.False:
		sb.WriteString("false")
	case msgpack.Int, msgpack.NegInt:
		fmt.Fprint(sb, h.Int())
	case msgpack.Double:
		fmt.Fprint(sb, h.Float())
	case msgpack.String:
		fmt.Fprintf(sb, "%q", h.Data[1:])
	case msgpack.Wildcard:
		sb.WriteString("*")
	case msgpack.Inf:
		sb.WriteString("inf")
	case msgpack.Ext:
		fmt.Fprintf(sb, "#%d", h.ExtType)
	case msgpack.List:
		sb.WriteString("[")
		for i := range h.N {
			if i > 0 {
				sb.WriteString(" ")
			}
			b = renderTo(sb, b)
		}
		sb.WriteString("]")
	case msgpack.Map:
		sb.WriteString("{")
		for i := range h.N / 2 {
			if i > 0 {
				sb.WriteString(" ")
			}
			var k msgpack.Head
			if k.Parse(b) && k.Type == msgpack.Ext {
				// Order flags: show them alone, not as a pair.
				b = renderTo(sb, b)
				n, _ := msgpack.Skip(b)
				b = b[n:]
				continue
			}
			b = renderTo(sb, b)
			sb.WriteString(":")
			b = renderTo(sb, b)
		}
		sb.WriteString("}")
	default:
		fmt.Fprintf(sb, "%v(% x)", h.Type, h.Data)
	}
	return b
}

// Code returns the result code of an error Apply returned.
func Code(err error) proto.ResultCode { return proto.CodeOf(err, proto.ParameterError) }

// randomOps applies n operations with codes in [first, last], each with up
// to maxArgs arguments drawn from elems (one in ten random bytes instead)
// and one in four truncated, to bins drawn from binsToTry (nil: none),
// failing on a panic. check, if not nil, sees each successful outcome.
func randomOps(t *testing.T, rng *rand.Rand, n, first, last, maxArgs int, elems, binsToTry [][]byte, binType uint8, check func(bins.Outcome)) {
	t.Helper()
	var a bins.Arena
	for range n {
		args := make([][]byte, rng.IntN(maxArgs))
		for i := range args {
			args[i] = elems[rng.IntN(len(elems))]
			if rng.IntN(10) == 0 {
				b := make([]byte, rng.IntN(6))
				for j := range b {
					b[j] = byte(rng.Uint32())
				}
				args[i] = b
			}
		}
		arg := mop(first+rng.IntN(last-first+1), args...)
		if rng.IntN(4) == 0 {
			arg = arg[:rng.IntN(len(arg)+1)]
		}
		bin, typ := binsToTry[rng.IntN(len(binsToTry))], binType
		if bin == nil {
			typ = proto.ParticleNull
		}
		a.Reset()
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic on bin % x, op % x: %v", bin, arg, p)
				}
			}()
			out, err := Apply(&a, rng.IntN(4) != 0, typ, bin, arg)
			if err == nil && check != nil {
				check(out)
			}
		}()
	}
}

// stepCase runs ops in turn on a bin, checking each result, and then the
// bin.
type stepCase struct {
	name string
	bin  []byte // nil: no bin
	ops  []stepCheck
	// final is the bin rendered after the operations; see runSteps for "".
	final string
}

type stepCheck struct {
	arg  []byte
	want string           // the rendered result
	code proto.ResultCode // the error's code, when it fails
}

// runSteps runs each case's operations through step (listStep or mapStep,
// which apply one and render its result). An empty final means no bin is
// left when emptyIsNoBin, and is not checked otherwise.
func runSteps(t *testing.T, step func(*testing.T, *[]byte, []byte) (string, error), emptyIsNoBin bool, cases []stepCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin := c.bin
			for i, op := range c.ops {
				got, err := step(t, &bin, op.arg)
				switch {
				case op.code != 0:
					if err == nil || Code(err) != op.code {
						t.Errorf("op %d: got %q, %v; want error %v", i, got, err, op.code)
					}
				case err != nil:
					t.Errorf("op %d: %v", i, err)
				case got != op.want:
					t.Errorf("op %d: got %s, want %s", i, got, op.want)
				}
			}
			if c.final == "" && !emptyIsNoBin {
				return
			}
			got := ""
			if bin != nil {
				got = render(bin)
			}
			if got != c.final {
				t.Errorf("bin %s, want %s", got, c.final)
			}
		})
	}
}
