package storagetest

import (
	"errors"

	"github.com/skiffdb/skiff/sdk/storage"
)

// testRandom runs a random sequence of operations and checks every outcome
// against the model, a plain map. Few digests in few partitions make
// overwrites, delete-then-insert and partition growth and shrinkage common.
func testRandom(h *harness) {
	pids := []uint16{0, 1, 2048, storage.Partitions - 1}
	const digests = 300
	ops := scale(20_000)
	buf := make([]byte, 0, 256)
	for i := range ops {
		pid := pids[h.rng.IntN(len(pids))]
		d := DigestIn(pid, uint64(h.rng.IntN(digests)))
		want, present := h.model[d]
		switch op := h.rng.IntN(100); {
		case op < 35:
			size := h.rng.IntN(500)
			if h.rng.IntN(10) == 0 {
				size = binSize(h.rng)
			}
			h.put(d, genRecord(uint64(i), size))
		case op < 55:
			err := h.b.Delete(h.ctx, d, h.rng.IntN(2) == 0)
			if present && err != nil || !present && !errors.Is(err, storage.ErrNotFound) {
				h.t.Fatalf("op %d: Delete(%s), present=%v: err = %v", i, name(d), present, err)
			}
			delete(h.model, d)
		case op < 80:
			rec, err := h.b.Get(h.ctx, d, buf)
			if err := checkRead(d, rec, err, want, present); err != nil {
				h.t.Fatalf("op %d: Get: %v", i, err)
			}
		case op < 90:
			meta, err := h.b.GetMeta(h.ctx, d)
			if err := checkRead(d, storage.Record{Meta: meta, Key: want.Key, Bins: want.Bins}, err, want, present); err != nil {
				h.t.Fatalf("op %d: GetMeta: %v", i, err)
			}
		case op < 97:
			h.checkPartition(i, pid, h.rng.IntN(2) == 0)
		default:
			if st := h.stats(); st.Records != uint64(len(h.model)) {
				h.t.Fatalf("op %d: Stats.Records = %d, the model holds %d", i, st.Records, len(h.model))
			}
		}
	}
}

// checkPartition compares a scan of pid with the model.
func (h *harness) checkPartition(op int, pid uint16, metaOnly bool) {
	h.t.Helper()
	got := h.scan(pid, metaOnly)
	seen := make(map[storage.Digest]bool, len(got))
	for _, s := range got {
		want, ok := h.model[s.d]
		if !ok || seen[s.d] {
			h.t.Fatalf("op %d: scan of partition %d delivered %s: in model %v, already delivered %v", op, pid, name(s.d), ok, seen[s.d])
		}
		seen[s.d] = true
		diff := diffRecord(s.rec, want)
		if metaOnly {
			diff = diffMeta(s.rec, want)
		}
		if diff != "" {
			h.t.Fatalf("op %d: scan (metaOnly=%v) delivered %s: %s", op, metaOnly, name(s.d), diff)
		}
	}
	for d := range h.model {
		if d.Partition() == pid && !seen[d] {
			h.t.Fatalf("op %d: scan of partition %d missed %s", op, pid, name(d))
		}
	}
}
