// Package clientpack gives tests the msgpack the official Aerospike Go
// client packs for values (list items, operation arguments), made by the
// client's own packer. The client exports that packer only through
// expressions: a list expression value is [0x7e (quote), [items...]],
// whose items are packed as they are in a list bin.
package clientpack

import (
	"bytes"
	"encoding/base64"
	"fmt"

	as "github.com/aerospike/aerospike-client-go/v8"
)

// List returns the client's msgpack for the list of vals. It panics if
// the client cannot pack them: a test's own mistake.
func List(vals ...as.Value) []byte {
	s, err := as.ExpListVal(vals...).Base64()
	if err != nil {
		panic(fmt.Sprintf("clientpack: %v", err))
	}
	b, derr := base64.StdEncoding.DecodeString(s)
	if derr != nil {
		panic(fmt.Sprintf("clientpack: %v", derr))
	}
	// [quote, list]: a 2-element array header, then the quote op.
	if !bytes.HasPrefix(b, []byte{0x92, 0x7e}) {
		panic(fmt.Sprintf("clientpack: % x is not a quoted list", b))
	}
	return b[2:]
}

// Value returns the client's msgpack for v: the one item of List(v).
func Value(v as.Value) []byte {
	b := List(v)
	if b[0] != 0x91 {
		panic(fmt.Sprintf("clientpack: % x is not a list of one item", b))
	}
	return b[1:]
}
