package memory

import "encoding/binary"

// A record's data, in its slot, is
//
//	uvarint(len(key)) uvarint(len(bins)) key bins
//
// The lengths live in the slot rather than in the index entry: only Get and
// data scans need them, and most records spend two bytes on them.

// blobSize returns the bytes the data of a record with these parts takes.
func blobSize(keyLen, binsLen int) int {
	return uvarintLen(keyLen) + uvarintLen(binsLen) + keyLen + binsLen
}

// writeBlob encodes key and bins into slot, which holds blobSize bytes.
func writeBlob(slot, key, bins []byte) {
	n := binary.PutUvarint(slot, uint64(len(key)))
	n += binary.PutUvarint(slot[n:], uint64(len(bins)))
	n += copy(slot[n:], key)
	copy(slot[n:], bins)
}

// readBlob returns the key and bins encoded in slot. They alias slot.
func readBlob(slot []byte) (key, bins []byte) {
	keyLen, n := binary.Uvarint(slot)
	binsLen, m := binary.Uvarint(slot[n:])
	start := n + m
	mid := start + int(keyLen)
	end := mid + int(binsLen)
	return slot[start:mid:mid], slot[mid:end:end]
}

func uvarintLen(n int) int {
	size := 1
	for ; n >= 0x80; n >>= 7 {
		size++
	}
	return size
}
