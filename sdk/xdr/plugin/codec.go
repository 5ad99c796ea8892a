package plugin

import (
	"fmt"

	"github.com/skiffdb/skiff/sdk/xdr"
)

// encodeBatch encodes changes with xdr.AppendChange into one buffer, one
// slice of it per change, for a batch message: two allocations a batch.
func encodeBatch(changes []xdr.Change) [][]byte {
	size := 0
	for i := range changes {
		size += xdr.EncodedSize(&changes[i])
	}
	buf := make([]byte, 0, size)
	out := make([][]byte, len(changes))
	for i := range changes {
		start := len(buf)
		buf = xdr.AppendChange(buf, &changes[i])
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}

// decodeBatch decodes a batch message's changes. They may share memory
// with enc, which a received message owns.
func decodeBatch(enc [][]byte) ([]xdr.Change, error) {
	changes := make([]xdr.Change, len(enc))
	for i, b := range enc {
		c, err := xdr.DecodeChange(b)
		if err != nil {
			return nil, fmt.Errorf("change %d of %d of the batch: %w", i+1, len(enc), err)
		}
		changes[i] = c
	}
	return changes, nil
}
