package nvme

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/skiffdb/skiff/sdk/storage"
)

// The on-device layout. All integers are little-endian.
//
//	device:  | header region (write-block-size bytes) | block 0 | block 1 | ... |
//	header region: device header in its first 4 KiB, zeros after
//	block:   | block header (64 B) | record | record | ... | zeros or stale bytes |
//	record:  | record header (76 B) | set name | key | bins | pad to 8 |
//
// Every checksum is CRC-32C (Castagnoli). Block and record header checksums
// are seeded with the device set's instance id, so that blocks and records
// left on a device by an earlier, reformatted instance never verify.
const (
	// pageSize is the unit of direct I/O: offsets, lengths and buffer
	// addresses of every read and write are multiples of it.
	pageSize = 4096

	formatVersion = 1

	deviceHeaderSize = pageSize
	blockHeaderSize  = 64
	recHeaderSize    = 76
	recAlign         = 8

	// tombstoneBodySize is a tombstone's body: the block sequence below
	// which older versions of the record may still lie on the devices.
	tombstoneBodySize = 8

	// maxNamespaceLen bounds the namespace name kept in the device header.
	maxNamespaceLen = 255
)

var (
	deviceMagic = [8]byte{'S', 'K', 'I', 'F', 'F', 'D', 'E', 'V'}
	blockMagic  = uint32(0x4b424b53) // "SKBK"
	recMagic    = uint16(0x4b53)     // "SK"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record kinds.
const (
	kindRecord    = 1
	kindTombstone = 2
)

// padded returns n rounded up to the record alignment.
func padded(n int) int { return (n + recAlign - 1) &^ (recAlign - 1) }

// alignDown and alignUp round to the direct-I/O page.
func alignDown(n int64) int64 { return n &^ (pageSize - 1) }
func alignUp(n int64) int64   { return (n + pageSize - 1) &^ (pageSize - 1) }

// deviceHeader is the first 4 KiB of a device or file:
//
//	0   8  magic "SKIFFDEV"
//	8   4  format version
//	12  4  CRC-32C of the 4 KiB with this field zero
//	16  4  write-block-size
//	20  2  device index (its place in the configured list when formatted)
//	22  2  device count when formatted
//	24  8  instance id, random, shared by the devices of one namespace
//	32  8  formatted at, Unix nanoseconds
//	40  1  namespace name length, then the name
type deviceHeader struct {
	version    uint32
	wbs        uint32
	index      uint16
	count      uint16
	instance   uint64
	formatted  int64
	namespace  string
	crcCorrupt bool
}

func (h *deviceHeader) encode(dst []byte) {
	clear(dst[:deviceHeaderSize])
	copy(dst, deviceMagic[:])
	binary.LittleEndian.PutUint32(dst[8:], h.version)
	binary.LittleEndian.PutUint32(dst[16:], h.wbs)
	binary.LittleEndian.PutUint16(dst[20:], h.index)
	binary.LittleEndian.PutUint16(dst[22:], h.count)
	binary.LittleEndian.PutUint64(dst[24:], h.instance)
	binary.LittleEndian.PutUint64(dst[32:], uint64(h.formatted))
	dst[40] = byte(len(h.namespace))
	copy(dst[41:], h.namespace)
	binary.LittleEndian.PutUint32(dst[12:], crc32.Checksum(dst[:deviceHeaderSize], castagnoli))
}

// decodeDeviceHeader reads a device header. ok is false when src does not
// start with the magic: the device was never formatted by Skiff. A header
// with the magic and a bad checksum is returned with crcCorrupt set.
func decodeDeviceHeader(src []byte) (h deviceHeader, ok bool) {
	if len(src) < deviceHeaderSize || [8]byte(src[:8]) != deviceMagic {
		return h, false
	}
	var page [deviceHeaderSize]byte
	copy(page[:], src)
	want := binary.LittleEndian.Uint32(page[12:])
	binary.LittleEndian.PutUint32(page[12:], 0)
	h.crcCorrupt = crc32.Checksum(page[:], castagnoli) != want
	h.version = binary.LittleEndian.Uint32(src[8:])
	h.wbs = binary.LittleEndian.Uint32(src[16:])
	h.index = binary.LittleEndian.Uint16(src[20:])
	h.count = binary.LittleEndian.Uint16(src[22:])
	h.instance = binary.LittleEndian.Uint64(src[24:])
	h.formatted = int64(binary.LittleEndian.Uint64(src[32:]))
	h.namespace = string(src[41 : 41+int(src[40])])
	return h, true
}

// seedOf is the CRC seed of an instance's block and record headers.
func seedOf(instance uint64) uint32 { return uint32(instance) ^ uint32(instance>>32) }

// blockHeader starts every written block:
//
//	0   4  magic "SKBK"
//	4   4  CRC-32C (instance-seeded) of bytes 8..64
//	8   8  block sequence: a global counter, new each time a block is reused
//	16  8  instance id
//	24  4  write-block-size
//	28  4  device index
//	32..64 reserved, zero
type blockHeader struct {
	seq      uint64
	instance uint64
	wbs      uint32
	device   uint32
}

func (h *blockHeader) encode(dst []byte, seed uint32) {
	clear(dst[:blockHeaderSize])
	binary.LittleEndian.PutUint32(dst[0:], blockMagic)
	binary.LittleEndian.PutUint64(dst[8:], h.seq)
	binary.LittleEndian.PutUint64(dst[16:], h.instance)
	binary.LittleEndian.PutUint32(dst[24:], h.wbs)
	binary.LittleEndian.PutUint32(dst[28:], h.device)
	binary.LittleEndian.PutUint32(dst[4:], crc32.Update(seed, castagnoli, dst[8:blockHeaderSize]))
}

// decodeBlockHeader returns the header at the start of src if it verifies.
func decodeBlockHeader(src []byte, seed uint32) (h blockHeader, ok bool) {
	if len(src) < blockHeaderSize || binary.LittleEndian.Uint32(src) != blockMagic {
		return h, false
	}
	if crc32.Update(seed, castagnoli, src[8:blockHeaderSize]) != binary.LittleEndian.Uint32(src[4:]) {
		return h, false
	}
	h.seq = binary.LittleEndian.Uint64(src[8:])
	h.instance = binary.LittleEndian.Uint64(src[16:])
	h.wbs = binary.LittleEndian.Uint32(src[24:])
	h.device = binary.LittleEndian.Uint32(src[28:])
	return h, true
}

// recHeader is a record's self-description:
//
//	0   2  magic "SK"
//	2   1  kind: 1 record, 2 tombstone
//	3   1  reserved, zero
//	4   4  length: header and body, without padding
//	8   4  header CRC-32C (instance-seeded) over bytes 12..76 then 0..8
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
// The body follows: set name, key, bins (a tombstone's body is 8 bytes:
// the block sequence that older versions of the record lie below).
type recHeader struct {
	kind    uint8
	length  uint32
	bodyCRC uint32
	bseq    uint64
	wseq    uint64
	digest  storage.Digest
	gen     uint32
	void    uint32
	lut     uint64
	keyLen  uint32
	setLen  uint16
}

// bodyLen is the length of the record's body.
func (h *recHeader) bodyLen() int { return int(h.length) - recHeaderSize }

// binsLen is the length of a record's bins.
func (h *recHeader) binsLen() int { return h.bodyLen() - int(h.setLen) - int(h.keyLen) }

// encodedSize is the space a record with this body length takes in a block.
func encodedSize(bodyLen int) int { return padded(recHeaderSize + bodyLen) }

// encodeRecord writes a record with the given header fields (kind, bseq,
// wseq, digest, gen, void, lut) and body into dst, which must hold
// encodedSize of the body, and returns that size. Padding bytes are zeroed.
func encodeRecord(dst []byte, seed uint32, h *recHeader, set string, key, bins []byte) int {
	body := len(set) + len(key) + len(bins)
	n := encodedSize(body)
	b := dst[recHeaderSize : recHeaderSize+body]
	copy(b, set)
	copy(b[len(set):], key)
	copy(b[len(set)+len(key):], bins)
	clear(dst[recHeaderSize+body : n])
	h.length = uint32(recHeaderSize + body)
	h.keyLen = uint32(len(key))
	h.setLen = uint16(len(set))
	h.bodyCRC = crc32.Checksum(b, castagnoli)
	h.put(dst, seed)
	return n
}

// put writes the header into dst[:recHeaderSize], computing its checksum.
func (h *recHeader) put(dst []byte, seed uint32) {
	binary.LittleEndian.PutUint16(dst[0:], recMagic)
	dst[2] = h.kind
	dst[3] = 0
	binary.LittleEndian.PutUint32(dst[4:], h.length)
	binary.LittleEndian.PutUint32(dst[12:], h.bodyCRC)
	binary.LittleEndian.PutUint64(dst[16:], h.bseq)
	binary.LittleEndian.PutUint64(dst[24:], h.wseq)
	copy(dst[32:52], h.digest[:])
	binary.LittleEndian.PutUint32(dst[52:], h.gen)
	binary.LittleEndian.PutUint32(dst[56:], h.void)
	binary.LittleEndian.PutUint64(dst[60:], h.lut)
	binary.LittleEndian.PutUint32(dst[68:], h.keyLen)
	binary.LittleEndian.PutUint16(dst[72:], h.setLen)
	binary.LittleEndian.PutUint16(dst[74:], 0)
	binary.LittleEndian.PutUint32(dst[8:], headerCRC(dst, seed))
}

// rebase rewrites the block sequence of the encoded record in src, which
// is being copied to another block, and its header checksum.
func rebase(rec []byte, seed uint32, bseq uint64) {
	binary.LittleEndian.PutUint64(rec[16:], bseq)
	binary.LittleEndian.PutUint32(rec[8:], headerCRC(rec, seed))
}

func headerCRC(hdr []byte, seed uint32) uint32 {
	c := crc32.Update(seed, castagnoli, hdr[12:recHeaderSize])
	return crc32.Update(c, castagnoli, hdr[0:8])
}

// decodeHeader decodes the record header at the start of src and checks
// its magic, checksum and length against the room left in src. It does
// not check the body: see bodyOK.
func decodeHeader(src []byte, seed uint32) (h recHeader, ok bool) {
	if len(src) < recHeaderSize || binary.LittleEndian.Uint16(src) != recMagic {
		return h, false
	}
	if binary.LittleEndian.Uint32(src[8:]) != headerCRC(src, seed) {
		return h, false
	}
	h.kind = src[2]
	h.length = binary.LittleEndian.Uint32(src[4:])
	h.bodyCRC = binary.LittleEndian.Uint32(src[12:])
	h.bseq = binary.LittleEndian.Uint64(src[16:])
	h.wseq = binary.LittleEndian.Uint64(src[24:])
	h.digest = storage.Digest(src[32:52])
	h.gen = binary.LittleEndian.Uint32(src[52:])
	h.void = binary.LittleEndian.Uint32(src[56:])
	h.lut = binary.LittleEndian.Uint64(src[60:])
	h.keyLen = binary.LittleEndian.Uint32(src[68:])
	h.setLen = binary.LittleEndian.Uint16(src[72:])
	switch {
	case h.length < recHeaderSize || int64(h.length) > int64(len(src)):
		return h, false
	case h.kind == kindRecord && int64(h.setLen)+int64(h.keyLen) > int64(h.bodyLen()):
		return h, false
	case h.kind == kindTombstone && h.bodyLen() != tombstoneBodySize:
		return h, false
	case h.kind != kindRecord && h.kind != kindTombstone:
		return h, false
	}
	return h, true
}

// bodyOK checks the body of the record whose header h was decoded from
// the start of src.
func bodyOK(src []byte, h *recHeader) bool {
	return crc32.Checksum(src[recHeaderSize:h.length], castagnoli) == h.bodyCRC
}

// recordParts returns the set name, key and bins of the verified record at
// the start of src.
func recordParts(src []byte, h *recHeader) (set, key, bins []byte) {
	body := src[recHeaderSize:h.length]
	set = body[:h.setLen]
	key = body[h.setLen : int(h.setLen)+int(h.keyLen)]
	bins = body[int(h.setLen)+int(h.keyLen):]
	return set, key, bins
}

// tombstoneBelow returns the block sequence stored in a tombstone's body.
func tombstoneBelow(src []byte) uint64 {
	return binary.LittleEndian.Uint64(src[recHeaderSize:])
}

// blockWalk reports what walkBlock found besides intact records.
type blockWalk struct {
	// corrupt counts damage inside the written part of a block: records
	// whose header verified and body did not, and runs of unreadable bytes,
	// when a record follows them that verified or was not checked.
	corrupt int
	// torn counts a record whose header verified and body did not at the
	// end of the block's records: a write cut short by a crash. The bytes
	// after the last valid record that do not verify at all are the
	// block's unwritten tail, and are not counted.
	torn int
}

// walkBlock calls fn for each record of the block incarnation seq in blk (a
// whole block as read from the device or a write buffer) whose header
// verifies, with its offset, decoded header and encoded bytes. fn checks
// the body (bodyOK) of a record it uses and reports false if it does not
// verify; one it ignores it need not check, which spares a defragmenter
// the checksums of the dead records it skips. Records of earlier
// incarnations of the block (a different block sequence) and bytes that do
// not verify are skipped; after an unreadable stretch the walk
// resynchronises by trying every 8-byte boundary, so that one damaged
// record does not hide the rest of its block.
func walkBlock(blk []byte, seed uint32, seq uint64, fn func(off int, h *recHeader, rec []byte) (intact bool)) blockWalk {
	var w blockWalk
	pending := 0 // damage seen since the last valid record
	gap := false
	zeroEnd := 0 // blk[off:zeroEnd] is all zeros
	for off := blockHeaderSize; off+recHeaderSize <= len(blk); {
		h, ok := decodeHeader(blk[off:], seed)
		if !ok || h.bseq != seq {
			if !gap {
				if zeroEnd < off+recHeaderSize {
					zeroEnd = off + zeroPrefix(blk[off:])
				}
				if zeroEnd < off+recHeaderSize {
					gap = true
					pending++
				} else {
					// An unused tail: every offset whose header would
					// lie in the zeros is skipped at once, not tried.
					off = max(off+recAlign, padded(zeroEnd-recHeaderSize+1))
					continue
				}
			}
			off += recAlign
			continue
		}
		gap = false
		intact := fn(off, &h, blk[off:off+int(h.length)])
		off += padded(int(h.length))
		if !intact {
			pending++
			continue
		}
		w.corrupt += pending
		pending = 0
	}
	if pending > 0 {
		w.torn++
	}
	return w
}

// zeroPrefix returns how many bytes at the start of b are zero.
func zeroPrefix(b []byte) int {
	n := 0
	for n+8 <= len(b) && binary.LittleEndian.Uint64(b[n:]) == 0 {
		n += 8
	}
	for n < len(b) && b[n] == 0 {
		n++
	}
	return n
}
