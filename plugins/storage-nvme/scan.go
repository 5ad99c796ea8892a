package nvme

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/skiffdb/skiff/sdk/storage"
)

// scanScratch is a scan's working memory, pooled across scans.
type scanScratch struct {
	entries []entry
	buf     []byte
}

// scratchKeepBytes is the largest record buffer returned to the pool.
const scratchKeepBytes = 1 << 20

var scanPool = sync.Pool{New: func() any { return new(scanScratch) }}

// ScanPartition calls fn for each record of partition pid; see
// storage.Backend. It copies the partition's entries under its read lock
// and works from the copy without a lock: a metadata-only scan delivers
// them as they were, a data scan reads each record as Get does, in device
// order, skipping those deleted since the copy. It checks ctx before each
// record.
func (b *Backend) ScanPartition(ctx context.Context, pid uint16, metaOnly bool, fn storage.ScanFunc) error {
	if pid >= storage.Partitions {
		return fmt.Errorf("nvme: scan of partition %d: there are %d", pid, storage.Partitions)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sc := scanPool.Get().(*scanScratch)
	defer func() {
		if cap(sc.buf) > scratchKeepBytes {
			sc.buf = nil
		}
		scanPool.Put(sc)
	}()
	p := &b.parts[pid]
	p.mu.RLock()
	if b.closed.Load() {
		p.mu.RUnlock()
		return storage.ErrClosed
	}
	sc.entries = p.table.appendLive(sc.entries[:0])
	p.mu.RUnlock()

	var rec storage.Record
	if metaOnly {
		for i := range sc.entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec.Meta = b.meta(&sc.entries[i])
			if err := fn(sc.entries[i].digest(), &rec); err != nil {
				return err
			}
		}
		return nil
	}
	slices.SortFunc(sc.entries, func(x, y entry) int {
		lx, ly := x.loc(), y.loc()
		return cmp.Or(cmp.Compare(lx.dev, ly.dev), cmp.Compare(lx.block, ly.block), cmp.Compare(lx.off, ly.off))
	})
	for i := range sc.entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := sc.entries[i].digest()
		r, buf, err := b.get(&d, sc.buf)
		sc.buf = buf
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue
		case err != nil:
			return err
		}
		if err := fn(d, &r); err != nil {
			return err
		}
	}
	return nil
}
