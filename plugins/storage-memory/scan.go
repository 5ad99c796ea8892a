package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/skiffdb/skiff/sdk/storage"
)

// A data scan copies records out of a partition in batches of up to
// scanBatchRecords records and scanBatchBytes bytes (or one larger record),
// bounding both the time the partition stays read-locked and the memory a
// scan holds.
const (
	scanBatchRecords = 256
	scanBatchBytes   = 256 << 10
	// scratchKeepBytes is the largest data buffer returned to the pool; one
	// grown for a huge record is left to the garbage collector.
	scratchKeepBytes = 4 << 20
)

// scanScratch is a scan's working memory, pooled across scans.
type scanScratch struct {
	entries []entry    // the partition's entries when the scan started
	batch   []scanItem // records copied out in the current batch
	data    []byte     // their keys and bins
}

// scanItem is a record copied out for a data scan; its key and bins are
// data[off:off+keyLen+binsLen].
type scanItem struct {
	e       entry
	off     int
	keyLen  int
	binsLen int
}

var scratchPool = sync.Pool{New: func() any { return new(scanScratch) }}

// ScanPartition calls fn for each record of partition pid; see
// storage.Backend. It stops when ctx is done, checking before each record.
func (b *Backend) ScanPartition(ctx context.Context, pid uint16, metaOnly bool, fn storage.ScanFunc) error {
	if pid >= storage.Partitions {
		return fmt.Errorf("memory: scan of partition %d: there are %d", pid, storage.Partitions)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sc := scratchPool.Get().(*scanScratch)
	defer func() {
		if cap(sc.data) > scratchKeepBytes {
			sc.data = nil
		}
		scratchPool.Put(sc)
	}()

	p := &b.parts[pid]
	p.mu.RLock()
	if b.closed.Load() {
		p.mu.RUnlock()
		return storage.ErrClosed
	}
	sc.entries = p.table.appendLive(sc.entries[:0])
	p.mu.RUnlock()

	if metaOnly {
		return b.scanMeta(ctx, sc.entries, fn)
	}
	return b.scanData(ctx, p, sc, fn)
}

// scanMeta delivers the metadata of entries.
func (b *Backend) scanMeta(ctx context.Context, entries []entry, fn storage.ScanFunc) error {
	var rec storage.Record
	for i := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec.Meta = b.meta(&entries[i])
		if err := fn(entries[i].digest, &rec); err != nil {
			return err
		}
	}
	return nil
}

// scanData delivers the records of sc.entries that still exist, with their
// data as it is when their batch is copied.
func (b *Backend) scanData(ctx context.Context, p *partition, sc *scanScratch, fn storage.ScanFunc) error {
	var rec storage.Record
	for next := 0; next < len(sc.entries); {
		var err error
		if next, err = b.copyBatch(p, sc, next); err != nil {
			return err
		}
		for i := range sc.batch {
			if err := ctx.Err(); err != nil {
				return err
			}
			it := &sc.batch[i]
			mid, end := it.off+it.keyLen, it.off+it.keyLen+it.binsLen
			rec.Meta = b.meta(&it.e)
			rec.Key = sc.data[it.off:mid:mid]
			rec.Bins = sc.data[mid:end:end]
			if err := fn(it.e.digest, &rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyBatch copies the records of sc.entries from next on into sc.batch and
// sc.data, under the partition's read lock, skipping those deleted since
// the scan began. It returns the index of the first entry not looked at.
func (b *Backend) copyBatch(p *partition, sc *scanScratch, next int) (int, error) {
	sc.batch, sc.data = sc.batch[:0], sc.data[:0]
	p.mu.RLock()
	defer p.mu.RUnlock()
	if b.closed.Load() {
		return next, storage.ErrClosed
	}
	for ; next < len(sc.entries) && len(sc.batch) < scanBatchRecords && len(sc.data) < scanBatchBytes; next++ {
		i, ok := p.table.find(&sc.entries[next].digest, b.seed)
		if !ok {
			continue
		}
		e := p.table.slots[i]
		key, bins := readBlob(b.alloc.slot(e.loc))
		off := len(sc.data)
		sc.data = append(append(sc.data, key...), bins...)
		sc.batch = append(sc.batch, scanItem{e: e, off: off, keyLen: len(key), binsLen: len(bins)})
	}
	return next, nil
}
