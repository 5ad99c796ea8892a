package cdt

import (
	"encoding/binary"
	"math"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/msgpack"
)

// addNumber returns old + delta (old - delta when negate) in the arena.
// The sum keeps old's type, integer or float; with no old it takes
// delta's. A value or a delta that is not a number is a parameter error,
// as it is on an Aerospike server.
func addNumber(a *bins.Arena, old, delta []byte, negate bool) ([]byte, error) {
	var d, x msgpack.Head
	if !d.Parse(delta) || !isNumber(d.Type) {
		return nil, errParam
	}
	if old == nil {
		// A missing value is a zero of the delta's type.
		x = msgpack.Head{Type: d.Type}
	} else if !x.Parse(old) || !isNumber(x.Type) {
		return nil, errParam
	}
	if x.Type == msgpack.Double {
		dv := numFloat(&d)
		if negate {
			dv = -dv
		}
		b := append(a.Alloc(9)[:0], 0xcb)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x.Float()+dv)), nil
	}
	dv := d.Int()
	if d.Type == msgpack.Double {
		dv = int64(d.Float())
	}
	if negate {
		dv = -dv
	}
	return msgpack.AppendInt(a.Alloc(9)[:0], x.Int()+dv), nil
}

// isNumber reports whether t is an integer or a double.
func isNumber(t msgpack.Type) bool {
	return t == msgpack.Int || t == msgpack.NegInt || t == msgpack.Double
}

// numFloat reads a number head as a float.
func numFloat(h *msgpack.Head) float64 {
	if h.Type == msgpack.Double {
		return h.Float()
	}
	return float64(h.Int())
}
