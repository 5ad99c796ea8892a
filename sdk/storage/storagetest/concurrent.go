package storagetest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/skiffdb/skiff/sdk/storage"
)

// binSize returns a random bin size: mostly small, crossing many allocation
// sizes, and rarely one large enough to need a dedicated allocation in a
// slab-based backend. Large ones stay rare because scans copy them.
func binSize(rng *rand.Rand) int {
	if rng.IntN(200) == 0 {
		return 150_000 + rng.IntN(1000)
	}
	sizes := [...]int{0, 1, 10, 60, 100, 250, 1000, 4000, 9000}
	return sizes[rng.IntN(len(sizes))] + rng.IntN(8)
}

// testConcurrentDistinct runs goroutines that each own their digests, in
// partitions they all share, and check everything they read against their
// own model: interference between records shows as a wrong read.
func testConcurrentDistinct(h *harness) {
	const workers, digestsEach = 8, 64
	pids := []uint16{10, 11, 12, 13}
	ops := scale(3000)
	finals := make([]map[storage.Digest]storage.Record, workers)
	var wg sync.WaitGroup
	for w := range workers {
		rng := rand.New(rand.NewPCG(h.rng.Uint64(), uint64(w)))
		finals[w] = make(map[storage.Digest]storage.Record)
		wg.Go(func() {
			if err := distinctWorker(h, rng, uint64(w)<<32, pids, digestsEach, ops, finals[w]); err != nil {
				h.t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	for _, final := range finals {
		for d, rec := range final {
			h.model[d] = rec
		}
	}
}

// distinctWorker does ops random operations on its own digests (sequence
// numbers from seq0) and keeps mine equal to what it wrote.
func distinctWorker(h *harness, rng *rand.Rand, seq0 uint64, pids []uint16, digests, ops int, mine map[storage.Digest]storage.Record) error {
	buf := make([]byte, 0, 512)
	for i := range ops {
		pid := pids[rng.IntN(len(pids))]
		d := DigestIn(pid, seq0+uint64(rng.IntN(digests)))
		want, present := mine[d]
		switch op := rng.IntN(100); {
		case op < 40:
			rec := genRecord(seq0+uint64(i), binSize(rng))
			if err := h.b.Put(h.ctx, d, rec); err != nil {
				return fmt.Errorf("Put(%s): %w", name(d), err)
			}
			mine[d] = rec
		case op < 65:
			rec, err := h.b.Get(h.ctx, d, buf)
			if err := checkRead(d, rec, err, want, present); err != nil {
				return err
			}
		case op < 75:
			meta, err := h.b.GetMeta(h.ctx, d)
			if err := checkRead(d, storage.Record{Meta: meta, Key: want.Key, Bins: want.Bins}, err, want, present); err != nil {
				return err
			}
		case op < 97:
			err := h.b.Delete(h.ctx, d, rng.IntN(2) == 0)
			if present && err != nil || !present && !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("Delete(%s), present=%v: %v", name(d), present, err)
			}
			delete(mine, d)
		default:
			if err := checkOwnScan(h, pid, seq0, mine); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRead compares the outcome of a read of d with what the reader knows.
func checkRead(d storage.Digest, got storage.Record, err error, want storage.Record, present bool) error {
	if !present {
		if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("read of deleted or unwritten %s: err = %v, want ErrNotFound", name(d), err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read of %s: %w", name(d), err)
	}
	if diff := diffRecord(got, want); diff != "" {
		return fmt.Errorf("read of %s: %s", name(d), diff)
	}
	return nil
}

// checkOwnScan scans pid and checks that the caller's records there, which
// no one else writes, are delivered exactly once and intact.
func checkOwnScan(h *harness, pid uint16, seq0 uint64, mine map[storage.Digest]storage.Record) error {
	seen := 0
	err := h.b.ScanPartition(h.ctx, pid, false, func(d storage.Digest, rec *storage.Record) error {
		want, ok := mine[d]
		if !ok {
			return nil // another worker's, or one of ours we deleted
		}
		seen++
		if diff := diffRecord(*rec, want); diff != "" {
			return fmt.Errorf("scanned %s: %s", name(d), diff)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ScanPartition(%d): %w", pid, err)
	}
	wantSeen := 0
	for d := range mine {
		if d.Partition() == pid {
			wantSeen++
		}
	}
	if seen != wantSeen {
		return fmt.Errorf("ScanPartition(%d) delivered %d of the worker's records, want %d once each", pid, seen, wantSeen)
	}
	return nil
}

// testConcurrentSameDigest runs goroutines that all write, read, delete and
// scan the same few digests. Every record they write describes itself (its
// metadata, set, key and bins derive from one tag), so any read of a torn
// record, mixing two writes, is caught.
func testConcurrentSameDigest(h *harness) {
	const workers = 8
	digests := []storage.Digest{DigestIn(20, 0), DigestIn(20, 1), DigestIn(20, 2), DigestIn(20, 3), DigestIn(21, 0)}
	ops := scale(3000)
	var wg sync.WaitGroup
	for w := range workers {
		rng := rand.New(rand.NewPCG(h.rng.Uint64(), uint64(w)))
		wg.Go(func() {
			if err := sameDigestWorker(h, rng, uint32(w), digests, ops); err != nil {
				h.t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	// What remains is whichever write came last; learn it, check it is
	// whole, and let the integrity check compare scans with it.
	for _, d := range digests {
		rec, err := h.b.Get(h.ctx, d, nil)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			h.t.Fatalf("Get(%s) after the workers: %v", name(d), err)
		}
		if err := checkTagged(d, rec); err != nil {
			h.t.Fatal(err)
		}
		h.model[d] = cloneRecord(rec)
	}
}

func sameDigestWorker(h *harness, rng *rand.Rand, w uint32, digests []storage.Digest, ops int) error {
	buf := make([]byte, 0, 1024)
	for s := range uint32(ops) {
		d := digests[rng.IntN(len(digests))]
		switch op := rng.IntN(100); {
		case op < 40:
			if err := h.b.Put(h.ctx, d, tagged(w, s)); err != nil {
				return fmt.Errorf("Put(%s): %w", name(d), err)
			}
		case op < 70:
			rec, err := h.b.Get(h.ctx, d, buf)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("Get(%s): %w", name(d), err)
			}
			if err := checkTagged(d, rec); err != nil {
				return err
			}
		case op < 80:
			meta, err := h.b.GetMeta(h.ctx, d)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("GetMeta(%s): %w", name(d), err)
			}
			if err := checkTaggedMeta(d, meta); err != nil {
				return err
			}
		case op < 90:
			if err := h.b.Delete(h.ctx, d, false); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("Delete(%s): %w", name(d), err)
			}
		default:
			metaOnly := rng.IntN(2) == 0
			err := h.b.ScanPartition(h.ctx, d.Partition(), metaOnly, func(d storage.Digest, rec *storage.Record) error {
				if metaOnly {
					return checkTaggedMeta(d, rec.Meta)
				}
				return checkTagged(d, *rec)
			})
			if err != nil {
				return fmt.Errorf("ScanPartition(%d): %w", d.Partition(), err)
			}
		}
	}
	return nil
}

// tagged returns write s of worker w: every part of the record derives
// from the tag w<<32|s.
func tagged(w, s uint32) storage.Record {
	tag := uint64(w)<<32 | uint64(s)
	key := make([]byte, 9)
	key[0] = 3
	binary.LittleEndian.PutUint64(key[1:], tag)
	return storage.Record{
		Meta: storage.Meta{Generation: s, VoidTime: w, LastUpdate: tag, Set: setOf(w)},
		Key:  key,
		Bins: fill(make([]byte, int(s*37+w*11)%3000+1), tag),
	}
}

// checkTagged checks that rec is one whole write made by tagged.
func checkTagged(d storage.Digest, rec storage.Record) error {
	tag := rec.LastUpdate
	if diff := diffRecord(rec, tagged(uint32(tag>>32), uint32(tag))); diff != "" {
		return fmt.Errorf("read of %s returned a record mixing different writes: %s", name(d), diff)
	}
	return nil
}

// checkTaggedMeta checks that meta comes from one write made by tagged.
func checkTaggedMeta(d storage.Digest, meta storage.Meta) error {
	w, s := uint32(meta.LastUpdate>>32), uint32(meta.LastUpdate)
	if meta.Generation != s || meta.VoidTime != w || meta.Set != setOf(w) || !meta.HasKey {
		return fmt.Errorf("metadata of %s = %+v: mixes different writes", name(d), meta)
	}
	return nil
}

// setOf is the set of worker w's records.
func setOf(w uint32) string {
	return setNames[w%uint32(len(setNames))]
}
