// Package devrecord is the layout of a record as the device backend writes
// it into its blocks. The plugin writes and reads it; the node reads it too,
// when it reads a device's records itself through the shared index (see
// sharedindex), so the layout is a contract between them. All integers are
// little-endian; checksums are CRC-32C (Castagnoli).
//
//	record: | header (76 B) | set name | key | bins | pad to Align |
//
// The header:
//
//	0   2  magic "SK"
//	2   1  kind: 1 record, 2 tombstone
//	3   1  codec of the bins (Codec; compress.go): 0 none
//	4   4  length: header and body, without padding
//	8   4  header CRC-32C (seeded) over bytes 12..76 then 0..8
//	12  4  body CRC-32C (set name, key, bins)
//	16  8  block sequence of the block holding this copy
//	24  8  write sequence: a global counter of writes; the highest wins
//	32  20 digest
//	52  4  generation
//	56  4  void time
//	60  8  last-update time, Unix nanoseconds
//	68  4  key length
//	72  2  set name length
//	74  2  reserved, zero
//
// A tombstone's body is TombstoneBodySize bytes: the block sequence below
// which older versions of the record lie. The header checksum is seeded
// with a value derived from the device set's instance, so that records left
// by an earlier, reformatted instance never verify.
package devrecord

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/skiffdb/skiff/sdk/storage"
)

const (
	// HeaderSize is the size of a record's header.
	HeaderSize = 76
	// Align is the alignment of records in a block, and of their sizes.
	Align = 8
	// TombstoneBodySize is the size of a tombstone's body.
	TombstoneBodySize = 8
)

// Record kinds.
const (
	KindRecord    = 1
	KindTombstone = 2
)

const magic = uint16(0x4b53) // "SK"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is a record's self-description.
type Header struct {
	Kind    uint8
	Codec   Codec  // how the bins are compressed
	Length  uint32 // header and body, without padding
	BodyCRC uint32
	BSeq    uint64 // block sequence
	WSeq    uint64 // write sequence
	Digest  storage.Digest
	Gen     uint32
	Void    uint32
	LUT     uint64
	KeyLen  uint32
	SetLen  uint16
}

// BodyLen is the length of the record's body.
func (h *Header) BodyLen() int { return int(h.Length) - HeaderSize }

// Padded returns n rounded up to Align.
func Padded(n int) int { return (n + Align - 1) &^ (Align - 1) }

// EncodedSize is the space a record with a body of bodyLen bytes takes in a
// block.
func EncodedSize(bodyLen int) int { return Padded(HeaderSize + bodyLen) }

// Encode writes a record with the header fields Kind, BSeq, WSeq, Digest,
// Gen, Void and LUT of h (it fills in the rest) and the given body into
// dst, which must hold EncodedSize of the body, and returns that size.
// Padding bytes are zeroed.
func Encode(dst []byte, seed uint32, h *Header, set string, key, bins []byte) int {
	body := len(set) + len(key) + len(bins)
	n := EncodedSize(body)
	b := dst[HeaderSize : HeaderSize+body]
	copy(b, set)
	copy(b[len(set):], key)
	copy(b[len(set)+len(key):], bins)
	clear(dst[HeaderSize+body : n])
	h.Length = uint32(HeaderSize + body)
	h.KeyLen = uint32(len(key))
	h.SetLen = uint16(len(set))
	h.BodyCRC = crc32.Checksum(b, castagnoli)
	h.put(dst, seed)
	return n
}

// put writes the header into dst[:HeaderSize], computing its checksum.
func (h *Header) put(dst []byte, seed uint32) {
	binary.LittleEndian.PutUint16(dst[0:], magic)
	dst[2] = h.Kind
	dst[3] = byte(h.Codec)
	binary.LittleEndian.PutUint32(dst[4:], h.Length)
	binary.LittleEndian.PutUint32(dst[12:], h.BodyCRC)
	binary.LittleEndian.PutUint64(dst[16:], h.BSeq)
	binary.LittleEndian.PutUint64(dst[24:], h.WSeq)
	copy(dst[32:52], h.Digest[:])
	binary.LittleEndian.PutUint32(dst[52:], h.Gen)
	binary.LittleEndian.PutUint32(dst[56:], h.Void)
	binary.LittleEndian.PutUint64(dst[60:], h.LUT)
	binary.LittleEndian.PutUint32(dst[68:], h.KeyLen)
	binary.LittleEndian.PutUint16(dst[72:], h.SetLen)
	binary.LittleEndian.PutUint16(dst[74:], 0)
	binary.LittleEndian.PutUint32(dst[8:], headerCRC(dst, seed))
}

// Rebase rewrites the block sequence of the encoded record rec, which is
// being copied to another block, and its header checksum.
func Rebase(rec []byte, seed uint32, bseq uint64) {
	binary.LittleEndian.PutUint64(rec[16:], bseq)
	binary.LittleEndian.PutUint32(rec[8:], headerCRC(rec, seed))
}

func headerCRC(hdr []byte, seed uint32) uint32 {
	c := crc32.Update(seed, castagnoli, hdr[12:HeaderSize])
	return crc32.Update(c, castagnoli, hdr[0:8])
}

// Decode decodes the header at the start of src and checks its magic,
// checksum and length against the room left in src. It does not check the
// body: see BodyOK.
func Decode(src []byte, seed uint32) (h Header, ok bool) {
	if len(src) < HeaderSize || binary.LittleEndian.Uint16(src) != magic {
		return h, false
	}
	if binary.LittleEndian.Uint32(src[8:]) != headerCRC(src, seed) {
		return h, false
	}
	h.Kind = src[2]
	h.Codec = Codec(src[3])
	h.Length = binary.LittleEndian.Uint32(src[4:])
	h.BodyCRC = binary.LittleEndian.Uint32(src[12:])
	h.BSeq = binary.LittleEndian.Uint64(src[16:])
	h.WSeq = binary.LittleEndian.Uint64(src[24:])
	h.Digest = storage.Digest(src[32:52])
	h.Gen = binary.LittleEndian.Uint32(src[52:])
	h.Void = binary.LittleEndian.Uint32(src[56:])
	h.LUT = binary.LittleEndian.Uint64(src[60:])
	h.KeyLen = binary.LittleEndian.Uint32(src[68:])
	h.SetLen = binary.LittleEndian.Uint16(src[72:])
	switch {
	case h.Length < HeaderSize || int64(h.Length) > int64(len(src)):
		return h, false
	case h.Kind == KindRecord && int64(h.SetLen)+int64(h.KeyLen) > int64(h.BodyLen()):
		return h, false
	case h.Kind == KindTombstone && h.BodyLen() != TombstoneBodySize:
		return h, false
	case h.Kind != KindRecord && h.Kind != KindTombstone:
		return h, false
	case h.Codec > CodecZstd || h.Codec != CodecNone && h.Kind != KindRecord:
		return h, false
	}
	return h, true
}

// BodyOK checks the body of the record whose header h was decoded from the
// start of src.
func BodyOK(src []byte, h *Header) bool {
	return crc32.Checksum(src[HeaderSize:h.Length], castagnoli) == h.BodyCRC
}

// Parts returns the set name, key and bins of the verified record at the
// start of src.
func Parts(src []byte, h *Header) (set, key, bins []byte) {
	body := src[HeaderSize:h.Length]
	set = body[:h.SetLen]
	key = body[h.SetLen : int(h.SetLen)+int(h.KeyLen)]
	bins = body[int(h.SetLen)+int(h.KeyLen):]
	return set, key, bins
}

// CopyOut copies the key and bins of the verified record at the start of
// src into buf, growing it if it is too small, and returns it with the
// key's length: the key is out[:keyLen], the bins the rest. Compressed bins
// come out decompressed; ok is false if they do not decompress.
func CopyOut(src []byte, h *Header, buf []byte) (out []byte, keyLen int, ok bool) {
	_, key, bins := Parts(src, h)
	if h.Codec != CodecNone {
		buf = append(buf[:0], key...)
		buf, ok = decompress(h.Codec, buf, bins)
		return buf, len(key), ok
	}
	n := len(key) + len(bins)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	copy(buf, key)
	copy(buf[len(key):], bins)
	return buf, len(key), true
}

// TombstoneBelow returns the block sequence stored in a tombstone's body.
func TombstoneBelow(src []byte) uint64 {
	return binary.LittleEndian.Uint64(src[HeaderSize:])
}
