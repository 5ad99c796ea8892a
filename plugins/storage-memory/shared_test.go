package memory

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// openReader maps b's region as a node does, from its descriptor.
func openReader(t *testing.T, b *Backend) *sharedindex.Reader {
	t.Helper()
	if !sharedindex.Shareable {
		t.Skip("the shared index is read on linux/amd64 only")
	}
	r, err := sharedindex.Open(b.SharedIndex().FD(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestSharedIndexReadsAreConsistent reads records through the shared index
// while writers rewrite them (in place, and moved to other size classes
// and slabs of their own) and while other records of the same partitions
// come and go, growing and shrinking the tables and freeing slabs. Every
// read must return one whole version of the record asked for, never an
// older one than that reader saw before, and never miss a record that
// always exists.
func TestSharedIndexReadsAreConsistent(t *testing.T) {
	b, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := openReader(t, b)
	ctx := context.Background()

	const parts, stable = 3, 48
	var keys []storage.Digest
	for i := range stable {
		keys = append(keys, storagetest.DigestIn(uint16(i%parts), uint64(i)))
	}
	versions := make([]atomic.Uint32, stable)
	for i, d := range keys {
		if err := b.Put(ctx, d, storagetest.Versioned(d, 1)); err != nil {
			t.Fatal(err)
		}
		versions[i].Store(1)
	}

	duration := 2 * time.Second
	if testing.Short() {
		duration = 300 * time.Millisecond
	}
	stop := make(chan struct{})
	var writers, readers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for v := uint32(2); ; v++ {
				select {
				case <-stop:
					return
				default:
				}
				for i := w; i < stable; i += 2 {
					if err := b.Put(ctx, keys[i], storagetest.Versioned(keys[i], v)); err != nil {
						t.Error(err)
						return
					}
					versions[i].Store(v)
				}
			}
		})
	}
	writers.Go(func() { // churn: tables grow and shrink, slabs come and go
		for round := uint64(0); ; round++ {
			for i := range uint64(3000) {
				select {
				case <-stop:
					return
				default:
				}
				d := storagetest.DigestIn(uint16(i%parts), 1<<32+round<<16+i)
				if err := b.Put(ctx, d, storagetest.Versioned(d, uint32(i))); err != nil {
					t.Error(err)
					return
				}
			}
			for i := range uint64(3000) {
				if err := b.Delete(ctx, storagetest.DigestIn(uint16(i%parts), 1<<32+round<<16+i), false); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	var hits, fallbacks atomic.Int64
	for range 3 {
		readers.Go(func() {
			seen := make([]uint32, stable)
			var buf []byte
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				i := n % stable
				floor := versions[i].Load()
				rec, ok, err := r.Get(&keys[i], buf)
				if !ok {
					fallbacks.Add(1)
					continue
				}
				hits.Add(1)
				if err != nil {
					t.Errorf("record %d, which always exists: %v", i, err)
					return
				}
				v, err := storagetest.CheckVersioned(keys[i], rec)
				if err != nil {
					t.Errorf("record %d: %v", i, err)
					return
				}
				if v < seen[i] || v < floor {
					t.Errorf("record %d: read version %d after %d, and after version %d was written", i, v, seen[i], floor)
					return
				}
				seen[i] = v
				buf = rec.Bins[:0]
				if m, ok, err := r.GetMeta(&keys[i]); ok && (err != nil || m.Generation < v) {
					t.Errorf("record %d: metadata %+v, %v after version %d", i, m, err, v)
					return
				}
			}
		})
	}
	var copies, copyFallbacks atomic.Int64
	readers.Go(func() { // partition copies for scans
		var entries []sharedindex.Entry
		var scratch []byte
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			pid := uint16(n % parts)
			var ok bool
			if entries, scratch, ok = r.Partition(pid, entries[:0], scratch); !ok {
				copyFallbacks.Add(1)
				continue
			}
			copies.Add(1)
			seen := map[storage.Digest]bool{}
			for _, e := range entries {
				if seen[e.Digest] {
					t.Errorf("partition %d: %x twice in one copy", pid, e.Digest)
					return
				}
				seen[e.Digest] = true
			}
			for i := int(pid); i < stable; i += parts {
				if !seen[keys[i]] {
					t.Errorf("partition %d: record %d, which always exists, missing from a copy of %d entries", pid, i, len(entries))
					return
				}
			}
		}
	})
	time.Sleep(duration)
	close(stop)
	readers.Wait()
	writers.Wait()
	t.Logf("%d reads through the shared index, %d left to the backend", hits.Load(), fallbacks.Load())
	// Under the race detector, with other packages' tests on the same two
	// CPUs, one run in a few dozen left a tenth; most leave a fiftieth.
	if hits.Load() < 4*fallbacks.Load() {
		t.Errorf("%d reads left to the backend for %d answered", fallbacks.Load(), hits.Load())
	}
	// A copy of a partition's table, tens of kilobytes, often meets a
	// write to it here, where three goroutines write nothing else.
	t.Logf("%d partition copies, %d left to the backend", copies.Load(), copyFallbacks.Load())
	if copies.Load() < 10 {
		t.Errorf("%d partition copies made, %d left to the backend", copies.Load(), copyFallbacks.Load())
	}

	// At rest, the reader answers exactly as the backend.
	for i, d := range keys {
		want, err := b.Get(ctx, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := r.Get(&d, nil)
		if !ok || err != nil || got.Meta != want.Meta || !bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Bins, want.Bins) {
			t.Errorf("record %d at rest: %v, %v, %+v; the backend has %+v", i, ok, err, got.Meta, want.Meta)
		}
	}
	gone := storagetest.DigestIn(0, 1<<32)
	if _, ok, err := r.Get(&gone, nil); !ok || !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a deleted record: %v, %v, want ErrNotFound", ok, err)
	}
	if _, ok, err := r.GetMeta(&gone); !ok || !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a deleted record's metadata: %v, %v, want ErrNotFound", ok, err)
	}
}

// Once the backend is closed, the reader leaves every call to it, and its
// own mapping outlives the backend's.
func TestSharedIndexAfterClose(t *testing.T) {
	b, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := openReader(t, b)
	d := storagetest.DigestIn(7, 1)
	if err := b.Put(context.Background(), d, storagetest.Versioned(d, 1)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := r.Get(&d, nil); !ok || err != nil {
		t.Fatalf("before Close: %v, %v", ok, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Get(&d, nil); ok {
		t.Error("the reader answered for a closed backend")
	}
	if _, ok, _ := r.GetMeta(&d); ok {
		t.Error("the reader answered metadata for a closed backend")
	}
}

// A node started with the memory plugin reads its index: Gets, GetMetas
// and scans are answered while the plugin process is stopped.
func TestSharedIndexThroughPlugin(t *testing.T) {
	if !sharedindex.Shareable {
		t.Skip("the shared index is read on linux/amd64 only")
	}
	p, err := plugin.Start(context.Background(), plugin.Config{
		Path:      os.Args[0],
		Namespace: "test",
		Logger:    storagetest.PluginLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !p.ReadsSharedIndex() {
		t.Fatal("the node does not read the memory plugin's index")
	}
	ctx := context.Background()
	for v := uint32(1); v <= 200; v++ {
		d := storagetest.DigestIn(uint16(v), uint64(v))
		want := storagetest.Versioned(d, v)
		if err := p.Put(ctx, d, want); err != nil {
			t.Fatal(err)
		}
		got, err := p.Get(ctx, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := storagetest.CheckVersioned(d, got); err != nil {
			t.Fatal(err)
		}
	}

	if err := syscall.Kill(p.Pid(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(p.Pid(), syscall.SIGCONT)
	done := make(chan error, 1)
	go func() { done <- storagetest.ReadVersioned(ctx, p, 200) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reads waited for the stopped plugin")
	}
}
