package server

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// handleBackground starts a background job: the message's write
// operations applied, through the normal write path, to every record a
// scan or a query finds. The client is answered at once; it follows the
// job with query-show.
func (c *conn) handleBackground(body []byte) {
	if _, ok := c.msg.Field(proto.FieldQueryID); !ok {
		// A job is followed by its task id: without one it could be
		// neither watched nor told apart from a stray write with no key.
		c.batchEnd(proto.ParameterError)
		return
	}
	// The job outlives this request: it works on its own copy.
	owned := append([]byte(nil), body...)
	var m proto.Msg
	if _, err := m.Decode(owned); err != nil {
		c.batchEnd(proto.ParameterError)
		return
	}
	saved := c.msg
	c.msg = m
	defer func() { c.msg = saved }()

	var q *queryState
	st := &scanState{started: time.Now()}
	if rangeField, ok := m.Field(proto.FieldIndexRange); ok {
		var code proto.ResultCode
		if q, code = c.parseQuery(rangeField); code != proto.OK {
			c.batchEnd(code)
			return
		}
		st = &q.scanState
	} else if code := st.parseScan(c, &m); code != proto.OK {
		c.batchEnd(code)
		return
	}
	// As Aerospike's: a job runs no faster than the namespace allows, and
	// slower if the client asks.
	if limit := st.ns.Config().BackgroundQueryMaxRPS; limit > 0 && (st.perSecond <= 0 || st.perSecond > limit) {
		st.perSecond = limit
	}
	for i := range m.Ops {
		switch m.Ops[i].Type {
		case proto.OpRead, proto.OpExpRead, proto.OpCDTRead, proto.OpBitRead, proto.OpHLLRead:
			c.batchEnd(proto.ParameterError)
			return
		}
	}
	// A background UDF (client.ExecuteUDF) names its function instead of
	// operations.
	u := &udfCall{h: c.srv.udf, ctx: c.srv.ctx}
	op, isUDF, code := u.parse(m.Fields)
	switch {
	case !isUDF:
		u = nil
	case code != proto.OK || op != udfOpBackground || len(m.Ops) > 0:
		c.batchEnd(proto.ParameterError)
		return
	case c.srv.udf == nil:
		c.batchEnd(proto.UDFBadResponse)
		return
	}
	req := record.Request{
		Info2:      m.Info2,
		Info3:      m.Info3,
		Generation: m.Generation,
		TTL:        m.RecordTTL,
		Ops:        m.Ops,
		Filter:     st.exp,
	}
	if len(req.Ops) == 0 && u == nil {
		c.batchEnd(proto.ParameterError)
		return
	}
	module := "scan"
	parts := st.partitionCount()
	if q != nil {
		module, parts = "query", q.parts.Len()
	}
	j := c.srv.startJob(module, true, st, parts)
	c.srv.jobsRunning.Go(func() { c.srv.runBackground(j, st, q, req, u) })
	c.batchEnd(proto.OK)
}

// backgroundInFlight is how many records a background job works on at once
// where writes wait (record.Namespace.WritesWait): each write reads its
// record first, and a query's candidate is read to be checked before that.
const backgroundInFlight = 16

// runBackground applies req, or the UDF u when it is not nil, to each
// record the job finds: one at a time, or backgroundInFlight at a time
// where writes wait. records-per-second paces the records found; for a
// query, the candidates its index yields.
func (s *Server) runBackground(j *job, st *scanState, q *queryState, req record.Request, u *udfCall) {
	ctx := s.ctx
	newWorker := func() *backgroundWorker {
		w := &backgroundWorker{s: s, j: j, st: st, q: q, req: req}
		if u != nil {
			// A UDF call keeps its result in its own buffers.
			uc := *u
			uc.out, uc.conv = nil, nil
			w.u = &uc
		}
		return w
	}
	var apply func(d storage.Digest) error
	var pool *backgroundPool
	if st.ns.WritesWait() {
		pool = startBackgroundPool(ctx, backgroundInFlight, newWorker)
		apply = pool.apply
	} else {
		w := newWorker()
		apply = func(d storage.Digest) error { return w.apply(ctx, d) }
	}
	each := func(d storage.Digest) error {
		if err := apply(d); err != nil {
			return err
		}
		st.sent++
		st.throttle()
		return nil
	}
	var err error
	if q != nil {
		// Candidates are checked concurrently, so a record a collection
		// index yields more than once is dropped before it is handed
		// out: whether it matches does not depend on which of its values
		// led to it.
		seen := q.seen
		q.seen = nil
		err = q.walk(func(_ sindex.Key, d storage.Digest) error {
			if seen != nil {
				if _, dup := seen[d]; dup {
					return nil
				}
				seen[d] = struct{}{}
			}
			return each(d)
		})
		j.partsDone.Store(int64(j.parts))
	} else {
		var buf record.ScanBuffer
		filter := st.filter
		filter.MetaOnly = true
		st.scanPartitions(ctx, filter, &buf, func(_ uint16, buf *record.ScanBuffer, serr error) bool {
			err = serr
			if err == nil {
				err = buf.Each(func(d storage.Digest, _ *storage.Record) error { return each(d) })
			}
			j.partsDone.Add(1)
			return err == nil && ctx.Err() == nil
		})
	}
	if pool != nil {
		if perr := pool.wait(); err == nil {
			err = perr
		}
	}
	switch {
	case err != nil && !errors.Is(err, ctx.Err()):
		s.log.Error("background job failed", "trid", j.id, "namespace", j.ns, "err", err)
		j.finish(proto.ServerError)
	case ctx.Err() != nil:
		j.finish(proto.QueryAborted)
	default:
		s.log.Info("background job done", "trid", j.id, "namespace", j.ns, "set", j.set,
			"succeeded", j.recs.Load(), "failed", j.failed.Load(), "filtered", j.filtered.Load())
		j.finish(proto.OK)
	}
}

// backgroundWorker applies a background job to one record at a time.
type backgroundWorker struct {
	s       *Server
	j       *job
	st      *scanState
	q       *queryState // nil for a scan
	req     record.Request
	u       *udfCall // nil for operations
	scratch record.Scratch
	cand    candidateScratch
}

// apply re-checks a query's candidate d, then applies the job to it and
// counts the outcome. An error is one that ends the job.
func (w *backgroundWorker) apply(ctx context.Context, d storage.Digest) error {
	if w.q != nil {
		_, ok, err := w.q.matches(ctx, d, &w.cand)
		if err != nil || !ok {
			return err
		}
	}
	w.req.Digest = d
	var res record.Result
	if w.u != nil {
		var err error
		res, err = w.u.run(w.st.ns, &w.scratch, &w.req)
		w.st.ns.CountUDF(res.Code, err)
		if err != nil && w.j.failed.Load() == 0 {
			w.s.log.Warn("background UDF failed", "trid", w.j.id, "namespace", w.j.ns, "err", err)
		}
	} else {
		res = w.st.ns.Execute(ctx, &w.scratch, &w.req)
	}
	switch res.Code {
	case proto.OK:
		w.j.recs.Add(1)
	case proto.FilteredOut:
		w.j.filtered.Add(1)
	case proto.KeyNotFound:
		// Deleted since it was found.
	default:
		w.j.failed.Add(1)
	}
	return nil
}

// backgroundPool is a background job's workers where reads wait. Handing a
// record over waits for a free worker, which bounds the records in
// progress.
type backgroundPool struct {
	work chan storage.Digest
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error // the first worker's error
}

func startBackgroundPool(ctx context.Context, n int, newWorker func() *backgroundWorker) *backgroundPool {
	p := &backgroundPool{work: make(chan storage.Digest)}
	for range n {
		w := newWorker()
		p.wg.Go(func() {
			for d := range p.work {
				if err := w.apply(ctx, d); err != nil {
					p.mu.Lock()
					if p.err == nil {
						p.err = err
					}
					p.mu.Unlock()
				}
			}
		})
	}
	return p
}

// apply hands d to a worker. It returns the first error a worker met, so
// that the job stops handing out records.
func (p *backgroundPool) apply(d storage.Digest) error {
	p.work <- d
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// wait lets the workers finish the records handed out and returns the
// first error.
func (p *backgroundPool) wait() error {
	close(p.work)
	p.wg.Wait()
	return p.err
}
