package expr

import (
	"errors"
	"fmt"

	"github.com/skiffdb/skiff/core/proto"
)

// Sentinel errors of Compile and the operation parsers. Errors returned
// wrap one of them; Code maps them to the wire result code.
var (
	// ErrMalformed: the expression does not decode, has the wrong number
	// or types of arguments, or is not boolean where a filter is expected.
	// The server answers PARAMETER_ERROR.
	ErrMalformed = errors.New("expr: malformed expression")
	// ErrUnsupported: a well-formed expression uses an operation this node
	// does not evaluate (list, map, bit and HLL calls). The node answers
	// UNSUPPORTED_FEATURE.
	ErrUnsupported = errors.New("expr: unsupported expression operation")
)

// Code returns the result code for an error of this package:
// UnsupportedFeature for ErrUnsupported, ParameterError otherwise, OK for nil.
func Code(err error) proto.ResultCode {
	switch {
	case err == nil:
		return proto.OK
	case errors.Is(err, ErrUnsupported):
		return proto.UnsupportedFeature
	default:
		return proto.ParameterError
	}
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}
