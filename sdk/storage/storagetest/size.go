package storagetest

import (
	"github.com/skiffdb/skiff/sdk/storage"
)

// largeSize is the size of the large records, unless Options.MaxRecordSize
// is smaller.
const largeSize = 1 << 20

// largeRecord returns a record whose Size is largeSize, or
// Options.MaxRecordSize if that is smaller.
func (h *harness) largeRecord(seed uint64) storage.Record {
	size := largeSize
	if m := h.opts.MaxRecordSize; m > 0 && m < size {
		size = m
	}
	rec := genRecord(seed, 0)
	rec.Set = ""
	rec.Key = []byte{3, 'b', 'i', 'g'}
	rec.Bins = fill(make([]byte, size-len(rec.Key)), seed)
	return rec
}

func testLarge(h *harness) {
	large := h.largeRecord
	const pid = 700
	a, b, c := DigestIn(pid, 0), DigestIn(pid, 1), DigestIn(pid+1, 0)
	h.put(a, large(1))
	h.put(b, genRecord(2, 10))
	h.put(c, large(3))
	h.expect(a, h.model[a])
	h.expect(c, h.model[c])
	// Large to small, small to large, large to another large.
	h.put(a, genRecord(4, 10))
	h.put(b, large(5))
	h.put(c, large(6))
	for _, d := range []storage.Digest{a, b, c} {
		h.expect(d, h.model[d])
	}
	for _, s := range h.scan(pid, false) {
		if diff := diffRecord(s.rec, h.model[s.d]); diff != "" {
			h.t.Fatalf("scanned %s: %s", name(s.d), diff)
		}
	}
	h.del(b, false)
	h.expectAbsent(b)
}

func testMany(h *harness) {
	n := scale(100_000)
	digest := func(i int) storage.Digest {
		return DigestIn(uint16(i%storage.Partitions), uint64(i/storage.Partitions))
	}
	for i := range n {
		h.put(digest(i), genRecord(uint64(i), i%200))
	}
	if st := h.stats(); st.Records != uint64(n) {
		h.t.Fatalf("after %d puts: Stats.Records = %d", n, st.Records)
	}
	for i := 0; i < n; i += 7 {
		h.expect(digest(i), h.model[digest(i)])
	}
	for i := 0; i < n; i += 10 {
		h.del(digest(i), i%20 == 0)
	}
	for i := 5; i < n; i += 10 {
		h.put(digest(i), genRecord(uint64(i+n), 300))
	}
	// The integrity check that follows every test compares all of them.
}
