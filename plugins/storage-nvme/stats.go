package nvme

import (
	"context"
	"sync"
	"time"
	"unsafe"

	"github.com/skiffdb/skiff/sdk/storage"
)

// rateSamples is how many one-second samples the rates are computed over.
const rateSamples = 5

// rateWindow keeps the last few seconds of the counters behind the rates in
// Stats.Extra.
type rateWindow struct {
	mu      sync.Mutex
	samples [rateSamples + 1]rateSample
	n, next int
}

type rateSample struct {
	at               time.Time
	devReads, writes int64
	reads, cacheHits int64
}

// sample records the counters once a second until Close.
func (b *Backend) sample() {
	defer close(b.sampleDone)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	b.takeSample()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.takeSample()
		}
	}
}

func (b *Backend) takeSample() {
	s := rateSample{at: time.Now(), devReads: b.devReads.Load() + b.nodeReads(), writes: b.writes.Load(),
		reads: b.reads.Load() + b.nodeReads(), cacheHits: b.cacheHits.Load()}
	w := &b.rates
	w.mu.Lock()
	w.samples[w.next] = s
	w.next = (w.next + 1) % len(w.samples)
	w.n = min(w.n+1, len(w.samples))
	w.mu.Unlock()
}

// oldest returns the oldest sample kept, and whether there is one.
func (w *rateWindow) oldest() (rateSample, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		return rateSample{}, false
	}
	i := (w.next - w.n + len(w.samples)) % len(w.samples)
	return w.samples[i], true
}

// Stats returns the backend's figures; Extra holds the device figures by
// Aerospike's names where one exists:
//
//	device_read_tps        reads from the devices per second, last ~5 s
//	                       (record reads and defrag block reads; none with
//	                       data-in-memory)
//	device_write_tps       writes to the devices per second, last ~5 s
//	                       (whole blocks and partial flushes)
//	cache_read_pct         share of record reads served from memory (open
//	                       buffers and post-write queue), last ~5 s
//	data_avail_pct         free blocks / all blocks, in percent
//	defrag_reads           blocks read by the defragmenter
//	defrag_writes          blocks it filled and wrote
//	defrag_q               blocks waiting for the defragmenter
//	write_q                full write buffers waiting for the flusher
//	device_compression_ratio  with compression, the bins written since the
//	                       start as stored over as sent (0.25: 4 to 1)
//	device_overloads       writes refused because a write queue was full
//	                       (max-write-cache); the client got DEVICE_OVERLOAD
//	index_flash_used_bytes with index-type flash, IndexBytes, in the mount
//	index_mounts_used_pct  with index-type flash and mounts-budget, the
//	                       share of the limit those take
//	memory_used_data_bytes with data-in-memory, the memory its copy of the
//	                       blocks in use takes
//	device_corrupt_records records found damaged and skipped, since start
//	device_torn_tails      blocks whose last record was cut short by a crash,
//	                       found by the last cold start (not corruption)
//	tombstones             tombstones of durable deletes in the index
//	tombstones_dropped     tombstones removed by defrag, since start
//	device_syncs           fdatasync calls, since start
//	device_io_uring        devices and files read through an io_uring; the
//	                       others block a thread per read (pread)
//	cold_start_ms          how long the last start took to rebuild the index
//	warm_start             1 if the last start loaded the index from the
//	                       snapshot of a clean stop, 0 if it read the devices
//	index_resumed          1 if the last start took over the index of a
//	                       plugin process that died (resume.go)
//
// DataBytes is the records' encoded bytes on the devices (headers and
// padding included, tombstones excluded), Capacity the bytes of all blocks.
func (b *Backend) Stats(context.Context) (storage.Stats, error) {
	if b.closed.Load() {
		return storage.Stats{}, storage.ErrClosed
	}
	var capacity, freeBlocks, totalBlocks, queued, writeQ, rings int64
	for _, dv := range b.devs {
		if dv.ring {
			rings++
		}
		free, q := dv.counts()
		freeBlocks += int64(free)
		queued += int64(q)
		totalBlocks += int64(dv.nblocks)
		capacity += int64(dv.nblocks) * int64(dv.wbs)
		writeQ += int64(dv.writeQ.Load())
	}
	indexBytes := b.slots.bytes() + int64(unsafe.Sizeof(b.parts))
	extra := map[string]float64{
		"data_avail_pct":         100 * float64(freeBlocks) / float64(totalBlocks),
		"defrag_reads":           float64(b.defragReads.Load()),
		"defrag_writes":          float64(b.defragWrites.Load()),
		"defrag_q":               float64(queued),
		"write_q":                float64(writeQ),
		"device_overloads":       float64(b.overloads.Load()),
		"device_corrupt_records": float64(b.corrupt.Load()),
		"device_torn_tails":      float64(b.torn.Load()),
		"tombstones":             float64(b.tombstones.Load()),
		"tombstones_dropped":     float64(b.tombstonesDropped.Load()),
		"device_syncs":           float64(b.syncs.Load()),
		"device_io_uring":        float64(rings),
		"cold_start_ms":          float64(b.coldStart.Milliseconds()),
		"warm_start":             0,
		"index_resumed":          0,
		"device_read_tps":        0,
		"device_write_tps":       0,
		"cache_read_pct":         0,
	}
	if b.warm {
		extra["warm_start"] = 1
	}
	if b.resumed {
		extra["index_resumed"] = 1
	}
	if in := b.binsIn.Load(); in > 0 {
		extra["device_compression_ratio"] = float64(b.binsStored.Load()) / float64(in)
	}
	if b.opts.DataInMemory {
		extra["memory_used_data_bytes"] = float64(b.copiesBytes())
	}
	if b.opts.IndexType == IndexFlash {
		used := b.slots.bytes()
		extra["index_flash_used_bytes"] = float64(used)
		if limit := b.opts.IndexMountSizeLimit; limit > 0 {
			extra["index_mounts_used_pct"] = 100 * float64(used) / float64(limit)
		}
	}
	if old, ok := b.rates.oldest(); ok {
		if secs := time.Since(old.at).Seconds(); secs > 0.1 {
			extra["device_read_tps"] = float64(b.devReads.Load()+b.nodeReads()-old.devReads) / secs
			extra["device_write_tps"] = float64(b.writes.Load()-old.writes) / secs
		}
		if reads := b.reads.Load() + b.nodeReads() - old.reads; reads > 0 {
			extra["cache_read_pct"] = 100 * float64(b.cacheHits.Load()-old.cacheHits) / float64(reads)
		}
	}
	return storage.Stats{
		Records:    uint64(b.records.Load()),
		DataBytes:  uint64(b.dataBytes.Load()),
		IndexBytes: uint64(indexBytes),
		Capacity:   uint64(capacity),
		Sets:       b.sets.Stats(),
		Extra:      extra,
	}, nil
}
