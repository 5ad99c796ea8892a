// Package capped is an example third-party storage backend for Skiff: the
// memory backend with a cap on the number of records. Once the backend
// holds max-records records, a Put of a new record fails with
// storage.ErrOutOfSpace, which a client sees as SERVER_MEM_ERROR;
// overwrites and deletes always work.
//
// It shows the path a backend author follows: implement storage.Backend
// (here by wrapping another backend), write an Open for the node's
// settings, serve it from a three-line main (cmd/skiff-storage-capped), and
// check it with storagetest in-process and through the plugin glue. See
// README.md.
package capped

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	"github.com/skiffdb/skiff/sdk/storage"
)

// MaxRecordSize is the largest record (storage.Record.Size) the backend
// stores: the memory backend's limit.
const MaxRecordSize = memory.MaxRecordSize

// Options configures a Backend.
type Options struct {
	// MaxRecords is the most records the backend holds; it must be
	// positive.
	MaxRecords int64
	// DataSize is the capacity for record data in bytes, as the memory
	// backend's; zero means unbounded.
	DataSize int64
}

// Backend is a memory backend that holds at most MaxRecords records. It
// implements storage.Backend; all its methods are safe for concurrent use.
//
// # Keeping the count exact
//
// count is the number of records held plus the inserts in flight. An
// insert reserves its slot before it writes, with a compare-and-swap that
// refuses to go past max, and gives the slot back if the write fails; a
// delete gives its slot back after it succeeds. So the records held never
// exceed max, even for a moment, and when all calls have returned count
// equals the inner backend's Stats.Records. (A Put may be refused while
// another insert that will fail still holds its reservation: the cap errs
// on the side of refusing, never of exceeding.)
//
// Whether a Put inserts or overwrites must be decided race-free: if two
// Puts of one new digest both saw it absent, both would reserve, and the
// count would drift up by one for good; a Put that saw a record a
// concurrent Delete then removed would insert without reserving, and the
// count would drift down. The node holds a per-record lock across a Get and
// the Put or Delete that follows, so it never does this, but the contract
// asks a backend to stay consistent under any concurrent calls (and
// storagetest's Concurrent/SameDigest test does exactly this). So every
// Put and Delete holds a lock for its digest across "is it there?" and the
// write: then nothing else changes that digest's presence in between, since
// every change to the inner backend goes through these two methods.
//
// The locks are one mutex per partition, the same split as the memory
// backend's own index locks: writes to one partition already take that
// partition's write lock in the inner backend, so ours makes no calls
// contend that did not contend already (it is held a little longer: across
// a lookup and the write). Reads and scans take no lock
// of ours, so a scan callback may write to the partition it scans.
type Backend struct {
	inner *memory.Backend
	max   int64
	count atomic.Int64
	locks [storage.Partitions]sync.Mutex
}

var _ storage.Backend = (*Backend)(nil)

// New returns an empty Backend.
func New(opts Options) (*Backend, error) {
	if opts.MaxRecords <= 0 {
		return nil, fmt.Errorf("max-records %d: want a positive number of records", opts.MaxRecords)
	}
	inner, err := memory.New(memory.Options{DataSize: opts.DataSize})
	if err != nil {
		return nil, err
	}
	return &Backend{inner: inner, max: opts.MaxRecords}, nil
}

// MaxRecords returns the cap.
func (b *Backend) MaxRecords() int64 { return b.max }

// Get returns the record with digest d, as storage.Backend.Get.
func (b *Backend) Get(ctx context.Context, d storage.Digest, buf []byte) (storage.Record, error) {
	return b.inner.Get(ctx, d, buf)
}

// GetMeta returns the metadata of the record with digest d, as
// storage.Backend.GetMeta.
func (b *Backend) GetMeta(ctx context.Context, d storage.Digest) (storage.Meta, error) {
	return b.inner.GetMeta(ctx, d)
}

// Put stores rec under d. An overwrite always proceeds; a new record needs
// a free slot, else Put returns an error wrapping storage.ErrOutOfSpace.
func (b *Backend) Put(ctx context.Context, d storage.Digest, rec storage.Record) error {
	mu := &b.locks[d.Partition()]
	mu.Lock()
	defer mu.Unlock()

	_, err := b.inner.GetMeta(ctx, d)
	switch {
	case err == nil:
		return b.inner.Put(ctx, d, rec) // an overwrite: the count stays
	case !errors.Is(err, storage.ErrNotFound):
		return err // ErrClosed, typically
	}
	if !b.reserve() {
		return fmt.Errorf("put %x: max-records %d reached: %w", d[:], b.max, storage.ErrOutOfSpace)
	}
	if err := b.inner.Put(ctx, d, rec); err != nil {
		b.count.Add(-1)
		return err
	}
	return nil
}

// reserve takes one slot of the cap, or reports that none is free.
func (b *Backend) reserve() bool {
	for {
		n := b.count.Load()
		if n >= b.max {
			return false
		}
		if b.count.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Delete removes the record with digest d, freeing its slot, or returns
// storage.ErrNotFound.
func (b *Backend) Delete(ctx context.Context, d storage.Digest, durable bool) error {
	mu := &b.locks[d.Partition()]
	mu.Lock()
	defer mu.Unlock()

	if err := b.inner.Delete(ctx, d, durable); err != nil {
		return err
	}
	b.count.Add(-1)
	return nil
}

// ScanPartition calls fn for each record of partition pid, as
// storage.Backend.ScanPartition.
func (b *Backend) ScanPartition(ctx context.Context, pid uint16, metaOnly bool, fn storage.ScanFunc) error {
	return b.inner.ScanPartition(ctx, pid, metaOnly, fn)
}

// Stats returns the inner backend's figures: Records counts what is
// stored, not the reservations of inserts in flight, and Capacity is
// data-size. (Stats has no field for a record cap.)
func (b *Backend) Stats(ctx context.Context) (storage.Stats, error) {
	return b.inner.Stats(ctx)
}

// Close releases the backend; every method returns storage.ErrClosed after.
func (b *Backend) Close() error {
	return b.inner.Close()
}
