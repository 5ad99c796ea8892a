package devrecord

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Codec is how a record's bins are compressed: byte 3 of its header. The
// set name and key are never compressed. Compressed bins are
//
//	| bins length, uncompressed (4 B) | the codec's block |
//
// and the body checksum covers them as stored.
type Codec uint8

// The codecs, Aerospike's compression settings.
const (
	CodecNone   Codec = 0
	CodecLZ4    Codec = 1
	CodecSnappy Codec = 2
	CodecZstd   Codec = 3
)

// ParseCodec reads a compression setting: none, lz4, snappy or zstd.
func ParseCodec(s string) (Codec, error) {
	for c, name := range codecNames {
		if name == s {
			return Codec(c), nil
		}
	}
	return 0, fmt.Errorf("compression %q: want none, lz4, snappy or zstd", s)
}

var codecNames = [...]string{"none", "lz4", "snappy", "zstd"}

func (c Codec) String() string {
	if int(c) < len(codecNames) {
		return codecNames[c]
	}
	return fmt.Sprintf("codec(%d)", c)
}

// MinCompress is the fewest bytes of bins worth compressing: below it, the
// 4-byte length and the codec's framing take what compression saves.
const MinCompress = 64

// Compress appends bins compressed with c at level (zstd's, 1 to 9; 0 for
// the default) to dst and returns the result, or dst and false when that
// saves nothing.
func Compress(c Codec, level int, dst, bins []byte) ([]byte, bool) {
	if len(bins) < MinCompress || len(bins) > 1<<31 {
		return dst, false
	}
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(bins)))
	switch c {
	case CodecLZ4:
		dst = slices.Grow(dst, lz4.CompressBlockBound(len(bins)))
		cp := lz4Compressors.Get().(*lz4.Compressor)
		n, err := cp.CompressBlock(bins, dst[start+4:cap(dst)])
		lz4Compressors.Put(cp)
		if err != nil || n == 0 {
			return dst[:start], false
		}
		dst = dst[:start+4+n]
	case CodecSnappy:
		dst = slices.Grow(dst, snappy.MaxEncodedLen(len(bins)))
		n := len(snappy.Encode(dst[start+4:cap(dst)], bins))
		dst = dst[:start+4+n]
	case CodecZstd:
		dst = zstdEncoder(level).EncodeAll(bins, dst)
	default:
		return dst[:start], false
	}
	if len(dst)-start >= len(bins) {
		return dst[:start], false
	}
	return dst, true
}

// decompress appends the bins that src, compressed with c, holds to dst.
func decompress(c Codec, dst, src []byte) ([]byte, bool) {
	if len(src) < 4 {
		return dst, false
	}
	n := int(binary.LittleEndian.Uint32(src))
	src = src[4:]
	start := len(dst)
	dst = slices.Grow(dst, n)
	out := dst[start : start+n]
	switch c {
	case CodecLZ4:
		if m, err := lz4.UncompressBlock(src, out); err != nil || m != n {
			return dst[:start], false
		}
	case CodecSnappy:
		if m, err := snappy.DecodedLen(src); err != nil || m != n {
			return dst[:start], false
		}
		if _, err := snappy.Decode(out, src); err != nil {
			return dst[:start], false
		}
	case CodecZstd:
		got, err := zstdDecoder.DecodeAll(src, out[:0])
		if err != nil || len(got) != n || n > 0 && &got[0] != &out[0] {
			return dst[:start], false
		}
	default:
		return dst[:start], false
	}
	return dst[:start+n], true
}

var lz4Compressors = sync.Pool{New: func() any { return new(lz4.Compressor) }}

// zstd's encoders and decoder are safe for concurrent use: one encoder per
// level, made when first needed.
var (
	zstdMu       sync.Mutex
	zstdEncoders [10]*zstd.Encoder
	zstdDecoder  *zstd.Decoder
)

func init() {
	var err error
	// No options that can fail: the error is a programming error.
	if zstdDecoder, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0)); err != nil {
		panic(err)
	}
}

// zstdEncoder returns the encoder for Aerospike's compression-level: 1 is
// the fastest, 9 the smallest; 0 is the default (zstd's level 3, as
// Aerospike's default 9 costs too much CPU on the write path of a cache).
func zstdEncoder(level int) *zstd.Encoder {
	level = min(max(level, 0), 9)
	zstdMu.Lock()
	defer zstdMu.Unlock()
	if e := zstdEncoders[level]; e != nil {
		return e
	}
	l := zstd.SpeedDefault
	switch {
	case level == 1:
		l = zstd.SpeedFastest
	case level >= 7:
		l = zstd.SpeedBestCompression
	case level >= 4:
		l = zstd.SpeedBetterCompression
	}
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(l), zstd.WithLowerEncoderMem(true))
	if err != nil {
		panic(err) // constant options
	}
	zstdEncoders[level] = e
	return e
}
