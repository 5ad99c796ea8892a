package record

import (
	"context"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/cdt"
	"github.com/skiffdb/skiff/core/internal/hll"
	"github.com/skiffdb/skiff/core/internal/udf"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// UDFRecord is a record as a UDF sees it (udf.Record): the stored record's
// bins, changed in the Scratch as the function runs, and written back as
// one write when it succeeds.
type UDFRecord struct {
	s       *Scratch
	ns      *Namespace
	digest  storage.Digest
	meta    storage.Meta
	exists  bool // stored and live when the call began
	key     []byte
	set     string
	reqSet  []byte
	now     clock
	changed bool
	ttl     uint32
}

// UDFRunner runs a record UDF's function on a record.
type UDFRunner interface {
	RunUDF(rec *UDFRecord) error
}

// ExecuteUDF runs a record UDF: the runner gets the record under its lock,
// and when it succeeds having changed the record, the changes are written
// through the path every write takes. A failure writes nothing and comes
// back as the error, with result code UDF_BAD_RESPONSE.
func (ns *Namespace) ExecuteUDF(ctx context.Context, s *Scratch, req *Request, runner UDFRunner) (Result, error) {
	s.reset()
	mu := ns.lock(&req.Digest)
	mu.Lock()
	defer mu.Unlock()

	c := ns.clock()
	old, found, exists, code := ns.readForWrite(ctx, s, req, c)
	if code != proto.OK {
		return Result{Code: code}, nil
	}
	var err error
	if exists {
		if s.bins, err = bins.Decode(s.bins, old.Bins); err != nil {
			return Result{Code: ns.storageCode("read", req.Digest, err)}, nil
		}
		if req.Filter != nil && !req.Filter.Filter(s.exprRecord(req.Digest, &old, c)) {
			return Result{Code: proto.FilteredOut}, nil
		}
	}
	rec := UDFRecord{s: s, ns: ns, digest: req.Digest, exists: exists, reqSet: req.Set, now: c, ttl: req.TTL}
	if exists {
		rec.meta, rec.key, rec.set = old.Meta, old.Key, old.Set
	}
	if len(req.Key) > 0 {
		rec.key = req.Key
	}
	if err := runner.RunUDF(&rec); err != nil {
		return Result{Code: proto.UDFBadResponse}, err
	}
	if !rec.changed {
		if !exists {
			return Result{Code: proto.OK}, nil
		}
		return Result{Code: proto.OK, Generation: old.Generation, VoidTime: old.VoidTime}, nil
	}
	if ns.stopWrites.Load() && len(s.bins) > 0 {
		return Result{Code: proto.ServerMemError}, nil
	}
	set, code := ns.resolveSet(req.Set)
	if code != proto.OK {
		return Result{Code: code}, nil
	}
	if len(s.bins) > 0 {
		if code := ns.setLimit(set, !found); code != proto.OK {
			return Result{Code: code}, nil
		}
	}
	s.oldBins = s.oldBins[:0]
	if found && ns.indexed() {
		if s.oldBins, err = bins.Decode(s.oldBins, old.Bins); err != nil {
			return Result{Code: ns.storageCode("read", req.Digest, err)}, nil
		}
	}
	return ns.commit(ctx, s, req, set, found, exists, &old, rec.ttl, c), nil
}

// CountUDF counts a record UDF's outcome; failed is its error, if any.
func (ns *Namespace) CountUDF(c proto.ResultCode, failed error) {
	if c == proto.OK && failed == nil {
		ns.Stats.UDFComplete.Add(1)
	} else {
		ns.Stats.UDFError.Add(1)
	}
}

// UDFView is a read-only UDF record over a record a scan or query found,
// for aggregations: the UDF host refuses changes before they reach it.
func (ns *Namespace) UDFView(s *Scratch, d storage.Digest, rec *storage.Record, decoded []bins.Bin) *UDFRecord {
	s.bins = decoded
	return &UDFRecord{s: s, ns: ns, digest: d, meta: rec.Meta, exists: true, key: rec.Key, set: rec.Set, now: ns.clock()}
}

func (r *UDFRecord) Exists() bool { return len(r.s.bins) > 0 }

func (r *UDFRecord) Bin(name []byte) (uint8, []byte, bool) {
	if i := bins.Find(r.s.bins, name); i >= 0 {
		return r.s.bins[i].Type, r.s.bins[i].Value, true
	}
	return 0, nil, false
}

func (r *UDFRecord) AppendBinNames(dst []byte) []byte {
	for i := range r.s.bins {
		dst = append(dst, byte(len(r.s.bins[i].Name)))
		dst = append(dst, r.s.bins[i].Name...)
	}
	return dst
}

// keep copies b into the request's arena: names and values from the
// guest's memory live only as long as the host call.
func (r *UDFRecord) keep(b []byte) []byte {
	out := r.s.arena.Alloc(len(b))
	copy(out, b)
	return out
}

func (r *UDFRecord) SetBin(name []byte, typ uint8, val []byte) int32 {
	if bins.Check(typ, val) != nil || typ == proto.ParticleHLL && hll.Check(val) != nil {
		return udf.CodeInvalid
	}
	val, err := cdt.Stored(typ, val)
	if err != nil {
		return udf.CodeInvalid
	}
	if int64(len(val)) > r.ns.Config().MaxRecordSize {
		return udf.CodeLimit
	}
	i := bins.Find(r.s.bins, name)
	if i < 0 && len(r.s.bins) >= MaxBins {
		return udf.CodeLimit
	}
	if i < 0 {
		name = r.keep(name)
	}
	r.s.bins = bins.Set(r.s.bins, name, typ, r.keep(val))
	r.changed = true
	return 0
}

func (r *UDFRecord) RemoveBin(name []byte) int32 {
	if bins.Find(r.s.bins, name) >= 0 {
		r.s.bins = bins.Remove(r.s.bins, name)
		r.changed = true
	}
	return 0
}

func (r *UDFRecord) Delete() int32 {
	if len(r.s.bins) > 0 {
		r.s.bins = r.s.bins[:0]
		r.changed = true
	}
	return 0
}

func (r *UDFRecord) SetTTL(ttl int32) int32 {
	t := uint32(ttl)
	if ttl < -2 || (ttl > 0 && t > MaxTTL) {
		return udf.CodeInvalid
	}
	r.ttl = t
	r.changed = true
	return 0
}

func (r *UDFRecord) Generation() uint32 { return r.meta.Generation }

func (r *UDFRecord) TTL() int32 {
	switch {
	case !r.exists:
		return 0
	case r.meta.VoidTime == 0:
		return -1
	case r.meta.VoidTime <= r.now.voidNow:
		return 0
	}
	return int32(r.meta.VoidTime - r.now.voidNow)
}

func (r *UDFRecord) LastUpdate() int64 { return int64(r.meta.LastUpdate) }

func (r *UDFRecord) Key() (uint8, []byte, bool) {
	if len(r.key) < 1 {
		return 0, nil, false
	}
	return r.key[0], r.key[1:], true
}

func (r *UDFRecord) SetName() []byte {
	if r.set != "" {
		return []byte(r.set)
	}
	return r.reqSet
}

func (r *UDFRecord) Digest() [20]byte { return r.digest }
