package capped

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

func newCapped(t *testing.T, max int64) *Backend {
	t.Helper()
	b, err := New(Options{MaxRecords: max})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func rec(v byte) storage.Record {
	return storage.Record{Meta: storage.Meta{Generation: 1}, Bins: []byte{v}}
}

// records returns what the backend reports holding, and checks that the
// cap's count agrees.
func records(t *testing.T, b *Backend) uint64 {
	t.Helper()
	st, err := b.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := b.count.Load(); uint64(n) != st.Records {
		t.Fatalf("count of the cap = %d, Stats.Records = %d", n, st.Records)
	}
	return st.Records
}

// testCap fills b, whose cap is max, and checks what may and may not be
// written at the cap. b is a Backend or the plugin process serving one.
func testCap(t *testing.T, b storage.Backend, max int) {
	ctx := context.Background()
	d := func(i int) storage.Digest { return storagetest.DigestIn(uint16(i%3), uint64(i)) }
	for i := range max {
		if err := b.Put(ctx, d(i), rec(1)); err != nil {
			t.Fatalf("Put %d of %d: %v", i+1, max, err)
		}
	}

	// A new record at the cap is refused, and leaves no trace.
	err := b.Put(ctx, d(max), rec(1))
	if !errors.Is(err, storage.ErrOutOfSpace) {
		t.Fatalf("Put of a new record at the cap: err = %v, want ErrOutOfSpace", err)
	}
	if !strings.Contains(err.Error(), "max-records") {
		t.Errorf("error %q does not name max-records", err)
	}
	if _, err := b.GetMeta(ctx, d(max)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("GetMeta of the refused record: %v, want ErrNotFound", err)
	}

	// An overwrite at the cap works.
	if err := b.Put(ctx, d(0), rec(2)); err != nil {
		t.Fatalf("overwrite at the cap: %v", err)
	}
	if got, err := b.Get(ctx, d(0), nil); err != nil || got.Bins[0] != 2 {
		t.Fatalf("Get of the overwritten record = %v, %v", got.Bins, err)
	}

	// A delete frees a slot, once.
	if err := b.Delete(ctx, d(1), false); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, d(1), false); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
	if err := b.Put(ctx, d(max), rec(1)); err != nil {
		t.Fatalf("Put after a delete freed a slot: %v", err)
	}
	if err := b.Put(ctx, d(max+1), rec(1)); !errors.Is(err, storage.ErrOutOfSpace) {
		t.Fatalf("Put of a new record at the cap again: err = %v, want ErrOutOfSpace", err)
	}
	st, err := b.Stats(ctx)
	if err != nil || st.Records != uint64(max) {
		t.Fatalf("Stats = %+v, %v; want %d records", st, err, max)
	}
}

func TestCap(t *testing.T) {
	b := newCapped(t, 5)
	testCap(t, b, 5)
	records(t, b)
}

// TestCapProcess checks that the cap's error reaches the node as
// ErrOutOfSpace across the process boundary.
func TestCapProcess(t *testing.T) {
	p := startPlugin(t, map[string]string{"max-records": "5"})
	defer p.Close()
	testCap(t, p, 5)
}

// TestCapFailedPutFreesItsSlot fills data-size before the record cap: the
// inner backend's ErrOutOfSpace must give the reserved slot back.
func TestCapFailedPutFreesItsSlot(t *testing.T) {
	b, err := New(Options{MaxRecords: 1000, DataSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	big := storage.Record{Bins: make([]byte, 100<<10)}
	var stored int
	for i := range 100 {
		err := b.Put(ctx, storagetest.DigestIn(0, uint64(i)), big)
		if errors.Is(err, storage.ErrOutOfSpace) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		stored++
	}
	if stored == 0 || stored == 100 {
		t.Fatalf("stored %d records of 100 KiB in 1 MiB", stored)
	}
	if n := records(t, b); n != uint64(stored) {
		t.Fatalf("%d records, stored %d", n, stored)
	}
}

// TestCapConcurrentInserts races inserts of distinct digests: exactly max
// succeed, whatever the interleaving.
func TestCapConcurrentInserts(t *testing.T) {
	const max, workers, each = 100, 8, 50
	b := newCapped(t, max)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				d := storagetest.DigestIn(uint16(i%7), uint64(w)<<32|uint64(i))
				switch err := b.Put(context.Background(), d, rec(byte(w))); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, storage.ErrOutOfSpace):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != max || refused.Load() != workers*each-max {
		t.Fatalf("%d puts succeeded and %d were refused, want %d and %d", ok.Load(), refused.Load(), max, workers*each-max)
	}
	if n := records(t, b); n != max {
		t.Fatalf("%d records, want %d", n, max)
	}
}

// TestCapConcurrentChurn races inserts, overwrites and deletes, of distinct
// digests and of shared ones, against a small cap. Each worker knows its
// own digests exactly; shared digests are checked at the end. The count
// must match the records held, and never pass the cap.
func TestCapConcurrentChurn(t *testing.T) {
	const max, workers = 40, 8
	ops := 3000
	if testing.Short() {
		ops = 300
	}
	b := newCapped(t, max)
	shared := []storage.Digest{storagetest.DigestIn(1, 1<<40), storagetest.DigestIn(1, 2<<40), storagetest.DigestIn(2, 3<<40)}
	ctx := context.Background()
	var wg sync.WaitGroup
	own := make([]map[storage.Digest]bool, workers)
	for w := range workers {
		own[w] = map[storage.Digest]bool{}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			mine := own[w]
			for range ops {
				d := storagetest.DigestIn(uint16(rng.IntN(4)), uint64(w)<<32|uint64(rng.IntN(20)))
				if rng.IntN(4) == 0 {
					d = shared[rng.IntN(len(shared))]
				}
				if n := b.count.Load(); n > max {
					t.Errorf("count %d passed the cap %d", n, max)
					return
				}
				if rng.IntN(2) == 0 {
					err := b.Put(ctx, d, rec(byte(w)))
					switch {
					case err == nil:
						mine[d] = true
					case errors.Is(err, storage.ErrOutOfSpace):
						if mine[d] && !isShared(d, shared) {
							t.Errorf("overwrite of %x refused: %v", d[:4], err)
							return
						}
					default:
						t.Error(err)
						return
					}
					continue
				}
				err := b.Delete(ctx, d, false)
				if err != nil && !errors.Is(err, storage.ErrNotFound) {
					t.Error(err)
					return
				}
				delete(mine, d)
			}
		})
	}
	wg.Wait()
	want := 0
	for _, mine := range own {
		for d := range mine {
			if !isShared(d, shared) {
				want++
			}
		}
	}
	for _, d := range shared {
		if _, err := b.GetMeta(ctx, d); err == nil {
			want++
		}
	}
	if n := records(t, b); n != uint64(want) || n > max {
		t.Fatalf("%d records held, want %d (cap %d)", n, want, max)
	}
}

func isShared(d storage.Digest, shared []storage.Digest) bool {
	for _, s := range shared {
		if d == s {
			return true
		}
	}
	return false
}

func TestClosed(t *testing.T) {
	b, err := New(Options{MaxRecords: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := b.Put(context.Background(), storagetest.DigestIn(0, 0), rec(1)); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("Put after Close: %v, want ErrClosed", err)
	}
	if b.count.Load() != 0 {
		t.Fatal("a Put after Close took a slot")
	}
}

func TestOpenSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings map[string]string
		errWant  string // "" for success
	}{
		{"cap", map[string]string{"max-records": "10"}, ""},
		{"cap and size", map[string]string{"max-records": "10", "data-size": "1048576"}, ""},
		{"no cap", map[string]string{"data-size": "1048576"}, "needs a max-records"},
		{"empty", nil, "needs a max-records"},
		{"zero cap", map[string]string{"max-records": "0"}, `max-records "0"`},
		{"negative cap", map[string]string{"max-records": "-3"}, `max-records "-3"`},
		{"cap with unit", map[string]string{"max-records": "1M"}, `max-records "1M"`},
		{"size with unit", map[string]string{"max-records": "10", "data-size": "4G"}, `data-size "4G"`},
		{"unknown", map[string]string{"max-records": "10", "colour": "blue"}, `unknown setting "colour"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Open("ns1", tc.settings)
			if b != nil {
				defer b.Close()
			}
			switch {
			case tc.errWant == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case tc.errWant != "" && (err == nil || !strings.Contains(err.Error(), tc.errWant) || !strings.Contains(err.Error(), "ns1")):
				t.Fatalf("Open: err = %v, want one naming the namespace and %s", err, tc.errWant)
			}
		})
	}
}
