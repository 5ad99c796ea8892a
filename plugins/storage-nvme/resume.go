package nvme

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/skiffdb/skiff/internal/alignedbuf"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/devrecord"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// A plugin process that dies leaves its index behind. With index-type dram
// the tables are in the shared region, which the node holds and hands to
// the next process (Resume); so are the words the backend keeps besides
// them, in the region's resume area: the block and write sequence counters
// themselves, and for each block its incarnation (device.seq) and the
// incarnation the device holds (device.diskSeq). The backend updates them
// there as it would in its own memory, so keeping them costs nothing.
//
// The next process makes the region its own: it writes the journal's
// buffers to the devices (journal.go) and lays the journal out again, and
// keeps the tables where they are, each entry checked as a snapshot's and
// found in its own slot, the figures and block states derived from the
// entries (settle), instead of reading every device: seconds for terabytes
// rather than as long as reading them takes. It does so when the dead
// process had finished starting ("complete", set at the end of New and
// cleared before Close gives the tables up, and by a process taking the
// region over until it has); otherwise, or if anything fails a check, it
// reads the devices, as after a crash of the node.
//
// A partition the dead process was changing (its sequence word odd) is
// rebuilt from the records its entries point at. The changes are made so
// that every record the partition must keep is then pointed at by an entry
// in its published table, or in the table a resize was filling, or by an
// image of the change in flight, which the writer records first (intend):
// inserts and removals shift entries so that each is always somewhere,
// twice for a while (table.place, remove); a resize publishes the new table
// before it frees the old (partSlots); and the one entry being written may
// be neither version, but its images are both. So the rebuild reads every
// record those entries point at, keeps those that verify (checksum, digest
// of the partition, block incarnation), and of several copies of a digest
// the newest write, as a cold start does; each entry is made again from
// its record. The change in flight is in doubt, and either version may win.
//
// With a region file (Options.RegionFile) the region is a file on a tmpfs,
// which outlives the node: every start takes it over the same way, after a
// crash or a clean stop (keepIndex). Each start marks every device with
// the epoch of the region it keeps its index in (setMarks), before it
// writes: a region whose epoch the devices do not all carry, in their
// places, was left before they were used without it, and is not taken.
// The state section's layout is in state.go.

// leftIndex is what a dead process left: its region, the state section
// read from it, why the region cannot be taken over ("" if it can), and
// the buffers replay wrote.
type leftIndex struct {
	region   *sharedindex.Region
	state    leftState
	unfit    string
	replayed []leftBuffer
}

// inspect reads the state section a dead process left in region, and
// whether the region can be the backend's own for media ms; nil if the
// state cannot be read at all.
func (b *Backend) inspect(region *sharedindex.Region, ms []*medium) *leftIndex {
	st, err := readState(region.ResumeArea())
	if err != nil {
		b.log.Warn("nvme: what the process before left cannot be read: writes of its last flush-max-ms may be lost; reading the devices",
			"namespace", b.opts.Namespace, "err", err)
		return nil
	}
	left := &leftIndex{region: region, state: st}
	_, ssize, jsize := b.areaSizes(ms)
	switch {
	case !st.complete:
		left.unfit = "it had not finished starting, or was closing"
	case !st.synced && !sameBoot(st.boot):
		left.unfit = "the system restarted since: its memory may not all have reached the region's file"
	case st.unlisted != 0:
		left.unfit = fmt.Sprintf("%d write buffers outside the journal held records it may not have written", st.unlisted)
	case st.instance != b.instance || st.wbs != uint64(b.opts.WriteBlockSize) || len(st.seq) != len(ms):
		left.unfit = fmt.Sprintf("of %d devices of write-block-size %d, instance %x; configured %d of %d, instance %x",
			len(st.seq), st.wbs, st.instance, len(ms), b.opts.WriteBlockSize, b.instance)
	case len(region.ResumeArea()) != ssize+jsize || len(st.journal) != jsize:
		left.unfit = "its write buffers or devices were configured otherwise"
	}
	for i, m := range ms {
		switch {
		case left.unfit != "":
		case len(st.seq[i]) != int(m.blocks):
			left.unfit = fmt.Sprintf("%s %s has %d blocks, the index %d", m.kind, m.path, m.blocks, len(st.seq[i]))
		case m.header.region != regionMark{epoch: st.epoch, place: uint16(i)}:
			left.unfit = fmt.Sprintf("%s %s has been used without this index since", m.kind, m.path)
		}
	}
	return left
}

// sameBoot says whether a region's memory, written in boot, is this boot's.
func sameBoot(boot [16]byte) bool {
	id, err := thisBoot()
	return err == nil && boot == id
}

// takeRegion makes the region left the backend's own: its state section
// and journal are the backend's, and adopt checks and keeps its tables
// where they are.
func (b *Backend) takeRegion(left *leftIndex) error {
	region := left.region
	area := region.ResumeArea()
	b.region = region
	b.slots = b.newRegionSlots(region)
	b.hashSeed = region.Seed()
	b.epoch = left.state.epoch
	b.state = indexState{mem: area[:len(area)-len(left.state.journal)]}
	// A death during this start must not leave an index half taken over
	// for the next.
	b.state.setComplete(false)
	if err := b.state.ownBoot(region.FD()); err != nil {
		return fmt.Errorf("sync the region's file: %w", err)
	}
	b.nextSeq, b.wseq = b.state.counters()
	return nil
}

// reuseJournal lays out a journal again in the one left, once replay has
// written what its buffers held.
func (b *Backend) reuseJournal(left *leftIndex) {
	mem := left.state.journal
	if len(mem) == 0 {
		return
	}
	slots := journalSlots(&b.opts, len(b.devs))
	bufOff, _ := journalLayout(slots, b.opts.WriteBlockSize)
	clear(mem[:bufOff])
	punch(mem[bufOff:])
	b.journal = newJournal(mem, slots, b.opts.WriteBlockSize, b.log)
	b.journal.unlisted = b.state.unlisted()
	if b.opts.RegionFile != "" {
		b.journal.reserveIn(b.region.FD(), offsetIn(b.region, mem))
	}
}

// adopt takes over the index in the region of a dead process (takeRegion)
// in place of a scan: the tables of the partitions it was not changing are
// checked and kept where they are, the others rebuilt. Its errors wrap
// errBadIndex unless the backend itself failed.
func (b *Backend) adopt(left *leftIndex) error {
	st, region := &left.state, b.region
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: the index of the process before: %s", errBadIndex, fmt.Sprintf(format, args...))
	}
	for _, dv := range b.devs {
		for blk := range dv.nblocks {
			if seq, disk := dv.seq[blk].Load(), dv.diskSeq[blk]; seq > st.blockSeq || disk > seq {
				return bad("%s block %d has incarnation %d, on the device %d, the last %d", dv.path, blk, seq, disk, st.blockSeq)
			}
		}
	}
	for _, lb := range left.replayed {
		dv := b.devs[lb.dev]
		if seq := dv.seq[lb.blk].Load(); lb.seq != seq {
			return bad("%s block %d: the journal wrote incarnation %d, the index names %d", dv.path, lb.blk, lb.seq, seq)
		}
		dv.diskSeq[lb.blk] = lb.seq
	}
	// Trimmed to the last id named, so that an entry naming an id beyond
	// it fails its check.
	names := region.SetNames()
	for len(names) > 1 && names[len(names)-1] == "" {
		names = names[:len(names)-1]
	}
	if err := b.sets.Restore(names); err != nil {
		return bad("%v", err)
	}
	for id := 1; id < len(names); id++ {
		b.published[id].Store(names[id] != "")
	}
	tables, cands, err := b.checkTables(left, len(names))
	if err != nil {
		return err
	}
	// What the region holds from now on: the resume area and the tables
	// kept. The rest (the tables of partitions to rebuild, the block flags
	// the node read) goes back to the system.
	area := region.ResumeArea()
	spans := []sharedindex.Span{{Off: offsetIn(region, area), N: len(area)}}
	var bytes int64
	for _, t := range tables {
		if len(t.slots) > 0 {
			spans = append(spans, sharedindex.Span{Off: offsetIn(region, t.slots), N: pagesFor(len(t.slots))})
			bytes += int64(pagesFor(len(t.slots)))
		}
	}
	if err := region.Restore(spans); err != nil {
		return bad("%v", err)
	}
	b.slots.(*regionSlots).used.Store(bytes)
	for pid := range b.parts {
		b.parts[pid].table = tables[pid]
	}
	rebuilt := 0
	for pid, c := range cands {
		if c == nil {
			continue
		}
		if err := b.rebuild(uint16(pid), c); err != nil {
			return err
		}
		rebuilt++
	}
	// The partitions rebuilt, and every one of a region closed cleanly
	// (keepIndex), are left changing.
	for pid := range uint16(storage.Partitions) {
		region.Settle(pid)
	}
	region.Resumed()
	if rebuilt > 0 {
		b.log.Info("nvme: rebuilt the partitions the process before was changing from their records", "namespace", b.opts.Namespace, "partitions", rebuilt)
	}
	return b.settle()
}

// checkTables checks, on every CPU, the published table of each partition
// the dead process was not changing: each entry as a snapshot's, and found
// where it is (so neither there twice nor out of its place); it returns
// them, and for each partition it was changing the entries to rebuild it
// from.
func (b *Backend) checkTables(left *leftIndex, nsets int) (*[storage.Partitions]table, *[storage.Partitions][]entry, error) {
	tables := new([storage.Partitions]table)
	cands := new([storage.Partitions][]entry)
	region := b.region
	mem := region.Mem()
	workers := max(runtime.GOMAXPROCS(0), 1)
	errs := make([]error, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for pid := int(next.Add(1)) - 1; pid < len(b.parts) && errs[w] == nil; pid = int(next.Add(1)) - 1 {
				if region.Changing(uint16(pid)) {
					cands[pid] = candidates(left, uint16(pid))
					continue
				}
				off, n := region.TableOff(uint16(pid)), region.TableLen(uint16(pid))
				if off == 0 {
					continue
				}
				if !inData(region, off, n) {
					errs[w] = fmt.Errorf("%w: the index of the process before: partition %d: a table of %d entries at %d, outside the region", errBadIndex, pid, n, off)
					return
				}
				t := table{slots: tableAt(mem, off, n)}
				for i := range t.slots {
					e := &t.slots[i]
					if !e.used() {
						continue
					}
					why := b.checkEntry(e, pid, nsets)
					if d := e.digest(); why == "" && t.find(&d, b.hashSeed) != i {
						why = "there twice, or out of its place"
					}
					if why != "" {
						errs[w] = fmt.Errorf("%w: the index of the process before: partition %d slot %d: %s", errBadIndex, pid, i, why)
						return
					}
					t.count++
				}
				tables[pid] = t
			}
		})
	}
	wg.Wait()
	return tables, cands, errors.Join(errs...)
}

// inData reports whether a table of n entries at off is within region's
// data area, page-aligned.
func inData(region *sharedindex.Region, off, n int) bool {
	return n > 0 && off >= region.DataStart() && off%pageSize == 0 && pagesFor(n) <= len(region.Mem())-off
}

// tableAt is the table of n entries at off of mem.
func tableAt(mem []byte, off, n int) []entry {
	return unsafe.Slice((*entry)(unsafe.Pointer(&mem[off])), n)
}

// candidates copies the entries that may point at the records partition
// pid must keep, which the dead process was changing: those of its
// published table, of a table a resize was filling, and the change's
// images (see above). Never nil.
func candidates(left *leftIndex, pid uint16) []entry {
	region := left.region
	seq := region.Seq(pid)
	in := left.state.intents[int(pid)*intentSize:][:intentSize]
	// Words read back, bounded so that they stay ints.
	u := func(off int) int { return int(min(binary.LittleEndian.Uint64(in[off:]), uint64(len(region.Mem())))) }
	cands := []entry{}
	table := func(off, n int) {
		if inData(region, off, n) {
			for _, e := range tableAt(region.Mem(), off, n) {
				if e.used() {
					cands = append(cands, e)
				}
			}
		}
	}
	table(region.TableOff(pid), region.TableLen(pid))
	if binary.LittleEndian.Uint64(in[iTableTag:]) == seq {
		table(u(iTableOff), u(iTableLen))
	}
	if binary.LittleEndian.Uint64(in[iImageTag:]) == seq {
		for _, at := range []int{iBefore, iAfter} {
			if e := entry(in[at : at+entrySize]); e.used() {
				cands = append(cands, e)
			}
		}
	}
	return cands
}

// rebuild fills the table of partition pid from the records that cands
// point at: those that verify, and of several copies of a digest the
// newest write, as a cold start does.
func (b *Backend) rebuild(pid uint16, cands []entry) error {
	type found struct {
		e          entry
		wseq, bseq uint64
	}
	best := map[storage.Digest]found{}
	seen := map[location]bool{}
	for i := range cands {
		l := cands[i].loc()
		if seen[l] {
			continue
		}
		seen[l] = true
		e, h, err := b.readAt(pid, l)
		if err != nil {
			return err
		}
		if h == nil {
			continue
		}
		d := e.digest()
		if f, ok := best[d]; ok && (h.WSeq < f.wseq || h.WSeq == f.wseq && h.BSeq <= f.bseq) {
			continue
		}
		best[d] = found{e, h.WSeq, h.BSeq}
	}
	buf := make([]byte, 0, len(best)*entrySize)
	for _, f := range best {
		buf = append(buf, f.e[:]...)
	}
	return b.fillTable(int(pid), buf, len(b.sets.Names()))
}

// readAt reads the record at l and returns its entry, made from its header,
// and the header, or a nil header if what is there is not a record or
// tombstone of partition pid of the block's incarnation that verifies.
func (b *Backend) readAt(pid uint16, l location) (entry, *devrecord.Header, error) {
	if l.dev < 0 || l.dev >= len(b.devs) {
		return entry{}, nil, nil
	}
	dv := b.devs[l.dev]
	if l.block >= dv.nblocks || l.off < blockHeaderSize || l.size < devrecord.HeaderSize || int(l.off+l.size) > dv.wbs {
		return entry{}, nil, nil
	}
	seq := dv.seq[l.block].Load()
	sp, src, err := dv.readPages(l)
	defer alignedbuf.Put(sp)
	if err != nil {
		return entry{}, nil, err
	}
	h, ok := devrecord.Decode(src, b.seed)
	if !ok || seq == 0 || h.BSeq != seq || h.Digest.Partition() != pid || devrecord.Padded(int(h.Length)) != len(src) || !devrecord.BodyOK(src, &h) {
		return entry{}, nil, nil
	}
	switch h.Kind {
	case devrecord.KindTombstone:
		return makeTombstone(&h.Digest, devrecord.TombstoneBelow(src), l), &h, nil
	case devrecord.KindRecord:
		set, _, _ := devrecord.Parts(src, &h)
		id, err := b.sets.IDOfBytes(set)
		if err != nil {
			return entry{}, nil, fmt.Errorf("%w: the index of the process before: %v", errBadIndex, err)
		}
		b.publishSet(id)
		return makeEntry(&h.Digest, id, h.KeyLen > 0, h.Gen, h.Void, h.LUT, l), &h, nil
	}
	return entry{}, nil, nil
}
