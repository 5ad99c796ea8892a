package storagetest

import (
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
)

func testGetGrowsSmallBuffer(h *harness) {
	d := DigestIn(3, 0)
	want := genRecord(1, 5000)
	want.Key = []byte{3, 'k', 'e', 'y'}
	h.put(d, want)
	for _, buf := range [][]byte{nil, make([]byte, 0, 4), make([]byte, 4)} {
		rec, err := h.b.Get(h.ctx, d, buf)
		if err != nil {
			h.t.Fatalf("Get(%s) with cap(buf) = %d: %v", name(d), cap(buf), err)
		}
		if diff := diffRecord(rec, want); diff != "" {
			h.t.Fatalf("Get(%s) with cap(buf) = %d: %s", name(d), cap(buf), diff)
		}
	}
}

func testGetUsesLargeBuffer(h *harness) {
	d := DigestIn(3, 1)
	want := genRecord(2, 5000)
	want.Key = []byte{3, 'k', 'e', 'y'}
	h.put(d, want)
	// Both a full buffer and an empty one with room must be used: what
	// counts is the capacity.
	for _, buf := range [][]byte{make([]byte, 64<<10), make([]byte, 0, 64<<10)} {
		rec, err := h.b.Get(h.ctx, d, buf)
		if err != nil {
			h.t.Fatalf("Get(%s): %v", name(d), err)
		}
		if diff := diffRecord(rec, want); diff != "" {
			h.t.Fatalf("Get(%s): %s", name(d), diff)
		}
		// If Key and Bins live in buf, overwriting buf shows through them.
		full := buf[:cap(buf)]
		for i := range full {
			full[i] = 0xee
		}
		if !allBytes(rec.Key, 0xee) || !allBytes(rec.Bins, 0xee) {
			h.t.Fatalf("Get(%s) with len(buf) = %d, cap(buf) = %d: the returned Key and Bins do not share storage with buf", name(d), len(buf), cap(buf))
		}
	}
}

func allBytes(b []byte, v byte) bool {
	for _, c := range b {
		if c != v {
			return false
		}
	}
	return true
}

func testGetResultSurvivesWrites(h *harness) {
	d := DigestIn(3, 2)
	want := genRecord(3, 300)
	h.put(d, want)
	first, err := h.b.Get(h.ctx, d, make([]byte, 0, 1024))
	if err != nil {
		h.t.Fatalf("Get(%s): %v", name(d), err)
	}
	// A Get into another buffer, overwrites of the same size and of another
	// size, and a delete must leave the first result alone: it is the
	// caller's memory.
	if _, err := h.b.Get(h.ctx, d, make([]byte, 0, 1024)); err != nil {
		h.t.Fatalf("second Get(%s): %v", name(d), err)
	}
	h.put(d, genRecord(4, 300))
	h.put(d, genRecord(5, 20))
	h.del(d, false)
	h.put(d, genRecord(6, 300))
	if diff := diffRecord(first, want); diff != "" {
		h.t.Fatalf("a record returned by Get changed after later writes: %s", diff)
	}
}

func testPutCopiesInput(h *harness) {
	d1, d2 := DigestIn(3, 3), DigestIn(3, 4)
	want := genRecord(7, 400)
	want.Key = []byte{3, 'a', 'b', 'c'}

	// The caller's buffers: key, bins and the set name's bytes.
	key := append([]byte(nil), want.Key...)
	bins := append([]byte(nil), want.Bins...)
	setBytes := []byte("set-from-a-reused-buffer")
	want.Set = string(setBytes)
	in := storage.Record{Meta: want.Meta, Key: key, Bins: bins}
	// The core may decode the set name without copying, as a string over
	// its read buffer; a backend that keeps it must copy it.
	in.Set = unsafe.String(&setBytes[0], len(setBytes))
	for _, d := range []storage.Digest{d1, d2} {
		if err := h.b.Put(h.ctx, d, in); err != nil {
			h.t.Fatalf("Put(%s): %v", name(d), err)
		}
		h.model[d] = cloneRecord(want)
	}
	for _, b := range [][]byte{key, bins, setBytes} {
		for i := range b {
			b[i] = 0xaa
		}
	}
	h.expect(d1, want)
	h.expect(d2, want)
}
