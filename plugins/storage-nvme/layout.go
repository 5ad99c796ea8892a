package nvme

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/skiffdb/skiff/sdk/storage/devrecord"
)

// The on-device layout. All integers are little-endian.
//
//	device:  | header region (write-block-size bytes) | block 0 | block 1 | ... |
//	header region: device header in its first 4 KiB, zeros after
//	block:   | block header (64 B) | record | record | ... | zeros or stale bytes |
//	record:  see package devrecord, which the node reads too
//
// Every checksum is CRC-32C (Castagnoli). Block and record header checksums
// are seeded from the device set's instance id (seedOf), so that blocks and
// records left on a device by an earlier, reformatted instance never
// verify.
const (
	// pageSize is the unit of direct I/O: offsets, lengths and buffer
	// addresses of every read and write are multiples of it.
	pageSize = 4096

	formatVersion = 1

	deviceHeaderSize = pageSize
	blockHeaderSize  = 64
	// maxNamespaceLen bounds the namespace name kept in the device header.
	maxNamespaceLen = 255
)

var (
	deviceMagic = [8]byte{'S', 'K', 'I', 'F', 'F', 'D', 'E', 'V'}
	blockMagic  = uint32(0x4b424b53) // "SKBK"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
//	3584   the clean-stop mark, in the page's last 512-byte sector and
//	       outside its checksum (zeros when there is none):
//	3584  8  magic "SKCLEAN1"
//	3592  8  the id of the index snapshot the backend wrote as it stopped
//	3600  2  the device's place among the snapshot's devices
//	3602  4  CRC-32C of bytes 3584..3602
//	3616   the region mark, in the same sector (zeros when there is none):
//	3616  8  magic "SKREGON1"
//	3624  8  the epoch of the index the backend keeps in its region
//	3632  2  the device's place among the region's devices
//	3634  4  CRC-32C of bytes 3616..3634
//
// The clean-stop mark is set when a backend stops cleanly and cleared
// before a start writes anything (snapshot.go); the region mark is set, to
// the epoch of the region the start keeps its index in (resume.go), or
// cleared, at the same time. A sector is the device's unit of atomic
// writes, and rewriting the header page leaves its other sectors as they
// were byte for byte, so a write of the page cut short cannot damage the
// header: at worst the mark does not verify, which means there is none.
type deviceHeader struct {
	version    uint32
	wbs        uint32
	index      uint16
	count      uint16
	instance   uint64
	formatted  int64
	namespace  string
	crcCorrupt bool
	clean      cleanMark
	region     regionMark
}

// regionMark ties a device to the region holding the index of the backend
// that last started on it; the zero mark means none.
type regionMark struct {
	epoch uint64
	place uint16
}

// cleanMark ties a device to the index snapshot written when its backend
// last stopped; the zero mark means none.
type cleanMark struct {
	snapshot uint64
	place    uint16
}

const markOff = deviceHeaderSize - 512

var markMagic = [8]byte{'S', 'K', 'C', 'L', 'E', 'A', 'N', '1'}

const regionMarkOff = markOff + 32

var regionMagic = [8]byte{'S', 'K', 'R', 'E', 'G', 'O', 'N', '1'}

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
	if h.clean != (cleanMark{}) {
		putMark(dst[markOff:], markMagic, h.clean.snapshot, h.clean.place)
	}
	if h.region != (regionMark{}) {
		putMark(dst[regionMarkOff:], regionMagic, h.region.epoch, h.region.place)
	}
}

// putMark writes a mark to m: magic, id, place and their checksum.
func putMark(m []byte, magic [8]byte, id uint64, place uint16) {
	copy(m, magic[:])
	binary.LittleEndian.PutUint64(m[8:], id)
	binary.LittleEndian.PutUint16(m[16:], place)
	binary.LittleEndian.PutUint32(m[18:], crc32.Checksum(m[:18], castagnoli))
}

// readMark reads the mark putMark wrote to m with magic; ok is false when
// there is none, or it does not verify.
func readMark(m []byte, magic [8]byte) (id uint64, place uint16, ok bool) {
	if [8]byte(m[:8]) != magic || crc32.Checksum(m[:18], castagnoli) != binary.LittleEndian.Uint32(m[18:]) {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(m[8:]), binary.LittleEndian.Uint16(m[16:]), true
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
	clear(page[markOff:])
	h.crcCorrupt = crc32.Checksum(page[:], castagnoli) != want
	h.version = binary.LittleEndian.Uint32(src[8:])
	h.wbs = binary.LittleEndian.Uint32(src[16:])
	h.index = binary.LittleEndian.Uint16(src[20:])
	h.count = binary.LittleEndian.Uint16(src[22:])
	h.instance = binary.LittleEndian.Uint64(src[24:])
	h.formatted = int64(binary.LittleEndian.Uint64(src[32:]))
	h.namespace = string(src[41 : 41+int(src[40])])
	if id, place, ok := readMark(src[markOff:], markMagic); ok {
		h.clean = cleanMark{snapshot: id, place: place}
	}
	if id, place, ok := readMark(src[regionMarkOff:], regionMagic); ok {
		h.region = regionMark{epoch: id, place: place}
	}
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
func walkBlock(blk []byte, seed uint32, seq uint64, fn func(off int, h *devrecord.Header, rec []byte) (intact bool)) blockWalk {
	var w blockWalk
	pending := 0 // damage seen since the last valid record
	gap := false
	zeroEnd := 0 // blk[off:zeroEnd] is all zeros
	for off := blockHeaderSize; off+devrecord.HeaderSize <= len(blk); {
		h, ok := devrecord.Decode(blk[off:], seed)
		if !ok || h.BSeq != seq {
			if !gap {
				if zeroEnd < off+devrecord.HeaderSize {
					zeroEnd = off + zeroPrefix(blk[off:])
				}
				if zeroEnd < off+devrecord.HeaderSize {
					gap = true
					pending++
				} else {
					// An unused tail: every offset whose header would
					// lie in the zeros is skipped at once, not tried.
					off = max(off+devrecord.Align, devrecord.Padded(zeroEnd-devrecord.HeaderSize+1))
					continue
				}
			}
			off += devrecord.Align
			continue
		}
		gap = false
		intact := fn(off, &h, blk[off:off+int(h.Length)])
		off += devrecord.Padded(int(h.Length))
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
