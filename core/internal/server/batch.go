package server

import (
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
	t := batchTemplate{udf: udfCall{h: c.srv.udf, ctx: c.srv.ctx}}
	for {
		e, err := c.batch.Next()
		if err != nil {
			c.srv.log.Debug("malformed batch entry", "remote", c.nc.RemoteAddr(), "err", err)
			c.w.EndFrame(proto.TypeMsg)
			c.batchEnd(proto.ParameterError)
			return
		}
		if e == nil {
			break
		}
		if !e.Repeat {
			c.batchTemplate(&t, e)
		}
		var res record.Result
		switch {
		case t.code != proto.OK:
			res.Code = t.code
			c.writeResult(&res, e.Index)
		case t.isUDF:
			t.req.Digest = e.Digest
			res, err = t.udf.run(t.ns, &c.scratch, &t.req)
			t.ns.CountUDF(res.Code, err)
			c.writeUDFResult(&res, err, &t.udf, e.Index)
		default:
			t.req.Digest = e.Digest
			res = t.ns.Execute(c.srv.ctx, &c.scratch, &t.req)
			c.writeResult(&res, e.Index)
		}
		if c.w.FrameLen() >= batchFlushSize {
			c.w.EndFrame(proto.TypeMsg)
			if !c.flush() {
				return
			}
			c.w.BeginFrame()
		}
	}
	c.w.Msg(proto.MsgHeader{Info3: proto.Info3Last})
	c.w.EndFrame(proto.TypeMsg)
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
