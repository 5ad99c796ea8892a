package storagetest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// mapBackend is the simplest correct backend: a map under a mutex. Running
// the suite against it checks the suite itself, apart from any real backend.
// Its "media" is the map, so Reopen hands the map to a new backend.
type mapBackend struct {
	mu       sync.RWMutex
	recs     *[storage.Partitions]map[storage.Digest]storage.Record
	count    int
	closed   bool
	capacity uint64
	used     uint64
}

// mapMaxRecordSize is mapBackend's largest record.
const mapMaxRecordSize = 8 << 20

func newMapBackend(capacity uint64) *mapBackend {
	b := &mapBackend{recs: new([storage.Partitions]map[storage.Digest]storage.Record), capacity: capacity}
	for i := range b.recs {
		b.recs[i] = make(map[storage.Digest]storage.Record)
	}
	return b
}

func (b *mapBackend) Get(_ context.Context, d storage.Digest, buf []byte) (storage.Record, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return storage.Record{}, storage.ErrClosed
	}
	rec, ok := b.recs[d.Partition()][d]
	if !ok {
		return storage.Record{}, storage.ErrNotFound
	}
	buf = append(append(buf[:0], rec.Key...), rec.Bins...)
	rec.Key, rec.Bins = buf[:len(rec.Key)], buf[len(rec.Key):]
	return rec, nil
}

func (b *mapBackend) GetMeta(_ context.Context, d storage.Digest) (storage.Meta, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return storage.Meta{}, storage.ErrClosed
	}
	rec, ok := b.recs[d.Partition()][d]
	if !ok {
		return storage.Meta{}, storage.ErrNotFound
	}
	return rec.Meta, nil
}

func (b *mapBackend) Put(_ context.Context, d storage.Digest, rec storage.Record) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return storage.ErrClosed
	}
	size := uint64(rec.Size())
	if size > mapMaxRecordSize || b.capacity > 0 && size > b.capacity {
		return storage.ErrRecordTooBig
	}
	prev, exists := b.recs[d.Partition()][d]
	old := uint64(prev.Size())
	if b.capacity > 0 && b.used-old+size > b.capacity {
		return storage.ErrOutOfSpace
	}
	b.used += size - old
	rec.Set = strings.Clone(rec.Set)
	rec.HasKey = len(rec.Key) > 0
	b.recs[d.Partition()][d] = cloneRecord(rec)
	if !exists {
		b.count++
	}
	return nil
}

func (b *mapBackend) Delete(_ context.Context, d storage.Digest, _ bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return storage.ErrClosed
	}
	rec, ok := b.recs[d.Partition()][d]
	if !ok {
		return storage.ErrNotFound
	}
	b.used -= uint64(rec.Size())
	b.count--
	delete(b.recs[d.Partition()], d)
	return nil
}

func (b *mapBackend) ScanPartition(ctx context.Context, pid uint16, metaOnly bool, fn storage.ScanFunc) error {
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return storage.ErrClosed
	}
	var batch []scanned
	for d, rec := range b.recs[pid] {
		if metaOnly {
			rec.Key, rec.Bins = nil, nil
		}
		batch = append(batch, scanned{d, cloneRecord(rec)})
	}
	b.mu.RUnlock()
	for _, s := range batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(s.d, &s.rec); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (b *mapBackend) Stats(context.Context) (storage.Stats, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return storage.Stats{}, storage.ErrClosed
	}
	st := storage.Stats{Records: uint64(b.count), DataBytes: b.used, Capacity: b.capacity}
	sets := map[string]*storage.SetStats{}
	for _, part := range b.recs {
		for _, rec := range part {
			if rec.Set == "" {
				continue
			}
			if sets[rec.Set] == nil {
				sets[rec.Set] = &storage.SetStats{Name: rec.Set}
			}
			sets[rec.Set].Records++
			sets[rec.Set].DataBytes += uint64(rec.Size())
		}
	}
	for _, s := range sets {
		st.Sets = append(st.Sets, *s)
	}
	return st, nil
}

func (b *mapBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return storage.ErrClosed
	}
	b.closed = true
	return nil
}

func TestMapBackend(t *testing.T) {
	RunWithOptions(t, Options{
		Open: func(*testing.T) storage.Backend { return newMapBackend(64 << 20) },
		Reopen: func(_ *testing.T, old storage.Backend) storage.Backend {
			b := old.(*mapBackend)
			return &mapBackend{recs: b.recs, count: b.count, capacity: b.capacity, used: b.used}
		},
		MaxRecordSize: mapMaxRecordSize,
	})
}

func TestDigestIn(t *testing.T) {
	seen := make(map[storage.Digest]bool)
	for _, pid := range []uint16{0, 1, 4095} {
		for seq := range uint64(1000) {
			d := DigestIn(pid, seq)
			if d.Partition() != pid {
				t.Fatalf("DigestIn(%d, %d) is in partition %d", pid, seq, d.Partition())
			}
			if seen[d] {
				t.Fatalf("DigestIn(%d, %d) repeats a digest", pid, seq)
			}
			seen[d] = true
		}
	}
}
