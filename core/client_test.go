package core_test

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"
)

// These tests drive a node with the official Go client, unmodified.

func TestClientPutGet(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	bins := as.BinMap{
		"i":    int64(-42),
		"f":    3.25,
		"s":    "hello",
		"b":    []byte{0, 1, 2, 255},
		"t":    true,
		"list": []any{1, "two", 3.5, []byte{4}},
		"map":  map[any]any{"a": 1, 2: "b"},
		"geo":  as.NewGeoJSONValue(`{"type":"Point","coordinates":[1.5,2.5]}`),
		"hll":  as.NewHLLValue(emptyHLL),
		"max":  int64(math.MaxInt64),
	}
	for _, userKey := range []any{42, "string-key", []byte{9, 8, 7}} {
		k := key(t, set, userKey)
		mustOK(t, c.Put(nil, k, bins))
		rec, err := c.Get(nil, k)
		mustOK(t, err)
		if rec.Generation != 1 {
			t.Errorf("key %v: generation %d, want 1", userKey, rec.Generation)
		}
		want := as.BinMap{
			"i": -42, "f": 3.25, "s": "hello", "b": []byte{0, 1, 2, 255}, "t": true,
			"list": []any{1, "two", 3.5, []byte{4}},
			"map":  map[any]any{"a": 1, 2: "b"},
			"geo":  as.GeoJSONValue(`{"type":"Point","coordinates":[1.5,2.5]}`),
			"hll":  as.HLLValue(emptyHLL),
			"max":  math.MaxInt64,
		}
		if diff := diffBins(rec.Bins, want); diff != "" {
			t.Errorf("key %v: %s", userKey, diff)
		}
	}
}

func TestClientSelectedBinsHeaderExists(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	k := key(t, uniqueSet(t), "k")
	mustOK(t, c.Put(nil, k, as.BinMap{"a": 1, "b": "two", "c": 3.0}))

	rec, err := c.Get(nil, k, "a", "c", "missing")
	mustOK(t, err)
	if diff := diffBins(rec.Bins, as.BinMap{"a": 1, "c": 3.0}); diff != "" {
		t.Error(diff)
	}
	hdr, err := c.GetHeader(nil, k)
	mustOK(t, err)
	if len(hdr.Bins) != 0 || hdr.Generation != 1 {
		t.Errorf("header: bins %v generation %d", hdr.Bins, hdr.Generation)
	}
	ok, err := c.Exists(nil, k)
	mustOK(t, err)
	if !ok {
		t.Error("exists: false for a stored record")
	}
	ok, err = c.Exists(nil, key(t, "other", "nope"))
	mustOK(t, err)
	if ok {
		t.Error("exists: true for a missing record")
	}
	_, err = c.Get(nil, key(t, "other", "nope"))
	if !errors.Is(err, as.ErrKeyNotFound) {
		t.Errorf("get missing: %v, want key not found", err)
	}
}

func TestClientTouchDelete(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	k := key(t, uniqueSet(t), 7)
	wantCode(t, c.Touch(nil, k), types.KEY_NOT_FOUND_ERROR)
	mustOK(t, c.Put(nil, k, as.BinMap{"a": 1}))
	mustOK(t, c.Touch(as.NewWritePolicy(0, 100), k))
	rec, err := c.GetHeader(nil, k)
	mustOK(t, err)
	if rec.Generation != 2 || rec.Expiration < 98 || rec.Expiration > 100 {
		t.Errorf("after touch: generation %d expiration %d", rec.Generation, rec.Expiration)
	}
	existed, err := c.Delete(nil, k)
	mustOK(t, err)
	if !existed {
		t.Error("delete of a stored record reported it missing")
	}
	existed, err = c.Delete(nil, k)
	mustOK(t, err)
	if existed {
		t.Error("second delete reported the record existed")
	}
	dp := as.NewWritePolicy(0, 0)
	dp.DurableDelete = true
	mustOK(t, c.Put(nil, k, as.BinMap{"a": 1}))
	existed, err = c.Delete(dp, k)
	mustOK(t, err)
	if !existed {
		t.Error("durable delete of a stored record reported it missing")
	}
}

func TestClientOperate(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	k := key(t, uniqueSet(t), "op")

	rec, err := c.Operate(nil, k,
		as.PutOp(as.NewBin("n", 10)),
		as.PutOp(as.NewBin("s", "mid")),
		as.PutOp(as.NewBin("f", 1.5)),
		as.GetOp())
	mustOK(t, err)
	if diff := diffBins(rec.Bins, as.BinMap{"n": 10, "s": "mid", "f": 1.5}); diff != "" || rec.Generation != 1 {
		t.Fatalf("first operate: %s generation %d", diff, rec.Generation)
	}
	rec, err = c.Operate(nil, k,
		as.AddOp(as.NewBin("n", 5)),
		as.AddOp(as.NewBin("f", 0.25)),
		as.AppendOp(as.NewBin("s", "-end")),
		as.PrependOp(as.NewBin("s", "start-")),
		as.GetBinOp("n"), as.GetBinOp("s"), as.GetBinOp("f"))
	mustOK(t, err)
	if diff := diffBins(rec.Bins, as.BinMap{"n": 15, "s": "start-mid-end", "f": 1.75}); diff != "" || rec.Generation != 2 {
		t.Fatalf("second operate: %s generation %d", diff, rec.Generation)
	}

	// Type mismatches are refused and change nothing.
	_, err = c.Operate(nil, k, as.AddOp(as.NewBin("s", 1)))
	wantCode(t, err, types.BIN_TYPE_ERROR)
	_, err = c.Operate(nil, k, as.AppendOp(as.NewBin("n", "x")))
	wantCode(t, err, types.BIN_TYPE_ERROR)
	_, err = c.Operate(nil, k, as.AddOp(as.NewBin("f", 1)))
	wantCode(t, err, types.BIN_TYPE_ERROR)

	// Respond-all-ops: one result per operation, in order.
	wp := as.NewWritePolicy(0, 0)
	wp.RespondPerEachOp = true
	rec, err = c.Operate(wp, k, as.AddOp(as.NewBin("n", 1)), as.GetBinOp("n"), as.AddOp(as.NewBin("n", 1)), as.GetBinOp("n"))
	mustOK(t, err)
	if got, ok := rec.Bins["n"].(as.OpResults); !ok || len(got) != 4 || got[0] != nil || got[1] != 16 || got[2] != nil || got[3] != 17 {
		t.Fatalf("respond-all-ops: %#v", rec.Bins["n"])
	}
	// Reads only: a missing bin still has its (nil) result.
	rec, err = c.Operate(wp, k, as.GetBinOp("n"), as.GetBinOp("missing"))
	mustOK(t, err)
	if v, ok := rec.Bins["missing"]; !ok || v != nil || rec.Bins["n"] != 17 {
		t.Fatalf("respond-all-ops, reads only: %#v", rec.Bins)
	}

	// Touch and delete operations, as in the client's own suite.
	rec, err = c.Operate(nil, k, as.TouchOp(), as.GetHeaderOp())
	mustOK(t, err)
	if len(rec.Bins) != 0 || rec.Generation != 4 {
		t.Fatalf("touch+header: %v generation %d", rec.Bins, rec.Generation)
	}
	rec, err = c.Operate(nil, k, as.GetHeaderOp(), as.DeleteOp(), as.PutOp(as.NewBin("n", 1)))
	mustOK(t, err)
	if rec.Generation != 5 {
		t.Fatalf("delete+put: generation %d", rec.Generation)
	}
	rec, err = c.Get(nil, k)
	mustOK(t, err)
	if diff := diffBins(rec.Bins, as.BinMap{"n": 1}); diff != "" {
		t.Fatal(diff)
	}
	rec, err = c.Operate(nil, k, as.DeleteOp())
	mustOK(t, err)
	if _, err := c.Get(nil, k); !errors.Is(err, as.ErrKeyNotFound) {
		t.Fatalf("after delete op: %v", err)
	}
	_, err = c.Operate(nil, k, as.TouchOp())
	wantCode(t, err, types.KEY_NOT_FOUND_ERROR)
	_, err = c.Operate(nil, k, as.GetOp())
	if !errors.Is(err, as.ErrKeyNotFound) {
		t.Fatalf("read of missing record: %v", err)
	}
}

func TestClientRecordExistsActions(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	policy := func(a as.RecordExistsAction) *as.WritePolicy {
		p := as.NewWritePolicy(0, 0)
		p.RecordExistsAction = a
		return p
	}
	k := key(t, set, "rea")

	wantCode(t, c.Put(policy(as.UPDATE_ONLY), k, as.BinMap{"a": 1}), types.KEY_NOT_FOUND_ERROR)
	wantCode(t, c.Put(policy(as.REPLACE_ONLY), k, as.BinMap{"a": 1}), types.KEY_NOT_FOUND_ERROR)
	mustOK(t, c.Put(policy(as.CREATE_ONLY), k, as.BinMap{"a": 1, "b": 2}))
	wantCode(t, c.Put(policy(as.CREATE_ONLY), k, as.BinMap{"a": 1}), types.KEY_EXISTS_ERROR)

	mustOK(t, c.Put(policy(as.UPDATE_ONLY), k, as.BinMap{"c": 3}))
	assertBins(t, c, k, as.BinMap{"a": 1, "b": 2, "c": 3})
	mustOK(t, c.Put(policy(as.UPDATE), k, as.BinMap{"a": 10}))
	assertBins(t, c, k, as.BinMap{"a": 10, "b": 2, "c": 3})
	mustOK(t, c.Put(policy(as.REPLACE_ONLY), k, as.BinMap{"d": 4}))
	assertBins(t, c, k, as.BinMap{"d": 4})
	mustOK(t, c.Put(policy(as.REPLACE), k, as.BinMap{"e": 5}))
	assertBins(t, c, k, as.BinMap{"e": 5})
	k2 := key(t, set, "rea2")
	mustOK(t, c.Put(policy(as.REPLACE), k2, as.BinMap{"e": 5}))
	assertBins(t, c, k2, as.BinMap{"e": 5})

	// Writing nil removes a bin; removing the last bin removes the record.
	mustOK(t, c.Put(nil, k, as.BinMap{"f": 6}))
	mustOK(t, c.PutBins(nil, k, as.NewBin("e", nil)))
	assertBins(t, c, k, as.BinMap{"f": 6})
	mustOK(t, c.PutBins(nil, k, as.NewBin("f", nil)))
	if _, err := c.Get(nil, k); !errors.Is(err, as.ErrKeyNotFound) {
		t.Fatalf("record with no bins left: %v", err)
	}
}

func TestClientGenerationPolicies(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	k := key(t, uniqueSet(t), "gen")
	mustOK(t, c.Put(nil, k, as.BinMap{"a": 1}))
	mustOK(t, c.Put(nil, k, as.BinMap{"a": 2}))

	p := as.NewWritePolicy(1, 0)
	p.GenerationPolicy = as.EXPECT_GEN_EQUAL
	wantCode(t, c.Put(p, k, as.BinMap{"a": 3}), types.GENERATION_ERROR)
	p.Generation = 2
	mustOK(t, c.Put(p, k, as.BinMap{"a": 3}))

	p.GenerationPolicy = as.EXPECT_GEN_GT
	p.Generation = 3
	wantCode(t, c.Put(p, k, as.BinMap{"a": 4}), types.GENERATION_ERROR)
	p.Generation = 10
	mustOK(t, c.Put(p, k, as.BinMap{"a": 4}))

	p.GenerationPolicy = as.EXPECT_GEN_EQUAL
	p.Generation = 1
	_, err := c.Delete(p, k)
	wantCode(t, err, types.GENERATION_ERROR)
	rec, err := c.Get(nil, k)
	mustOK(t, err)
	if rec.Generation != 4 || rec.Bins["a"] != 4 {
		t.Fatalf("generation %d bins %v, want 4 and a=4", rec.Generation, rec.Bins)
	}
	p.Generation = 4
	existed, err := c.Delete(p, k)
	mustOK(t, err)
	if !existed {
		t.Fatal("delete with matching generation did not delete")
	}
}

func TestClientTTL(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	defaultTTL := uint32(30 * 24 * 3600)

	k := key(t, set, "ttl")
	mustOK(t, c.Put(as.NewWritePolicy(0, as.TTLServerDefault), k, as.BinMap{"a": 1}))
	rec, err := c.GetHeader(nil, k)
	mustOK(t, err)
	if rec.Expiration < defaultTTL-2 || rec.Expiration > defaultTTL {
		t.Errorf("TTL 0: expiration %d, want the namespace default %d", rec.Expiration, defaultTTL)
	}
	mustOK(t, c.Put(as.NewWritePolicy(0, as.TTLDontExpire), k, as.BinMap{"a": 1}))
	rec, err = c.GetHeader(nil, k)
	mustOK(t, err)
	if rec.Expiration != as.TTLDontExpire {
		t.Errorf("TTL -1: expiration %d, want never", rec.Expiration)
	}
	mustOK(t, c.Put(as.NewWritePolicy(0, 500), k, as.BinMap{"a": 1}))
	mustOK(t, c.Put(as.NewWritePolicy(0, as.TTLDontUpdate), k, as.BinMap{"a": 2}))
	rec, err = c.GetHeader(nil, k)
	mustOK(t, err)
	if rec.Expiration < 498 || rec.Expiration > 500 || rec.Generation != 4 {
		t.Errorf("TTL -2: expiration %d generation %d, want 500 kept", rec.Expiration, rec.Generation)
	}
	wantCode(t, c.Put(as.NewWritePolicy(0, 11*365*24*3600), k, as.BinMap{"a": 1}), types.PARAMETER_ERROR)

	// A record with a 1-second TTL is gone for every API once it expires.
	short := key(t, set, "short")
	mustOK(t, c.Put(as.NewWritePolicy(0, 1), short, as.BinMap{"a": 1}))
	time.Sleep(2100 * time.Millisecond)
	if _, err := c.Get(nil, short); !errors.Is(err, as.ErrKeyNotFound) {
		t.Errorf("expired record: get %v", err)
	}
	if ok, err := c.Exists(nil, short); err != nil || ok {
		t.Errorf("expired record: exists %v %v", ok, err)
	}
	wantCode(t, c.Put(updateOnly(), short, as.BinMap{"a": 1}), types.KEY_NOT_FOUND_ERROR)
}

func updateOnly() *as.WritePolicy {
	p := as.NewWritePolicy(0, 0)
	p.RecordExistsAction = as.UPDATE_ONLY
	return p
}

func TestClientErrors(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)

	_, err := c.Get(nil, mustKey(t, "nosuchns", set, 1))
	wantCode(t, err, types.INVALID_NAMESPACE)
	wantCode(t, c.Put(nil, mustKey(t, "nosuchns", set, 1), as.BinMap{"a": 1}), types.INVALID_NAMESPACE)

	big := strings.Repeat("x", 1<<20)
	wantCode(t, c.Put(nil, key(t, set, "big"), as.BinMap{"a": big}), types.RECORD_TOO_BIG)
	_, err = c.Get(nil, key(t, set, "big"))
	if !errors.Is(err, as.ErrKeyNotFound) {
		t.Errorf("a refused record was stored: %v", err)
	}
}

func mustKey(t testing.TB, ns, set string, v any) *as.Key {
	t.Helper()
	k, err := as.NewKey(ns, set, v)
	mustOK(t, err)
	return k
}

func TestClientConcurrentAdds(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	k := key(t, uniqueSet(t), "counter")
	const workers, each = 20, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := c.Operate(nil, k, as.AddOp(as.NewBin("n", 1)), as.AppendOp(as.NewBin("s", "x"))); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rec, err := c.Get(nil, k)
	mustOK(t, err)
	if rec.Bins["n"] != workers*each || len(rec.Bins["s"].(string)) != workers*each || rec.Generation != workers*each%0xFFFF {
		t.Fatalf("n=%v len(s)=%d generation %d, want %d each", rec.Bins["n"], len(rec.Bins["s"].(string)), rec.Generation, workers*each)
	}
}

func TestClientBatch(t *testing.T) {
	n := startNode(t, twoNamespaces(t))
	c := n.connect(t)
	set := uniqueSet(t)
	var keys []*as.Key
	for i := range 50 {
		k := key(t, set, i)
		keys = append(keys, k)
		if i%5 != 0 {
			mustOK(t, c.Put(nil, k, as.BinMap{"i": i, "s": "v"}))
		}
	}
	bp := as.NewBatchPolicy()
	recs, err := c.BatchGet(bp, keys)
	mustOK(t, err)
	for i, r := range recs {
		if i%5 == 0 {
			if r != nil {
				t.Errorf("key %d: got %v for a missing record", i, r.Bins)
			}
			continue
		}
		if r == nil || r.Bins["i"] != i || r.Bins["s"] != "v" {
			t.Errorf("key %d: got %v", i, r)
		}
	}
	recs, err = c.BatchGet(bp, keys, "s")
	mustOK(t, err)
	if recs[1] == nil || len(recs[1].Bins) != 1 || recs[1].Bins["s"] != "v" {
		t.Errorf("selected bins: %v", recs[1])
	}
	recs, err = c.BatchGetHeader(bp, keys)
	mustOK(t, err)
	if recs[1] == nil || len(recs[1].Bins) != 0 || recs[1].Generation != 1 {
		t.Errorf("header: %v", recs[1])
	}
	exists, err := c.BatchExists(bp, keys)
	mustOK(t, err)
	for i, e := range exists {
		if e != (i%5 != 0) {
			t.Errorf("exists %d: %v", i, e)
		}
	}

	// Several namespaces in one batch.
	barKey := mustKey(t, "bar", set, 1)
	mustOK(t, c.Put(nil, barKey, as.BinMap{"bar": "yes"}))
	reads := []*as.BatchRead{
		as.NewBatchRead(nil, keys[1], []string{"i"}),
		as.NewBatchRead(nil, barKey, nil),
		as.NewBatchReadHeader(nil, keys[2]),
		as.NewBatchRead(nil, mustKey(t, "bar", set, 2), nil),
	}
	err = c.BatchGetComplex(bp, reads)
	mustOK(t, err)
	if reads[0].Record == nil || reads[0].Record.Bins["i"] != 1 || reads[2].Record == nil || reads[2].Record.Generation != 1 {
		t.Errorf("complex batch: %v %v", reads[0].Record, reads[2].Record)
	}
	if reads[1].Record == nil || reads[1].Record.Bins["bar"] != "yes" || reads[3].Record != nil || reads[3].ResultCode != types.KEY_NOT_FOUND_ERROR {
		t.Errorf("complex batch, second namespace: %v %v %v", reads[1].Record, reads[3].Record, reads[3].ResultCode)
	}

	// BatchOperate: writes, deletes and reads.
	ops := []as.BatchRecordIfc{
		as.NewBatchWrite(nil, keys[0], as.PutOp(as.NewBin("new", "yes"))),
		as.NewBatchWrite(nil, keys[1], as.AddOp(as.NewBin("i", 100)), as.GetBinOp("i")),
		as.NewBatchDelete(nil, keys[2]),
		as.NewBatchRead(nil, keys[3], nil),
	}
	mustOK(t, c.BatchOperate(bp, ops))
	for i, o := range ops {
		if rc := o.BatchRec().ResultCode; rc != types.OK {
			t.Errorf("batch operate %d: %v", i, rc)
		}
	}
	// Batch writes always respond per operation: the add answers nil.
	if got := ops[1].BatchRec().Record.Bins["i"]; !equalValue(got, as.OpResults{nil, 101}) {
		t.Errorf("batch add+read: %#v", got)
	}
	assertBins(t, c, keys[0], as.BinMap{"new": "yes"})
	if _, err := c.Get(nil, keys[2]); !errors.Is(err, as.ErrKeyNotFound) {
		t.Errorf("batch delete: %v", err)
	}
	// A batch write fails per record, not as a whole.
	cp := as.NewBatchWritePolicy()
	cp.RecordExistsAction = as.CREATE_ONLY
	ops = []as.BatchRecordIfc{
		as.NewBatchWrite(cp, keys[3], as.PutOp(as.NewBin("x", 1))),
		as.NewBatchWrite(cp, keys[5], as.PutOp(as.NewBin("x", 1))),
	}
	mustOK(t, c.BatchOperate(bp, ops))
	if rc := ops[0].BatchRec().ResultCode; rc != types.KEY_EXISTS_ERROR {
		t.Errorf("create-only on existing: %v", rc)
	}
	if rc := ops[1].BatchRec().ResultCode; rc != types.OK {
		t.Errorf("create-only on missing: %v", rc)
	}

	// Large batches are answered in several frames.
	var many []*as.Key
	for i := range 3000 {
		k := key(t, set+"big", i)
		many = append(many, k)
	}
	big := bytes.Repeat([]byte{7}, 1000)
	wp := as.NewWritePolicy(0, 0)
	for _, k := range many {
		mustOK(t, c.Put(wp, k, as.BinMap{"b": big}))
	}
	// 3 MB through the storage plugin: the default 1 s total timeout is
	// for production latencies, not a machine busy with the race detector.
	bigPolicy := as.NewBatchPolicy()
	bigPolicy.TotalTimeout = 30 * time.Second
	recs, err = c.BatchGet(bigPolicy, many)
	mustOK(t, err)
	for i, r := range recs {
		if r == nil || !bytes.Equal(r.Bins["b"].([]byte), big) {
			t.Fatalf("big batch key %d: %v", i, r)
		}
	}
}

func TestClientTruncate(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	other := set + "other"
	for i := range 100 {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{"i": i}))
		mustOK(t, c.Put(nil, key(t, other, i), as.BinMap{"i": i}))
	}
	mustOK(t, c.Truncate(nil, "test", set, nil))
	for i := range 100 {
		if _, err := c.Get(nil, key(t, set, i)); !errors.Is(err, as.ErrKeyNotFound) {
			t.Fatalf("truncated set still has key %d: %v", i, err)
		}
		if _, err := c.Get(nil, key(t, other, i)); err != nil {
			t.Fatalf("other set lost key %d: %v", i, err)
		}
	}
	// Records written after the truncation stay.
	mustOK(t, c.Put(nil, key(t, set, 1), as.BinMap{"i": 1}))
	assertBins(t, c, key(t, set, 1), as.BinMap{"i": 1})

	before := time.Now()
	mustOK(t, c.Truncate(nil, "test", "", &before))
	if _, err := c.Get(nil, key(t, other, 3)); !errors.Is(err, as.ErrKeyNotFound) {
		t.Fatalf("namespace truncate kept a record: %v", err)
	}
	future := time.Now().Add(time.Hour)
	if err := c.Truncate(nil, "test", "", &future); err == nil {
		t.Fatal("truncate with a future time was accepted")
	}
	wantCode(t, c.Truncate(nil, "nosuchns", "", nil), types.INVALID_NAMESPACE)
}

func assertBins(t testing.TB, c *as.Client, k *as.Key, want as.BinMap) {
	t.Helper()
	rec, err := c.Get(nil, k)
	mustOK(t, err)
	if diff := diffBins(rec.Bins, want); diff != "" {
		t.Fatal(diff)
	}
}

// diffBins describes how got differs from want, or returns "".
func diffBins(got, want as.BinMap) string {
	var b strings.Builder
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			b.WriteString("missing bin " + name + "; ")
			continue
		}
		if !equalValue(g, w) {
			b.WriteString("bin " + name + ": got " + sprint(g) + " want " + sprint(w) + "; ")
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			b.WriteString("unexpected bin " + name + "; ")
		}
	}
	return b.String()
}

func TestClientScanReturnsStoredKeys(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	sendKey := as.NewWritePolicy(0, 0)
	sendKey.SendKey = true
	for i := range 200 {
		p := sendKey
		if i%2 == 1 {
			p = nil
		}
		mustOK(t, c.Put(p, key(t, set, i), as.BinMap{"i": i, "other": "x"}))
	}
	mustOK(t, c.Put(nil, key(t, set+"x", 1), as.BinMap{"i": 1}))
	sp := as.NewScanPolicy()
	rs, err := c.ScanAll(sp, "test", set, "i")
	mustOK(t, err)
	seen := map[int]bool{}
	for r := range rs.Results() {
		mustOK(t, r.Err)
		i := r.Record.Bins["i"].(int)
		if seen[i] {
			t.Fatalf("record %d returned twice", i)
		}
		seen[i] = true
		if len(r.Record.Bins) != 1 {
			t.Errorf("record %d: bins %v, want only i", i, r.Record.Bins)
		}
		if i%2 == 0 && (r.Record.Key.Value() == nil || r.Record.Key.Value().String() != strconv.Itoa(i)) {
			t.Errorf("record %d: stored key %v", i, r.Record.Key.Value())
		}
		if i%2 == 1 && r.Record.Key.Value() != nil {
			t.Errorf("record %d: key %v, but it was not sent", i, r.Record.Key.Value())
		}
	}
	if len(seen) != 200 {
		t.Fatalf("scan returned %d records, want 200", len(seen))
	}

	// Without bin data, records still come with their stored keys.
	sp.IncludeBinData = false
	rs, err = c.ScanAll(sp, "test", set)
	mustOK(t, err)
	keys := 0
	for r := range rs.Results() {
		mustOK(t, r.Err)
		if len(r.Record.Bins) != 0 {
			t.Fatalf("bins %v in a scan without bin data", r.Record.Bins)
		}
		if r.Record.Key.Value() != nil {
			keys++
		}
	}
	if keys != 100 {
		t.Fatalf("%d stored keys in a scan without bin data, want 100", keys)
	}
	sp.IncludeBinData = true

	// Resume by partition: a max-records scan continues where it stopped.
	pf := as.NewPartitionFilterAll()
	sp.MaxRecords = 50
	total := 0
	for !pf.IsDone() {
		rs, err := c.ScanPartitions(sp, pf, "test", set)
		mustOK(t, err)
		for r := range rs.Results() {
			mustOK(t, r.Err)
			total++
		}
	}
	if total != 200 {
		t.Fatalf("paginated scan returned %d records, want 200", total)
	}
}

func TestClientInfo(t *testing.T) {
	n := startNode(t, twoNamespaces(t))
	c := n.connect(t)
	set := uniqueSet(t)
	for i := range 5 {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{"alpha": i, "beta": "x"}))
	}
	if got := info(t, c, "namespaces"); got != "test;bar" {
		t.Errorf("namespaces: %q", got)
	}
	for cmd, want := range map[string]string{
		"namespace/test":       "objects=5",
		"sets":                 "ns=test:set=" + set + ":objects=5",
		"bins/test":            "alpha,beta",
		"statistics":           "cluster_size=1",
		"edition":              "Skiff",
		"partition-generation": "1",
		"cluster-name":         "skiff",
		"rack-ids":             "test:0;bar:0",
		"features":             "batch-index",
	} {
		if got := info(t, c, cmd); !strings.Contains(got, want) {
			t.Errorf("%s: %q does not contain %q", cmd, got, want)
		}
	}
}

// TestClientReadTouchTTL drives read-touch-ttl-pct from the official
// client: a read at 100% touches the record (its TTL starts again, its
// generation stays), a read at -1 does not, and a percentage over 100 is
// a parameter error.
func TestClientReadTouchTTL(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	k := key(t, uniqueSet(t), "session")
	mustOK(t, c.Put(as.NewWritePolicy(0, 100), k, as.BinMap{"user": "u1"}))
	time.Sleep(2100 * time.Millisecond) // two seconds of the TTL go by

	noTouch := as.NewPolicy()
	noTouch.ReadTouchTTLPercent = -1
	rec, err := c.GetHeader(noTouch, k)
	mustOK(t, err)
	if rec.Expiration > 98 {
		t.Fatalf("expiration %d two seconds into a TTL of 100", rec.Expiration)
	}
	touch := as.NewPolicy()
	touch.ReadTouchTTLPercent = 100
	if rec, err = c.Get(touch, k); err != nil || rec.Bins["user"] != "u1" {
		t.Fatalf("touching read: %v, %v", rec, err)
	}
	if rec, err = c.GetHeader(noTouch, k); err != nil || rec.Expiration < 99 || rec.Generation != 1 {
		t.Fatalf("after the touch: %+v, %v: want an expiration of 99 or 100 and generation 1", rec, err)
	}
	if stats := info(t, c, "namespace/test"); !strings.Contains(stats, "read_touch_success=1;") {
		t.Errorf("namespace/test: no read_touch_success=1 in %s", stats)
	}
	bad := as.NewPolicy()
	bad.ReadTouchTTLPercent = 101
	_, err = c.Get(bad, k)
	wantCode(t, err, types.PARAMETER_ERROR)
}
