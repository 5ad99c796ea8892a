package server

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/expr"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/internal/ahead"
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
	// pids are the partitions asked for whole; digests (with bvals, for a
	// query) those asked for from a digest on.
	pids    []uint16
	digests []storage.Digest
	bvals   []int64
	// taskID is the id the client gave the scan; job its entry in the
	// node's jobs.
	taskID uint64
	job    *job
	// agg, when set, takes the records instead of the client.
	agg *aggregation
}

// parseScan reads the fields a scan and a query share: namespace, set,
// partitions, max-records, records-per-second and filter expression.
func (st *scanState) parseScan(c *conn, m *proto.Msg) proto.ResultCode {
	for i := range m.Fields {
		f := &m.Fields[i]
		switch f.Type {
		case proto.FieldNamespace:
			st.ns = c.srv.namespaces[string(f.Data)]
		case proto.FieldSet:
			st.filter.Set = f.Data
		case proto.FieldPIDArray:
			if len(f.Data)%2 != 0 {
				return proto.ParameterError
			}
			for i := 0; i < len(f.Data); i += 2 {
				st.pids = append(st.pids, binary.LittleEndian.Uint16(f.Data[i:])&(storage.Partitions-1))
			}
		case proto.FieldDigestArray:
			if len(f.Data)%20 != 0 {
				return proto.ParameterError
			}
			for i := 0; i < len(f.Data); i += 20 {
				st.digests = append(st.digests, storage.Digest(f.Data[i:i+20]))
			}
		case proto.FieldBValArray:
			if len(f.Data)%8 != 0 {
				return proto.ParameterError
			}
			for i := 0; i < len(f.Data); i += 8 {
				st.bvals = append(st.bvals, int64(binary.LittleEndian.Uint64(f.Data[i:])))
			}
		case proto.FieldMaxRecords:
			if len(f.Data) == 8 {
				st.maxRecords = int64(binary.BigEndian.Uint64(f.Data))
			}
		case proto.FieldQueryID:
			if len(f.Data) == 8 {
				st.taskID = binary.BigEndian.Uint64(f.Data)
			}
		case proto.FieldRecordsPerSec:
			if len(f.Data) == 4 {
				st.perSecond = int(binary.BigEndian.Uint32(f.Data))
			}
		}
	}
	if st.ns == nil {
		return proto.InvalidNamespace
	}
	var code proto.ResultCode
	st.exp, code = c.filter(m.Fields)
	return code
}

// partitionCount is how many partitions the scan covers.
func (st *scanState) partitionCount() int {
	if len(st.pids) == 0 && len(st.digests) == 0 {
		return storage.Partitions
	}
	return len(st.pids) + len(st.digests)
}

// eachPartition calls fn for each partition the scan covers, with the
// digest to resume after for those asked for from a digest on, until fn
// returns false.
func (st *scanState) eachPartition(fn func(pid uint16, after *storage.Digest) bool) {
	if len(st.pids) == 0 && len(st.digests) == 0 {
		for pid := uint16(0); pid < storage.Partitions; pid++ {
			if !fn(pid, nil) {
				return
			}
		}
	}
	for _, pid := range st.pids {
		if !fn(pid, nil) {
			return
		}
	}
	for i := range st.digests {
		if !fn(st.digests[i].Partition(), &st.digests[i]) {
			return
		}
	}
}

// A scan of a namespace whose reads wait (record.Namespace.ReadsWait)
// collects several partitions at once, so that their round trips to a
// plugin, or reads of the disk, overlap. Partitions are still sent one
// after another, in order. How many: twice as many as were sent so far,
// up to scanAheadMax, and fewer when the largest partition collected says
// that many would hold more than scanAheadBytes; so partitions of small
// sets overlap most, and large ones, whose scans keep reads in flight of
// their own, hardly. One at a time, a scan of a 10-record set paid 4,096
// round trips to the default memory plugin: 250 ms.
const (
	scanAheadMax   = 64
	scanAheadBytes = 4 << 20
)

// partitionScan is one partition being collected for a scan.
type partitionScan struct {
	pid uint16
	buf record.ScanBuffer
	err error
}

// scanPartitions collects the partitions the scan covers with filter (its
// After set for each) and calls fn with each one's records in buf, or the
// error collecting them, in the scan's order, until fn returns false. buf
// serves a namespace whose reads do not wait, where partitions are
// collected one at a time.
func (st *scanState) scanPartitions(ctx context.Context, filter record.ScanFilter, buf *record.ScanBuffer, fn func(pid uint16, buf *record.ScanBuffer, err error) bool) {
	if !st.ns.ReadsWait() {
		st.eachPartition(func(pid uint16, after *storage.Digest) bool {
			filter.After = after
			return fn(pid, buf, st.ns.CollectPartition(ctx, pid, filter, buf))
		})
		return
	}
	a := ahead.New[partitionScan](scanAheadMax)
	// Partitions are sent as they are started; the largest collected so
	// far bounds how many are started.
	largest, sent := 0, 0
	send := func() bool {
		p := a.Next()
		largest, sent = max(largest, p.buf.Size()), sent+1
		return fn(p.pid, &p.buf, p.err)
	}
	ok := true
	st.eachPartition(func(pid uint16, after *storage.Digest) bool {
		for ok && a.Pending() >= max(1, min(scanAheadMax, 2*sent, scanAheadBytes/max(largest, 1))) {
			ok = send()
		}
		if !ok {
			return false
		}
		f := filter
		f.After = after
		a.Start(func(p *partitionScan) {
			p.pid = pid
			p.err = st.ns.CollectPartition(ctx, pid, f, &p.buf)
		})
		return true
	})
	for ok && a.Pending() > 0 {
		ok = send()
	}
	// The partitions still being collected must not write to their
	// buffers after the scan returns.
	a.Wait()
}

// handleScan serves a partition scan: for each requested partition its live
// records in digest order, then a partition-done message, and finally a last
// message. The reply goes out in pieces of about batchFlushSize.
func (c *conn) handleScan() {
	m := &c.msg
	// Records are read whole even when no bins are asked for: the stored
	// key is part of the record's data, and scans return it.
	st := scanState{ops: m.Ops, started: time.Now(), now: time.Now(), noBins: m.Info1&proto.Info1NoBinData != 0}
	if code := st.parseScan(c, m); code != proto.OK {
		c.batchEnd(code)
		return
	}
	for i := range st.ops {
		if st.ops[i].Type != proto.OpRead {
			c.batchEnd(proto.UnsupportedFeature)
			return
		}
	}
	if !c.udfOfScan(&st) {
		return
	}
	st.job = c.srv.startJob("scan", false, &st, st.partitionCount())
	c.w.BeginFrame()
	st.scanPartitions(c.srv.ctx, st.filter, &c.scanBuf, func(pid uint16, buf *record.ScanBuffer, err error) bool {
		return c.scanPartition(&st, pid, buf, err)
	})
	if c.broken {
		st.job.finish(proto.ScanAbort)
		return
	}
	code := proto.OK
	if st.agg != nil {
		code = c.finishAggregate(&st)
	}
	st.job.finish(code)
	c.w.Msg(proto.MsgHeader{Info3: proto.Info3Last, ResultCode: code})
	c.w.EndFrame(proto.TypeMsg)
}

// scanPartition sends one partition's records, collected in buf (or the
// error collecting them), and its done marker. It returns false when the
// scan must stop: max-records reached or the connection broken.
func (c *conn) scanPartition(st *scanState, pid uint16, buf *record.ScanBuffer, err error) bool {
	if err != nil {
		return c.partitionFailed(st, pid, err)
	}
	err = buf.Each(func(d storage.Digest, rec *storage.Record) error {
		if st.maxRecords > 0 && st.sent >= st.maxRecords {
			return errScanDone
		}
		if err := c.writeRecord(st, d, rec, nil); err == errFiltered {
			return nil
		} else if err != nil {
			return err
		}
		st.sent++
		st.job.recs.Add(1)
		st.throttle()
		return c.flushIfFull()
	})
	switch {
	case errors.Is(err, errScanDone), errors.Is(err, errBroken), errors.Is(err, errAggFailed):
		return false
	case err != nil:
		return c.partitionFailed(st, pid, err)
	}
	c.w.Msg(proto.MsgHeader{Info3: proto.Info3PartitionDone, Generation: uint32(pid)})
	st.job.partsDone.Add(1)
	return true
}

// partitionFailed reports a partition the scan could not serve: the
// client retries it.
func (c *conn) partitionFailed(st *scanState, pid uint16, err error) bool {
	c.srv.log.Error("scan failed", "namespace", st.ns.Name(), "partition", pid, "err", err)
	c.w.Msg(proto.MsgHeader{Info3: proto.Info3PartitionDone, ResultCode: proto.PartitionUnavailable, Generation: uint32(pid)})
	return true
}

var (
	errBroken = errors.New("connection broken")
	// errFiltered: a record the scan's filter does not match.
	errFiltered = errors.New("filtered out")
)

// writeRecord appends one record of a scan or query: its digest,
// namespace, set, stored key and, for a query, the index value it was
// found by (bval, which a client resumes from) as fields, then the bins
// asked for. It returns errFiltered for a record the filter rejects.
func (c *conn) writeRecord(st *scanState, d storage.Digest, rec *storage.Record, bval *int64) error {
	if st.agg != nil {
		return c.aggregateRecord(st, d, rec)
	}
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
	if bval != nil {
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
	if bval != nil {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(*bval))
		c.w.Field(proto.FieldBValArray, b[:])
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
