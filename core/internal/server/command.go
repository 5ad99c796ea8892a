package server

import (
	"github.com/skiffdb/skiff/core/internal/expr"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/proto"
)

// handleMsg serves an AS_MSG request: a single-record command or a batch.
func (c *conn) handleMsg(body []byte) {
	if _, err := c.msg.Decode(body); err != nil {
		c.srv.log.Debug("malformed message", "remote", c.nc.RemoteAddr(), "err", err)
		// Marked last, so that a client waiting for the rest of a batch or
		// scan reply stops at once.
		c.batchEnd(proto.ParameterError)
		return
	}
	m := &c.msg
	if m.Info1&proto.Info1Batch != 0 {
		c.lat = &c.srv.batchLatency
		c.handleBatch()
		return
	}
	if code := unsupportedFields(m.Fields); code != proto.OK {
		c.w.Result(code, 0, 0)
		return
	}
	if _, ok := m.Field(proto.FieldDigest); !ok {
		rangeField, isQuery := m.Field(proto.FieldIndexRange)
		// A background UDF (client.ExecuteUDF) comes as a read.
		op, hasUDF, _ := c.udf.parse(m.Fields)
		switch {
		case m.Info2&proto.Info2Write != 0, hasUDF && op == udfOpBackground:
			c.handleBackground(body)
		case isQuery:
			c.handleQuery(rangeField)
		case isScan(m):
			c.handleScan()
		default:
			c.batchEnd(proto.ParameterError)
		}
		return
	}
	ns, code := c.fillRequest(&c.req, m.Fields)
	if code != proto.OK {
		c.w.Result(code, 0, 0)
		return
	}
	if c.req.Filter, code = c.filter(m.Fields); code != proto.OK {
		c.w.Result(code, 0, 0)
		return
	}
	c.req.Info1, c.req.Info2, c.req.Info3 = m.Info1, m.Info2, m.Info3
	c.req.Generation, c.req.TTL = m.Generation, m.RecordTTL
	c.req.Ops = m.Ops
	if _, has, code := c.udf.parse(m.Fields); has {
		if code != proto.OK || len(m.Ops) > 0 {
			c.w.Result(proto.ParameterError, 0, 0)
			return
		}
		c.handleUDF(ns)
		return
	}
	res := ns.Execute(c.srv.ctx, &c.scratch, &c.req)
	if c.req.Info2&proto.Info2Write != 0 {
		c.lat = &ns.Latency.Write
	} else {
		c.lat = &ns.Latency.Read
	}
	c.w.BeginFrame()
	c.writeResult(&res, 0)
	c.w.EndFrame(proto.TypeMsg)
}

// isScan reports whether a command without a digest is a plain partition
// scan: a read with no index filter and no background work.
func isScan(m *proto.Msg) bool {
	if m.Info2&proto.Info2Write != 0 || m.Info1&proto.Info1Read == 0 {
		return false
	}
	for i := range m.Fields {
		switch m.Fields[i].Type {
		case proto.FieldIndexName, proto.FieldIndexRange, proto.FieldIndexContext, proto.FieldIndexExpression,
			proto.FieldIndexType, proto.FieldQueryBinList:
			return false
		}
	}
	return true
}

// unsupportedFields refuses commands that need features this node does not
// have yet, rather than running them without their conditions.
func unsupportedFields(fields []proto.Field) proto.ResultCode {
	for i := range fields {
		switch fields[i].Type {
		case proto.FieldMRTID, proto.FieldMRTDeadline, proto.FieldRecordVersion:
			return proto.UnsupportedFeature
		}
	}
	return proto.OK
}

// filter compiles the filter expression among fields, if there is one. The
// connection keeps the last one it compiled: clients send the same filter
// again and again.
func (c *conn) filter(fields []proto.Field) (*expr.Expr, proto.ResultCode) {
	data, ok := findField(fields, proto.FieldFilterExp)
	if !ok {
		return nil, proto.OK
	}
	if c.filterExpr != nil && string(c.filterSrc) == string(data) {
		return c.filterExpr, proto.OK
	}
	e, err := expr.CompileFilter(data)
	if err != nil {
		c.srv.log.Debug("bad filter expression", "remote", c.nc.RemoteAddr(), "err", err)
		return nil, expr.Code(err)
	}
	c.filterSrc = append(c.filterSrc[:0], data...)
	c.filterExpr = e
	return e, proto.OK
}

func findField(fields []proto.Field, t uint8) ([]byte, bool) {
	for i := range fields {
		if fields[i].Type == t {
			return fields[i].Data, true
		}
	}
	return nil, false
}

// fillRequest sets a request's namespace, digest, set and key from a
// command's fields.
func (c *conn) fillRequest(req *record.Request, fields []proto.Field) (*record.Namespace, proto.ResultCode) {
	var ns *record.Namespace
	req.Set, req.Key = nil, nil
	haveDigest := false
	for i := range fields {
		f := &fields[i]
		switch f.Type {
		case proto.FieldNamespace:
			ns = c.srv.namespaces[string(f.Data)]
			if ns == nil {
				return nil, proto.InvalidNamespace
			}
		case proto.FieldSet:
			req.Set = f.Data
		case proto.FieldKey:
			if len(f.Data) < 2 {
				return nil, proto.ParameterError
			}
			req.Key = f.Data
		case proto.FieldDigest:
			if len(f.Data) != len(req.Digest) {
				return nil, proto.ParameterError
			}
			copy(req.Digest[:], f.Data)
			haveDigest = true
		}
	}
	if ns == nil {
		return nil, proto.InvalidNamespace
	}
	if !haveDigest {
		return nil, proto.ParameterError
	}
	return ns, proto.OK
}

// writeResult appends a reply message for res; batchIndex places it in a
// batch reply.
func (c *conn) writeResult(res *record.Result, batchIndex uint32) {
	c.w.Msg(proto.MsgHeader{
		ResultCode: res.Code,
		Generation: res.Generation,
		VoidTime:   res.VoidTime,
		BatchIndex: batchIndex,
		NOps:       uint16(len(res.Bins)),
	})
	for i := range res.Bins {
		b := &res.Bins[i]
		c.w.Op(proto.OpRead, b.Type, b.Name, b.Value)
	}
}
