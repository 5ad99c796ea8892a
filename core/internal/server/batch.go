package server

import (
	"sync"

	"github.com/skiffdb/skiff/core/internal/expr"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/proto"
)

// batchTemplate is what a batch entry shares with the entries that repeat
// it: the namespace (or the error resolving it), set, key and attributes.
type batchTemplate struct {
	ns   *record.Namespace
	code proto.ResultCode
	req  record.Request
	// isUDF marks a batch UDF entry; udf holds its call.
	isUDF bool
	udf   udfCall
}

// handleBatch serves a batch-index request: one command per key, each
// answered by a message carrying the key's index, then a last message. Long
// replies go out in pieces of about batchFlushSize.
func (c *conn) handleBatch() {
	m := &c.msg
	data, ok := m.Field(proto.FieldBatchIndex)
	if !ok {
		data, ok = m.Field(proto.FieldBatchIndexSet)
	}
	if !ok {
		c.w.Result(proto.ParameterError, 0, 0)
		return
	}
	if code := unsupportedFields(m.Fields); code != proto.OK {
		c.batchEnd(code)
		return
	}
	// The batch's filter applies to the entries that bring none of their
	// own. A filter that does not compile fails the whole batch.
	batchFilter, code := c.filter(m.Fields)
	if code != proto.OK {
		c.batchEnd(code)
		return
	}
	c.batchFilterExpr = batchFilter
	if err := c.batch.Reset(data); err != nil {
		c.srv.log.Debug("malformed batch", "remote", c.nc.RemoteAddr(), "err", err)
		c.batchEnd(proto.ParameterError)
		return
	}
	c.w.BeginFrame()
	broken, malformed := c.batchEntries()
	// Every read started is answered before the batch ends, whatever ends
	// it: none may complete into the next batch's reply.
	c.reads.wait(c, 0)
	switch {
	case broken:
		c.w.Reset() // their results go nowhere
	case malformed:
		c.w.EndFrame(proto.TypeMsg)
		c.batchEnd(proto.ParameterError)
	default:
		c.w.Msg(proto.MsgHeader{Info3: proto.Info3Last})
		c.w.EndFrame(proto.TypeMsg)
	}
}

// batchEntries serves the entries of the batch in c.batch, in the frame
// begun. It stops at a malformed entry, or when the connection is broken.
func (c *conn) batchEntries() (broken, malformed bool) {
	t := batchTemplate{udf: udfCall{h: c.srv.udf, ctx: c.srv.ctx}}
	for {
		e, err := c.batch.Next()
		if err != nil {
			c.srv.log.Debug("malformed batch entry", "remote", c.nc.RemoteAddr(), "err", err)
			return false, true
		}
		if e == nil {
			return false, false
		}
		if !e.Repeat {
			c.batchTemplate(&t, e)
		}
		t.req.Digest = e.Digest
		if t.code == proto.OK && !t.isUDF && t.req.Info2&proto.Info2Write == 0 && t.ns.ReadsWait() {
			c.readsFor().start(c, t.ns, &t.req, e.Index)
		} else {
			// A write waits for the reads before it, so that each sees
			// the records as the batch's order says.
			c.reads.wait(c, 0)
			var res record.Result
			switch {
			case t.code != proto.OK:
				res.Code = t.code
				c.writeResult(&res, e.Index)
			case t.isUDF:
				res, err = t.udf.run(t.ns, &c.scratch, &t.req)
				t.ns.CountUDF(res.Code, err)
				c.writeUDFResult(&res, err, &t.udf, e.Index)
			default:
				res = t.ns.Execute(c.srv.ctx, &c.scratch, &t.req)
				c.writeResult(&res, e.Index)
			}
		}
		if c.w.FrameLen() >= batchFlushSize {
			c.w.EndFrame(proto.TypeMsg)
			if !c.flush() {
				return true, false
			}
			c.w.BeginFrame()
		}
	}
}

// batchReadsInFlight is how many of a batch's reads run at once on a
// namespace whose reads wait (record.Namespace.ReadsWait). More than a
// device plugin serves at once (16 a device), so that a plugin's socket
// carries many requests a write: with a memory plugin, 64 in flight read
// a 100-key batch in 0.6–0.7 ms against 0.9–1.0 ms with 16
// (BenchmarkBatchGet).
const batchReadsInFlight = 64

// batchReads runs a batch's reads concurrently, each on its own goroutine
// with its own copy of the request and its own scratch. Results come back
// to the connection's goroutine, the only one that writes the reply, in
// the order they complete: each carries its entry's index, by which the
// client places it, as Aerospike's batch replies do.
type batchReads struct {
	done     chan *batchRead
	inFlight int
}

// batchReadPool holds the reads not in flight, shared by the connections:
// a read's scratch grows to the records it reads, and connections that
// each kept batchReadsInFlight of them would hold that memory for good.
var batchReadPool = sync.Pool{New: func() any { return new(batchRead) }}

// batchRead is one read of a batch.
type batchRead struct {
	req   record.Request
	ops   []proto.Op // the request's own: the batch reader reuses its
	index uint32
	res   record.Result
	s     record.Scratch
}

// readsFor returns the connection's batchReads, made on first use.
func (c *conn) readsFor() *batchReads {
	if c.reads == nil {
		c.reads = &batchReads{done: make(chan *batchRead, batchReadsInFlight)}
	}
	return c.reads
}

// start runs req, the read of a batch's entry index, once fewer than
// batchReadsInFlight are in flight, and writes the results of those done.
func (p *batchReads) start(c *conn, ns *record.Namespace, req *record.Request, index uint32) {
	p.wait(c, batchReadsInFlight-1)
	r := batchReadPool.Get().(*batchRead)
	r.req = *req
	r.ops = append(r.ops[:0], req.Ops...)
	r.req.Ops = r.ops
	r.index = index
	p.inFlight++
	ctx := c.srv.ctx
	go func() {
		r.res = ns.Execute(ctx, &r.s, &r.req)
		p.done <- r
	}()
	p.collect(c)
}

// wait writes the results of reads as they complete until at most n are
// in flight. p may be nil: a batch that started none.
func (p *batchReads) wait(c *conn, n int) {
	if p == nil {
		return
	}
	for p.inFlight > n {
		p.finish(c, <-p.done)
	}
}

// collect writes the results of the reads done so far, without waiting.
func (p *batchReads) collect(c *conn) {
	for {
		select {
		case r := <-p.done:
			p.finish(c, r)
		default:
			return
		}
	}
}

func (p *batchReads) finish(c *conn, r *batchRead) {
	c.writeResult(&r.res, r.index)
	// Nothing of the batch's message stays reachable from the pool.
	r.res, r.req = record.Result{}, record.Request{}
	clear(r.ops)
	batchReadPool.Put(r)
	p.inFlight--
}

// batchTemplate fills t from a batch entry that does not repeat the previous
// one.
func (c *conn) batchTemplate(t *batchTemplate, e *proto.BatchEntry) {
	t.ns, t.code = nil, proto.OK
	if t.code = unsupportedFields(e.Fields); t.code != proto.OK {
		return
	}
	t.req.Set, t.req.Key = nil, nil
	for i := range e.Fields {
		f := &e.Fields[i]
		switch f.Type {
		case proto.FieldNamespace:
			t.ns = c.srv.namespaces[string(f.Data)]
		case proto.FieldSet:
			t.req.Set = f.Data
		case proto.FieldKey:
			if len(f.Data) < 2 {
				t.code = proto.ParameterError
				return
			}
			t.req.Key = f.Data
		}
	}
	if t.ns == nil {
		t.code = proto.InvalidNamespace
		return
	}
	t.req.Filter = c.batchFilterExpr
	if data, ok := findField(e.Fields, proto.FieldFilterExp); ok {
		f, err := expr.CompileFilter(data)
		if err != nil {
			t.code = expr.Code(err)
			return
		}
		t.req.Filter = f
	}
	t.req.Info1, t.req.Info2, t.req.Info3 = e.Info1, e.Info2, e.Info3
	t.req.Generation, t.req.TTL = e.Generation, e.TTL
	t.req.Ops = e.Ops
	var code proto.ResultCode
	if _, t.isUDF, code = t.udf.parse(e.Fields); t.isUDF && (code != proto.OK || len(e.Ops) > 0) {
		t.code = proto.ParameterError
	}
}

// batchEnd appends a frame holding only the last message of a batch reply,
// carrying code for the whole batch.
func (c *conn) batchEnd(code proto.ResultCode) {
	c.w.BeginFrame()
	c.w.Msg(proto.MsgHeader{Info3: proto.Info3Last, ResultCode: code})
	c.w.EndFrame(proto.TypeMsg)
}

// flushIfFull sends a multi-message reply's frame once it has grown to
// batchFlushSize, and starts the next. It returns errBroken when the
// connection is.
func (c *conn) flushIfFull() error {
	if c.w.FrameLen() < batchFlushSize {
		return nil
	}
	c.w.EndFrame(proto.TypeMsg)
	if !c.flush() {
		return errBroken
	}
	c.w.BeginFrame()
	return nil
}

// flush sends the reply written so far and empties the writer. It returns
// false when the connection is broken.
func (c *conn) flush() bool {
	_, err := c.nc.Write(c.w.B)
	c.w.Reset()
	if err != nil {
		c.broken = true
		return false
	}
	return true
}
