package udf

import (
	"errors"
	"fmt"
)

// Errors of the host's record calls (abi.md, "Imports"). Record methods
// return them wrapped with the operation and bin name; test with errors.Is.
var (
	// ErrAbsent: no such bin, or no key stored (code -1).
	ErrAbsent = errors.New("absent")
	// ErrInvalid: a bad bin name (empty or over 15 bytes), a value the
	// SDK cannot encode or decode, or a bad TTL (code -2).
	ErrInvalid = errors.New("invalid argument")
	// ErrNotPermitted: the call may not do this: change the record in a
	// read-only aggregation stage (filter, map) (code -3).
	ErrNotPermitted = errors.New("not permitted here")
	// ErrLimit: too many bins, or a value over the record size limit
	// (code -4).
	ErrLimit = errors.New("limit exceeded")
)

// codeError returns the error for a negative host result code.
func codeError(code int32) error {
	switch code {
	case -1:
		return ErrAbsent
	case -2:
		return ErrInvalid
	case -3:
		return ErrNotPermitted
	case -4:
		return ErrLimit
	}
	return fmt.Errorf("host error code %d", code)
}

// hostFault carries an error out of a Record method that has no error
// result (Get, Key, BinNames...) by panicking; the dispatcher reports it
// as the call's failure without calling it a panic.
type hostFault struct{ err error }

func fault(format string, args ...any) {
	panic(hostFault{fmt.Errorf(format, args...)})
}
