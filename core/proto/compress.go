package proto

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// Decompress inflates the body of a TypeMsgCompressed frame: an 8-byte
// uncompressed size followed by a zlib stream holding a whole TypeMsg frame.
// It refuses sizes above limit before inflating, so a small hostile frame
// cannot expand into unbounded memory. The frame is appended to dst.
func Decompress(dst, body []byte, limit int64) ([]byte, error) {
	if len(body) < 8 {
		return dst, fmt.Errorf("compressed frame: %w", ErrTruncated)
	}
	size := binary.BigEndian.Uint64(body)
	if size < FrameHeaderSize+MsgHeaderSize || size > uint64(limit)+FrameHeaderSize {
		return dst, fmt.Errorf("compressed frame of %d bytes: %w", size, ErrTooBig)
	}
	zr, err := zlib.NewReader(bytes.NewReader(body[8:]))
	if err != nil {
		return dst, fmt.Errorf("compressed frame: %w: %v", ErrMalformed, err)
	}
	start := len(dst)
	dst = slices.Grow(dst, int(size))[:start+int(size)]
	if _, err := io.ReadFull(zr, dst[start:]); err != nil {
		return dst[:start], fmt.Errorf("compressed frame: %w: %v", ErrMalformed, err)
	}
	return dst, nil
}
