package nvme

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// reopen closes b and opens a backend over the same files.
func reopen(t *testing.T, b *Backend) *Backend {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return mustNew(t, b.Options())
}

// expectRecord checks that d holds want.
func expectRecord(t *testing.T, b *Backend, d storage.Digest, want storage.Record) {
	t.Helper()
	got, err := b.Get(ctx, d, nil)
	if err != nil {
		t.Fatalf("Get(%x): %v", d[:4], err)
	}
	if !same(got, want) {
		t.Fatalf("Get(%x) = %+v (bins %d), want %+v (bins %d)", d[:4], got.Meta, len(got.Bins), want.Meta, len(want.Bins))
	}
}

func expectAbsent(t *testing.T, b *Backend, d storage.Digest) {
	t.Helper()
	if _, err := b.Get(ctx, d, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%x) of an absent record: %v", d[:4], err)
	}
}

func stat(t *testing.T, b *Backend) storage.Stats {
	t.Helper()
	st, err := b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestColdStartNewestWins writes several versions of records, with
// last-update times going down (so that a last-update-first rule would pick
// the wrong one), deletes some durably and some not, and checks what a
// restart brings back.
func TestColdStartNewestWins(t *testing.T) {
	b := mustNew(t, testOptions(t.TempDir(), 32<<20))
	const n = 3000
	d := func(i int) storage.Digest { return storagetest.DigestIn(uint16(i), uint64(i)) }
	want := map[storage.Digest]storage.Record{}
	for v := range 3 {
		for i := range n {
			r := rec(uint64(i*10+v), 100+v*50)
			r.LastUpdate = uint64(1000 - v) // older each version
			if err := b.Put(ctx, d(i), r); err != nil {
				t.Fatal(err)
			}
			want[d(i)] = r
		}
	}
	durable, plain, back := 0, 0, 0
	for i := 0; i < n; i += 5 {
		if err := b.Delete(ctx, d(i), true); err != nil {
			t.Fatal(err)
		}
		delete(want, d(i))
		durable++
		if i%10 == 0 {
			r := rec(uint64(i*10+9), 70)
			if err := b.Put(ctx, d(i), r); err != nil {
				t.Fatal(err)
			}
			want[d(i)] = r
			back++
		}
	}
	for i := 1; i < n; i += 5 {
		if err := b.Delete(ctx, d(i), false); err != nil {
			t.Fatal(err)
		}
		delete(want, d(i))
		plain++
	}
	before := stat(t, b)
	b = reopen(t, b)
	after := stat(t, b)
	resurrected := 0
	for i := range n {
		w, ok := want[d(i)]
		switch {
		case ok:
			expectRecord(t, b, d(i), w)
		case i%5 == 0:
			expectAbsent(t, b, d(i)) // durable delete: must stay deleted
		default:
			// A non-durable delete may be undone by a cold start, with
			// the newest version written before it.
			if _, err := b.Get(ctx, d(i), nil); err == nil {
				resurrected++
			}
		}
	}
	t.Logf("%d durable deletes (%d written again), %d non-durable, %d of those came back; tombstones %v", durable, back, plain, resurrected, after.Extra["tombstones"])
	if after.Records != before.Records+uint64(resurrected) {
		t.Fatalf("Records %d after restart, %d before, %d resurrected", after.Records, before.Records, resurrected)
	}
	if after.Extra["tombstones"] != float64(durable-back) {
		t.Fatalf("tombstones = %v, want %d", after.Extra["tombstones"], durable-back)
	}
	// Writes after a restart survive the next one.
	r := rec(424242, 300)
	if err := b.Put(ctx, d(1), r); err != nil {
		t.Fatal(err)
	}
	b = reopen(t, b)
	expectRecord(t, b, d(1), r)
	expectAbsent(t, b, d(0*5+5))
}

// waitFor polls cond for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// putRetry puts, waiting out ErrOutOfSpace as a client backing off would.
func putRetry(t *testing.T, b *Backend, d storage.Digest, r storage.Record) (retries int) {
	t.Helper()
	for {
		err := b.Put(ctx, d, r)
		if err == nil {
			return retries
		}
		if !errors.Is(err, storage.ErrOutOfSpace) || retries > 2000 {
			t.Fatalf("Put: %v (after %d retries)", err, retries)
		}
		retries++
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDefragReclaims writes several times the devices' capacity in
// overwrites of a data set that fills a third of them: only the
// defragmenter makes that possible. Then it checks every record, before and
// after a restart.
func TestDefragReclaims(t *testing.T) {
	o := testOptions(t.TempDir(), 16<<20)
	o.WriteBlockSize = 128 << 10
	b := mustNew(t, o)
	capacity := stat(t, b).Capacity
	const size = 1000
	n := int(capacity / 3 / (size + 100))
	d := func(i int) storage.Digest { return storagetest.DigestIn(uint16(i), uint64(i)) }
	want := make([]storage.Record, n)
	retries := 0
	rounds := 5
	for v := range rounds {
		for i := range n {
			want[i] = rec(uint64(v*n+i), size)
			retries += putRetry(t, b, d(i), want[i])
		}
	}
	st := stat(t, b)
	t.Logf("capacity %d, %d records of %d bytes written %d times: %d retries on ErrOutOfSpace; defrag_reads %v defrag_writes %v, data_avail_pct %.0f, used %.0f%%",
		capacity, n, size, rounds, retries, st.Extra["defrag_reads"], st.Extra["defrag_writes"], st.Extra["data_avail_pct"], 100*float64(st.DataBytes)/float64(st.Capacity))
	if st.Extra["defrag_reads"] == 0 || st.Extra["defrag_writes"] == 0 {
		t.Fatalf("no defrag: %v", st.Extra)
	}
	// Let the defragmenter settle, then every block holds at least the
	// threshold of live data or is free.
	waitFor(t, "defrag queue to drain", func() bool { return stat(t, b).Extra["defrag_q"] == 0 })
	for i := range n {
		expectRecord(t, b, d(i), want[i])
	}
	if st.Records != uint64(n) {
		t.Fatalf("Records = %d, want %d", st.Records, n)
	}
	b = reopen(t, b)
	for i := range n {
		expectRecord(t, b, d(i), want[i])
	}
	if st := stat(t, b); st.Records != uint64(n) {
		t.Fatalf("after restart: Records = %d, want %d", st.Records, n)
	}
}

// TestDefragTombstones deletes durably most of a data set and overwrites
// the rest repeatedly: tombstones are copied by defrag and eventually
// dropped, and no deleted record comes back after a restart.
func TestDefragTombstones(t *testing.T) {
	// Two files of 31 blocks: churn cycles through every block often.
	o := testOptions(t.TempDir(), 2<<20)
	o.WriteBlockSize = 64 << 10
	b := mustNew(t, o)
	const n = 1000
	d := func(i int) storage.Digest { return storagetest.DigestIn(uint16(i), uint64(i)) }
	for i := range n {
		putRetry(t, b, d(i), rec(uint64(i), 500))
	}
	for i := range n {
		if i%10 != 0 {
			if err := b.Delete(ctx, d(i), true); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Churn the survivors so that blocks cycle.
	keep := map[int]storage.Record{}
	for v := range 300 {
		for i := 0; i < n; i += 10 {
			keep[i] = rec(uint64(v*n+i), 500)
			putRetry(t, b, d(i), keep[i])
		}
	}
	st := stat(t, b)
	t.Logf("tombstones %v, dropped %v, defrag_reads %v", st.Extra["tombstones"], st.Extra["tombstones_dropped"], st.Extra["defrag_reads"])
	if st.Extra["tombstones_dropped"] == 0 {
		t.Fatalf("no tombstone dropped: %v", st.Extra)
	}
	b = reopen(t, b)
	for i := range n {
		if r, ok := keep[i]; ok {
			expectRecord(t, b, d(i), r)
		} else {
			expectAbsent(t, b, d(i))
		}
	}
}

// TestOutOfSpace fills the devices until ErrOutOfSpace, then checks that
// durable deletes still work (tombstones may use part of the reserve) and
// that deleting makes room again.
func TestOutOfSpace(t *testing.T) {
	o := testOptions(t.TempDir(), 8<<20)
	o.WriteBlockSize = 64 << 10
	b := mustNew(t, o)
	d := func(i int) storage.Digest { return storagetest.DigestIn(uint16(i), uint64(i)) }
	var n int
	for ; ; n++ {
		err := b.Put(ctx, d(n), rec(uint64(n), 4000))
		if errors.Is(err, storage.ErrOutOfSpace) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n > 100_000 {
			t.Fatal("never out of space")
		}
	}
	st := stat(t, b)
	usedPct := 100 * float64(st.DataBytes) / float64(st.Capacity)
	t.Logf("%d records of 4000 bytes; used %.1f%%, data_avail_pct %.1f", n, usedPct, st.Extra["data_avail_pct"])
	if st.DataBytes > st.Capacity || usedPct < 80 {
		t.Fatalf("out of space with DataBytes %d of %d", st.DataBytes, st.Capacity)
	}
	expectAbsent(t, b, d(n))
	for i := 0; i < 20; i++ {
		if err := b.Delete(ctx, d(i), true); err != nil {
			t.Fatalf("durable delete in a full store: %v", err)
		}
	}
	// Half the records go, scattered: defrag must compact blocks to make
	// room, since no block empties by itself.
	for i := 20; i < n; i += 2 {
		if err := b.Delete(ctx, d(i), false); err != nil {
			t.Fatal(err)
		}
	}
	for i := n; i < n+n/4; i++ {
		putRetry(t, b, d(i), rec(uint64(i), 4000))
	}
	for i := n; i < n+n/4; i++ {
		expectRecord(t, b, d(i), rec(uint64(i), 4000))
	}
	for i := 21; i < n; i += 2 {
		expectRecord(t, b, d(i), rec(uint64(i), 4000))
	}
}

// TestOverwritesWaitForDefrag overwrites records at random, as fast as
// writers can, on devices 40% full of live records, with
// the default pause of the defragmenter: writes that find no free block
// wait for the blocks it is emptying rather than fail with ErrOutOfSpace.
func TestOverwritesWaitForDefrag(t *testing.T) {
	o := testOptions(t.TempDir(), 16<<20)
	o.WriteBlockSize = 64 << 10
	o.PostWriteQueue = 0
	o.DefragSleep = DefaultOptions().DefragSleep
	b := mustNew(t, o)
	const records, size = 12000, 1000 // 40% of the 32 MiB, with headers
	d := func(i int) storage.Digest { return storagetest.DigestIn(uint16(i), uint64(i)) }
	for i := range records {
		if err := b.Put(ctx, d(i), rec(uint64(i), size)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range 6 * records / 8 {
				i := rng.IntN(records)
				if err := b.Put(ctx, d(i), rec(uint64(i), size)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := stat(t, b)
	t.Logf("defragmented %v blocks; %.1f%% of the devices live", st.Extra["defrag_reads"], 100*float64(st.DataBytes)/float64(st.Capacity))
}

// TestReusedBuffersLeaveZeroTails writes records of many sizes through a
// one-block post-write queue, so that write buffers are reused many times
// with earlier blocks' bytes in them, and checks that no block reaches
// the files with stale bytes in its unused tail: a cold start finds no
// torn tail and no damage, and every record.
func TestReusedBuffersLeaveZeroTails(t *testing.T) {
	o := testOptions(t.TempDir(), 64<<20)
	o.PostWriteQueue = 1
	b := mustNew(t, o)
	d := func(i int) storage.Digest { return storagetest.DigestIn(uint16(i), uint64(i)) }
	want := map[storage.Digest]storage.Record{}
	for i := range 1500 {
		r := rec(uint64(i), 200+(i*7919)%40000)
		if err := b.Put(ctx, d(i%500), r); err != nil {
			t.Fatal(err)
		}
		want[d(i%500)] = r
	}
	b = reopen(t, b)
	st := stat(t, b)
	if st.Extra["device_torn_tails"] != 0 || st.Extra["device_corrupt_records"] != 0 {
		t.Fatalf("after the cold start: %v torn tails, %v corrupt records", st.Extra["device_torn_tails"], st.Extra["device_corrupt_records"])
	}
	for dg, r := range want {
		expectRecord(t, b, dg, r)
	}
}

// TestColdStartEmpty checks cold-start-empty: a start that would read the
// devices starts empty, and the records dropped never come back, while a
// warm start (from the snapshot of a clean stop) keeps them.
func TestColdStartEmpty(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir, 16<<20)
	o.Snapshot = filepath.Join(dir, "index.snapshot")
	o.ColdStartEmpty = true
	b := mustNew(t, o)
	for i := range 300 {
		if err := b.Put(ctx, digestN(i), rec(uint64(i), 1000)); err != nil {
			t.Fatal(err)
		}
	}
	b = reopen(t, b)
	if st := stat(t, b); st.Extra["warm_start"] != 1 || st.Records != 300 {
		t.Fatalf("warm start with cold-start-empty: warm %v, %d records, want 300", st.Extra["warm_start"], st.Records)
	}
	expectRecord(t, b, digestN(7), rec(7, 1000))

	// A start without the snapshot is cold: it starts empty.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(o.Snapshot); err != nil {
		t.Fatal(err)
	}
	b = mustNew(t, o)
	if n := stat(t, b).Records; n != 0 {
		t.Fatalf("cold start with cold-start-empty: %d records, want 0", n)
	}
	expectAbsent(t, b, digestN(7))
	for i := 1000; i < 1100; i++ {
		if err := b.Put(ctx, digestN(i), rec(uint64(i), 1000)); err != nil {
			t.Fatal(err)
		}
	}

	// Without it, a cold start reads the devices: only the new records.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	o.Snapshot, o.ColdStartEmpty = "", false
	b = mustNew(t, o)
	if st := stat(t, b); st.Records != 100 || st.Extra["device_corrupt_records"] != 0 {
		t.Fatalf("cold start after an empty one: %d records (%v corrupt), want the 100 written since", st.Records, st.Extra["device_corrupt_records"])
	}
	expectAbsent(t, b, digestN(7))
	expectRecord(t, b, digestN(1042), rec(1042, 1000))
}
