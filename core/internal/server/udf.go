package server

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/expr"
	"github.com/skiffdb/skiff/core/internal/msgpack"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/internal/udf"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// UDF operations a scan or query names in its UDF_OP field.
const (
	udfOpAggregate  = 1
	udfOpBackground = 2
)

// Bin names of a UDF's reply, as clients read them.
var (
	binSuccess = []byte("SUCCESS")
	binFailure = []byte("FAILURE")
)

// udfCall is one UDF call's function and arguments, and its result; a
// connection reuses one for all its calls.
type udfCall struct {
	h             *udf.Host
	ctx           context.Context
	pkg, fn, args []byte
	out, conv     []byte
}

// parse reads a command's UDF fields. It reports false when there are none
// and a parameter error when they are incomplete.
func (u *udfCall) parse(fields []proto.Field) (op byte, has bool, code proto.ResultCode) {
	u.pkg, u.fn, u.args = nil, nil, nil
	for i := range fields {
		f := &fields[i]
		switch f.Type {
		case proto.FieldUDFPackage:
			u.pkg, has = f.Data, true
		case proto.FieldUDFFunction:
			u.fn, has = f.Data, true
		case proto.FieldUDFArgList:
			u.args, has = f.Data, true
		case proto.FieldUDFOp:
			if len(f.Data) != 1 {
				return 0, true, proto.ParameterError
			}
			op, has = f.Data[0], true
		}
	}
	if !has {
		return 0, false, proto.OK
	}
	if len(u.pkg) == 0 || len(u.fn) == 0 {
		return op, true, proto.ParameterError
	}
	if len(u.args) == 0 {
		u.args = []byte{0x90}
	}
	return op, true, proto.OK
}

// RunUDF implements record.UDFRunner.
func (u *udfCall) RunUDF(rec *record.UDFRecord) error {
	var err error
	u.out, err = u.h.Call(u.ctx, u.pkg, u.fn, u.args, rec, u.out[:0])
	return err
}

// run executes the call on one record.
func (u *udfCall) run(ns *record.Namespace, s *record.Scratch, req *record.Request) (record.Result, error) {
	if u.h == nil {
		return record.Result{Code: proto.UDFBadResponse}, errors.New("UDFs are not enabled on this node")
	}
	return ns.ExecuteUDF(u.ctx, s, req, u)
}

// writeUDFResult appends the reply to a record UDF: its result as bin
// SUCCESS, or its error as bin FAILURE.
func (c *conn) writeUDFResult(res *record.Result, err error, u *udfCall, batchIndex uint32) {
	h := proto.MsgHeader{ResultCode: res.Code, Generation: res.Generation, VoidTime: res.VoidTime, BatchIndex: batchIndex}
	var typ uint8
	var val []byte
	if err == nil && res.Code == proto.OK {
		var ok bool
		if typ, val, ok = msgpack.ToParticle(&u.conv, u.out); !ok {
			err = &udf.CallError{Module: string(u.pkg), Function: string(u.fn), Err: errors.New("its result is a value no bin can hold")}
			h.ResultCode = proto.UDFBadResponse
		}
	}
	switch {
	case err != nil:
		h.NOps = 1
		c.w.Msg(h)
		c.w.Op(proto.OpRead, proto.ParticleString, binFailure, []byte(err.Error()))
	case res.Code == proto.OK:
		h.NOps = 1
		c.w.Msg(h)
		c.w.Op(proto.OpRead, typ, binSuccess, val)
	default:
		c.w.Msg(h)
	}
}

// handleUDF serves a record UDF command (client.Execute).
func (c *conn) handleUDF(ns *record.Namespace) {
	c.udf.h, c.udf.ctx = c.srv.udf, c.srv.ctx
	c.lat = &ns.Latency.Write
	res, err := c.udf.run(ns, &c.scratch, &c.req)
	ns.CountUDF(res.Code, err)
	c.w.BeginFrame()
	c.writeUDFResult(&res, err, &c.udf, 0)
	c.w.EndFrame(proto.TypeMsg)
}

// Info commands of UDF modules.

func (s *Server) udfPut(args string) string {
	if s.udf == nil {
		return infoError(proto.UDFBadResponse, "UDFs are not enabled on this node")
	}
	p := params(args)
	name, text := p["filename"], p["content"]
	if name == "" || text == "" {
		return infoError(proto.ParameterError, "udf-put needs filename and content")
	}
	if n, ok := p["content-len"]; ok {
		if want, err := strconv.Atoi(n); err != nil || want != len(text) {
			return infoError(proto.ParameterError, "content-len does not match the content")
		}
	}
	content, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return infoError(proto.ParameterError, "content is not base64")
	}
	language := p["udf-type"]
	if language == "" {
		language = udf.Language
	}
	if err := s.udf.Put(s.ctx, name, language, content); err != nil {
		return infoError(proto.ParameterError, infoSafe(err.Error()))
	}
	return "ok"
}

func (s *Server) udfList(string) string {
	if s.udf == nil {
		return ""
	}
	var b strings.Builder
	for _, m := range s.udf.List() {
		b.WriteString("filename=" + m.Name + ",hash=" + m.Hash + ",type=" + udf.Language + ";")
	}
	return b.String()
}

func (s *Server) udfGet(args string) string {
	if s.udf == nil {
		return infoError(proto.UDFBadResponse, "UDFs are not enabled on this node")
	}
	info, content, err := s.udf.Get(params(args)["filename"])
	if err != nil {
		return infoError(proto.ParameterError, infoSafe(err.Error()))
	}
	return "gen=" + info.Hash + ";type=" + udf.Language + ";content=" + base64.StdEncoding.EncodeToString(content)
}

func (s *Server) udfRemove(args string) string {
	if s.udf == nil {
		return infoError(proto.UDFBadResponse, "UDFs are not enabled on this node")
	}
	if err := s.udf.Remove(s.ctx, params(args)["filename"]); err != nil {
		return infoError(proto.ParameterError, infoSafe(err.Error()))
	}
	return "ok"
}

// infoSafe keeps a message from breaking an info reply's k=v;k=v form.
func infoSafe(msg string) string {
	return strings.NewReplacer(";", ",", "\n", " ", "\t", " ").Replace(msg)
}

// Aggregations.

// errAggFailed stops a scan or query whose aggregation failed.
var errAggFailed = errors.New("aggregation failed")

// aggregation is a scan's or query's aggregation and how it ended.
type aggregation struct {
	agg  *udf.Aggregation
	err  error
	conv []byte
}

// udfOfScan prepares the aggregation a scan or query asks for, if it asks
// for one. It returns false when it has answered the request instead: an
// aggregation the node cannot run, with the reason in bin FAILURE.
func (c *conn) udfOfScan(st *scanState) bool {
	op, has, code := c.udf.parse(c.msg.Fields)
	switch {
	case !has:
		return true
	case code != proto.OK:
	case op != udfOpAggregate:
		code = proto.ParameterError
	case c.srv.udf == nil:
		code = proto.UDFBadResponse
	}
	if code != proto.OK {
		c.batchEnd(code)
		return false
	}
	a, err := c.srv.udf.NewAggregation(string(c.udf.pkg), string(c.udf.fn), append([]byte(nil), c.udf.args...))
	if err != nil {
		c.w.BeginFrame()
		c.writeFailure(err)
		c.w.Msg(proto.MsgHeader{Info3: proto.Info3Last, ResultCode: proto.UDFBadResponse})
		c.w.EndFrame(proto.TypeMsg)
		return false
	}
	st.agg = &aggregation{agg: a}
	return true
}

// writeFailure appends a record holding an aggregation's failure in bin
// FAILURE: a record, so that the client delivers the message, before the
// last message carries the code.
func (c *conn) writeFailure(err error) {
	c.w.Msg(proto.MsgHeader{NOps: 1})
	c.w.Op(proto.OpRead, proto.ParticleString, binFailure, []byte(err.Error()))
}

// aggregateRecord passes one record a scan or query found to the
// aggregation; values that leave it go out as records with bin SUCCESS.
func (c *conn) aggregateRecord(st *scanState, d storage.Digest, rec *storage.Record) error {
	all, err := bins.Decode(c.scanBins[:0], rec.Bins)
	if err != nil {
		return err
	}
	c.scanBins = all
	if st.exp != nil {
		c.scanRec = expr.Record{Digest: d, Meta: rec.Meta, Key: rec.Key, Bins: all, Size: rec.Size(), Now: st.now}
		if !st.exp.Filter(&c.scanRec) {
			return errFiltered
		}
	}
	view := st.ns.UDFView(&c.scratch, d, rec, all)
	if err := st.agg.agg.Add(c.srv.ctx, view, c.emitAggregate(st)); err != nil {
		if st.agg.err == nil {
			st.agg.err = err
		}
		return errAggFailed
	}
	return nil
}

// emitAggregate returns the function that sends an aggregation's values.
func (c *conn) emitAggregate(st *scanState) func(v []byte) error {
	return func(v []byte) error {
		typ, val, ok := msgpack.ToParticle(&st.agg.conv, v)
		if !ok {
			return errors.New("an aggregation value no bin can hold")
		}
		c.w.Msg(proto.MsgHeader{NOps: 1})
		c.w.Op(proto.OpRead, typ, binSuccess, val)
		return c.flushIfFull()
	}
}

// finishAggregate sends the reduced value, or the failure, before the last
// message, and returns the last message's result code.
func (c *conn) finishAggregate(st *scanState) proto.ResultCode {
	a := st.agg
	if a.err == nil {
		a.err = a.agg.Finish(c.emitAggregate(st))
	}
	if a.err == nil {
		return proto.OK
	}
	c.srv.log.Debug("aggregation failed", "namespace", st.ns.Name(), "err", a.err)
	c.writeFailure(a.err)
	return proto.UDFBadResponse
}
