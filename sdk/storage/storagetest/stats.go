package storagetest

import (
	"errors"

	"github.com/skiffdb/skiff/sdk/storage"
)

// smallCapacity is the largest capacity for which the suite fills a backend
// to check its out-of-space behaviour.
const smallCapacity = 256 << 20

func testStatsCounts(h *harness) {
	empty := h.stats()
	if empty.Records != 0 {
		h.t.Fatalf("Stats.Records of a new backend = %d, want 0", empty.Records)
	}
	var ds []storage.Digest
	prev := empty
	for i := range 10 {
		d := DigestIn(uint16(i*7), uint64(i))
		ds = append(ds, d)
		h.put(d, genRecord(uint64(i), 1000))
		st := h.stats()
		if st.Records != uint64(i+1) || st.DataBytes <= prev.DataBytes {
			h.t.Fatalf("after %d puts: Stats = %+v, was %+v: want Records %d and DataBytes grown", i+1, st, prev, i+1)
		}
		if st.Capacity != 0 && st.DataBytes > st.Capacity {
			h.t.Fatalf("Stats.DataBytes %d exceeds Capacity %d", st.DataBytes, st.Capacity)
		}
		prev = st
	}
	h.put(ds[0], genRecord(100, 1000))
	if st := h.stats(); st.Records != 10 {
		h.t.Fatalf("after an overwrite: Stats.Records = %d, want 10", st.Records)
	}
	prev = h.stats()
	for i, d := range ds {
		h.del(d, false)
		st := h.stats()
		if st.Records != uint64(len(ds)-i-1) || st.DataBytes >= prev.DataBytes {
			h.t.Fatalf("after %d deletes: Stats = %+v, was %+v: want Records %d and DataBytes shrunk", i+1, st, prev, len(ds)-i-1)
		}
		prev = st
	}
	if prev.DataBytes != empty.DataBytes {
		h.t.Fatalf("after deleting every record: Stats.DataBytes = %d, want %d as when empty", prev.DataBytes, empty.DataBytes)
	}
}

// testOutOfSpace fills a backend of small capacity until Put fails, and
// checks that the failed write left no trace and that deleting makes room.
func testOutOfSpace(h *harness) {
	capacity := h.stats().Capacity
	if capacity == 0 || capacity > smallCapacity {
		h.t.Skipf("Stats.Capacity = %d; the test needs a capacity in (0, %d]", capacity, smallCapacity)
	}
	size := min(max(int(capacity/64), 1<<10), 64<<10)
	var stored []storage.Digest
	var failed storage.Digest
	for i := 0; ; i++ {
		if i > int(capacity)/size*2+64 {
			h.t.Fatalf("wrote %d records of %d bytes into a capacity of %d without ErrOutOfSpace", i, size, capacity)
		}
		d := DigestIn(uint16(i), uint64(i))
		// Bins no codec shrinks: a backend that compresses them fills
		// up after as many records as one that does not.
		rec := incompressible(uint64(i), size)
		err := h.b.Put(h.ctx, d, rec)
		if errors.Is(err, storage.ErrOutOfSpace) {
			failed = d
			break
		}
		if err != nil {
			h.t.Fatalf("Put(%s) while filling: %v", name(d), err)
		}
		h.model[d] = rec
		stored = append(stored, d)
	}
	h.expectAbsent(failed)
	if st := h.stats(); st.DataBytes > st.Capacity {
		h.t.Fatalf("full backend: Stats.DataBytes %d exceeds Capacity %d", st.DataBytes, st.Capacity)
	}
	// Growing a record in a full store may fail; if it does, the old record
	// must be intact.
	grown := genRecord(1<<40, size*4)
	switch err := h.b.Put(h.ctx, stored[0], grown); {
	case errors.Is(err, storage.ErrOutOfSpace):
		h.expect(stored[0], h.model[stored[0]])
	case err == nil:
		h.model[stored[0]] = grown
	default:
		h.t.Fatalf("Put(%s) growing a record in a full store: %v", name(stored[0]), err)
	}
	for _, d := range stored[len(stored)/2:] {
		h.del(d, false)
	}
	h.put(failed, genRecord(2<<40, size))
	h.expect(failed, h.model[failed])
}

func testTooBig(h *harness) {
	var sizes []int
	if h.opts.MaxRecordSize > 0 {
		sizes = append(sizes, h.opts.MaxRecordSize+1)
	}
	if c := h.stats().Capacity; c > 0 && c <= smallCapacity {
		sizes = append(sizes, int(c)+1)
	}
	if len(sizes) == 0 {
		h.t.Skip("neither Options.MaxRecordSize nor a small Stats.Capacity is set")
	}
	for i, size := range sizes {
		d := DigestIn(uint16(i), 0)
		err := h.b.Put(h.ctx, d, storage.Record{Bins: make([]byte, size)})
		if !errors.Is(err, storage.ErrRecordTooBig) {
			h.t.Fatalf("Put of a record of %d bytes: err = %v, want ErrRecordTooBig", size, err)
		}
		h.expectAbsent(d)
	}
	// The backend still works.
	h.put(DigestIn(0, 1), genRecord(1, 10))
}
