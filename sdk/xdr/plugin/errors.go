package plugin

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skiffdb/skiff/sdk/xdr/plugin/pb"
)

var (
	// ErrUnavailable is the error, wrapped with the binary's path, of every
	// call in flight when the plugin process stops serving, and of every
	// call after: the node starts a new process.
	ErrUnavailable = errors.New("xdr transport plugin unavailable")
	// ErrClosed is the error of every method of a Process once Close was
	// called.
	ErrClosed = errors.New("xdr transport plugin closed")
)

// Errors cross the boundary as a gRPC code and a message, both ways: a
// transport's error to the node, an apply error to the transport. The code
// carries this package's sentinels and the context errors, so that
// errors.Is holds on the other side; any other error arrives as its
// message.

// codeOf is the code that carries err.
func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	case errors.Is(err, ErrUnavailable):
		return codes.Unavailable
	case errors.Is(err, ErrClosed):
		return codes.FailedPrecondition
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return codes.Unknown
}

// errorOf is the error a code and a message carry.
func errorOf(code codes.Code, msg string) error {
	switch code {
	case codes.OK:
		return nil
	case codes.Canceled:
		return wrapAs(msg, context.Canceled)
	case codes.DeadlineExceeded:
		return wrapAs(msg, context.DeadlineExceeded)
	case codes.Unavailable:
		return wrapAs(msg, ErrUnavailable)
	case codes.FailedPrecondition:
		return wrapAs(msg, ErrClosed)
	}
	return errors.New(msg)
}

// wrapAs keeps msg and makes the error match sentinel, without repeating
// the sentinel's text when msg already is it.
func wrapAs(msg string, sentinel error) error {
	if msg == sentinel.Error() || msg == "" {
		return sentinel
	}
	return fmt.Errorf("%s: %w", msg, sentinel)
}

// toPB is err for a stream message: nil for nil.
func toPB(err error) *pb.Error {
	if err == nil {
		return nil
	}
	return &pb.Error{Code: uint32(codeOf(err)), Message: err.Error()}
}

// fromPB is the error of a stream message.
func fromPB(e *pb.Error) error {
	if e == nil {
		return nil
	}
	code := codes.Code(e.Code)
	if code == codes.OK {
		code = codes.Unknown
	}
	return errorOf(code, e.Message)
}

// toStatus is err as a gRPC handler's error.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	return status.Error(codeOf(err), err.Error())
}

// fromStatus is the error of a call's gRPC status.
func fromStatus(err error) error {
	s := status.Convert(err)
	return errorOf(s.Code(), s.Message())
}
