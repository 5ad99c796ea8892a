package core_test

import (
	"errors"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"
)

func TestClientFilterExpressions(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	k := key(t, set, "f")
	mustOK(t, c.Put(nil, k, as.BinMap{"a": 5, "s": "hello"}))

	match := as.ExpAnd(as.ExpEq(as.ExpIntBin("a"), as.ExpIntVal(5)), as.ExpRegexCompare("^hel", as.ExpRegexFlagNONE, as.ExpStringBin("s")))
	miss := as.ExpGreater(as.ExpIntBin("a"), as.ExpIntVal(10))
	rp := as.NewPolicy()
	rp.FilterExpression = match
	if _, err := c.Get(rp, k); err != nil {
		t.Fatalf("get with a matching filter: %v", err)
	}
	rp.FilterExpression = miss
	if _, err := c.Get(rp, k); !errors.Is(err, as.ErrFilteredOut) {
		t.Fatalf("get with a failing filter: %v", err)
	}
	wp := as.NewWritePolicy(0, 0)
	wp.FilterExpression = miss
	wantCode(t, c.Put(wp, k, as.BinMap{"a": 6}), types.FILTERED_OUT)
	_, err := c.Delete(wp, k)
	wantCode(t, err, types.FILTERED_OUT)
	assertBins(t, c, k, as.BinMap{"a": 5, "s": "hello"})
	// A write that creates the record ignores the filter.
	mustOK(t, c.Put(wp, key(t, set, "new"), as.BinMap{"a": 1}))
	wp.FilterExpression = match
	mustOK(t, c.Put(wp, k, as.BinMap{"a": 6}))
	assertBins(t, c, k, as.BinMap{"a": 6, "s": "hello"})

	// Metadata and malformed expressions.
	rp.FilterExpression = as.ExpGreater(as.ExpTTL(), as.ExpIntVal(1000))
	if _, err := c.Get(rp, k); err != nil {
		t.Fatalf("ttl filter: %v", err)
	}
	rp.FilterExpression = as.ExpIntVal(8) // not boolean
	_, err = c.Get(rp, k)
	wantCode(t, err, types.PARAMETER_ERROR)

	// Batches filter per record; scans leave filtered records out.
	var keys []*as.Key
	for i := range 20 {
		kk := key(t, set+"b", i)
		keys = append(keys, kk)
		mustOK(t, c.Put(nil, kk, as.BinMap{"i": i}))
	}
	bp := as.NewBatchPolicy()
	bp.FilterExpression = as.ExpLess(as.ExpIntBin("i"), as.ExpIntVal(10))
	recs := []as.BatchRecordIfc{}
	for _, kk := range keys {
		recs = append(recs, as.NewBatchRead(nil, kk, nil))
	}
	mustOK(t, c.BatchOperate(bp, recs))
	for i, r := range recs {
		want := types.OK
		if i >= 10 {
			want = types.FILTERED_OUT
		}
		if rc := r.BatchRec().ResultCode; rc != want {
			t.Errorf("batch record %d: %v, want %v", i, rc, want)
		}
	}
	sp := as.NewScanPolicy()
	sp.FilterExpression = as.ExpGreaterEq(as.ExpIntBin("i"), as.ExpIntVal(15))
	rs, err := c.ScanAll(sp, "test", set+"b")
	mustOK(t, err)
	count := 0
	for r := range rs.Results() {
		mustOK(t, r.Err)
		if r.Record.Bins["i"].(int) < 15 {
			t.Errorf("scan returned %v past the filter", r.Record.Bins)
		}
		count++
	}
	if count != 5 {
		t.Fatalf("filtered scan returned %d records, want 5", count)
	}
}

func TestClientExpressionOperations(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	k := key(t, uniqueSet(t), "ops")
	mustOK(t, c.Put(nil, k, as.BinMap{"a": 5, "b": 7}))
	rec, err := c.Operate(nil, k,
		as.ExpWriteOp("sum", as.ExpNumAdd(as.ExpIntBin("a"), as.ExpIntBin("b")), as.ExpWriteFlagDefault),
		as.ExpReadOp("twice", as.ExpNumMul(as.ExpIntBin("sum"), as.ExpIntVal(2)), as.ExpReadFlagDefault),
	)
	mustOK(t, err)
	if rec.Bins["twice"] != 24 {
		t.Fatalf("expression read: %v", rec.Bins)
	}
	assertBins(t, c, k, as.BinMap{"a": 5, "b": 7, "sum": 12})
	_, err = c.Operate(nil, k, as.ExpWriteOp("a", as.ExpIntVal(1), as.ExpWriteFlagCreateOnly))
	wantCode(t, err, types.BIN_EXISTS_ERROR)
	rec, err = c.Operate(nil, k, as.ExpReadOp("r", as.ExpIntBin("b"), as.ExpReadFlagDefault))
	mustOK(t, err)
	if rec.Bins["r"] != 7 {
		t.Fatalf("read-only expression op: %v", rec.Bins)
	}
}
