package storagetest

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// harness is one test's backend plus what the test expects it to hold.
type harness struct {
	t    *testing.T
	opts *Options
	ctx  context.Context
	rng  *rand.Rand
	b    storage.Backend
	// closed is set once the test has closed b itself.
	closed bool
	// model is what b must hold: every write through the harness updates
	// it. A test that cannot know the final contents (racing writers of one
	// digest) sets it to nil, and the integrity check then verifies only
	// that scans, Get and Stats agree with each other.
	model map[storage.Digest]storage.Record
}

func newHarness(t *testing.T, opts *Options, seed uint64) *harness {
	t.Logf("seed %#x (Options.Seed replays a run)", opts.Seed)
	return &harness{
		t:     t,
		opts:  opts,
		ctx:   t.Context(),
		rng:   rand.New(rand.NewPCG(seed, seed>>1|1)),
		b:     opts.Open(t),
		model: make(map[storage.Digest]storage.Record),
	}
}

// scale returns n, or n/10 under testing.Short.
func scale(n int) int {
	if testing.Short() {
		return max(n/10, 1)
	}
	return n
}

// put stores rec under d and records it in the model.
func (h *harness) put(d storage.Digest, rec storage.Record) {
	h.t.Helper()
	// Put must take HasKey from the key alone: tell it the opposite.
	lie := rec
	lie.HasKey = len(rec.Key) == 0
	if err := h.b.Put(h.ctx, d, lie); err != nil {
		h.t.Fatalf("Put(%s): %v", name(d), err)
	}
	if h.model != nil {
		h.model[d] = cloneRecord(rec)
	}
}

// del deletes d and removes it from the model.
func (h *harness) del(d storage.Digest, durable bool) {
	h.t.Helper()
	if err := h.b.Delete(h.ctx, d, durable); err != nil {
		h.t.Fatalf("Delete(%s): %v", name(d), err)
	}
	delete(h.model, d)
}

// get returns the record under d, which must exist.
func (h *harness) get(d storage.Digest) storage.Record {
	h.t.Helper()
	rec, err := h.b.Get(h.ctx, d, nil)
	if err != nil {
		h.t.Fatalf("Get(%s): %v", name(d), err)
	}
	return rec
}

// expect checks that Get and GetMeta of d return want.
func (h *harness) expect(d storage.Digest, want storage.Record) {
	h.t.Helper()
	if diff := diffRecord(h.get(d), want); diff != "" {
		h.t.Fatalf("Get(%s): %s", name(d), diff)
	}
	meta, err := h.b.GetMeta(h.ctx, d)
	if err != nil {
		h.t.Fatalf("GetMeta(%s): %v", name(d), err)
	}
	if meta != wantMeta(want) {
		h.t.Fatalf("GetMeta(%s) = %+v, want %+v", name(d), meta, wantMeta(want))
	}
}

// expectAbsent checks that Get and GetMeta of d return ErrNotFound.
func (h *harness) expectAbsent(d storage.Digest) {
	h.t.Helper()
	if _, err := h.b.Get(h.ctx, d, nil); !errors.Is(err, storage.ErrNotFound) {
		h.t.Fatalf("Get(%s) of a missing record: err = %v, want ErrNotFound", name(d), err)
	}
	if _, err := h.b.GetMeta(h.ctx, d); !errors.Is(err, storage.ErrNotFound) {
		h.t.Fatalf("GetMeta(%s) of a missing record: err = %v, want ErrNotFound", name(d), err)
	}
}

// stats returns the backend's Stats.
func (h *harness) stats() storage.Stats {
	h.t.Helper()
	st, err := h.b.Stats(h.ctx)
	if err != nil {
		h.t.Fatalf("Stats: %v", err)
	}
	return st
}

// scanned is one record delivered by a scan, copied out of the callback.
type scanned struct {
	d   storage.Digest
	rec storage.Record
}

// scan returns copies of the records ScanPartition delivers for pid, and
// fails the test if the scan returns an error.
func (h *harness) scan(pid uint16, metaOnly bool) []scanned {
	h.t.Helper()
	var out []scanned
	err := h.b.ScanPartition(h.ctx, pid, metaOnly, func(d storage.Digest, rec *storage.Record) error {
		out = append(out, scanned{d, cloneRecord(*rec)})
		return nil
	})
	if err != nil {
		h.t.Fatalf("ScanPartition(%d, metaOnly=%v): %v", pid, metaOnly, err)
	}
	return out
}

// close closes the backend unless the test already did.
func (h *harness) close() {
	if h.closed {
		return
	}
	h.closed = true
	if err := h.b.Close(); err != nil {
		h.t.Errorf("Close: %v", err)
	}
}

// restart closes the backend and reopens it through Options.Reopen.
func (h *harness) restart() {
	h.t.Helper()
	old := h.b
	h.closed = true
	if err := old.Close(); err != nil {
		h.t.Fatalf("Close before restart: %v", err)
	}
	h.b = h.opts.Reopen(h.t, old)
	h.closed = false
}

// checkIntegrity scans every partition, with data and metadata only, and
// checks that each record sits in its partition and is delivered once, that
// both scans and Get agree, that Stats counts what the scans saw, and that
// all of it matches the model when the test keeps one.
func (h *harness) checkIntegrity() {
	h.t.Helper()
	var total int
	perSet := map[string]uint64{}
	for pid := range uint16(storage.Partitions) {
		full := h.scan(pid, false)
		for _, s := range full {
			if s.rec.Set != "" {
				perSet[s.rec.Set]++
			}
		}
		meta := h.scan(pid, true)
		if len(full) != len(meta) {
			h.t.Fatalf("integrity: partition %d: full scan saw %d records, metadata scan %d", pid, len(full), len(meta))
		}
		inFull := make(map[storage.Digest]storage.Record, len(full))
		for _, s := range full {
			if s.d.Partition() != pid {
				h.t.Fatalf("integrity: scan of partition %d delivered %s of partition %d", pid, name(s.d), s.d.Partition())
			}
			if _, dup := inFull[s.d]; dup {
				h.t.Fatalf("integrity: scan of partition %d delivered %s twice", pid, name(s.d))
			}
			inFull[s.d] = s.rec
			if diff := diffRecord(h.get(s.d), s.rec); diff != "" {
				h.t.Fatalf("integrity: Get(%s) disagrees with the scan: %s", name(s.d), diff)
			}
			if h.model != nil {
				want, ok := h.model[s.d]
				if !ok {
					h.t.Fatalf("integrity: scan delivered %s, which the test deleted or never wrote", name(s.d))
				}
				if diff := diffRecord(s.rec, want); diff != "" {
					h.t.Fatalf("integrity: scanned %s: %s", name(s.d), diff)
				}
			}
		}
		for _, s := range meta {
			rec, ok := inFull[s.d]
			switch {
			case !ok:
				h.t.Fatalf("integrity: metadata scan of partition %d delivered %s, which the full scan did not", pid, name(s.d))
			case len(s.rec.Key) != 0 || len(s.rec.Bins) != 0:
				h.t.Fatalf("integrity: metadata scan delivered %s with key %s and bins %s, want both empty", name(s.d), brief(s.rec.Key), brief(s.rec.Bins))
			case s.rec.Meta != rec.Meta:
				h.t.Fatalf("integrity: metadata scan delivered %s with meta %+v, full scan %+v", name(s.d), s.rec.Meta, rec.Meta)
			}
			delete(inFull, s.d) // a second delivery now fails the lookup above
		}
		total += len(full)
	}
	if h.model != nil && total != len(h.model) {
		h.t.Fatalf("integrity: scans delivered %d records, the test expects %d", total, len(h.model))
	}
	st := h.stats()
	if st.Records != uint64(total) {
		h.t.Fatalf("integrity: Stats.Records = %d, scans delivered %d", st.Records, total)
	}
	reported := map[string]uint64{}
	for _, s := range st.Sets {
		if _, dup := reported[s.Name]; dup || s.Name == "" {
			h.t.Fatalf("integrity: Stats.Sets lists set %q twice or with no name", s.Name)
		}
		if s.Records > 0 {
			reported[s.Name] = s.Records
		}
		if s.Records > 0 && s.DataBytes == 0 {
			h.t.Fatalf("integrity: Stats.Sets: set %q has %d records and no data bytes", s.Name, s.Records)
		}
	}
	if !maps.Equal(reported, perSet) {
		h.t.Fatalf("integrity: Stats.Sets counts %v, scans delivered %v", reported, perSet)
	}
}
