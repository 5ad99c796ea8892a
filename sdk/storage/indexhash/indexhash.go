// Package indexhash places a record's digest in a backend's index: Home
// gives the slot of an open-addressing hash table where the probe for a
// digest starts. The first-party backends keep one such table per
// partition; a backend that keeps its own may use it too.
package indexhash

import (
	"encoding/binary"
	"math/bits"

	"github.com/skiffdb/skiff/sdk/storage"
)

// Home returns the slot where the probe for d starts in a table of n
// slots whose hashes are keyed by seed.
//
// Digests are RIPEMD-160 outputs and already uniform, but clients choose
// the keys: a random seed for each backend instance keeps them from
// choosing keys whose digests collide. Home hashes bytes 4 to 11 of d:
// bytes 0 and 1 hold the partition id, so they are alike throughout a
// partition's table. A backend that spreads digests by their bytes for
// another purpose (the device backend picks a device by bytes 12 to 15)
// should use bytes from 12 on.
func Home(d *storage.Digest, seed uint64, n int) int {
	h := mix(binary.LittleEndian.Uint64(d[4:12]) ^ seed)
	hi, _ := bits.Mul64(h, uint64(n)) // maps h to [0, n) without a modulo
	return int(hi)
}

// mix is SplitMix64's finalizer.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
