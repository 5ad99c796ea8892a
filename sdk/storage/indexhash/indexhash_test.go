package indexhash_test

import (
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/indexhash"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

func TestHomeInRange(t *testing.T) {
	for _, n := range []int{1, 2, 7, 8, 1000, 1 << 20} {
		for i := range 1000 {
			d := storagetest.DigestIn(uint16(i), uint64(i))
			if h := indexhash.Home(&d, uint64(i)*0x9e3779b97f4a7c15, n); h < 0 || h >= n {
				t.Fatalf("n=%d: Home = %d, out of range", n, h)
			}
		}
	}
}

// TestHomeSpreadsAPartition checks that the digests of one partition, all
// alike in their first bytes, spread evenly over a table.
func TestHomeSpreadsAPartition(t *testing.T) {
	const slots, perSlot = 256, 400
	for _, seed := range []uint64{0, 1, 0xdeadbeef} {
		var counts [slots]int
		for i := range slots * perSlot {
			d := storagetest.DigestIn(17, uint64(i))
			counts[indexhash.Home(&d, seed, slots)]++
		}
		// Each count is about Binomial(slots*perSlot, 1/slots): mean 400,
		// standard deviation 20. Six deviations either way is far beyond
		// what an even spread strays to.
		for i, c := range counts {
			if c < perSlot-120 || c > perSlot+120 {
				t.Fatalf("seed %#x: slot %d has %d digests, want about %d", seed, i, c, perSlot)
			}
		}
	}
}

// TestSeedChangesHomes checks that a digest's slot depends on the seed, so
// a client cannot aim digests at one slot without knowing it.
func TestSeedChangesHomes(t *testing.T) {
	const n = 1 << 16
	same := 0
	for i := range 1000 {
		d := storagetest.DigestIn(3, uint64(i))
		if indexhash.Home(&d, 1, n) == indexhash.Home(&d, 2, n) {
			same++
		}
	}
	if same > 5 {
		t.Fatalf("%d of 1000 digests keep their slot under another seed", same)
	}
}

// TestHomeReadsBytes4To11 pins which bytes Home hashes: a backend that
// spreads digests by other bytes relies on it.
func TestHomeReadsBytes4To11(t *testing.T) {
	const n = 1 << 20
	base := storagetest.DigestIn(5, 1)
	for i := range len(storage.Digest{}) {
		d := base
		d[i] ^= 0xff
		changed := indexhash.Home(&d, 42, n) != indexhash.Home(&base, 42, n)
		if want := i >= 4 && i < 12; changed != want {
			t.Errorf("flipping byte %d: slot changed %v, want %v", i, changed, want)
		}
	}
}

func BenchmarkHome(b *testing.B) {
	d := storagetest.DigestIn(1, 2)
	n := 0
	for b.Loop() {
		n += indexhash.Home(&d, 42, 1000)
		d[4]++
	}
	_ = n
}
