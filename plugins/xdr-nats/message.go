package xdrnats

import (
	"encoding/binary"
	"fmt"

	"github.com/skiffdb/skiff/sdk/xdr"
)

// A message holds a group of changes of one origin and one set (its
// subject): groupMarker, the count as a uvarint, then each change as a
// uvarint length and its sdk/xdr encoding. One JetStream message per
// change cost the server and both nodes a publish, a stored message, a
// delivery and an ack each; a group pays them once.
//
// A message whose first byte is the encoding's version instead holds one
// change alone; decodeMessage reads both.
const groupMarker = 0xB5

// Limits of a group.
const (
	groupMax   = 256
	groupBytes = 256 << 10
)

// group returns how many changes from the start of changes go into one
// message: those that share the first's origin and set, within the
// limits.
func group(changes []xdr.Change) int {
	first := &changes[0]
	size := 0
	for n := range changes {
		c := &changes[n]
		size += xdr.EncodedSize(c) + binary.MaxVarintLen32
		if n > 0 && (n == groupMax || size > groupBytes || c.Origin != first.Origin || c.Set != first.Set ||
			c.Kind == xdr.Truncate || first.Kind == xdr.Truncate) {
			return n
		}
	}
	return len(changes)
}

// appendGroup appends the message holding changes.
func appendGroup(dst []byte, changes []xdr.Change) []byte {
	dst = append(dst, groupMarker)
	dst = binary.AppendUvarint(dst, uint64(len(changes)))
	for i := range changes {
		dst = binary.AppendUvarint(dst, uint64(xdr.EncodedSize(&changes[i])))
		dst = xdr.AppendChange(dst, &changes[i])
	}
	return dst
}

// decodeMessage appends the changes of a message to dst; their slices
// alias data.
func decodeMessage(dst []xdr.Change, data []byte) ([]xdr.Change, error) {
	if len(data) == 0 || data[0] != groupMarker {
		c, err := xdr.DecodeChange(data)
		if err != nil {
			return dst, err
		}
		return append(dst, c), nil
	}
	n, k := binary.Uvarint(data[1:])
	if k <= 0 || n > uint64(len(data)) {
		return dst, fmt.Errorf("%w: group count", xdr.ErrMalformed)
	}
	data = data[1+k:]
	for i := range n {
		size, k := binary.Uvarint(data)
		if k <= 0 || size > uint64(len(data)-k) {
			return dst, fmt.Errorf("%w: change %d of %d: length", xdr.ErrMalformed, i, n)
		}
		c, err := xdr.DecodeChange(data[k : k+int(size)])
		if err != nil {
			return dst, fmt.Errorf("change %d of %d: %w", i, n, err)
		}
		dst = append(dst, c)
		data = data[k+int(size):]
	}
	if len(data) > 0 {
		return dst, fmt.Errorf("%w: %d bytes after the group", xdr.ErrMalformed, len(data))
	}
	return dst, nil
}
