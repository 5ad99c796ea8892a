package bins

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/skiffdb/skiff/core/proto"
)

// Errors of value operations; the record layer maps them to result codes.
var (
	// ErrBadValue: a value does not match its particle type's encoding.
	ErrBadValue = errors.New("bins: malformed value")
	// ErrBadType: a particle type a bin cannot hold.
	ErrBadType = errors.New("bins: unsupported particle type")
	// ErrTypeMismatch: an operation on a bin of another type.
	ErrTypeMismatch = errors.New("bins: bin type mismatch")
)

// Check reports whether value is a valid value of particle type typ for a
// bin.
func Check(typ uint8, value []byte) error {
	switch typ {
	case proto.ParticleInteger, proto.ParticleFloat:
		if len(value) != 8 {
			return ErrBadValue
		}
	case proto.ParticleBool:
		if len(value) != 1 {
			return ErrBadValue
		}
	case proto.ParticleGeoJSON:
		// flags(1), cell count(2), cells(8 each), then the JSON text.
		if len(value) < 3 || len(value) < 3+8*int(binary.BigEndian.Uint16(value[1:])) {
			return ErrBadValue
		}
	case proto.ParticleString, proto.ParticleBlob, proto.ParticleHLL,
		proto.ParticleMap, proto.ParticleList:
	default:
		return ErrBadType
	}
	return nil
}

// Outcome is what a list, map or bit operation did to its bin.
type Outcome struct {
	// Changed reports that the bin takes Type and Value.
	Changed bool
	Type    uint8
	Value   []byte
	// HasResult reports that the operation answers with ResType and Res,
	// a particle (ParticleNull for a nil result).
	HasResult bool
	ResType   uint8
	Res       []byte
}

// Arena holds values an operation creates (sums, concatenations) for the
// rest of one request. Slices it returns stay valid until Reset, even when
// it grows: a full chunk is left to its users and a new one started.
type Arena struct {
	buf []byte
}

// Reset makes the arena's space reusable. Earlier slices become invalid.
func (a *Arena) Reset() { a.buf = a.buf[:0] }

// Alloc returns n bytes of arena space.
func (a *Arena) Alloc(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(64<<10, n))
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start+n : start+n]
}

// Add combines an add operation's value into a bin's current value: integer
// plus integer, or double plus double. A missing bin (curType
// ParticleNull) takes the operand, whatever its type, as the server's
// does (the client suite adds a string to a new bin and expects success).
func Add(a *Arena, curType uint8, cur []byte, opType uint8, op []byte) (uint8, []byte, error) {
	numeric := opType == proto.ParticleInteger || opType == proto.ParticleFloat
	if numeric && len(op) != 8 {
		return 0, nil, ErrBadValue
	}
	if curType == proto.ParticleNull {
		return opType, op, nil
	}
	if !numeric || curType != opType {
		return 0, nil, ErrTypeMismatch
	}
	out := a.Alloc(8)
	x, y := binary.BigEndian.Uint64(cur), binary.BigEndian.Uint64(op)
	if opType == proto.ParticleInteger {
		binary.BigEndian.PutUint64(out, x+y) // wraps, as the server does
	} else {
		binary.BigEndian.PutUint64(out, math.Float64bits(math.Float64frombits(x)+math.Float64frombits(y)))
	}
	return opType, out, nil
}

// Concat appends (or, with prepend, prepends) an operand to a string or
// blob bin. A missing bin takes the operand.
func Concat(a *Arena, curType uint8, cur []byte, opType uint8, op []byte, prepend bool) (uint8, []byte, error) {
	if opType != proto.ParticleString && opType != proto.ParticleBlob {
		return 0, nil, ErrTypeMismatch
	}
	if curType == proto.ParticleNull {
		return opType, op, nil
	}
	if curType != opType {
		return 0, nil, ErrTypeMismatch
	}
	out := a.Alloc(len(cur) + len(op))
	if prepend {
		copy(out[copy(out, op):], cur)
	} else {
		copy(out[copy(out, cur):], op)
	}
	return opType, out, nil
}
