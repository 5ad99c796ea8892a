package record

import (
	"context"
	"errors"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/bitop"
	"github.com/skiffdb/skiff/core/internal/cdt"
	"github.com/skiffdb/skiff/core/internal/expr"
	"github.com/skiffdb/skiff/core/internal/hll"
	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// MaxBins is the most bins a record may have.
const MaxBins = 32767

// Request is one record command, decoded from a message or a batch entry.
// Its slices alias the request buffer.
type Request struct {
	Digest              storage.Digest
	Set                 []byte
	Key                 []byte // the user key to store (particle type, value) when the client sent it
	Info1, Info2, Info3 uint8
	Generation          uint32
	TTL                 uint32
	Ops                 []proto.Op
	// Filter, when set, is the command's filter expression: a command on
	// an existing record that does not match it fails with FILTERED_OUT.
	// A write that creates the record ignores it, as Aerospike's do.
	Filter *expr.Expr
}

// Result is the outcome of a command.
type Result struct {
	Code       proto.ResultCode
	Generation uint32
	VoidTime   uint32 // seconds since the Aerospike epoch, 0 for never
	// Bins are the results of the command's reads (and, with respond-all-ops,
	// an empty result per write), in order. They alias the Scratch and the
	// request, valid until the Scratch's next command.
	Bins []bins.Bin
}

// Scratch is the working space of one connection's commands, reused so that
// the command path does not allocate in steady state. It is not safe for
// concurrent use.
type Scratch struct {
	get   []byte
	enc   []byte
	bins  []bins.Bin
	out   []bins.Bin
	arena bins.Arena
	rec   expr.Record
	// oldBins, indexes and the keys keep the secondary indexes.
	oldBins          []bins.Bin
	indexes          []*sindex.Index
	oldKeys, newKeys []sindex.Key
	// changed and changedEnc are the bins a write changed, for
	// replication with bin-policy only-changed.
	changed    []bins.Bin
	changedEnc []byte
	// touch holds the record a read touches (readTouch), apart from get,
	// which holds the bins the read answers with.
	touch []byte
}

func (s *Scratch) reset() {
	s.bins = s.bins[:0]
	s.out = s.out[:0]
	s.arena.Reset()
}

// keep retains a read buffer the backend had to grow, so that the next
// command reads into it without allocating.
func (s *Scratch) keep(rec *storage.Record) {
	if n := len(rec.Key) + len(rec.Bins); n > cap(s.get) {
		s.get = make([]byte, 0, 2*n)
	}
}

// Execute runs one command against the namespace.
func (ns *Namespace) Execute(ctx context.Context, s *Scratch, req *Request) Result {
	s.reset()
	switch {
	case req.Info2&proto.Info2Write == 0:
		if req.Info1&proto.Info1Read == 0 {
			return Result{Code: proto.ParameterError}
		}
		r := ns.read(ctx, s, req)
		ns.countRead(r.Code)
		return r
	case req.Info2&proto.Info2Delete != 0:
		r := ns.delete(ctx, s, req)
		ns.countDelete(r.Code)
		return r
	case ns.stopWrites.Load():
		// Storage is full: deletes make room, other writes wait for it.
		ns.countWrite(proto.ServerMemError)
		return Result{Code: proto.ServerMemError}
	case len(req.Set) == 0 && ns.cfg.Load().DisallowNullSetname:
		// As in Aerospike: a write must name a set.
		ns.countWrite(proto.ParameterError)
		return Result{Code: proto.ParameterError}
	default:
		r := ns.write(ctx, s, req)
		ns.countWrite(r.Code)
		return r
	}
}

func (ns *Namespace) countRead(c proto.ResultCode) {
	switch c {
	case proto.OK:
		ns.Stats.ReadSuccess.Add(1)
	case proto.KeyNotFound:
		ns.Stats.ReadNotFound.Add(1)
	case proto.FilteredOut:
		ns.Stats.ReadFilteredOut.Add(1)
	default:
		ns.Stats.ReadError.Add(1)
	}
}

func (ns *Namespace) countWrite(c proto.ResultCode) {
	switch c {
	case proto.OK:
		ns.Stats.WriteSuccess.Add(1)
	case proto.FilteredOut:
		ns.Stats.WriteFilteredOut.Add(1)
	default:
		ns.Stats.WriteError.Add(1)
	}
}

func (ns *Namespace) countDelete(c proto.ResultCode) {
	switch c {
	case proto.OK:
		ns.Stats.DeleteSuccess.Add(1)
	case proto.KeyNotFound:
		ns.Stats.DeleteNotFound.Add(1)
	case proto.FilteredOut:
		ns.Stats.DeleteFilteredOut.Add(1)
	default:
		ns.Stats.DeleteError.Add(1)
	}
}

// storageCode maps a backend error to the result code a client sees.
func (ns *Namespace) storageCode(op string, d storage.Digest, err error) proto.ResultCode {
	switch {
	case errors.Is(err, storage.ErrOutOfSpace):
		return proto.ServerMemError
	case errors.Is(err, storage.ErrOverloaded):
		return proto.DeviceOverload
	case errors.Is(err, storage.ErrRecordTooBig):
		return proto.RecordTooBig
	case errors.Is(err, storage.ErrUnavailable), errors.Is(err, storage.ErrClosed):
		return proto.PartitionUnavailable
	}
	ns.log.Error("storage "+op+" failed", "digest", d, "err", err)
	return proto.ServerError
}

// read serves a command that reads without writing.
func (ns *Namespace) read(ctx context.Context, s *Scratch, req *Request) Result {
	c := ns.clock()
	headerOnly := req.Info1&proto.Info1NoBinData != 0 && req.Info1&proto.Info1GetAll == 0
	for i := range req.Ops {
		switch req.Ops[i].Type {
		case proto.OpRead, proto.OpExpRead, proto.OpCDTRead, proto.OpBitRead, proto.OpHLLRead:
		default:
			return Result{Code: proto.UnsupportedFeature}
		}
	}
	if headerOnly && req.Filter == nil {
		m, found, live, err := ns.getMeta(ctx, req.Digest, c)
		if err != nil {
			return Result{Code: ns.storageCode("read", req.Digest, err)}
		}
		if !live {
			ns.expireIfDead(ctx, s, req.Digest, found, c)
			return Result{Code: proto.KeyNotFound}
		}
		if code := ns.readTouch(ctx, s, req, &m, c); code != proto.OK {
			return Result{Code: code}
		}
		return Result{Code: proto.OK, Generation: m.Generation, VoidTime: m.VoidTime}
	}
	rec, err := ns.backend.Get(ctx, req.Digest, s.get[:0])
	if errors.Is(err, storage.ErrNotFound) {
		return Result{Code: proto.KeyNotFound}
	}
	if err != nil {
		return Result{Code: ns.storageCode("read", req.Digest, err)}
	}
	s.keep(&rec)
	if !ns.live(&rec.Meta, c) {
		ns.expireIfDead(ctx, s, req.Digest, true, c)
		return Result{Code: proto.KeyNotFound}
	}
	if s.bins, err = bins.Decode(s.bins, rec.Bins); err != nil {
		return Result{Code: ns.storageCode("read", req.Digest, err)}
	}
	if req.Filter != nil && !req.Filter.Filter(s.exprRecord(req.Digest, &rec, c)) {
		return Result{Code: proto.FilteredOut}
	}
	if code := ns.readTouch(ctx, s, req, &rec.Meta, c); code != proto.OK {
		return Result{Code: code}
	}
	res := Result{Code: proto.OK, Generation: rec.Generation, VoidTime: rec.VoidTime}
	switch {
	case headerOnly:
	case req.Info1&proto.Info1GetAll != 0 || len(req.Ops) == 0:
		s.out = append(s.out, s.bins...)
	default:
		// With respond-all-ops (which the client sets for expression
		// reads) every operation has a result: a missing bin's is nil.
		respondAll := req.Info2&proto.Info2RespondAllOps != 0
		for i := range req.Ops {
			op := &req.Ops[i]
			var code proto.ResultCode
			switch op.Type {
			case proto.OpExpRead:
				code = s.expRead(op, req.Digest, &rec, c)
			case proto.OpCDTRead:
				code = s.binOp(op, cdt.Apply, false, respondAll)
			case proto.OpBitRead:
				code = s.binOp(op, bitop.Apply, false, respondAll)
			case proto.OpHLLRead:
				code = s.binOp(op, hll.Apply, false, respondAll)
			default:
				if j := bins.Find(s.bins, op.Name); j >= 0 {
					s.out = append(s.out, s.bins[j])
				} else if respondAll {
					s.out = append(s.out, bins.Bin{Name: op.Name})
				}
			}
			if code != proto.OK {
				return Result{Code: code}
			}
		}
	}
	res.Bins = s.out
	return res
}

// exprRecord describes the record the command works on to an expression:
// its stored form, with the bins as they stand in s.bins.
func (s *Scratch) exprRecord(d storage.Digest, rec *storage.Record, c clock) *expr.Record {
	s.rec = expr.Record{Digest: d, Meta: rec.Meta, Key: rec.Key, Bins: s.bins, Size: rec.Size(), Now: c.time}
	return &s.rec
}

// expRead runs an expression read operation, adding its result to s.out
// under the operation's name.
func (s *Scratch) expRead(op *proto.Op, d storage.Digest, rec *storage.Record, c clock) proto.ResultCode {
	e, flags, err := expr.ParseReadOp(op.Value)
	if err != nil {
		return expr.Code(err)
	}
	typ, val, code := expr.ApplyRead(e, flags, s.exprRecord(d, rec, c), &s.arena)
	if code == proto.OK {
		s.out = append(s.out, bins.Bin{Name: op.Name, Type: typ, Value: val})
	}
	return code
}

// checkWriteOps validates a write command's operations before any lock is
// taken: names, particle types and values.
func checkWriteOps(req *Request) proto.ResultCode {
	if len(req.Ops) == 0 {
		return proto.ParameterError
	}
	for i := range req.Ops {
		op := &req.Ops[i]
		if len(op.Name) > proto.MaxBinNameLen {
			return proto.BinNameTooLong
		}
		switch op.Type {
		case proto.OpRead, proto.OpTouch, proto.OpDelete, proto.OpExpRead, proto.OpExpModify:
		case proto.OpCDTRead, proto.OpCDTModify, proto.OpBitRead, proto.OpBitModify, proto.OpHLLRead, proto.OpHLLModify:
			if len(op.Name) == 0 {
				return proto.ParameterError
			}
		case proto.OpWrite, proto.OpAdd, proto.OpAppend, proto.OpPrepend:
			if len(op.Name) == 0 {
				return proto.ParameterError
			}
			if op.Type == proto.OpWrite && op.ParticleType == proto.ParticleNull {
				continue
			}
			if bins.Check(op.ParticleType, op.Value) != nil {
				return proto.ParameterError
			}
			if op.ParticleType == proto.ParticleHLL && hll.Check(op.Value) != nil {
				// As Aerospike: an HLL bin holds a well-formed sketch.
				return proto.ParameterError
			}
		default:
			return proto.UnsupportedFeature
		}
	}
	return proto.OK
}

// write serves a command that creates, updates or replaces a record.
func (ns *Namespace) write(ctx context.Context, s *Scratch, req *Request) Result {
	if code := checkWriteOps(req); code != proto.OK {
		return Result{Code: code}
	}
	set, code := ns.resolveSet(req.Set)
	if code != proto.OK {
		return Result{Code: code}
	}

	mu := ns.lock(&req.Digest)
	mu.Lock()
	defer mu.Unlock()

	c := ns.clock()
	var old storage.Record
	var found, exists bool
	if blindReplace(req) && !ns.indexed() {
		old, found, exists, code = ns.readMetaForWrite(ctx, s, req, c)
	} else {
		old, found, exists, code = ns.readForWrite(ctx, s, req, c)
	}
	if code != proto.OK {
		return Result{Code: code}
	}
	if code := ns.setLimit(set, !found); code != proto.OK {
		return Result{Code: code}
	}
	var err error
	indexed := ns.indexed()
	s.oldBins = s.oldBins[:0]
	if indexed && found {
		if s.oldBins, err = bins.Decode(s.oldBins, old.Bins); err != nil {
			return Result{Code: ns.storageCode("read", req.Digest, err)}
		}
	}
	replace := req.Info3&(proto.Info3CreateOrReplace|proto.Info3ReplaceOnly) != 0
	if exists && (!replace || req.Filter != nil) {
		if s.bins, err = bins.Decode(s.bins, old.Bins); err != nil {
			return Result{Code: ns.storageCode("read", req.Digest, err)}
		}
		if req.Filter != nil && !req.Filter.Filter(s.exprRecord(req.Digest, &old, c)) {
			return Result{Code: proto.FilteredOut}
		}
		if replace {
			s.bins = s.bins[:0]
		}
	}
	if code := ns.applyOps(s, req, exists, &old, c); code != proto.OK {
		return Result{Code: code}
	}
	return ns.commit(ctx, s, req, set, found, exists, &old, req.TTL, c)
}

// readForWrite reads the record a write works on, under its lock, and
// applies the command's record-exists and generation policies: found
// reports a stored record, exists a live one.
func (ns *Namespace) readForWrite(ctx context.Context, s *Scratch, req *Request, c clock) (old storage.Record, found, exists bool, code proto.ResultCode) {
	old, found, exists, err := ns.readLocked(ctx, s, req.Digest, c)
	if err != nil {
		return old, false, false, ns.storageCode("read", req.Digest, err)
	}
	return old, found, exists, checkPolicies(req, exists, old.Generation)
}

// blindReplace reports whether a write can do without the stored record's
// bins: it replaces them whole, and no filter or expression looks at the
// old ones. For a record on a device that saves reading its data, as a
// replace does in Aerospike.
func blindReplace(req *Request) bool {
	if req.Info3&(proto.Info3CreateOrReplace|proto.Info3ReplaceOnly) == 0 || req.Filter != nil {
		return false
	}
	for i := range req.Ops {
		switch req.Ops[i].Type {
		case proto.OpExpRead, proto.OpExpModify:
			return false
		}
	}
	return true
}

// readMetaForWrite is readForWrite for a blind replace: it reads only the
// record's metadata, unless the record's data is needed after all: by a
// secondary index defined meanwhile, which must drop the old bins' entries,
// or for a stored key the write does not send, which carries over.
func (ns *Namespace) readMetaForWrite(ctx context.Context, s *Scratch, req *Request, c clock) (old storage.Record, found, exists bool, code proto.ResultCode) {
	m, found, exists, err := ns.getMeta(ctx, req.Digest, c)
	if err != nil {
		return old, false, false, ns.storageCode("read", req.Digest, err)
	}
	if found && ns.indexed() || exists && m.HasKey && len(req.Key) == 0 {
		return ns.readForWrite(ctx, s, req, c)
	}
	return storage.Record{Meta: m}, found, exists, checkPolicies(req, exists, m.Generation)
}

// readLocked reads a record whose lock the caller holds, into s: found
// reports a stored record, exists a live one. Not found is no error.
func (ns *Namespace) readLocked(ctx context.Context, s *Scratch, d storage.Digest, c clock) (old storage.Record, found, exists bool, err error) {
	old, err = ns.backend.Get(ctx, d, s.get[:0])
	if errors.Is(err, storage.ErrNotFound) {
		return old, false, false, nil
	}
	if err != nil {
		return old, false, false, err
	}
	s.keep(&old)
	return old, true, ns.live(&old.Meta, c), nil
}

// commit ends a write under the record's lock: s.bins become the record
// (a record with no bin left is deleted), with the expiry ttl gives, and
// the secondary indexes follow. old is the stored record, found whether
// there is one, exists whether it is live; s.oldBins hold its bins when
// the namespace has indexes.
func (ns *Namespace) commit(ctx context.Context, s *Scratch, req *Request, set *setInfo, found, exists bool, old *storage.Record, ttl uint32, c clock) Result {
	if len(s.bins) > MaxBins {
		return Result{Code: proto.RecordTooBig}
	}
	indexed := ns.indexed()
	rec := storage.Record{Key: req.Key}
	if set != nil {
		rec.Set = set.name
	} else if exists {
		rec.Set = old.Set
	}
	if len(rec.Key) == 0 && exists {
		rec.Key = old.Key
	}
	if len(s.bins) == 0 {
		// A record whose last bin is gone is deleted.
		if found {
			if err := ns.backend.Delete(ctx, req.Digest, req.Info2&proto.Info2DurableDelete != 0); err != nil {
				return Result{Code: ns.storageCode("delete", req.Digest, err)}
			}
			if indexed {
				ns.updateIndexes(s, req.Digest, &old.Meta, s.oldBins, nil, nil)
			}
			if exists && ns.replicated() {
				ns.emitDelete(req.Digest, old.Set, old.Generation, c.lut)
			}
		}
		return Result{Code: proto.OK, Bins: s.out}
	}

	var code proto.ResultCode
	if rec.VoidTime, code = ns.voidTime(ttl, c, old.VoidTime, exists); code != proto.OK {
		return Result{Code: code}
	}
	if exists {
		rec.Generation = nextGeneration(old.Generation)
	} else {
		rec.Generation = 1
	}
	rec.LastUpdate = c.lut
	s.enc = bins.Encode(s.enc[:0], s.bins)
	rec.Bins = s.enc
	if int64(rec.Size()) > ns.Config().MaxRecordSize {
		return Result{Code: proto.RecordTooBig}
	}
	if err := ns.backend.Put(ctx, req.Digest, rec); err != nil {
		if indexed && errors.Is(err, storage.ErrUnavailable) {
			// In doubt: a plugin process that died may have taken the
			// write, which its successor then resumes (a memory backend's
			// records survive it). Index the new bins beside the old: a
			// query re-checks each record, so the entries of whichever
			// did not happen cost a read, never a wrong answer.
			ns.updateIndexes(s, req.Digest, &rec.Meta, nil, &rec.Meta, s.bins)
		}
		return Result{Code: ns.storageCode("write", req.Digest, err)}
	}
	if _, limited := ns.limitsOf(set); limited {
		oldSize := 0
		if found {
			oldSize = old.Size()
		}
		set.noteWrite(!found, oldSize, rec.Size())
	}
	ns.binNames.note(s.bins)
	if indexed {
		ns.updateIndexes(s, req.Digest, &old.Meta, s.oldBins, &rec.Meta, s.bins)
	}
	if ns.replicated() {
		ns.emitWrite(s, req, req.Digest, &rec)
	}
	return Result{Code: proto.OK, Generation: rec.Generation, VoidTime: rec.VoidTime, Bins: s.out}
}

// resolveSet finds or adds the set a write names, nil for none.
func (ns *Namespace) resolveSet(name []byte) (*setInfo, proto.ResultCode) {
	if len(name) == 0 {
		return nil, proto.OK
	}
	if len(name) > MaxSetNameLen {
		return nil, proto.ParameterError
	}
	set, ok := ns.sets.getOrAdd(name)
	if !ok {
		return nil, proto.FailForbidden
	}
	return set, proto.OK
}

// checkPolicies applies the record-exists and generation policies of a
// write or delete.
func checkPolicies(req *Request, exists bool, generation uint32) proto.ResultCode {
	if exists {
		if req.Info2&proto.Info2CreateOnly != 0 {
			return proto.KeyExists
		}
		if req.Info2&proto.Info2Generation != 0 && generation != req.Generation {
			return proto.GenerationError
		}
		if req.Info2&proto.Info2GenerationGT != 0 && req.Generation <= generation {
			return proto.GenerationError
		}
		return proto.OK
	}
	if req.Info3&(proto.Info3UpdateOnly|proto.Info3ReplaceOnly) != 0 {
		return proto.KeyNotFound
	}
	return proto.OK
}

// applyOps runs a write command's operations in order on s.bins, collecting
// read results in s.out.
func (ns *Namespace) applyOps(s *Scratch, req *Request, exists bool, old *storage.Record, c clock) proto.ResultCode {
	respondAll := req.Info2&proto.Info2RespondAllOps != 0
	for i := range req.Ops {
		op := &req.Ops[i]
		switch op.Type {
		case proto.OpExpRead:
			if code := s.expRead(op, req.Digest, old, c); code != proto.OK {
				return code
			}
			continue
		case proto.OpExpModify:
			if code := s.expModify(op, req.Digest, old, c); code != proto.OK {
				return code
			}
		case proto.OpRead:
			switch {
			case len(op.Name) > 0:
				if j := bins.Find(s.bins, op.Name); j >= 0 {
					s.out = append(s.out, s.bins[j])
				} else if respondAll {
					s.out = append(s.out, bins.Bin{Name: op.Name})
				}
			case req.Info1&proto.Info1GetAll != 0:
				s.out = append(s.out, s.bins...)
			}
			continue
		case proto.OpWrite:
			if op.ParticleType == proto.ParticleNull {
				s.bins = bins.Remove(s.bins, op.Name)
				break
			}
			// A list or map is stored well-formed and, if ordered, in
			// order: the operations on it rely on both. Checked here, per
			// record, since a background job shares its ops among
			// workers and they must not change them.
			v, err := cdt.Stored(op.ParticleType, op.Value)
			if err != nil {
				return proto.ParameterError
			}
			s.bins = bins.Set(s.bins, op.Name, op.ParticleType, v)
		case proto.OpAdd, proto.OpAppend, proto.OpPrepend:
			if code := combine(s, op); code != proto.OK {
				return code
			}
		case proto.OpCDTRead, proto.OpCDTModify:
			if code := s.binOp(op, cdt.Apply, op.Type == proto.OpCDTModify, respondAll); code != proto.OK {
				return code
			}
			continue
		case proto.OpBitRead, proto.OpBitModify:
			if code := s.binOp(op, bitop.Apply, op.Type == proto.OpBitModify, respondAll); code != proto.OK {
				return code
			}
			continue
		case proto.OpHLLRead, proto.OpHLLModify:
			if code := s.binOp(op, hll.Apply, op.Type == proto.OpHLLModify, respondAll); code != proto.OK {
				return code
			}
			continue
		case proto.OpTouch:
			if !exists {
				return proto.KeyNotFound
			}
		case proto.OpDelete:
			s.bins = s.bins[:0]
		}
		if respondAll {
			s.out = append(s.out, bins.Bin{Name: op.Name})
		}
	}
	return proto.OK
}

// expModify runs an expression write operation on its bin.
func (s *Scratch) expModify(op *proto.Op, d storage.Digest, old *storage.Record, c clock) proto.ResultCode {
	e, flags, err := expr.ParseModifyOp(op.Value)
	if err != nil {
		return expr.Code(err)
	}
	typ, val, del, code := expr.ApplyWrite(e, flags, s.exprRecord(d, old, c), op.Name, &s.arena)
	switch {
	case code != proto.OK:
		return code
	case del:
		s.bins = bins.Remove(s.bins, op.Name)
	case typ != proto.ParticleNull:
		s.bins = bins.Set(s.bins, op.Name, typ, val)
	}
	return proto.OK
}

// applyFunc runs a list or map (cdt.Apply), bit (bitop.Apply) or HLL
// (hll.Apply) operation whose wire value is arg on a bin's value.
type applyFunc func(a *bins.Arena, modify bool, binType uint8, bin, arg []byte) (bins.Outcome, error)

// binOp runs a list, map, bit or HLL operation on its bin, adding its result,
// if it has one, to s.out. A modify may change the bin.
func (s *Scratch) binOp(op *proto.Op, apply applyFunc, modify, respondAll bool) proto.ResultCode {
	var curType uint8
	var cur []byte
	if j := bins.Find(s.bins, op.Name); j >= 0 {
		curType, cur = s.bins[j].Type, s.bins[j].Value
	}
	o, err := apply(&s.arena, modify, curType, cur, op.Value)
	if err != nil {
		return proto.CodeOf(err, proto.ParameterError)
	}
	if o.Changed {
		s.bins = bins.Set(s.bins, op.Name, o.Type, o.Value)
	}
	if o.HasResult || respondAll {
		s.out = append(s.out, bins.Bin{Name: op.Name, Type: o.ResType, Value: o.Res})
	}
	return proto.OK
}

// combine applies an add, append or prepend to its bin.
func combine(s *Scratch, op *proto.Op) proto.ResultCode {
	var curType uint8
	var cur []byte
	if j := bins.Find(s.bins, op.Name); j >= 0 {
		curType, cur = s.bins[j].Type, s.bins[j].Value
	}
	var typ uint8
	var val []byte
	var err error
	if op.Type == proto.OpAdd {
		typ, val, err = bins.Add(&s.arena, curType, cur, op.ParticleType, op.Value)
	} else {
		typ, val, err = bins.Concat(&s.arena, curType, cur, op.ParticleType, op.Value, op.Type == proto.OpPrepend)
	}
	switch {
	case errors.Is(err, bins.ErrTypeMismatch) && curType != proto.ParticleNull:
		return proto.BinTypeError
	case err != nil:
		return proto.ParameterError
	}
	s.bins = bins.Set(s.bins, op.Name, typ, val)
	return proto.OK
}

// readStored reads a record whole, into s.oldBins, and applies the
// command's filter to it, if it has one.
func (ns *Namespace) readStored(ctx context.Context, s *Scratch, req *Request, c clock) proto.ResultCode {
	rec, err := ns.backend.Get(ctx, req.Digest, s.get[:0])
	if err != nil {
		return ns.storageCode("read", req.Digest, err)
	}
	s.keep(&rec)
	if s.oldBins, err = bins.Decode(s.oldBins[:0], rec.Bins); err != nil {
		return ns.storageCode("read", req.Digest, err)
	}
	if req.Filter != nil {
		s.bins = append(s.bins[:0], s.oldBins...)
		if !req.Filter.Filter(s.exprRecord(req.Digest, &rec, c)) {
			return proto.FilteredOut
		}
	}
	return proto.OK
}

// delete serves a command that deletes a record.
func (ns *Namespace) delete(ctx context.Context, s *Scratch, req *Request) Result {
	mu := ns.lock(&req.Digest)
	mu.Lock()
	defer mu.Unlock()
	c := ns.clock()
	m, found, live, err := ns.getMeta(ctx, req.Digest, c)
	if err != nil {
		return Result{Code: ns.storageCode("read", req.Digest, err)}
	}
	if !live {
		ns.removeDeadLocked(ctx, s, req.Digest, found, &m, c)
		return Result{Code: proto.KeyNotFound}
	}
	if code := checkPolicies(req, true, m.Generation); code != proto.OK {
		return Result{Code: code}
	}
	indexed := ns.indexed()
	if req.Filter != nil || indexed {
		if code := ns.readStored(ctx, s, req, c); code != proto.OK {
			return Result{Code: code}
		}
	}
	if err := ns.backend.Delete(ctx, req.Digest, req.Info2&proto.Info2DurableDelete != 0); err != nil {
		return Result{Code: ns.storageCode("delete", req.Digest, err)}
	}
	if indexed {
		ns.updateIndexes(s, req.Digest, &m, s.oldBins, nil, nil)
	}
	if ns.replicated() {
		ns.emitDelete(req.Digest, m.Set, m.Generation, c.lut)
	}
	return Result{Code: proto.OK}
}

// expireIfDead removes a record a read found expired, under its lock.
func (ns *Namespace) expireIfDead(ctx context.Context, s *Scratch, d storage.Digest, found bool, c clock) {
	if !found {
		return
	}
	mu := ns.lock(&d)
	mu.Lock()
	defer mu.Unlock()
	cur, found, live, err := ns.getMeta(ctx, d, c)
	if err != nil || live {
		return
	}
	ns.removeDeadLocked(ctx, s, d, found, &cur, c)
}

// removeDeadLocked removes a record that is stored but no longer visible
// (expired or truncated), counting it. The caller holds the record's lock.
func (ns *Namespace) removeDeadLocked(ctx context.Context, s *Scratch, d storage.Digest, found bool, m *storage.Meta, c clock) {
	if !found {
		return
	}
	if ns.indexed() {
		ns.unindexStored(ctx, s, d)
	}
	if err := ns.backend.Delete(ctx, d, false); err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			ns.log.Warn("remove dead record", "digest", d, "err", err)
		}
		return
	}
	if ns.truncated(m) {
		ns.Stats.Truncated.Add(1)
	} else {
		ns.Stats.Expired.Add(1)
	}
}
