package nvme

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
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

// openReader maps b's shared index and opens its files as a node does,
// from their descriptors.
func openReader(t *testing.T, b *Backend) *sharedindex.Reader {
	t.Helper()
	if !sharedindex.Shareable {
		t.Skip("the shared index is read on linux/amd64 only")
	}
	si := b.SharedIndex()
	if si == nil {
		t.Fatal("the backend shares no index")
	}
	r, err := sharedindex.Open(si.FD(), si.Files())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// sharedOptions are testOptions where written blocks leave the backend's
// memory at once (no post-write queue): the node reads their records from
// the files, where it leaves those of blocks still in memory to the
// backend.
func sharedOptions(t *testing.T) Options {
	o := testOptions(t.TempDir(), 16<<20) // 63 blocks a file: defrag and reuse are constant
	o.PostWriteQueue = 0
	return o
}

// fillerDigest is the i-th record written only to fill write buffers, in a
// partition the tests leave alone.
func fillerDigest(i int) storage.Digest { return storagetest.DigestIn(4000, uint64(i)) }

// pushOut writes filler records until the write buffers that held
// earlier records are full and written: of 40 KiB, three blocks' worth for
// each of the two files.
func pushOut(t *testing.T, put func(storage.Digest, storage.Record) error, wbs int) {
	t.Helper()
	// Random: compressed, they would fill no block.
	bins := make([]byte, 40<<10)
	rand.NewChaCha8([32]byte{7}).Read(bins)
	for i := range 2 * 3 * wbs / len(bins) {
		if err := put(fillerDigest(i), storage.Record{Bins: bins}); err != nil {
			t.Fatal(err)
		}
	}
}

// inMemory reports whether d's record is in a block b holds in memory.
func inMemory(b *Backend, d *storage.Digest) bool {
	e, seq, err := b.lookup(d)
	if err != nil {
		return false
	}
	l := e.loc()
	if b.devs[l.dev].cachedLocked(l.block, seq) == nil {
		return false
	}
	b.devs[l.dev].cmu.RUnlock()
	return true
}

// TestSharedIndexReadsAreConsistent reads records through the shared index,
// from the files, while writers rewrite them and while other records come
// and go, so that tables grow and shrink, blocks empty, are defragmented
// and reused, and old copies of records lie where the index pointed a
// moment before. Every read the reader answers must be one whole version
// of the record asked for, never older than one that reader saw before or
// than the last acknowledged before the read began; a record that always
// exists is never missing. With data-in-memory the reader reads the
// backend's copies of the files, which change and give back blocks alike.
func TestSharedIndexReadsAreConsistent(t *testing.T) {
	for _, v := range []struct {
		name string
		set  func(t *testing.T, o *Options)
	}{
		{"data-in-memory=false", func(*testing.T, *Options) {}},
		{"data-in-memory=true", func(_ *testing.T, o *Options) { o.DataInMemory = true }},
		{"index=flash", func(t *testing.T, o *Options) { o.IndexType, o.IndexMount = IndexFlash, t.TempDir() }},
	} {
		t.Run(v.name, func(t *testing.T) {
			o := sharedOptions(t)
			v.set(t, &o)
			sharedIndexReads(t, o)
		})
	}
}

func sharedIndexReads(t *testing.T, o Options) {
	b := mustNew(t, o)
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
		duration = 500 * time.Millisecond
	}
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var writers, readers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for v := uint32(2); !stopped(); v++ {
				for i := w; i < stable; i += 2 {
					if err := b.Put(ctx, keys[i], storagetest.Versioned(keys[i], v)); err != nil {
						t.Error(err)
						return
					}
					versions[i].Store(v)
				}
				// Let some versions reach the files before the next.
				time.Sleep(time.Duration(v%4) * 10 * time.Millisecond)
			}
		})
	}
	writers.Go(func() { // churn: tables grow and shrink, blocks empty and are reused
		for round := uint64(0); !stopped(); round++ {
			for i := range uint64(3000) {
				d := storagetest.DigestIn(uint16(i%parts), 1<<32+round<<16+i)
				if err := b.Put(ctx, d, storagetest.Versioned(d, uint32(i)+1)); err != nil {
					t.Error(err)
					return
				}
			}
			for i := range uint64(3000) {
				if err := b.Delete(ctx, storagetest.DigestIn(uint16(i%parts), 1<<32+round<<16+i), i%3 == 0); err != nil {
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
			for n := 0; !stopped(); n++ {
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
	var copies atomic.Int64
	readers.Go(func() { // partition copies for scans
		var entries []sharedindex.Entry
		var scratch []byte
		for n := 0; !stopped(); n++ {
			pid := uint16(n % parts)
			var ok bool
			if entries, scratch, ok = r.Partition(pid, entries[:0], scratch); !ok {
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
	// Reads of a version still in a write buffer are the backend's; the
	// rest are the reader's.
	t.Logf("%d reads through the shared index, %d left to the backend; %d partition copies; %d defrag reads", hits.Load(), fallbacks.Load(), copies.Load(), b.defragReads.Load())
	if hits.Load() < 100 || copies.Load() < 10 {
		t.Errorf("%d reads and %d partition copies through the shared index", hits.Load(), copies.Load())
	}
	if b.defragReads.Load() == 0 {
		t.Error("no block was defragmented: the test does not exercise moved records")
	}

	// At rest, once the records' buffers are written and out of the
	// backend's memory, the reader answers exactly as the backend; records
	// the defragmenter moved into its own buffer may stay in memory, and
	// the backend's to read. Defragmentation and the tomb raider still
	// write to partitions now and then, and a read that meets them is the
	// backend's too: try again.
	pushOut(t, func(d storage.Digest, r storage.Record) error { return b.Put(ctx, d, r) }, o.WriteBlockSize)
	get := func(d storage.Digest, meta bool) (rec storage.Record, ok bool, err error) {
		for range 50 {
			if meta {
				rec.Meta, ok, err = r.GetMeta(&d)
			} else {
				rec, ok, err = r.Get(&d, nil)
			}
			if ok {
				return rec, ok, err
			}
			time.Sleep(time.Millisecond)
		}
		return rec, false, err
	}
	answered := 0
	for i, d := range keys {
		want, err := b.Get(ctx, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := get(d, false)
		if !ok {
			if !inMemory(b, &d) {
				t.Errorf("record %d at rest, on the file: the reader left it to the backend", i)
			}
			continue
		}
		answered++
		if err != nil || got.Meta != want.Meta || !bytes.Equal(got.Key, want.Key) || !bytes.Equal(got.Bins, want.Bins) {
			t.Errorf("record %d at rest: %v, %+v; the backend has %+v", i, err, got.Meta, want.Meta)
		}
	}
	t.Logf("at rest the reader answered for %d of %d records; the rest are in the backend's memory", answered, stable)
	for _, gone := range []storage.Digest{storagetest.DigestIn(0, 1<<32), storagetest.DigestIn(1, 1<<32+1)} { // deleted, durably and not
		for _, meta := range []bool{false, true} {
			if _, ok, err := get(gone, meta); !ok || !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("a deleted record (metadata only: %v): %v, %v, want ErrNotFound", meta, ok, err)
			}
		}
	}
	st, err := b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case o.DataInMemory && (b.nodeReads() != 0 || st.Extra["memory_used_data_bytes"] == 0):
		t.Errorf("with data-in-memory the node counted %d device reads; the copies take %v bytes", b.nodeReads(), st.Extra["memory_used_data_bytes"])
	case !o.DataInMemory && (b.nodeReads() < hits.Load() || st.Extra["device_read_tps"] == 0):
		t.Errorf("the node's %d reads are not counted: %d, device_read_tps %v", hits.Load(), b.nodeReads(), st.Extra["device_read_tps"])
	}
}

// A record damaged on the device is never returned by the reader: it
// leaves the read to the backend, which finds the damage. One in a block
// the backend still holds in memory is the backend's to read.
func TestSharedIndexRefusesDamage(t *testing.T) {
	o := sharedOptions(t)
	b := mustNew(t, o)
	r := openReader(t, b)
	ctx := context.Background()
	d := storagetest.DigestIn(9, 9)
	if err := b.Put(ctx, d, storagetest.Versioned(d, 5)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := r.Get(&d, nil); ok {
		t.Fatal("the reader read a record of a block still in the backend's memory")
	}
	pushOut(t, func(d storage.Digest, r storage.Record) error { return b.Put(ctx, d, r) }, o.WriteBlockSize)
	read := func() (ok bool, err error) {
		for range 1000 {
			if _, ok, err = r.Get(&d, nil); ok {
				return ok, err
			}
			time.Sleep(time.Millisecond)
		}
		return ok, err
	}
	if ok, err := read(); !ok || err != nil {
		t.Fatalf("an intact record on the file: %v, %v", ok, err)
	}
	e, _, err := b.lookup(&d)
	if err != nil {
		t.Fatal(err)
	}
	l := e.loc()
	dv := b.devs[l.dev]
	f, err := os.OpenFile(dv.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := dv.blockOffset(l.block) + int64(l.off) + int64(l.size) - 20 // in the bins
	var one [1]byte
	if _, err := f.ReadAt(one[:], at); err != nil {
		t.Fatal(err)
	}
	one[0] ^= 0x40
	if _, err := f.WriteAt(one[:], at); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if rec, ok, err := r.Get(&d, nil); ok {
		t.Fatalf("the reader returned a damaged record: %v, %+v", err, rec.Meta)
	}
	if _, err := b.Get(ctx, d, nil); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the backend read the damaged record: %v", err)
	}
}

// A node started with the device plugin reads its records itself: Gets,
// GetMetas and scans of records on the files are answered while the plugin
// process is stopped; with data-in-memory, from the plugin's copies; with
// compression, the node decompresses them.
func TestSharedIndexThroughPlugin(t *testing.T) {
	if !sharedindex.Shareable {
		t.Skip("the shared index is read on linux/amd64 only")
	}
	for _, tc := range []struct {
		copies      bool
		compression string
	}{{false, "none"}, {true, "none"}, {false, "zstd"}} {
		t.Run(fmt.Sprintf("data-in-memory=%v/compression=%s", tc.copies, tc.compression), func(t *testing.T) {
			sharedIndexThroughPlugin(t, tc.copies, tc.compression)
		})
	}
}

func sharedIndexThroughPlugin(t *testing.T, copies bool, compression string) {
	dir := t.TempDir()
	p, err := plugin.Start(context.Background(), plugin.Config{
		Path:      os.Args[0],
		Namespace: "test",
		Settings: map[string]string{
			"files":            strings.Join([]string{filepath.Join(dir, "a.dat"), filepath.Join(dir, "b.dat")}, ","),
			"filesize":         fmt.Sprint(16 << 20),
			"write-block-size": fmt.Sprint(256 << 10),
			"flush-max-ms":     "20",
			"post-write-queue": "0",
			"data-in-memory":   fmt.Sprint(copies),
			"compression":      compression,
		},
		Logger: storagetest.PluginLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !p.ReadsSharedIndex() {
		t.Fatal("the node does not read the device plugin's index")
	}
	ctx := context.Background()
	for v := uint32(1); v <= 200; v++ {
		d := storagetest.DigestIn(uint16(v), uint64(v))
		if err := p.Put(ctx, d, storagetest.Versioned(d, v)); err != nil {
			t.Fatal(err)
		}
	}
	pushOut(t, func(d storage.Digest, r storage.Record) error { return p.Put(ctx, d, r) }, 256<<10)
	time.Sleep(100 * time.Millisecond) // the flusher writes the full buffers and lets them go
	if compression != "none" {
		st, err := p.Stats(ctx)
		if ratio := st.Extra["device_compression_ratio"]; err != nil || ratio <= 0 || ratio > 0.9 { // the filler does not compress
			t.Fatalf("device_compression_ratio %v (%v): the records were not compressed", ratio, err)
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
