package nvme

import (
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
)

// Tombstones. A durable delete writes a tombstone whose "below" is the
// highest block sequence handed out at the time: every older version of
// the record lies in a block incarnation with a sequence at most below.
// The tombstone must stay (in the index, and so on the devices) while any
// such block content may remain on a device other than in the tombstone's
// own block: blocks keep their content after they are freed, until reused.
// A tombstone's own block may be excluded because its older versions there
// disappear with the tombstone's bytes, when the block's next incarnation
// is first written (its header then disowns everything after it).
//
// diskFloor captures that: the two lowest block sequences of any content,
// on the devices or about to be (an open or sealed block counts with its
// new sequence), capped at the next sequence to hand out when it was
// taken. A stale floor is safe: content only gets newer, and a block
// opened after the floor was taken has a sequence above the cap.
//
// Dropping happens in two places: the defragmenter drops the tombstones it
// meets (defrag.go), and the tomb raider (Aerospike's name) sweeps the index
// every TombRaiderPeriod, since a block full of live tombstones never falls
// under the defrag threshold. After a sweep that leaves tombstones, the
// raider queues the block holding the oldest content for defrag, so that
// it is freed, reused, and the floor moves on.

// diskFloor is the oldest block content: the lowest sequence, its block,
// and the second lowest.
type diskFloor struct {
	min1, min2 uint64
	dev        int
	blk        uint32
}

// allows reports whether a tombstone with bound below, at l, may go.
func (f *diskFloor) allows(below uint64, l location) bool {
	m := f.min1
	if l.dev == f.dev && l.block == f.blk {
		m = f.min2
	}
	return below < m
}

// computeFloor scans every block's sequences.
func (b *Backend) computeFloor() diskFloor {
	limit := b.nextSeq.Load() + 1
	f := diskFloor{min1: limit, min2: limit, dev: -1}
	for _, dv := range b.devs {
		dv.bmu.Lock()
		for blk := range dv.nblocks {
			s := dv.diskSeq[blk]
			if st := dv.state[blk]; (st == blockOpen || st == blockSealed) && (s == 0 || dv.seq[blk].Load() < s) {
				s = dv.seq[blk].Load()
			}
			switch {
			case s == 0:
			case s < f.min1:
				f.min2 = f.min1
				f.min1, f.dev, f.blk = s, dv.idx, blk
			case s < f.min2:
				f.min2 = s
			}
		}
		dv.bmu.Unlock()
	}
	return f
}

// floor returns a floor at most floorTTL old.
func (b *Backend) floor() diskFloor {
	b.floorMu.Lock()
	defer b.floorMu.Unlock()
	if now := time.Now(); now.Sub(b.floorAt) > floorTTL {
		b.floorVal, b.floorAt = b.computeFloor(), now
	}
	return b.floorVal
}

// floorTTL is how long the defragmenter reuses a computed floor.
const floorTTL = 100 * time.Millisecond

// tombRaider sweeps for unneeded tombstones every period until Close.
func (b *Backend) tombRaider(period time.Duration, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		if b.tombstones.Load() == 0 {
			continue
		}
		f := b.computeFloor()
		if n := b.raid(&f); n > 0 {
			b.log.Debug("nvme: tomb raider dropped tombstones", "count", n)
		}
		if b.tombstones.Load() > 0 && f.dev >= 0 {
			dv := b.devs[f.dev]
			dv.bmu.Lock()
			if dv.state[f.blk] == blockWritten {
				dv.enqueueLocked(f.blk)
			}
			dv.bmu.Unlock()
		}
	}
}

// raid removes the tombstones f allows and returns how many.
func (b *Backend) raid(f *diskFloor) int {
	dropped := 0
	var ds []storage.Digest
	for pid := range b.parts {
		p := &b.parts[pid]
		p.mu.RLock()
		has := p.tombs > 0
		p.mu.RUnlock()
		if !has {
			continue
		}
		if b.lock(p) != nil {
			break
		}
		ds = ds[:0]
		for i := range p.table.slots {
			if e := &p.table.slots[i]; e.used() && e.tombstone() && f.allows(e.below(), e.loc()) {
				ds = append(ds, e.digest())
			}
		}
		for _, d := range ds {
			b.forget(p, p.table.find(&d, b.hashSeed))
		}
		b.unlock(p)
		dropped += len(ds)
	}
	b.tombstonesDropped.Add(int64(dropped))
	return dropped
}
