package record

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/xdr"
)

// ChangeSink takes the changes a namespace commits, for replication.
// Changed runs under the record's lock, on the write's path: it must not
// block, and must copy what it keeps (the commit's slices are reused).
type ChangeSink interface {
	Changed(c *Commit)
	// WantsChangedBins reports whether the sink ships only the bins a
	// write changed (bin-policy only-changed), which the namespace then
	// encodes for it.
	WantsChangedBins() bool
}

// Commit is one change as the namespace committed it: the whole record
// in Change, and for a write that named the bins it changed, those bins
// alone in ChangedBins (a removed bin with particle type 0), nil when the
// write changed the whole record.
type Commit struct {
	xdr.Change
	ChangedBins []byte
}

// replication is a namespace's side of XDR: where commits go, and the
// deletes remembered so that a peer's older write does not bring a
// deleted record back.
type replication struct {
	sinks       atomic.Pointer[[]ChangeSink]
	changedBins atomic.Bool
	commitPool  sync.Pool
	deletes     deleteLog
}

// AddChangeSink makes the namespace hand its commits to sink, from then
// on.
func (ns *Namespace) AddChangeSink(sink ChangeSink) {
	for {
		old := ns.repl.sinks.Load()
		var next []ChangeSink
		if old != nil {
			next = append(next, *old...)
		}
		next = append(next, sink)
		if ns.repl.sinks.CompareAndSwap(old, &next) {
			break
		}
	}
	if sink.WantsChangedBins() {
		ns.repl.changedBins.Store(true)
	}
}

// replicated reports whether any sink takes the namespace's commits.
func (ns *Namespace) replicated() bool { return ns.repl.sinks.Load() != nil }

func (ns *Namespace) emit(c *Commit) {
	for _, sink := range *ns.repl.sinks.Load() {
		sink.Changed(c)
	}
}

func (ns *Namespace) getCommit() *Commit {
	if c, ok := ns.repl.commitPool.Get().(*Commit); ok {
		return c
	}
	return new(Commit)
}

// emitWrite hands a committed write to the sinks.
func (ns *Namespace) emitWrite(s *Scratch, req *Request, d storage.Digest, rec *storage.Record) {
	c := ns.getCommit()
	c.Change = xdr.Change{Kind: xdr.Write, Namespace: ns.name, Set: rec.Set, Digest: d, Key: rec.Key, Bins: rec.Bins,
		Generation: rec.Generation, VoidTime: rec.VoidTime, LastUpdate: rec.LastUpdate}
	c.ChangedBins = nil
	if ns.repl.changedBins.Load() {
		c.ChangedBins = s.changedBins(req)
	}
	ns.emit(c)
	ns.repl.commitPool.Put(c)
}

// emitDelete hands a committed delete to the sinks, and remembers it.
func (ns *Namespace) emitDelete(d storage.Digest, set string, generation uint32, lut uint64) {
	ns.repl.deletes.add(d, lut)
	c := ns.getCommit()
	c.Change = xdr.Change{Kind: xdr.Delete, Namespace: ns.name, Set: set, Digest: d, Generation: generation, LastUpdate: lut}
	c.ChangedBins = nil
	ns.emit(c)
	ns.repl.commitPool.Put(c)
}

// changedBins encodes the bins a write's operations name, as they stand
// after it, or returns nil when the write changed the whole record (a
// replace, a delete-all operation, or no named operations: a UDF).
func (s *Scratch) changedBins(req *Request) []byte {
	if req.Info3&(proto.Info3CreateOrReplace|proto.Info3ReplaceOnly) != 0 || len(req.Ops) == 0 {
		return nil
	}
	s.changed = s.changed[:0]
	for i := range req.Ops {
		op := &req.Ops[i]
		switch op.Type {
		case proto.OpWrite, proto.OpAdd, proto.OpAppend, proto.OpPrepend, proto.OpExpModify, proto.OpCDTModify, proto.OpBitModify, proto.OpHLLModify, proto.OpTouch:
		case proto.OpDelete:
			return nil
		default:
			continue
		}
		if len(op.Name) == 0 || bins.Find(s.changed, op.Name) >= 0 {
			continue
		}
		if j := bins.Find(s.bins, op.Name); j >= 0 {
			s.changed = append(s.changed, s.bins[j])
		} else {
			s.changed = append(s.changed, bins.Bin{Name: op.Name})
		}
	}
	if len(s.changed) == 0 {
		// A touch: the record's metadata changed; ship it whole.
		return nil
	}
	s.changedEnc = bins.Encode(s.changedEnc[:0], s.changed)
	return s.changedEnc
}

// Conflict rules of ApplyChange: which of two versions of a record wins.
const (
	// LastUpdateWins keeps the version written last; a tie goes to the
	// higher generation, then to the greater bins, so that every node
	// picks the same.
	LastUpdateWins = iota
	// GenerationWins keeps the version with the higher generation; a tie
	// goes to the later write, then to the greater bins.
	GenerationWins
)

// Apply outcomes.
var (
	// ErrStale is a peer's change that lost to the local version.
	ErrStale = errors.New("xdr: the local version wins")
)

// ApplyChange applies a change a peer made, resolving a conflict with the
// local version by rule. The change is written as its origin made it
// (generation, expiry and last-update time included), so that nodes that
// apply the same changes hold the same records; it is not handed to the
// namespace's sinks, so it is never shipped back. It returns ErrStale for
// a change the local version beats.
func (ns *Namespace) ApplyChange(ctx context.Context, s *Scratch, ch *xdr.Change, rule int) error {
	s.reset()
	if ch.Kind == xdr.Truncate {
		return ns.truncate(ctx, ch.Set, min(ch.LastUpdate, uint64(ns.now().UnixNano())), false)
	}
	d := storage.Digest(ch.Digest)
	mu := ns.lock(&d)
	mu.Lock()
	defer mu.Unlock()

	old, found, exists, err := ns.readLocked(ctx, s, d, ns.clock())
	if err != nil {
		return err
	}
	switch {
	case exists:
		if !wins(ch, &old, rule) {
			return ErrStale
		}
	case ns.repl.deletes.after(d, ch.LastUpdate):
		// Deleted here after this write was made.
		return ErrStale
	}
	indexed := ns.indexed()
	s.oldBins = s.oldBins[:0]
	if found && (indexed || ch.Partial) {
		if s.oldBins, err = bins.Decode(s.oldBins, old.Bins); err != nil {
			return err
		}
	}
	if ch.Kind == xdr.Delete {
		ns.repl.deletes.add(d, ch.LastUpdate)
		if !found {
			return nil
		}
		if err := ns.backend.Delete(ctx, d, true); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if indexed {
			ns.updateIndexes(s, d, &old.Meta, s.oldBins, nil, nil)
		}
		return nil
	}
	if s.bins, err = bins.Decode(s.bins, ch.Bins); err != nil {
		return err
	}
	if ch.Partial && exists {
		merged := append(s.out[:0], s.oldBins...)
		for _, b := range s.bins {
			if b.Type == proto.ParticleNull {
				merged = bins.Remove(merged, b.Name)
			} else {
				merged = bins.Set(merged, b.Name, b.Type, b.Value)
			}
		}
		s.bins, s.out = merged, merged[:0]
		s.enc = bins.Encode(s.enc[:0], s.bins)
	} else {
		s.enc = append(s.enc[:0], ch.Bins...)
	}
	if len(s.bins) == 0 {
		return nil
	}
	rec := storage.Record{Meta: storage.Meta{Generation: ch.Generation, VoidTime: ch.VoidTime, LastUpdate: ch.LastUpdate}, Key: ch.Key, Bins: s.enc}
	if ch.Set != "" {
		set, code := ns.resolveSet([]byte(ch.Set))
		if code != proto.OK {
			return errors.New("xdr: set " + ch.Set + " cannot be added")
		}
		rec.Set = set.name
	}
	if err := ns.backend.Put(ctx, d, rec); err != nil {
		return err
	}
	ns.binNames.note(s.bins)
	if indexed {
		ns.updateIndexes(s, d, &old.Meta, s.oldBins, &rec.Meta, s.bins)
	}
	return nil
}

// wins reports whether a peer's change beats the local record under rule.
func wins(ch *xdr.Change, local *storage.Record, rule int) bool {
	lut := cmpUint(ch.LastUpdate, local.LastUpdate)
	gen := cmpUint(uint64(ch.Generation), uint64(local.Generation))
	first, second := lut, gen
	if rule == GenerationWins {
		first, second = gen, lut
	}
	switch {
	case first != 0:
		return first > 0
	case second != 0:
		return second > 0
	}
	// The same version, or two writes at the same instant with the same
	// generation: the greater bins win everywhere. A delete loses a tie.
	return ch.Kind == xdr.Write && bytes.Compare(ch.Bins, local.Bins) > 0
}

func cmpUint(a, b uint64) int {
	switch {
	case a > b:
		return 1
	case a < b:
		return -1
	}
	return 0
}

// deleteLog remembers recent deletes, local and applied, by digest: a
// record whose delete a peer has not seen yet may come back from that
// peer as an older write, which must lose. It holds up to
// deleteLogSize entries, forgetting the oldest first.
type deleteLog struct {
	mu    sync.Mutex
	lut   map[storage.Digest]uint64
	order []storage.Digest
	next  int
}

const deleteLogSize = 1 << 20

func (l *deleteLog) add(d storage.Digest, lut uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lut == nil {
		l.lut = make(map[storage.Digest]uint64)
	}
	if cur, ok := l.lut[d]; ok {
		l.lut[d] = max(cur, lut)
		return
	}
	if len(l.order) < deleteLogSize {
		l.order = append(l.order, d)
	} else {
		delete(l.lut, l.order[l.next])
		l.order[l.next] = d
		l.next = (l.next + 1) % deleteLogSize
	}
	l.lut[d] = lut
}

// after reports whether d was deleted at or after lut.
func (l *deleteLog) after(d storage.Digest, lut uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	del, ok := l.lut[d]
	return ok && del >= lut
}
