package server

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/expr"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
)

// errScanDone stops a partition walk once max-records is reached.
var errScanDone = errors.New("scan: max records reached")

// scanState is one scan request being served.
type scanState struct {
	ns         *record.Namespace
	filter     record.ScanFilter
	ops        []proto.Op
	noBins     bool
	exp        *expr.Expr
	now        time.Time
	maxRecords int64
	sent       int64
	perSecond  int
	started    time.Time
}

// handleScan serves a partition scan: for each requested partition its live
// records in digest order, then a partition-done message, and finally a last
// message. The reply goes out in pieces of about batchFlushSize.
func (c *conn) handleScan() {
	m := &c.msg
	// Records are read whole even when no bins are asked for: the stored
	// key is part of the record's data, and scans return it.
	st := scanState{ops: m.Ops, started: time.Now(), noBins: m.Info1&proto.Info1NoBinData != 0}
	var pids, digests []byte
	for i := range m.Fields {
		f := &m.Fields[i]
		switch f.Type {
		case proto.FieldNamespace:
			st.ns = c.srv.namespaces[string(f.Data)]
		case proto.FieldSet:
			st.filter.Set = f.Data
		case proto.FieldPIDArray:
			pids = f.Data
		case proto.FieldDigestArray:
			digests = f.Data
		case proto.FieldMaxRecords:
			if len(f.Data) == 8 {
				st.maxRecords = int64(binary.BigEndian.Uint64(f.Data))
			}
		case proto.FieldRecordsPerSec:
			if len(f.Data) == 4 {
				st.perSecond = int(binary.BigEndian.Uint32(f.Data))
			}
		}
	}
	var code proto.ResultCode
	if st.exp, code = c.filter(m.Fields); code != proto.OK {
		c.batchEnd(code)
		return
	}
	st.now = time.Now()
	switch {
	case st.ns == nil:
		c.batchEnd(proto.InvalidNamespace)
		return
	case len(pids)%2 != 0 || len(digests)%20 != 0:
		c.batchEnd(proto.ParameterError)
		return
	}
	for i := range st.ops {
		if st.ops[i].Type != proto.OpRead {
			c.batchEnd(proto.UnsupportedFeature)
			return
		}
	}

	c.w.BeginFrame()
	ok := true
	if len(pids) == 0 && len(digests) == 0 {
		for pid := uint16(0); pid < storage.Partitions && ok; pid++ {
			ok = c.scanPartition(&st, pid, nil)
		}
	}
	for i := 0; i+2 <= len(pids) && ok; i += 2 {
		ok = c.scanPartition(&st, binary.LittleEndian.Uint16(pids[i:])&(storage.Partitions-1), nil)
	}
	for i := 0; i+20 <= len(digests) && ok; i += 20 {
		var d storage.Digest
		copy(d[:], digests[i:])
		ok = c.scanPartition(&st, d.Partition(), &d)
	}
	if c.broken {
		return
	}
	c.w.Msg(proto.MsgHeader{Info3: proto.Info3Last})
	c.w.EndFrame(proto.TypeMsg)
}

// scanPartition sends one partition's records and its done marker. It
// returns false when the scan must stop: max-records reached or the
// connection broken.
func (c *conn) scanPartition(st *scanState, pid uint16, after *storage.Digest) bool {
	st.filter.After = after
	err := st.ns.ScanPartition(c.srv.ctx, pid, st.filter, &c.scanBuf, func(d storage.Digest, rec *storage.Record) error {
		if st.maxRecords > 0 && st.sent >= st.maxRecords {
			return errScanDone
		}
		if err := c.writeScanRecord(st, d, rec); err == errFiltered {
			return nil
		} else if err != nil {
			return err
		}
		st.sent++
		st.throttle()
		if c.w.FrameLen() >= batchFlushSize {
			c.w.EndFrame(proto.TypeMsg)
			if !c.flush() {
				return errBroken
			}
			c.w.BeginFrame()
		}
		return nil
	})
	switch {
	case errors.Is(err, errScanDone):
		return false
	case errors.Is(err, errBroken):
		return false
	case err != nil:
		c.srv.log.Error("scan failed", "namespace", st.ns.Name(), "partition", pid, "err", err)
		c.w.Msg(proto.MsgHeader{Info3: proto.Info3PartitionDone, ResultCode: proto.PartitionUnavailable, Generation: uint32(pid)})
		return true
	}
	c.w.Msg(proto.MsgHeader{Info3: proto.Info3PartitionDone, Generation: uint32(pid)})
	return true
}

var (
	errBroken = errors.New("connection broken")
	// errFiltered: a record the scan's filter does not match.
	errFiltered = errors.New("filtered out")
)

// writeScanRecord appends one record of a scan: its digest, namespace, set
// and stored key as fields, then the bins asked for.
func (c *conn) writeScanRecord(st *scanState, d storage.Digest, rec *storage.Record) error {
	c.scanBins = c.scanBins[:0]
	if !st.noBins || st.exp != nil {
		all, err := bins.Decode(c.scanBins, rec.Bins)
		if err != nil {
			return err
		}
		if st.exp != nil {
			c.scanRec = expr.Record{Digest: d, Meta: rec.Meta, Key: rec.Key, Bins: all, Size: rec.Size(), Now: st.now}
			if !st.exp.Filter(&c.scanRec) {
				return errFiltered
			}
		}
		c.scanBins = all[:0]
		if !st.noBins {
			c.scanBins = selectBins(all, st.ops)
		}
	}
	nFields := uint16(2)
	if rec.Set != "" {
		nFields++
	}
	if len(rec.Key) > 0 {
		nFields++
	}
	c.w.Msg(proto.MsgHeader{Generation: rec.Generation, VoidTime: rec.VoidTime, NFields: nFields, NOps: uint16(len(c.scanBins))})
	c.w.Field(proto.FieldDigest, d[:])
	c.w.FieldString(proto.FieldNamespace, st.ns.Name())
	if rec.Set != "" {
		c.w.FieldString(proto.FieldSet, rec.Set)
	}
	if len(rec.Key) > 0 {
		c.w.Field(proto.FieldKey, rec.Key)
	}
	for i := range c.scanBins {
		b := &c.scanBins[i]
		c.w.Op(proto.OpRead, b.Type, b.Name, b.Value)
	}
	return nil
}

// selectBins keeps the bins that read operations name, in place; with no
// operations it keeps them all.
func selectBins(all []bins.Bin, ops []proto.Op) []bins.Bin {
	if len(ops) == 0 {
		return all
	}
	out := all[:0]
	for _, b := range all {
		for i := range ops {
			if string(ops[i].Name) == string(b.Name) {
				out = append(out, b)
				break
			}
		}
	}
	return out
}

// throttle paces a scan to its records-per-second limit.
func (st *scanState) throttle() {
	if st.perSecond <= 0 {
		return
	}
	due := st.started.Add(time.Duration(st.sent) * time.Second / time.Duration(st.perSecond))
	if d := time.Until(due); d > 0 {
		time.Sleep(d)
	}
}
