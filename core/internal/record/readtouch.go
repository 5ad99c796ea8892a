package record

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// neverTouch is the read-touch-ttl-pct of a read that must not touch (-1).
const neverTouch = math.MaxUint32

// readTouch touches the record m a read found, if the read came within
// pct percent of the end of the TTL the record's last write gave it: pct
// is the read's read-touch-ttl-pct, sent where a write sends its TTL (0:
// the default, readTouchDefault; -1: never). The touch moves
// the void time to now plus that TTL, so that records read often do not
// expire: a cache whose least recently read records go. As Aerospike's,
// it keeps the generation (a touch must not fail a client's generation
// check), moves the last-update time, and leaves alone a record a write
// has extended meanwhile. It runs after the read, whose answer does not
// change; a failed touch is counted, not answered. A pct over 100 is the
// client's error.
func (ns *Namespace) readTouch(ctx context.Context, s *Scratch, req *Request, m *storage.Meta, c clock) proto.ResultCode {
	pct := req.TTL
	switch {
	case m.VoidTime == 0 || pct == neverTouch:
		return proto.OK
	case pct == 0:
		if pct = readTouchDefault(ns.Config(), m.Set); pct == 0 {
			return proto.OK
		}
	case pct > 100:
		return proto.ParameterError
	}
	writeTTL := int64(m.VoidTime) - (int64(m.LastUpdate/uint64(time.Second)) - storage.EpochUnix)
	if writeTTL <= 0 || int64(c.voidNow) < int64(m.VoidTime)-writeTTL*int64(pct)/100 {
		return proto.OK
	}
	ns.touch(ctx, s, req.Digest, uint32(writeTTL), c)
	return proto.OK
}

// readTouchDefault is the read-touch-ttl-pct of a read of a record of set
// that sends none: the set's default-read-touch-ttl-pct unless 0, which
// takes the namespace's (-1 on the set: never, 0 here).
func readTouchDefault(cfg *config.Namespace, set string) uint32 {
	if len(cfg.Sets) > 0 {
		if pct := cfg.Sets[set].DefaultReadTouchTTLPct; pct != 0 {
			return uint32(max(pct, 0))
		}
	}
	return uint32(cfg.DefaultReadTouchTTLPct)
}

// touch gives the record with digest d a void time ttl seconds from now,
// for readTouch.
func (ns *Namespace) touch(ctx context.Context, s *Scratch, d storage.Digest, ttl uint32, c clock) {
	mu := ns.lock(&d)
	mu.Lock()
	defer mu.Unlock()
	rec, err := ns.backend.Get(ctx, d, s.touch[:0])
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			ns.Stats.ReadTouchSkip.Add(1)
		} else {
			ns.Stats.ReadTouchError.Add(1)
		}
		return
	}
	if n := len(rec.Key) + len(rec.Bins); n > cap(s.touch) {
		s.touch = make([]byte, 0, 2*n)
	}
	voidTime := c.voidNow + ttl
	if !ns.live(&rec.Meta, c) || rec.VoidTime == 0 || rec.VoidTime >= voidTime {
		ns.Stats.ReadTouchSkip.Add(1)
		return
	}
	rec.VoidTime, rec.LastUpdate = voidTime, c.lut
	if err := ns.backend.Put(ctx, d, rec); err != nil {
		ns.Stats.ReadTouchError.Add(1)
		return
	}
	ns.Stats.ReadTouchSuccess.Add(1)
	if ns.replicated() {
		ns.emitWrite(s, &touchRequest, d, &rec)
	}
}

// touchRequest is the request a read's touch replicates as: no operations,
// so the whole record ships.
var touchRequest Request
