package nvme

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/skiffdb/skiff/internal/atomicfile"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/sets"
)

// Warm restart. A cold start reads every block of every device, as long as
// the devices take to read: minutes for terabytes. A backend with
// Options.Snapshot that stops cleanly (every write buffer written and
// synced) writes its index to that file, with each block's sequence and the
// set names, and then marks each device's header with the snapshot's id and
// the device's place (layout.go). A start that finds every device marked
// with one id, each in its place, loads the index from the snapshot instead
// of reading the blocks; figures and block states are then derived from the
// index as after a scan (settle, settleBlocks).
//
// Every start clears the marks before it writes to a device, and removes
// the snapshot it loaded, so a snapshot stands for its devices only until
// they next change: a crash after that, or a stop that could not write its
// snapshot, leaves no marks and the next start reads the devices. A
// snapshot that does not verify (a section's checksum, an entry pointing
// outside the devices or into a block never written, a digest in the wrong
// partition or there twice) is abandoned for a scan.
//
// Unlike a scan, a warm start does not bring back a record deleted without
// durable delete: its older copies on the devices are not in the index.
//
// The file, all integers little-endian, in sections each followed by the
// CRC-32C of its bytes:
//
//	header:     "SKIFFIDX", version (4), entry layout (4: entryLayout),
//	            entry size (4), snapshot id (8), instance (8),
//	            write-block-size (4), devices (4), last block sequence (8),
//	            last write sequence (8), set names (4: n), then names 1..n,
//	            each a length (2) and its bytes
//	per device: blocks (4), then each block's sequence on the device (8)
//	per partition, 4096 of them: entries (4), then the entries (48 each)
//	trailer:    "SKIFFEND"

const snapshotVersion = 1

var (
	snapshotMagic = [8]byte{'S', 'K', 'I', 'F', 'F', 'I', 'D', 'X'}
	snapshotEnd   = [8]byte{'S', 'K', 'I', 'F', 'F', 'E', 'N', 'D'}
)

// errBadIndex wraps the reasons an index cannot be loaded from a snapshot
// the devices name, or taken over from a dead process (resume.go): New
// then reads the devices instead.
var errBadIndex = errors.New("index unusable")

// saveSnapshot writes the index to Options.Snapshot and marks the devices
// with it. Close calls it once every write is on the devices and nothing
// else runs.
func (b *Backend) saveSnapshot() error {
	id := rand.Uint64() | 1
	path := b.opts.Snapshot
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	err := atomicfile.WriteWith(path, func(f *os.File) error { return b.writeSnapshot(f, id) })
	if err != nil {
		return err
	}
	for _, dv := range b.devs {
		if err := writeMark(dv.f, dv.header, cleanMark{snapshot: id, place: uint16(dv.idx)}); err != nil {
			return fmt.Errorf("mark %s: %w", dv.path, err)
		}
	}
	return nil
}

// writeSnapshot writes the snapshot's sections to f.
func (b *Backend) writeSnapshot(f io.Writer, id uint64) error {
	w := sectionWriter{w: bufio.NewWriterSize(f, 1<<20)}
	names := b.sets.Names()
	w.bytes(snapshotMagic[:])
	w.u32(snapshotVersion)
	w.u32(entryLayout)
	w.u32(entrySize)
	w.u64(id)
	w.u64(b.instance)
	w.u32(uint32(b.opts.WriteBlockSize))
	w.u32(uint32(len(b.devs)))
	w.u64(b.nextSeq.Load())
	w.u64(b.wseq.Load())
	w.u32(uint32(len(names) - 1))
	for _, name := range names[1:] {
		w.u16(uint16(len(name)))
		w.bytes([]byte(name))
	}
	w.end()
	for _, dv := range b.devs {
		w.u32(dv.nblocks)
		for _, seq := range dv.diskSeq {
			w.u64(seq)
		}
		w.end()
	}
	// Entries go out a chunk at a time: checksumming 48 bytes at a time
	// costs several times as much.
	chunk := make([]byte, 0, 1365*entrySize)
	for i := range b.parts {
		t := &b.parts[i].table
		w.u32(uint32(t.count))
		for j := range t.slots {
			if e := &t.slots[j]; e.used() {
				if chunk = append(chunk, e[:]...); len(chunk) == cap(chunk) {
					w.bytes(chunk)
					chunk = chunk[:0]
				}
			}
		}
		w.bytes(chunk)
		chunk = chunk[:0]
		w.end()
	}
	if w.err == nil {
		_, w.err = w.w.Write(snapshotEnd[:])
	}
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// snapshotFor opens the snapshot the devices are marked with, or returns
// nil when they are not all marked with one (saying why, if some are).
func (b *Backend) snapshotFor(ms []*medium) (*os.File, uint64) {
	if b.opts.Snapshot == "" {
		return nil, 0
	}
	id := ms[0].header.clean.snapshot
	why := ""
	for i, m := range ms {
		switch {
		case m.fresh:
			why = fmt.Sprintf("%s %s is new", m.kind, m.path)
		case m.header.clean.snapshot == 0:
			why = fmt.Sprintf("%s %s was not stopped cleanly", m.kind, m.path)
		case m.header.clean.snapshot != id:
			why = fmt.Sprintf("%s %s was stopped with another snapshot", m.kind, m.path)
		case int(m.header.clean.place) != i:
			why = fmt.Sprintf("%s %s moved in the list of devices and files", m.kind, m.path)
		default:
			continue
		}
		break
	}
	if why == "" {
		f, err := os.Open(b.opts.Snapshot)
		if err == nil {
			return f, id
		}
		why = err.Error()
	}
	for _, m := range ms {
		if m.header.clean.snapshot != 0 {
			b.log.Warn("nvme: index snapshot not used: reading the devices", "namespace", b.opts.Namespace, "why", why)
			break
		}
	}
	return nil, 0
}

// setMarks clears the clean-stop marks of the media and sets their region
// marks to epoch, that of the region this start keeps its index in (0:
// none; resume.go), before anything is written to them.
func setMarks(ms []*medium, epoch uint64) error {
	for i, m := range ms {
		var want regionMark
		if epoch != 0 {
			want = regionMark{epoch: epoch, place: uint16(i)}
		}
		if m.header.clean == (cleanMark{}) && m.header.region == want {
			continue
		}
		m.header.clean, m.header.region = cleanMark{}, want
		if err := writeHeader(m.f, m.header, pageSize); err != nil {
			return fmt.Errorf("%s %s: set its marks: %w", m.kind, m.path, err)
		}
	}
	return nil
}

// writeMark rewrites the header page of f, h, with mark, and syncs it.
func writeMark(f devFile, h deviceHeader, mark cleanMark) error {
	h.clean = mark
	return writeHeader(f, h, pageSize)
}

// restore loads the index from snapshot f, whose id the devices carry, in
// place of a scan. Its errors wrap errBadIndex unless the backend itself
// failed (out of index memory).
func (b *Backend) restore(f *os.File, id uint64) error {
	r := sectionReader{r: bufio.NewReaderSize(f, 1<<20)}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", errBadIndex, f.Name(), fmt.Sprintf(format, args...))
	}
	if magic := r.bytes(8); r.err != nil || [8]byte(magic) != snapshotMagic {
		return bad("not a snapshot")
	}
	if v := r.u32(); v != snapshotVersion {
		return bad("version %d, this backend reads %d", v, snapshotVersion)
	}
	if layout, size := r.u32(), r.u32(); layout != entryLayout || size != entrySize {
		return bad("index entries of layout %d and %d bytes, this backend's are %d and %d", layout, size, entryLayout, entrySize)
	}
	if got := r.u64(); got != id {
		return bad("snapshot %x, the devices name %x", got, id)
	}
	if inst := r.u64(); inst != b.instance {
		return bad("of device set %x, not %x", inst, b.instance)
	}
	wbs, ndevs := r.u32(), r.u32()
	if int(wbs) != b.opts.WriteBlockSize || int(ndevs) != len(b.devs) {
		return bad("%d devices of write-block-size %d, configured %d of %d", ndevs, wbs, len(b.devs), b.opts.WriteBlockSize)
	}
	nextSeq, wseq := r.u64(), r.u64()
	n := r.u32()
	if n > sets.Max {
		return bad("%d set names", n)
	}
	names := make([]string, n+1)
	for i := 1; i <= int(n) && r.err == nil; i++ {
		names[i] = string(r.bytes(int(r.u16())))
	}
	if err := r.end(); err != nil {
		return bad("header: %v", err)
	}
	if err := b.sets.Restore(names); err != nil {
		return bad("%v", err)
	}
	for id := 1; id < len(names); id++ {
		b.publishSet(uint16(id))
	}
	for _, dv := range b.devs {
		if blocks := r.u32(); blocks != dv.nblocks {
			return bad("%s has %d blocks, the snapshot %d", dv.path, dv.nblocks, blocks)
		}
		for blk := range dv.diskSeq {
			seq := r.u64()
			if seq > nextSeq {
				return bad("%s block %d has sequence %d, past the last, %d", dv.path, blk, seq, nextSeq)
			}
			dv.diskSeq[blk] = seq
			dv.seq[blk].Store(seq)
		}
		if err := r.end(); err != nil {
			return bad("%s: %v", dv.path, err)
		}
	}
	b.nextSeq.Store(nextSeq)
	b.wseq.Store(wseq)
	if err := b.restoreTables(&r, len(names)); err != nil {
		if errors.Is(err, errBadIndex) {
			return fmt.Errorf("%w: %s", err, f.Name())
		}
		return err
	}
	if end := r.bytes(8); r.err != nil || [8]byte(end) != snapshotEnd {
		return bad("no trailer: cut short")
	}
	return b.settle()
}

// partSection is one partition's entries as read from a snapshot.
type partSection struct {
	pid int
	buf []byte
}

// restoreTables reads the partitions' sections and fills their tables, on
// every CPU.
func (b *Backend) restoreTables(r *sectionReader, nsets int) error {
	workers := max(runtime.GOMAXPROCS(0), 1)
	work := make(chan partSection, workers)
	spare := make(chan []byte, workers+1)
	for range workers + 1 {
		spare <- nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for s := range work {
				if errs[w] == nil {
					errs[w] = b.fillTable(s.pid, s.buf, nsets)
				}
				spare <- s.buf
			}
		})
	}
	var err error
	for pid := range b.parts {
		count := r.u32()
		buf := <-spare
		buf = r.fill(buf, int(count)*entrySize)
		if cerr := r.end(); cerr != nil {
			err = fmt.Errorf("%w: partition %d: %v", errBadIndex, pid, cerr)
			break
		}
		work <- partSection{pid, buf}
	}
	close(work)
	wg.Wait()
	return errors.Join(append(errs, err)...)
}

// fillTable builds partition pid's table from its entries in buf, checking
// each against the devices.
func (b *Backend) fillTable(pid int, buf []byte, nsets int) error {
	n := len(buf) / entrySize
	if n == 0 {
		return nil
	}
	t := &b.parts[pid].table
	if err := t.resize(max(minTableLen, n*growNum/growDen+1), b.hashSeed, b.slots); err != nil {
		return fmt.Errorf("nvme: warm start: index: %w", err)
	}
	for i := range n {
		e := entry(buf[i*entrySize : (i+1)*entrySize])
		if why := b.checkEntry(&e, pid, nsets); why != "" {
			return fmt.Errorf("%w: partition %d entry %d: %s", errBadIndex, pid, i, why)
		}
		d := e.digest()
		if t.find(&d, b.hashSeed) >= 0 {
			return fmt.Errorf("%w: partition %d: digest %x twice", errBadIndex, pid, d[:])
		}
		t.place(e, 0, b.hashSeed)
		t.count++
	}
	return nil
}

// checkEntry returns what is wrong with entry e of partition pid, or "".
func (b *Backend) checkEntry(e *entry, pid, nsets int) string {
	d := e.digest()
	l := e.loc()
	switch {
	case !e.used():
		return "empty"
	case int(d.Partition()) != pid:
		return "digest of another partition"
	case l.dev >= len(b.devs):
		return "no such device"
	case l.block >= b.devs[l.dev].nblocks:
		return "block past the device's end"
	case b.devs[l.dev].diskSeq[l.block] == 0:
		return "block never written"
	case l.off < blockHeaderSize || l.size < devrecord.HeaderSize || int(l.off+l.size) > b.opts.WriteBlockSize:
		return "record outside its block"
	case e.tombstone() && e.setID() != 0:
		return "tombstone with a set"
	case int(e.setID()) >= nsets:
		return "unknown set"
	}
	return ""
}

// sectionWriter writes a snapshot's sections, each followed by its
// checksum. The first error sticks.
type sectionWriter struct {
	w       *bufio.Writer
	crc     uint32
	scratch [8]byte
	err     error
}

func (s *sectionWriter) bytes(p []byte) {
	if s.err == nil {
		s.crc = crc32.Update(s.crc, castagnoli, p)
		_, s.err = s.w.Write(p)
	}
}

func (s *sectionWriter) u16(v uint16) {
	binary.LittleEndian.PutUint16(s.scratch[:], v)
	s.bytes(s.scratch[:2])
}

func (s *sectionWriter) u32(v uint32) {
	binary.LittleEndian.PutUint32(s.scratch[:], v)
	s.bytes(s.scratch[:4])
}

func (s *sectionWriter) u64(v uint64) {
	binary.LittleEndian.PutUint64(s.scratch[:], v)
	s.bytes(s.scratch[:8])
}

// end closes a section with its checksum.
func (s *sectionWriter) end() {
	binary.LittleEndian.PutUint32(s.scratch[:], s.crc)
	if s.err == nil {
		_, s.err = s.w.Write(s.scratch[:4])
	}
	s.crc = 0
}

// sectionReader reads what sectionWriter wrote. After the first error
// every read returns zeros, and end reports it.
type sectionReader struct {
	r       *bufio.Reader
	crc     uint32
	scratch [8]byte
	err     error
}

// fill reads n bytes into buf, grown if needed, and returns them, or
// fewer after an error. It grows buf as the bytes arrive, so that a damaged
// length cannot make it allocate more than the file holds.
func (s *sectionReader) fill(buf []byte, n int) []byte {
	buf = buf[:0]
	for len(buf) < n && s.err == nil {
		k := min(n-len(buf), 1<<20)
		buf = slices.Grow(buf, k)
		_, s.err = io.ReadFull(s.r, buf[len(buf):len(buf)+k])
		buf = buf[:len(buf)+k]
	}
	if s.err != nil {
		return buf[:0]
	}
	s.crc = crc32.Update(s.crc, castagnoli, buf)
	return buf
}

func (s *sectionReader) bytes(n int) []byte { return s.fill(nil, n) }

// word reads an integer's n bytes, zeros after an error.
func (s *sectionReader) word(n int) []byte {
	if w := s.fill(s.scratch[:0], n); len(w) == n {
		return w
	}
	clear(s.scratch[:])
	return s.scratch[:n]
}

func (s *sectionReader) u16() uint16 { return binary.LittleEndian.Uint16(s.word(2)) }
func (s *sectionReader) u32() uint32 { return binary.LittleEndian.Uint32(s.word(4)) }
func (s *sectionReader) u64() uint64 { return binary.LittleEndian.Uint64(s.word(8)) }

// end reads a section's checksum and checks it.
func (s *sectionReader) end() error {
	want := s.crc
	got := s.u32()
	s.crc = 0
	switch {
	case s.err != nil:
		return s.err
	case got != want:
		return errors.New("checksum mismatch")
	}
	return nil
}
