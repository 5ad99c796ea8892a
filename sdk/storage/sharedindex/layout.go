// Package sharedindex is the layout in which a storage backend keeps its
// index and records in memory the node maps read-only, and the node's
// reader of it. With it the node answers Get and GetMeta of a plugin
// process's records itself, without a round trip to the plugin: reads, and
// the read that begins each write, cost no system call and wake nothing.
//
// # Layout
//
// A Region is one mapping of a memory file (a memfd), all offsets in bytes
// from its start, all integers little-endian:
//
//   - a header page: magic, version, the region's size, the index hash
//     seed, the slab directory's length, where the data area starts, the
//     region's kind (below) and, for a device region, where its records
//     are; for a backend resuming the region (Adopt), the format of the
//     backend's slabs and the bound of the slab ids in use, or a device
//     region's resume area; and one counter the node writes, of the
//     records it read from the devices;
//   - for each of the storage.Partitions partitions, 32 bytes: a sequence
//     word, the offset and length (in entries) of its index table, and a
//     word the backend writes before each change (BeginWriteOf), which
//     only a backend resuming the region after its writer died reads;
//   - for each set id up to sets.Max, 128 bytes: the name's length (a
//     32-bit word, written after the name), then the name;
//   - the slab directory: for each slab id, 16 bytes, the slab's offset and
//     its slot size;
//   - the data area, where the backend puts its slabs: index tables and
//     record data.
//
// An index table is open addressing with linear probing from
// indexhash.Home, over entries of EntrySize bytes. Their layout depends on
// the region's kind.
//
// KindMemory (the memory backend): digest (20 bytes), set id (2), key flag
// (1), padding (1), generation (4), void time (4), last update (8) and
// location (8): slab id << 32 | slot, 0 for an empty slot. A record's data,
// at its slot, is uvarint(len(key)) uvarint(len(bins)) key bins.
//
// KindDevice (the device backend): digest (20 bytes), set id and flags (2:
// the id in bits 0..11, a stored key bit 14, a tombstone bit 15),
// generation (4), void time (4), last update (8) and location (10, 80 bits:
// file+1 (8) | block (32) | offset/8 (20) | size/8 (20); file+1 = 0 for an
// empty slot). A record is in one of the device files the backend passed
// with the region, at BlocksOff + block × BlockSize + offset, in the layout
// of package devrecord; the reader keeps it only if it verifies and
// matches its entry (digest, generation, void time, last update), so a
// place rewritten since fails and the call goes to the backend. A
// tombstone is no record. Each file's block flags, a 32-bit word per block
// in the data area, say which blocks are in the backend's memory (its write
// buffers and the blocks it keeps after writing them): the backend sets a
// block's flag before the first entry points into a new incarnation of it,
// and clears it once the block is whole on the device and out of its
// memory. The reader leaves a record in a flagged block to the backend,
// which answers from memory, where the device may not have it yet.
package sharedindex

import (
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sets"
)

// Version is the layout's version; a reader refuses any other.
const Version = 2

const magic = 0x7864692d6666696b // "kiff-idx", little-endian

// Header words, as offsets.
const (
	hMagic   = 0
	hVersion = 8
	hSize    = 16
	hSeed    = 24
	hDirLen  = 32
	hDataOff = 40
	hKind    = 48
	// KindDevice only.
	hCRCSeed   = 56
	hBlockSize = 64
	hBlocksOff = 72
	hFiles     = 80
	// hFormat names how the backend uses its slabs, for a backend that
	// resumes a region another process left (Adopt).
	hFormat = 88
	// hSlabIDs is one more than the highest slab id ever published, so
	// that Adopt reads only the part of the directory in use.
	hSlabIDs = 96
	// hClosed is set by a backend that closed: its partitions are left
	// changing for readers, but nothing was changing.
	hClosed = 104
	// hInMemory is 1 when a KindDevice region's files are memory files
	// holding copies of the devices (data-in-memory), which readers map.
	hInMemory = 112
	// hResumeArea is where a KindDevice region's resume area is (see
	// SetResumeArea), 0 for none, and the next word its length.
	hResumeArea = 120
	// For each file, 16 bytes: where its array of block flags is, and its
	// number of blocks.
	hFileTable    = 1024
	fileEntrySize = 16
	maxFiles      = (hDeviceReads - hFileTable) / fileEntrySize

	// hDeviceReads counts the records the node read from the devices:
	// the only word a reader writes, on a cache line of its own.
	hDeviceReads = 2048
)

// Kinds of region.
const (
	KindMemory = 1
	KindDevice = 2
)

const (
	pageSize = 4096

	partsOff = pageSize
	partSize = 32
	// Offsets within a partition's 32 bytes.
	pSeq      = 0
	pTableOff = 8
	pTableLen = 16
	pPending  = 24

	setsOff     = partsOff + storage.Partitions*partSize
	setNameSize = 128

	dirOff       = setsOff + (sets.Max+1)*setNameSize
	dirEntrySize = 16

	// dataAlign aligns the data area's start.
	dataAlign = 64 << 10
)

// EntrySize is the size of an index entry; the offsets below locate its
// fields.
const EntrySize = 48

const (
	eDigest     = 0
	eSet        = 20
	eHasKey     = 22
	eGeneration = 24
	eVoidTime   = 28
	eLastUpdate = 32
	eLoc        = 40
)

// Offsets and flags of a KindDevice entry's fields.
const (
	dSet        = 20
	dGeneration = 22
	dVoidTime   = 26
	dLastUpdate = 30
	dLoc        = 38

	DeviceSetMask   = 0x0fff
	DeviceHasKey    = 0x4000
	DeviceTombstone = 0x8000
)

// Offsets of a KindDevice entry's fields, for a backend's test that its
// entries are laid out so.
const (
	DeviceEntrySet        = dSet
	DeviceEntryGeneration = dGeneration
	DeviceEntryVoidTime   = dVoidTime
	DeviceEntryLastUpdate = dLastUpdate
	DeviceEntryLoc        = dLoc
)

// Offsets of a KindMemory entry's fields, for a backend's test that its
// entries are laid out so.
const (
	EntryDigest     = eDigest
	EntrySet        = eSet
	EntryHasKey     = eHasKey
	EntryGeneration = eGeneration
	EntryVoidTime   = eVoidTime
	EntryLastUpdate = eLastUpdate
	EntryLoc        = eLoc
)

// DataOff returns where the data area of a region whose slab directory has
// dirLen entries starts.
func DataOff(dirLen int) int {
	return roundUp(dirOff+dirLen*dirEntrySize, dataAlign)
}

func roundUp(n, m int) int { return (n + m - 1) &^ (m - 1) }
