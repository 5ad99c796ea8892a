package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/geo"
	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/internal/ahead"
	"github.com/skiffdb/skiff/sdk/storage"
)

// queryFilter is a query's index filter: INDEX_RANGE's one filter.
type queryFilter struct {
	bin        []byte
	typ        uint8 // particle type of the values
	begin, end []byte
}

// parseQueryFilter reads INDEX_RANGE: a filter count (1), then bin name
// length and name, particle type, and the begin and end values, each with
// a 32-bit length.
func parseQueryFilter(b []byte) (queryFilter, bool) {
	var f queryFilter
	if len(b) < 2 || b[0] != 1 {
		return f, false
	}
	n := int(b[1])
	b = b[2:]
	if len(b) < n+5 {
		return f, false
	}
	f.bin, f.typ = b[:n], b[n]
	b = b[n+1:]
	for _, v := range []*[]byte{&f.begin, &f.end} {
		if len(b) < 4 {
			return f, false
		}
		l := int(binary.BigEndian.Uint32(b))
		if len(b) < 4+l {
			return f, false
		}
		*v, b = b[4:4+l], b[4+l:]
	}
	return f, true
}

// queryState is one query being served.
type queryState struct {
	scanState
	ix     *sindex.Index
	filter queryFilter
	coll   sindex.Collection
	// exact re-checks a record's bin value against the query: the index
	// finds candidates, stale entries and hash collisions included.
	exact func(b *bins.Bin) bool
	// seen drops a record a collection index yields more than once.
	seen map[storage.Digest]struct{}
	// parts are the partitions asked for, cursor where partly done ones
	// resume.
	parts  sindex.PartitionSet
	cursor sindex.Cursor
	// ahead reads candidates before their turn where reads wait; nil
	// otherwise.
	ahead *ahead.Ring[queryRead]
}

// queryAheadReads is how many candidate records a query reads at once on a
// namespace whose reads wait (record.Namespace.ReadsWait). It checks and
// sends them in the index's order all the same: a client resumes a
// partition after the last record it received from it.
const queryAheadReads = 32

// queryRead is one candidate record, read on its own goroutine.
type queryRead struct {
	key sindex.Key
	d   storage.Digest
	rec storage.Record
	ok  bool
	err error
	buf []byte
}

// partitionSet turns the scan's partitions into an index walk's.
func (q *queryState) partitionSet() (sindex.PartitionSet, sindex.Cursor) {
	var parts sindex.PartitionSet
	var cursor sindex.Cursor
	if len(q.pids) == 0 && len(q.digests) == 0 {
		parts.AddAll()
	}
	for _, pid := range q.pids {
		parts.Add(pid)
	}
	for i, d := range q.digests {
		parts.Add(d.Partition())
		var bval int64
		if i < len(q.bvals) {
			bval = q.bvals[i]
		}
		cursor.ResumeAfter(bval, d)
	}
	return parts, cursor
}

var errMaxRecords = errors.New("max records reached")

// handleQuery serves a query by secondary index: the index's entries in
// the filter's range, for the partitions asked, each record re-checked and
// sent with its index value (the bval a client resumes from), then a last
// message. A query stopped by max-records sends the same: the client
// resumes each partition from its last digest and bval.
//
// Like Aerospike's servers since 6.0, a query sends no done marker for the
// partitions it completed, only for those it could not serve (none here):
// clients take every partition not reported unavailable as done. A marker
// for each of the 4096 partitions cost more than the records of a small
// query: 90 KB on the wire and a Key allocated per marker in the Go client
// (a 100-record query's p50 went from 0.83 to 0.5-0.6 ms without them,
// bench/RESULTS.md).
func (c *conn) handleQuery(rangeField []byte) {
	q, code := c.parseQuery(rangeField)
	if code != proto.OK {
		c.batchEnd(code)
		return
	}
	if !c.udfOfScan(&q.scanState) {
		return
	}
	j := c.srv.startJob("query", false, &q.scanState, q.parts.Len())
	c.w.BeginFrame()
	var err error
	if q.ns.ReadsWait() {
		q.ahead = ahead.New[queryRead](queryAheadReads)
		err = q.walk(func(key sindex.Key, d storage.Digest) error { return c.queryAhead(q, j, key, d) })
		err = c.queryDrain(q, j, err)
	} else {
		err = q.walk(func(key sindex.Key, d storage.Digest) error { return c.queryRecord(q, j, key, d) })
	}
	switch {
	case errors.Is(err, errBroken):
		j.finish(proto.QueryAborted)
		return
	case errors.Is(err, errMaxRecords), errors.Is(err, errAggFailed):
	case err != nil:
		c.srv.log.Error("query failed", "namespace", q.ns.Name(), "index", q.ix.Def().Name, "err", err)
		j.finish(proto.QueryAborted)
		c.w.Msg(proto.MsgHeader{Info3: proto.Info3Last, ResultCode: proto.QueryAborted})
		c.w.EndFrame(proto.TypeMsg)
		return
	}
	j.partsDone.Store(int64(q.parts.Len()))
	code = proto.OK
	if q.agg != nil {
		code = c.finishAggregate(&q.scanState)
	}
	j.finish(code)
	c.w.Msg(proto.MsgHeader{Info3: proto.Info3Last, ResultCode: code})
	c.w.EndFrame(proto.TypeMsg)
}

// parseQuery reads a query's fields and picks its index.
func (c *conn) parseQuery(rangeField []byte) (*queryState, proto.ResultCode) {
	m := &c.msg
	q := &queryState{scanState: scanState{ops: m.Ops, started: time.Now(), now: time.Now(), noBins: m.Info1&proto.Info1NoBinData != 0}}
	var ok bool
	if q.filter, ok = parseQueryFilter(rangeField); !ok {
		return nil, proto.ParameterError
	}
	code := q.parseScan(c, m)
	if code != proto.OK {
		return nil, code
	}
	var indexName, exp, ctx []byte
	for i := range m.Fields {
		f := &m.Fields[i]
		switch f.Type {
		case proto.FieldIndexName:
			indexName = f.Data
		case proto.FieldIndexExpression:
			exp = f.Data
		case proto.FieldIndexType:
			if len(f.Data) == 1 {
				q.coll = sindex.Collection(f.Data[0])
			}
		case proto.FieldIndexContext:
			ctx = f.Data
		}
	}
	if code := q.plan(indexName, exp, ctx); code != proto.OK {
		return nil, code
	}
	q.parts, q.cursor = q.partitionSet()
	if q.coll != sindex.Default {
		q.seen = make(map[storage.Digest]struct{})
	}
	return q, proto.OK
}

// plan picks the index, by name, by expression or by bin (with the
// filter's context, if it has one), and the exact check.
func (q *queryState) plan(indexName, exp, ctx []byte) proto.ResultCode {
	f := &q.filter
	typ, ok := sindex.TypeOfParticle(f.typ)
	if !ok {
		return proto.ParameterError
	}
	switch {
	case len(indexName) > 0:
		q.ix = q.ns.Indexes().Get(string(indexName))
	case len(exp) > 0:
		q.ix = q.ns.Indexes().FindExpression(string(q.scanState.filter.Set), exp, ctx, typ, q.coll)
	default:
		q.ix = q.ns.Indexes().Find(string(q.scanState.filter.Set), string(f.bin), ctx, typ, q.coll)
	}
	if q.ix == nil {
		return proto.IndexNotFound
	}
	if def := q.ix.Def(); def.Type != typ {
		// An index asked for by name holds other values than the filter's.
		return proto.IndexNotFound
	} else if q.ns.IndexLoadPct(def.Name) < 100 {
		// As Aerospike: an index still being built answers no query
		// rather than part of one.
		return proto.IndexNotReadable
	}
	switch typ {
	case sindex.Numeric:
		if len(f.begin) != 8 || len(f.end) != 8 {
			return proto.ParameterError
		}
		lo, hi := int64(binary.BigEndian.Uint64(f.begin)), int64(binary.BigEndian.Uint64(f.end))
		q.exact = func(b *bins.Bin) bool {
			return anyScalar(q.coll, b, func(v sindex.Scalar) bool { return v.IntOK && v.Int >= lo && v.Int <= hi })
		}
	case sindex.String, sindex.Blob:
		want := f.begin
		q.exact = func(b *bins.Bin) bool {
			return anyScalar(q.coll, b, func(v sindex.Scalar) bool { return v.Type == f.typ && bytes.Equal(v.Bytes, want) })
		}
	case sindex.Geo2DSphere:
		// The client sends the region or point as plain JSON text.
		text := f.begin
		shape, err := sindex.ParseGeoJSON(text)
		if err != nil {
			return proto.GeoInvalidGeoJSON
		}
		// Points within a region, or regions containing a point: the
		// query's shape is parsed once, each candidate's as it comes.
		q.exact = func(b *bins.Bin) bool {
			return anyScalar(q.coll, b, func(v sindex.Scalar) bool {
				cand, err := geo.Parse(v.Bytes)
				return err == nil && geo.Match(cand, shape.Shape)
			})
		}
	}
	return proto.OK
}

func anyScalar(coll sindex.Collection, b *bins.Bin, match func(v sindex.Scalar) bool) bool {
	found := false
	sindex.Scalars(coll, b.Type, b.Value, func(v sindex.Scalar) bool {
		found = match(v)
		return !found
	})
	return found
}

// walk runs fn over the index entries the filter selects.
func (q *queryState) walk(fn func(key sindex.Key, d storage.Digest) error) error {
	from, parts := &q.cursor, &q.parts
	var err error
	visit := func(key sindex.Key, d storage.Digest) bool {
		err = fn(key, d)
		return err == nil
	}
	f := &q.filter
	switch q.ix.Def().Type {
	case sindex.Numeric:
		lo, hi := int64(binary.BigEndian.Uint64(f.begin)), int64(binary.BigEndian.Uint64(f.end))
		q.ix.Range(lo, hi, from, parts, visit)
	case sindex.String, sindex.Blob:
		q.ix.Equal(sindex.HashKey(f.begin), from, parts, visit)
	case sindex.Geo2DSphere:
		text := f.begin
		shape, perr := sindex.ParseGeoJSON(text)
		if perr != nil {
			return perr
		}
		if shape.IsRegion() {
			q.ix.RangeCells(shape.CellRanges(), from, parts, visit)
		} else {
			keys, kerr := sindex.RegionsContaining(text)
			if kerr != nil {
				return kerr
			}
			q.ix.EqualKeys(keys, from, parts, visit)
		}
	}
	return err
}

// queryRecord reads a candidate record, checks it against the query and
// sends it with its index value.
func (c *conn) queryRecord(q *queryState, j *job, key sindex.Key, d storage.Digest) error {
	if q.maxRecords > 0 && q.sent >= q.maxRecords {
		return errMaxRecords
	}
	rec, ok, err := q.matches(c.srv.ctx, d, &c.query)
	if err != nil || !ok {
		return err
	}
	return c.sendQueryRecord(q, j, key, d, &rec)
}

// queryAhead starts reading a candidate record, once fewer than
// queryAheadReads are being read, and first finishes the oldest when as
// many are.
func (c *conn) queryAhead(q *queryState, j *job, key sindex.Key, d storage.Digest) error {
	if q.ahead.Full() {
		if err := c.queryNext(q, j); err != nil {
			return err
		}
	}
	ctx := c.srv.ctx
	q.ahead.Start(func(r *queryRead) {
		r.key, r.d = key, d
		r.rec, r.ok, r.err = q.read(ctx, d, &r.buf)
	})
	return nil
}

// queryNext waits for the oldest candidate being read, checks it against
// the query and sends it.
func (c *conn) queryNext(q *queryState, j *job) error {
	r := q.ahead.Next()
	if r.err != nil {
		return r.err
	}
	if q.maxRecords > 0 && q.sent >= q.maxRecords {
		return errMaxRecords
	}
	ok, err := q.check(r.d, &r.rec, r.ok, &c.query)
	if err != nil || !ok {
		return err
	}
	return c.sendQueryRecord(q, j, r.key, r.d, &r.rec)
}

// queryDrain ends a walk that read ahead: it finishes the candidates still
// being read, in order, unless the walk ended with err, and then only waits
// for them. It returns the walk's outcome.
func (c *conn) queryDrain(q *queryState, j *job, err error) error {
	for err == nil && q.ahead.Pending() > 0 {
		err = c.queryNext(q, j)
	}
	q.ahead.Wait()
	return err
}

// sendQueryRecord sends a record that matches the query, with its index
// value.
func (c *conn) sendQueryRecord(q *queryState, j *job, key sindex.Key, d storage.Digest, rec *storage.Record) error {
	if err := c.writeRecord(&q.scanState, d, rec, &key); err == errFiltered {
		return nil
	} else if err != nil {
		return err
	}
	q.sent++
	j.recs.Add(1)
	q.throttle()
	return c.flushIfFull()
}

// candidateScratch is the working space of one goroutine reading and
// checking a query's candidates.
type candidateScratch struct {
	buf     []byte
	decoded []bins.Bin
	// arena holds the values expression indexes compute.
	arena bins.Arena
}

// matches reads a candidate record and re-checks it against the query:
// alive, in the query's set, its bin matching the filter, and not seen
// before through another element of a collection.
func (q *queryState) matches(ctx context.Context, d storage.Digest, s *candidateScratch) (storage.Record, bool, error) {
	if q.seen != nil {
		if _, dup := q.seen[d]; dup {
			return storage.Record{}, false, nil
		}
	}
	rec, ok, err := q.read(ctx, d, &s.buf)
	if err != nil {
		return rec, false, err
	}
	ok, err = q.check(d, &rec, ok, s)
	return rec, ok, err
}

// read reads candidate d into *buf (ok: live), and keeps in *buf a buffer
// large enough for the next read.
func (q *queryState) read(ctx context.Context, d storage.Digest, buf *[]byte) (storage.Record, bool, error) {
	rec, ok, err := q.ns.ReadLive(ctx, d, (*buf)[:0])
	if n := len(rec.Key) + len(rec.Bins); n > cap(*buf) {
		*buf = make([]byte, 0, 2*n)
	}
	return rec, ok, err
}

// check re-checks a candidate record read (ok: live) against the query; see
// matches.
func (q *queryState) check(d storage.Digest, rec *storage.Record, ok bool, s *candidateScratch) (bool, error) {
	if q.seen != nil {
		// Again: a read ahead may have started before its twin was sent.
		if _, dup := q.seen[d]; dup {
			return false, nil
		}
	}
	if !ok || (len(q.scanState.filter.Set) > 0 && rec.Set != string(q.scanState.filter.Set)) {
		return false, nil
	}
	var err error
	if s.decoded, err = bins.Decode(s.decoded[:0], rec.Bins); err != nil {
		return false, err
	}
	s.arena.Reset()
	v, ok := q.ns.IndexedValue(q.ix, &s.arena, d, &rec.Meta, s.decoded)
	if !ok || !q.exact(&v) {
		return false, nil
	}
	if q.seen != nil {
		q.seen[d] = struct{}{}
	}
	return true, nil
}
