package server

import (
	"errors"
	"time"

	"github.com/skiffdb/skiff/core/internal/bins"
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
	for i := range m.Ops {
		if m.Ops[i].Type == proto.OpRead || m.Ops[i].Type == proto.OpExpRead {
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
	go c.srv.runBackground(j, st, q, req, u)
	c.batchEnd(proto.OK)
}

// runBackground applies req, or the UDF u when it is not nil, to each
// record the job finds.
func (s *Server) runBackground(j *job, st *scanState, q *queryState, req record.Request, u *udfCall) {
	ctx := s.ctx
	var scratch record.Scratch
	apply := func(d storage.Digest) {
		req.Digest = d
		var res record.Result
		if u != nil {
			var err error
			res, err = u.run(st.ns, &scratch, &req)
			st.ns.CountUDF(res.Code, err)
			if err != nil && j.failed.Load() == 0 {
				s.log.Warn("background UDF failed", "trid", j.id, "namespace", j.ns, "err", err)
			}
		} else {
			res = st.ns.Execute(ctx, &scratch, &req)
		}
		switch res.Code {
		case proto.OK:
			j.recs.Add(1)
		case proto.FilteredOut:
			j.filtered.Add(1)
		case proto.KeyNotFound:
			// Deleted since it was found.
		default:
			j.failed.Add(1)
		}
		st.sent++
		st.throttle()
	}
	var err error
	if q != nil {
		var buf []byte
		var decoded []bins.Bin
		err = q.walk(func(_ sindex.Key, d storage.Digest) error {
			_, ok, err := q.matches(ctx, d, &buf, &decoded)
			if ok {
				apply(d)
			}
			return err
		})
		j.partsDone.Store(int64(j.parts))
	} else {
		var buf record.ScanBuffer
		filter := st.filter
		filter.MetaOnly = true
		st.eachPartition(func(pid uint16, after *storage.Digest) bool {
			filter.After = after
			var digests []storage.Digest
			err = st.ns.ScanPartition(ctx, pid, filter, &buf, func(d storage.Digest, _ *storage.Record) error {
				digests = append(digests, d)
				return nil
			})
			for _, d := range digests {
				apply(d)
			}
			j.partsDone.Add(1)
			return err == nil && ctx.Err() == nil
		})
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
