package udf

import (
	"math"

	"github.com/skiffdb/skiff/core/internal/msgpack"
)

// truthy reports whether a filter's result keeps its record: true, or a
// non-zero number.
func truthy(b []byte) bool {
	var h msgpack.Head
	if !h.Parse(b) {
		return false
	}
	switch h.Type {
	case msgpack.True:
		return true
	case msgpack.Int, msgpack.NegInt:
		return h.U != 0
	case msgpack.Double:
		return h.Float() != 0 && !math.IsNaN(h.Float())
	}
	return false
}
