package record

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
)

// ScanFilter selects the records of a partition scan.
type ScanFilter struct {
	// Set restricts the scan to one set; empty means every record.
	Set []byte
	// After, when set, resumes a partition after this digest: only records
	// with a greater digest are returned.
	After *storage.Digest
	// MetaOnly skips record data: records carry metadata only.
	MetaOnly bool
}

// ScanBuffer holds one partition's records while they are put in digest
// order. Reusing it across partitions and scans avoids allocating per
// record.
type ScanBuffer struct {
	entries []scanEntry
	order   []scanOrder
	data    []byte
}

// scanOrder is an entry's place in the sort by digest: the entries
// themselves (88 bytes, with a pointer) stay put while these 16-byte
// items move. The digest's first 8 bytes as a big-endian integer decide
// almost every comparison (digests are hashes; within a partition only 12
// of those 64 bits are the same); the rest of the digest breaks ties. A
// sort of the entries themselves took 38% of a full scan's node CPU (10M
// records, bench/RESULTS.md).
type scanOrder struct {
	prefix uint64
	i      int
}

type scanEntry struct {
	digest   storage.Digest
	meta     storage.Meta
	key, val [2]int // offsets into data
}

// ScanPartition calls fn with each live record of partition pid that the
// filter selects, in ascending digest order, so that a scan can resume from
// the last digest it returned. The record passed to fn is valid until fn
// returns. fn runs without any lock held.
func (ns *Namespace) ScanPartition(ctx context.Context, pid uint16, f ScanFilter, buf *ScanBuffer, fn func(d storage.Digest, rec *storage.Record) error) error {
	if err := ns.CollectPartition(ctx, pid, f, buf); err != nil {
		return err
	}
	return buf.Each(fn)
}

// CollectPartition is the first half of ScanPartition: it fills buf with
// the live records of partition pid that the filter selects, in ascending
// digest order, for buf.Each. Scans of several partitions may collect at
// once, each into its own buffer.
func (ns *Namespace) CollectPartition(ctx context.Context, pid uint16, f ScanFilter, buf *ScanBuffer) error {
	buf.entries, buf.order, buf.data = buf.entries[:0], buf.order[:0], buf.data[:0]
	c := ns.clock()
	err := ns.backend.ScanPartition(ctx, pid, f.MetaOnly, func(d storage.Digest, rec *storage.Record) error {
		if len(f.Set) > 0 && rec.Set != string(f.Set) {
			return nil
		}
		if f.After != nil && bytes.Compare(d[:], f.After[:]) <= 0 {
			return nil
		}
		if !ns.live(&rec.Meta, c) {
			return nil
		}
		e := scanEntry{digest: d, meta: rec.Meta}
		e.key = [2]int{len(buf.data), len(buf.data) + len(rec.Key)}
		buf.data = append(buf.data, rec.Key...)
		e.val = [2]int{len(buf.data), len(buf.data) + len(rec.Bins)}
		buf.data = append(buf.data, rec.Bins...)
		buf.order = append(buf.order, scanOrder{binary.BigEndian.Uint64(d[:8]), len(buf.entries)})
		buf.entries = append(buf.entries, e)
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan partition %d of %s: %w", pid, ns.name, err)
	}
	slices.SortFunc(buf.order, func(a, b scanOrder) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		return bytes.Compare(buf.entries[a.i].digest[8:], buf.entries[b.i].digest[8:])
	})
	return nil
}

// Each calls fn with each record CollectPartition put in buf, in digest
// order, until fn returns an error, which it returns. The record passed to
// fn is valid until fn returns.
func (buf *ScanBuffer) Each(fn func(d storage.Digest, rec *storage.Record) error) error {
	for _, o := range buf.order {
		e := &buf.entries[o.i]
		rec := storage.Record{Meta: e.meta, Key: buf.data[e.key[0]:e.key[1]], Bins: buf.data[e.val[0]:e.val[1]]}
		if err := fn(e.digest, &rec); err != nil {
			return err
		}
	}
	return nil
}

// Size is about the memory the records collected in buf take.
func (buf *ScanBuffer) Size() int {
	return len(buf.data) + len(buf.entries)*int(unsafe.Sizeof(scanEntry{})) + len(buf.order)*int(unsafe.Sizeof(scanOrder{}))
}

// ReadLive reads a record for a query: it returns false, with no error,
// when the record is absent, expired or truncated. The record's Key and
// Bins share storage with buf, as storage.Backend.Get's do.
func (ns *Namespace) ReadLive(ctx context.Context, d storage.Digest, buf []byte) (storage.Record, bool, error) {
	rec, err := ns.backend.Get(ctx, d, buf)
	if errors.Is(err, storage.ErrNotFound) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, fmt.Errorf("read %x: %w", d, err)
	}
	return rec, ns.live(&rec.Meta, ns.clock()), nil
}
