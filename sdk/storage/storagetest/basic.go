package storagetest

import (
	"errors"
	"math"

	"github.com/skiffdb/skiff/sdk/storage"
)

// shapes are records of unusual shape that backends must store byte for
// byte: empty parts, zero bytes, extreme metadata.
func shapes() []struct {
	name string
	rec  storage.Record
} {
	typical := genRecord(1, 100)
	noKey := genRecord(2, 50)
	noKey.Key = nil
	noSet := genRecord(3, 70)
	noSet.Set = ""
	noBins := genRecord(4, 0)
	zeros := genRecord(5, 0)
	zeros.Key, zeros.Bins = make([]byte, 17), make([]byte, 300)
	return []struct {
		name string
		rec  storage.Record
	}{
		{"typical", typical},
		{"empty key", noKey},
		{"empty set", noSet},
		{"empty bins", noBins},
		{"all empty", storage.Record{}},
		{"zero bytes", zeros},
		{"long set", storage.Record{Meta: storage.Meta{Set: setNames[len(setNames)-1]}, Key: []byte{3, 'k'}, Bins: []byte{1}}},
		{"binary key", storage.Record{Key: []byte{0, 0xff, 0, 0xfe}, Bins: []byte{0xff, 0}}},
		{"extreme meta", storage.Record{
			Meta: storage.Meta{Generation: math.MaxUint32, VoidTime: math.MaxUint32, LastUpdate: math.MaxUint64},
			Bins: []byte("x"),
		}},
	}
}

func testPutGet(h *harness) {
	// Neighbours in one partition and at both ends of the partition range,
	// all written before any is read, so that records cannot mask each other.
	var digests []storage.Digest
	for i, s := range shapes() {
		for _, pid := range []uint16{0, 7, storage.Partitions - 1} {
			d := DigestIn(pid, uint64(i))
			digests = append(digests, d)
			h.put(d, s.rec)
		}
	}
	for _, d := range digests {
		h.expect(d, h.model[d])
	}
	// One buffer, passed to every Get, must serve records of every shape:
	// those that fit in it and those that make Get allocate.
	buf := make([]byte, 0, 200)
	for _, d := range digests {
		rec, err := h.b.Get(h.ctx, d, buf)
		if err != nil {
			h.t.Fatalf("Get(%s) with a reused buffer: %v", name(d), err)
		}
		if diff := diffRecord(rec, h.model[d]); diff != "" {
			h.t.Fatalf("Get(%s) with a reused buffer: %s", name(d), diff)
		}
	}
}

func testGetMeta(h *harness) {
	// GetMeta must not depend on the data: try a record whose bins are
	// large, and one with none.
	big := genRecord(10, 256<<10)
	h.put(DigestIn(1, 1), big)
	h.put(DigestIn(1, 2), storage.Record{Meta: storage.Meta{Generation: 9, VoidTime: 1, LastUpdate: 2}})
	for _, d := range []storage.Digest{DigestIn(1, 1), DigestIn(1, 2)} {
		meta, err := h.b.GetMeta(h.ctx, d)
		if err != nil {
			h.t.Fatalf("GetMeta(%s): %v", name(d), err)
		}
		if want := wantMeta(h.model[d]); meta != want {
			h.t.Fatalf("GetMeta(%s) = %+v, want %+v", name(d), meta, want)
		}
	}
	// GetMeta follows overwrites.
	next := big
	next.Meta = storage.Meta{Generation: big.Generation + 1, VoidTime: 0, LastUpdate: big.LastUpdate + 1}
	h.put(DigestIn(1, 1), next)
	h.expect(DigestIn(1, 1), next)
	// HasKey follows an overwrite that drops the key, and one that adds it.
	keyless := next
	keyless.Key = nil
	h.put(DigestIn(1, 1), keyless)
	h.expect(DigestIn(1, 1), keyless)
	h.put(DigestIn(1, 1), next)
	h.expect(DigestIn(1, 1), next)
}

func testOverwrite(h *harness) {
	d := DigestIn(42, 0)
	neighbour := DigestIn(42, 1)
	h.put(neighbour, genRecord(99, 64))
	// Grow and shrink across a wide range of sizes, changing set and key.
	for i, size := range []int{10, 100, 1000, 10_000, 100_000, 10, 0, 5000, 1} {
		rec := genRecord(uint64(i), size)
		h.put(d, rec)
		h.expect(d, rec)
		h.expect(neighbour, h.model[neighbour])
		if st := h.stats(); st.Records != 2 {
			h.t.Fatalf("after %d overwrites: Stats.Records = %d, want 2", i, st.Records)
		}
	}
	// Dropping the key and the set replaces them too.
	bare := storage.Record{Meta: storage.Meta{Generation: 77}, Bins: []byte("bare")}
	h.put(d, bare)
	h.expect(d, bare)
}

func testDelete(h *harness) {
	keep, plain, durable := DigestIn(5, 0), DigestIn(5, 1), DigestIn(5, 2)
	for i, d := range []storage.Digest{keep, plain, durable} {
		h.put(d, genRecord(uint64(i), 40))
	}
	h.del(plain, false)
	h.del(durable, true)
	for _, d := range []storage.Digest{plain, durable} {
		h.expectAbsent(d)
		if err := h.b.Delete(h.ctx, d, false); !errors.Is(err, storage.ErrNotFound) {
			h.t.Fatalf("second Delete(%s): err = %v, want ErrNotFound", name(d), err)
		}
	}
	h.expect(keep, h.model[keep])
	if st := h.stats(); st.Records != 1 {
		h.t.Fatalf("after deleting 2 of 3: Stats.Records = %d, want 1", st.Records)
	}
	// A deleted digest can be written again.
	h.put(plain, genRecord(7, 10))
	h.expect(plain, h.model[plain])
}

func testMissing(h *harness) {
	d := DigestIn(9, 0)
	h.expectAbsent(d)
	if err := h.b.Delete(h.ctx, d, false); !errors.Is(err, storage.ErrNotFound) {
		h.t.Fatalf("Delete(%s) in an empty backend: err = %v, want ErrNotFound", name(d), err)
	}
	h.put(d, genRecord(1, 10))
	// Digests one bit away from a stored one, in its partition, are absent.
	for i := 2; i < len(d); i++ {
		near := d
		near[i] ^= 1
		h.expectAbsent(near)
		if _, err := h.b.Get(h.ctx, near, make([]byte, 64)); !errors.Is(err, storage.ErrNotFound) {
			h.t.Fatalf("Get(%s) with a buffer: err = %v, want ErrNotFound", name(near), err)
		}
	}
	if err := h.b.Delete(h.ctx, DigestIn(9, 1), true); !errors.Is(err, storage.ErrNotFound) {
		h.t.Fatalf("durable Delete of a missing record: err = %v, want ErrNotFound", err)
	}
}
