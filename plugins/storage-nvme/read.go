package nvme

import (
	"fmt"

	"github.com/skiffdb/skiff/internal/alignedbuf"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
)

// The read path. A record is read by the location its index entry gives,
// from its block's write buffer while the block is in memory (open, waiting
// for the flusher, or in the post-write queue), else from the device with
// one aligned read of the pages that hold it. What is read must verify: a
// record header of the right block incarnation and digest, and a body that
// matches its checksum.
//
// A record that fails while the index still points at it is corrupt: the
// read returns storage.ErrNotFound, the entry is removed (so scans, Stats
// and Get keep agreeing), device_corrupt_records counts it, and a warning
// names the device, block and digest. One that fails because it moved
// (overwritten, defragmented, deleted) between the index lookup and the
// read is simply looked up again.

// maxReadTries bounds the lookups of one Get racing with writers that keep
// moving its record.
const maxReadTries = 100

// lookup returns a copy of d's entry and the sequence of the block
// incarnation it points into. Tombstones are not found.
func (b *Backend) lookup(d *storage.Digest) (entry, uint64, error) {
	p := b.partition(d)
	p.mu.RLock()
	defer p.mu.RUnlock()
	if b.closed.Load() {
		return entry{}, 0, storage.ErrClosed
	}
	i := p.table.find(d, b.hashSeed)
	if i < 0 || p.table.slots[i].tombstone() {
		return entry{}, 0, storage.ErrNotFound
	}
	e := p.table.slots[i]
	l := e.loc()
	return e, b.devs[l.dev].seq[l.block].Load(), nil
}

// get reads d's record into buf; see storage.Backend.Get. It returns the
// buffer it used, buf or a larger one.
func (b *Backend) get(d *storage.Digest, buf []byte) (storage.Record, []byte, error) {
	for range maxReadTries {
		e, seq, err := b.lookup(d)
		if err != nil {
			return storage.Record{}, buf, err
		}
		rec, nbuf, ok, err := b.readEntry(d, &e, seq, buf)
		if err != nil || ok {
			return rec, nbuf, err
		}
		if b.dropCorrupt(d, &e, "read") {
			return storage.Record{}, buf, storage.ErrNotFound
		}
	}
	return storage.Record{}, buf, fmt.Errorf("nvme: get %x: the record kept moving during %d reads: %w", d[:], maxReadTries, storage.ErrUnavailable)
}

// readEntry reads the record e points at, in block incarnation seq, into
// buf (grown if too small). ok is false when what is there does not verify.
func (b *Backend) readEntry(d *storage.Digest, e *entry, seq uint64, buf []byte) (rec storage.Record, out []byte, ok bool, err error) {
	l := e.loc()
	dv := b.devs[l.dev]
	b.reads.Add(1)
	if wb := dv.cachedLocked(l.block, seq); wb != nil {
		rec, out, ok = b.decodeInto(d, seq, wb.buf[l.off:l.off+l.size], buf)
		dv.cmu.RUnlock()
		if ok {
			b.cacheHits.Add(1)
			rec.Meta = b.meta(e)
		}
		return rec, out, ok, nil
	}
	sp, src, err := dv.readPages(l)
	defer alignedbuf.Put(sp)
	if err != nil {
		return rec, buf, false, err
	}
	if dv.mirror == nil {
		b.devReads.Add(1)
	}
	rec, out, ok = b.decodeInto(d, seq, src, buf)
	if ok {
		rec.Meta = b.meta(e)
	}
	return rec, out, ok, nil
}

// readPages reads the pages of the device holding the record at l into a
// buffer of alignedbuf's, which the caller puts back, and returns the
// buffer and the record's bytes in it.
func (dv *device) readPages(l location) (*[]byte, []byte, error) {
	start := dv.blockOffset(l.block) + int64(l.off)
	from, to := alignDown(start), alignUp(start+int64(l.size))
	sp := alignedbuf.Get(int(to - from))
	page := (*sp)[:to-from]
	if _, err := dv.f.ReadAt(page, from); err != nil {
		return sp, nil, fmt.Errorf("nvme: read %s block %d: %w", dv.path, l.block, err)
	}
	return sp, page[start-from : start-from+int64(l.size)], nil
}

// decodeInto verifies the encoded record src (digest d, block incarnation
// seq) and copies its key and bins into buf, growing it if needed.
func (b *Backend) decodeInto(d *storage.Digest, seq uint64, src []byte, buf []byte) (storage.Record, []byte, bool) {
	h, ok := devrecord.Decode(src, b.seed)
	if !ok || h.Kind != devrecord.KindRecord || h.Digest != *d || h.BSeq != seq || devrecord.Padded(int(h.Length)) != len(src) || !devrecord.BodyOK(src, &h) {
		return storage.Record{}, buf, false
	}
	buf, k, ok := devrecord.CopyOut(src, &h, buf)
	if !ok {
		return storage.Record{}, buf, false
	}
	return storage.Record{Key: buf[:k:k], Bins: buf[k:len(buf):len(buf)]}, buf, true
}

// meta returns the metadata of an entry.
func (b *Backend) meta(e *entry) storage.Meta {
	return storage.Meta{
		Generation: e.generation(),
		VoidTime:   e.voidTime(),
		LastUpdate: e.lastUpdate(),
		Set:        b.sets.Name(e.setID()),
		HasKey:     e.hasKey(),
	}
}

// dropCorrupt removes d's entry if it is still e, after a read of what e
// points at failed to verify, and reports whether it did: the record is
// corrupt on the device. If the entry changed, the record moved meanwhile.
func (b *Backend) dropCorrupt(d *storage.Digest, e *entry, what string) bool {
	p := b.partition(d)
	if b.lock(p) != nil {
		return false
	}
	defer b.unlock(p)
	i := p.table.find(d, b.hashSeed)
	if i < 0 || p.table.slots[i] != *e {
		return false
	}
	l := e.loc()
	b.forget(p, i)
	dv := b.devs[l.dev]
	b.corrupt.Add(1)
	b.log.Warn("nvme: corrupt record removed: it fails its checksum on the device", "op", what, "path", dv.path, "block", l.block, "offset", l.off, "digest", fmt.Sprintf("%x", d[:]))
	return true
}

// readBlock reads incarnation seq of blk whole into buf, from memory if the
// block is still there.
func (dv *device) readBlock(blk uint32, seq uint64, buf []byte) error {
	if wb := dv.cachedLocked(blk, seq); wb != nil {
		n := copy(buf, wb.buf[:wb.used.Load()])
		dv.cmu.RUnlock()
		clear(buf[n:])
		return nil
	}
	if _, err := dv.f.ReadAt(buf[:dv.wbs], dv.blockOffset(blk)); err != nil {
		return fmt.Errorf("read block %d: %w", blk, err)
	}
	if dv.mirror == nil {
		dv.b.devReads.Add(1)
	}
	return nil
}
