package storagetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/skiffdb/skiff/sdk/storage"
)

// fillPartition writes n records of binsLen bytes into partition pid, with
// sequence numbers from seq0, and returns their digests.
func (h *harness) fillPartition(pid uint16, seq0 uint64, n, binsLen int) []storage.Digest {
	h.t.Helper()
	ds := make([]storage.Digest, n)
	for i := range ds {
		ds[i] = DigestIn(pid, seq0+uint64(i))
		h.put(ds[i], genRecord(seq0+uint64(i), binsLen))
	}
	return ds
}

func testScanOnlyPartition(h *harness) {
	const pid = 100
	// Neighbouring partitions, and the first and last one, hold records
	// that a sloppy partition filter would let through.
	for _, p := range []uint16{0, pid - 1, pid, pid + 1, storage.Partitions - 1} {
		h.fillPartition(p, uint64(p)<<32, 50, 30)
	}
	got := h.scan(pid, false)
	seen := make(map[storage.Digest]bool)
	for _, s := range got {
		if s.d.Partition() != pid {
			h.t.Fatalf("scan of partition %d delivered %s", pid, name(s.d))
		}
		if seen[s.d] {
			h.t.Fatalf("scan of partition %d delivered %s twice", pid, name(s.d))
		}
		seen[s.d] = true
		if diff := diffRecord(s.rec, h.model[s.d]); diff != "" {
			h.t.Fatalf("scanned %s: %s", name(s.d), diff)
		}
	}
	if len(seen) != 50 {
		h.t.Fatalf("scan of partition %d delivered %d records, want 50", pid, len(seen))
	}
	if got := h.scan(pid+2, false); len(got) != 0 {
		h.t.Fatalf("scan of an empty partition delivered %d records", len(got))
	}
}

func testScanMetaOnly(h *harness) {
	const pid = 200
	h.fillPartition(pid, 0, 40, 1000)
	got := h.scan(pid, true)
	if len(got) != 40 {
		h.t.Fatalf("metadata scan delivered %d records, want 40", len(got))
	}
	for _, s := range got {
		want, ok := h.model[s.d]
		switch {
		case !ok:
			h.t.Fatalf("metadata scan delivered unknown %s", name(s.d))
		case diffMeta(s.rec, want) != "":
			h.t.Fatalf("metadata scan delivered %s: %s", name(s.d), diffMeta(s.rec, want))
		}
	}
}

// testScanCallbackWrites calls every method of the backend, on the scanned
// partition, from inside the scan's callback. A backend that holds a lock
// while the callback runs deadlocks here, and the watchdog reports it.
func testScanCallbackWrites(h *harness) {
	const pid = 300
	stable := h.fillPartition(pid, 0, scale(400), 40)
	isStable := make(map[storage.Digest]bool)
	for _, d := range stable {
		isStable[d] = true
	}
	seen := make(map[storage.Digest]int)
	var calls int
	added := uint64(1 << 32)
	err := h.b.ScanPartition(h.ctx, pid, false, func(d storage.Digest, rec *storage.Record) error {
		calls++
		seen[d]++
		if calls == 1 {
			// A nested scan of the same partition.
			if err := h.b.ScanPartition(h.ctx, pid, true, func(storage.Digest, *storage.Record) error { return nil }); err != nil {
				return err
			}
		}
		if !isStable[d] {
			return nil // a record the callback added; it may or may not be seen
		}
		if diff := diffRecord(*rec, h.model[d]); diff != "" {
			h.t.Errorf("scanned %s: %s", name(d), diff)
		}
		if _, err := h.b.Get(h.ctx, d, nil); err != nil {
			return err
		}
		if _, err := h.b.GetMeta(h.ctx, d); err != nil {
			return err
		}
		if _, err := h.b.Stats(h.ctx); err != nil {
			return err
		}
		// Grow the partition (index growth while scanning), shrink it again,
		// and rewrite every other stable record with a different size.
		for range 3 {
			h.put(DigestIn(pid, added), genRecord(added, 20))
			added++
		}
		h.del(DigestIn(pid, added-2), false)
		if calls%2 == 0 {
			h.put(d, genRecord(added, 200))
			delete(isStable, d)
		}
		return nil
	})
	if err != nil {
		h.t.Fatalf("ScanPartition with writes in the callback: %v", err)
	}
	for d := range isStable {
		if seen[d] != 1 {
			h.t.Fatalf("record %s, present and untouched for the whole scan, was delivered %d times", name(d), seen[d])
		}
	}
	for d := range seen {
		if d.Partition() != pid {
			h.t.Fatalf("scan of partition %d delivered %s", pid, name(d))
		}
	}
}

func testScanCallbackError(h *harness) {
	const pid = 400
	h.fillPartition(pid, 0, 10, 10)
	stop := errors.New("storagetest: stop here")
	for _, metaOnly := range []bool{false, true} {
		calls := 0
		err := h.b.ScanPartition(h.ctx, pid, metaOnly, func(storage.Digest, *storage.Record) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) {
			h.t.Fatalf("ScanPartition(metaOnly=%v) whose callback fails: err = %v, want the callback's error", metaOnly, err)
		}
		if calls != 3 {
			h.t.Fatalf("ScanPartition(metaOnly=%v) called the callback %d times, want it to stop at the failing third", metaOnly, calls)
		}
	}
}

func testScanContextCanceled(h *harness) {
	const pid, n = 500, 100
	h.fillPartition(pid, 0, n, 10)
	for _, metaOnly := range []bool{false, true} {
		canceled, cancel := context.WithCancel(h.ctx)
		cancel()
		calls := 0
		err := h.b.ScanPartition(canceled, pid, metaOnly, func(storage.Digest, *storage.Record) error {
			calls++
			return nil
		})
		if !errors.Is(err, context.Canceled) || calls != 0 {
			h.t.Fatalf("ScanPartition(metaOnly=%v) with a canceled context: err = %v after %d records, want context.Canceled and none", metaOnly, err, calls)
		}

		ctx, cancel := context.WithCancel(h.ctx)
		calls = 0
		err = h.b.ScanPartition(ctx, pid, metaOnly, func(storage.Digest, *storage.Record) error {
			calls++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || calls == n {
			h.t.Fatalf("ScanPartition(metaOnly=%v) canceled by its first callback: err = %v after %d of %d records, want context.Canceled before the end", metaOnly, err, calls, n)
		}
	}
}

// testScanExactlyOnceUnderWrites scans a partition again and again while
// other goroutines insert, overwrite and delete records around a stable set
// in that partition, and checks that every stable record is delivered
// exactly once per scan, intact.
func testScanExactlyOnceUnderWrites(h *harness) {
	const pid = 600
	stable := h.fillPartition(pid, 0, scale(1000), 24)
	writers, scans := 3, scale(30)

	var stop atomic.Bool
	var wg sync.WaitGroup
	finals := make([]map[storage.Digest]storage.Record, writers)
	for w := range writers {
		finals[w] = make(map[storage.Digest]storage.Record)
		wg.Go(func() { churn(h, pid, uint64(w+1)<<40, finals[w], &stop) })
	}
	for range scans {
		seen := make(map[storage.Digest]int, len(stable))
		err := h.b.ScanPartition(h.ctx, pid, false, func(d storage.Digest, rec *storage.Record) error {
			if want, ok := h.model[d]; ok {
				seen[d]++
				if diff := diffRecord(*rec, want); diff != "" {
					h.t.Errorf("scanned stable %s during writes: %s", name(d), diff)
				}
			} else if d.Partition() != pid {
				h.t.Errorf("scan of partition %d delivered %s", pid, name(d))
			}
			return nil
		})
		if err != nil {
			h.t.Errorf("ScanPartition during writes: %v", err)
			break
		}
		for _, d := range stable {
			if seen[d] != 1 {
				h.t.Errorf("stable record %s delivered %d times by a scan during writes", name(d), seen[d])
				break
			}
		}
		if h.t.Failed() {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	for _, final := range finals {
		for d, rec := range final {
			h.model[d] = rec
		}
	}
}

// churn writes and deletes records of partition pid with sequence numbers
// from seq0 until stop is set, leaving in final what it left in the backend.
func churn(h *harness, pid uint16, seq0 uint64, final map[storage.Digest]storage.Record, stop *atomic.Bool) {
	const live = 64
	for i := uint64(0); !stop.Load(); i++ {
		d := DigestIn(pid, seq0+i%live*3) // revisit digests: overwrite and re-insert
		if _, ok := final[d]; ok && i%3 == 0 {
			if err := h.b.Delete(h.ctx, d, false); err != nil {
				h.t.Errorf("Delete(%s) during scans: %v", name(d), err)
				return
			}
			delete(final, d)
			continue
		}
		rec := genRecord(seq0+i, int(i%7)*50)
		if err := h.b.Put(h.ctx, d, rec); err != nil {
			h.t.Errorf("Put(%s) during scans: %v", name(d), err)
			return
		}
		final[d] = rec
	}
}
