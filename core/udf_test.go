package core_test

import (
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/udftest"
)

// wasmLanguage is the udf-type of Skiff's modules.
const wasmLanguage = as.Language("WASM")

func registerUDF(t testing.TB, c *as.Client, name string, content []byte) {
	t.Helper()
	// Compiling a Go module takes about a second, more under -race.
	p := as.NewWritePolicy(0, 0)
	p.TotalTimeout = time.Minute
	task, err := c.RegisterUDF(p, content, name, wasmLanguage)
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())
}

func execute(t testing.TB, c *as.Client, k *as.Key, module, fn string, args ...as.Value) any {
	t.Helper()
	v, err := c.Execute(nil, k, module, fn, args...)
	mustOK(t, err)
	return v
}

// wantUDFError fails unless err is a UDF failure whose message holds want.
func wantUDFError(t testing.TB, err error, want string) {
	t.Helper()
	wantCode(t, err, types.UDF_BAD_RESPONSE)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

// TestUDF runs UDFs through the official client on one node, which
// registers each module once: compiling a Go module takes seconds under
// the race detector.
func TestUDF(t *testing.T) {
	cfg := config.Default()
	cfg.UDF.MaxMemory = 16 << 20 // for Limits: hog runs out at once
	// For Limits: hog must run out of memory before its call is
	// interrupted, which a test binary built with -race, sharing the CPUs
	// with other packages' tests, has been seen to take over 100 ms for.
	cfg.UDF.MaxCallTime = 500 * time.Millisecond // under the client's 1 s socket timeout
	n := startNode(t, cfg)
	c := n.connect(t)
	registerUDF(t, c, "counter.wasm", udftest.Module(t, "../examples/udf/counter"))
	registerUDF(t, c, "conditional.wasm", udftest.Module(t, "../examples/udf/conditional"))
	registerUDF(t, c, "listtrim.wasm", udftest.Module(t, "../examples/udf/listtrim"))
	registerUDF(t, c, "aggregate.wasm", udftest.Module(t, "../examples/udf/aggregate"))
	registerUDF(t, c, "wat.wasm", udftest.Module(t, "../examples/udf/wat/touch.wat"))
	registerUDF(t, c, "basic.wasm", udftest.Module(t, "internal/udf/testdata/basic.wat"))
	registerUDF(t, c, "hog.wasm", udftest.Module(t, "./testdata/udfhog"))
	registerUDF(t, c, "meta.wasm", udftest.Module(t, "./testdata/udfmeta"))
	registerUDF(t, c, "ratelimit.wasm", udftest.Module(t, "../examples/udf/ratelimit"))

	udfs, err := c.ListUDF(nil)
	mustOK(t, err)
	if len(udfs) != 9 || udfs[0].Filename != "aggregate.wasm" || udfs[0].Language != wasmLanguage || len(udfs[0].Hash) != 40 {
		t.Fatalf("ListUDF = %+v", udfs)
	}
	t.Run("Record", func(t *testing.T) { testUDFRecord(t, c) })
	t.Run("HandWritten", func(t *testing.T) { testUDFHandWritten(t, c) })
	t.Run("Limits", func(t *testing.T) { testUDFLimits(t, c) })
	t.Run("MetadataAndSandbox", func(t *testing.T) { testUDFMetadata(t, c) })
	t.Run("BatchAndBackground", func(t *testing.T) { testUDFBatchAndBackground(t, c) })
	t.Run("WritesKeepIndexes", func(t *testing.T) { testUDFWritesKeepIndexes(t, c) })
	t.Run("Aggregation", func(t *testing.T) { testUDFAggregation(t, c) })
	t.Run("Remove", func(t *testing.T) {
		task, err := c.RemoveUDF(nil, "listtrim.wasm")
		mustOK(t, err)
		mustOK(t, <-task.OnComplete())
		_, err = c.Execute(nil, key(t, uniqueSet(t), 1), "listtrim", "push_trim", as.StringValue("events"), as.IntegerValue(9), as.IntegerValue(3))
		wantUDFError(t, err, "no such UDF module")
	})
}

func testUDFRecord(t *testing.T, c *as.Client) {

	set := uniqueSet(t)
	k := key(t, set, "visits")
	// A UDF creates the record, and counts up to its cap.
	for i, want := range []int{1, 2, 3, 3} {
		if got := execute(t, c, k, "counter", "incr", as.StringValue("hits"), as.IntegerValue(1), as.IntegerValue(3)); got != want {
			t.Fatalf("call %d: incr = %v, want %d", i, got, want)
		}
	}
	rec, err := c.Get(nil, k)
	mustOK(t, err)
	if rec.Bins["hits"] != 3 || rec.Generation != 3 {
		t.Fatalf("record after incr = %v gen %d, want hits 3 at generation 3 (a call at the cap writes nothing)", rec.Bins, rec.Generation)
	}

	// A failure comes back with its message, and writes nothing.
	mustOK(t, c.Put(nil, k, as.BinMap{"hits": "many"}))
	_, err = c.Execute(nil, k, "counter", "incr", as.StringValue("hits"), as.IntegerValue(1), as.IntegerValue(3))
	wantUDFError(t, err, "not an integer")
	assertBins(t, c, k, as.BinMap{"hits": "many"})

	// Compare-and-set.
	if got := execute(t, c, k, "conditional", "set_if", as.StringValue("hits"), as.StringValue("many"), as.IntegerValue(0)); got != true {
		t.Fatalf("set_if = %v, want true", got)
	}
	if got := execute(t, c, k, "conditional", "set_if", as.StringValue("hits"), as.StringValue("many"), as.IntegerValue(9)); got != false {
		t.Fatalf("second set_if = %v, want false", got)
	}
	assertBins(t, c, k, as.BinMap{"hits": 0})

	// Lists cross the boundary both ways.
	lk := key(t, set, "recent")
	for i := range 5 {
		execute(t, c, lk, "listtrim", "push_trim", as.StringValue("events"), as.IntegerValue(i), as.IntegerValue(3))
	}
	assertBins(t, c, lk, as.BinMap{"events": []any{2, 3, 4}})

	// Unknown modules and functions.
	_, err = c.Execute(nil, k, "nosuch", "f")
	wantUDFError(t, err, "no such UDF module")
	_, err = c.Execute(nil, k, "counter", "nosuch")
	wantUDFError(t, err, "counter.nosuch: no such function")

	// Lua is refused with a reason.
	_, err = c.RegisterUDF(nil, []byte("function f(r) return 1 end"), "f.lua", as.LUA)
	if err == nil || !strings.Contains(err.Error(), "WebAssembly") {
		t.Fatalf("registering Lua: %v", err)
	}

	// udf-get returns what was registered; RemoveUDF removes it.
	if got := info(t, c, "udf-get:filename=counter.wasm"); !strings.HasPrefix(got, "gen=") || !strings.Contains(got, ";type=WASM;content=") {
		t.Fatalf("udf-get = %.80q", got)
	}
	if st := info(t, c, "namespace/test"); !strings.Contains(st, "client_udf_complete=") || strings.Contains(st, "client_udf_complete=0;") {
		t.Fatalf("namespace stats do not count UDF calls: %s", st)
	}
}

// TestUDFHandWritten runs a module written in WebAssembly text, without
// sdk/udf: the ABI is language-neutral.
func testUDFHandWritten(t *testing.T, c *as.Client) {
	k := key(t, uniqueSet(t), 1)
	for want := 1; want <= 3; want++ {
		if got := execute(t, c, k, "wat", "touch_count"); got != want {
			t.Fatalf("touch_count = %v, want %d", got, want)
		}
	}
	assertBins(t, c, k, as.BinMap{"n": 3})
	if got := execute(t, c, k, "wat", "echo", as.StringValue("hi")); got != "hi" {
		t.Fatalf("echo = %v", got)
	}
}

// TestUDFLimits: a UDF that loops or traps fails with a clear message and
// the node goes on serving.
func testUDFLimits(t *testing.T, c *as.Client) {
	k := key(t, uniqueSet(t), 1)
	start := time.Now()
	_, err := c.Execute(nil, k, "basic", "loop")
	wantUDFError(t, err, "basic.loop: interrupted after 500ms (mod-udf max-call-ms)")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the loop ran %v", d)
	}
	_, err = c.Execute(nil, k, "basic", "trap")
	wantUDFError(t, err, "basic.trap:")
	// A Go module that runs out of max-memory dies; the next call gets a
	// fresh instance.
	_, err = c.Execute(nil, k, "hog", "hog", as.IntegerValue(200))
	wantUDFError(t, err, "out of memory")
	if got := execute(t, c, k, "hog", "hog", as.IntegerValue(4)); got != 4 {
		t.Fatalf("hog(4) after running out = %v", got)
	}
	// A write the failed call made is not kept.
	if got := execute(t, c, k, "basic", "set"); got != 7 {
		t.Fatalf("set = %v, want 7", got)
	}
	assertBins(t, c, k, as.BinMap{"n": 7})
	_, err = c.Execute(nil, k, "basic", "fail")
	wantUDFError(t, err, "basic.fail: boom")
	if got := execute(t, c, k, "basic", "delete"); got != nil {
		t.Fatalf("delete = %v", got)
	}
	if _, err := c.Get(nil, k); err == nil {
		t.Fatal("the record a UDF deleted is still there")
	}
}

// testUDFMetadata: a UDF sees the record's metadata, sets its TTL, and
// has no files, network or environment.
func testUDFMetadata(t *testing.T, c *as.Client) {
	set := uniqueSet(t)
	wp := as.NewWritePolicy(0, 3600)
	wp.SendKey = true
	k := key(t, set, "user-7")
	mustOK(t, c.Put(wp, k, as.BinMap{"a": 1, "b": "x"}))
	mustOK(t, c.Put(wp, k, as.BinMap{"a": 2}))
	got, ok := execute(t, c, k, "meta", "meta").(map[any]any)
	if !ok {
		t.Fatalf("meta returned %#v", got)
	}
	lut, _ := got["lut"].(int)
	ttl, _ := got["ttl"].(int)
	if got["exists"] != true || got["gen"] != 2 || ttl < 3590 || ttl > 3600 || got["key"] != "user-7" || got["set"] != set ||
		!equalValue(got["digest"], k.Digest()) || (got["bins"] != "[a b]" && got["bins"] != "[b a]") || time.Since(time.Unix(0, int64(lut))) > time.Minute {
		t.Fatalf("meta = %v", got)
	}
	// A record that does not exist; the client sends no key by default.
	got = execute(t, c, key(t, set, "nobody"), "meta", "meta").(map[any]any)
	if got["exists"] != false || got["gen"] != 0 || got["key"] != nil || got["ttl"] != 0 {
		t.Fatalf("meta of a new record = %v", got)
	}
	if _, err := c.Get(nil, key(t, set, "nobody")); err == nil {
		t.Fatal("a UDF that changed nothing created the record")
	}

	// SetTTL, and a rate limiter built on it: two calls in its window.
	execute(t, c, k, "meta", "expire", as.IntegerValue(60))
	if rec, err := c.GetHeader(nil, k); err != nil || rec.Expiration > 60 || rec.Expiration < 50 {
		t.Fatalf("after expire(60): %v, %v", rec, err)
	}
	rk := key(t, set, "limiter")
	for i, want := range []bool{true, true, false} {
		if got := execute(t, c, rk, "ratelimit", "allow", as.IntegerValue(2), as.IntegerValue(60)); got != want {
			t.Fatalf("allow call %d = %v, want %v", i, got, want)
		}
	}
	if rec, err := c.GetHeader(nil, rk); err != nil || rec.Expiration == 0 || rec.Expiration > 120 {
		t.Fatalf("the limiter's record: %v, %v (want a TTL of two windows)", rec, err)
	}

	if got := execute(t, c, k, "meta", "escape"); !equalValue(got, []any{"file", "network", "environment"}) {
		t.Fatalf("escape = %v: the sandbox let something through", got)
	}
	// An HLL bin crosses into a UDF and back: copied, it counts the same.
	hk := key(t, set, "visitors")
	_, err := c.Operate(nil, hk, as.HLLAddOp(as.DefaultHLLPolicy(), "h", []as.Value{as.StringValue("a"), as.StringValue("b"), as.StringValue("c")}, 8, 0))
	mustOK(t, err)
	copied := execute(t, c, hk, "meta", "copy", as.StringValue("h"), as.StringValue("h2"))
	rec, err := c.Operate(nil, hk, as.HLLGetCountOp("h2"), as.GetBinOp("h"))
	mustOK(t, err)
	if n := rec.Bins["h2"]; n != 3 || !equalValue(copied, rec.Bins["h"]) {
		t.Fatalf("the HLL copied by a UDF counts %v (want 3); returned %v, the bin holds %v", n, copied, rec.Bins["h"])
	}
	// Bytes that are no sketch are refused, and nothing is written.
	_, err = c.Execute(nil, hk, "meta", "sethll", as.StringValue("h3"), as.BytesValue([]byte{1, 2, 3}))
	if err == nil {
		t.Fatal("a UDF stored an HLL bin that is no sketch")
	}
	if rec, err := c.Get(nil, hk); err != nil || rec.Bins["h3"] != nil || rec.Generation != 2 {
		t.Fatalf("after the refused sethll: %v, %v", rec, err)
	}
}

// TestUDFPersistence: modules outlive a restart of the node.
func TestUDFPersistence(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.UDF.UserPath = dir
	n := startNode(t, cfg)
	c := n.connect(t)
	registerUDF(t, c, "counter.wasm", udftest.Module(t, "../examples/udf/counter"))
	c.Close()
	n.Stop()

	cfg = config.Default()
	cfg.UDF.UserPath = dir
	n = startNode(t, cfg)
	c = n.connect(t)
	if got := execute(t, c, key(t, uniqueSet(t), 1), "counter", "incr", as.StringValue("c"), as.IntegerValue(5), as.IntegerValue(10)); got != 5 {
		t.Fatalf("incr after restart = %v", got)
	}
}

func testUDFBatchAndBackground(t *testing.T, c *as.Client) {
	set := uniqueSet(t)
	var keys []*as.Key
	for i := range 20 {
		k := key(t, set, i)
		keys = append(keys, k)
		mustOK(t, c.Put(nil, k, as.BinMap{"i": i}))
	}
	// BatchExecute: one call per key.
	res, err := c.BatchExecute(nil, nil, keys, "counter", "incr", as.StringValue("c"), as.IntegerValue(2), as.IntegerValue(100))
	mustOK(t, err)
	for i, r := range res {
		if r.Err != nil || r.Record == nil || r.Record.Bins["SUCCESS"] != 2 {
			t.Fatalf("batch result %d: %+v (err %v)", i, r.Record, r.Err)
		}
	}
	// BatchExecute stops at a failing entry, as it does with Aerospike;
	// BatchOperate gives each entry its own outcome and message.
	mustOK(t, c.Put(nil, keys[0], as.BinMap{"c": "x"}))
	_, err = c.BatchExecute(nil, nil, keys[:2], "counter", "incr", as.StringValue("c"), as.IntegerValue(2), as.IntegerValue(100))
	wantCode(t, err, types.UDF_BAD_RESPONSE)
	ops := []as.BatchRecordIfc{
		as.NewBatchUDF(nil, keys[0], "counter", "incr", as.StringValue("c"), as.IntegerValue(2), as.IntegerValue(100)),
		as.NewBatchUDF(nil, keys[1], "counter", "incr", as.StringValue("d"), as.IntegerValue(4), as.IntegerValue(100)),
	}
	mustOK(t, c.BatchOperate(nil, ops))
	if e := ops[0].BatchRec().Err; e == nil || !strings.Contains(e.Error(), "not an integer") {
		t.Fatalf("failing batch UDF entry: %v", e)
	}
	if r := ops[1].BatchRec(); r.Err != nil || r.Record.Bins["SUCCESS"] != 4 {
		t.Fatalf("second batch UDF entry: %+v, %v", r.Record, r.Err)
	}

	// ExecuteUDF: in the background over the set.
	stmt := as.NewStatement("test", set)
	task, err := c.ExecuteUDF(nil, stmt, "counter", "incr", as.StringValue("bg"), as.IntegerValue(1), as.IntegerValue(100))
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())
	for _, k := range keys {
		rec, err := c.Get(nil, k)
		mustOK(t, err)
		if rec.Bins["bg"] != 1 {
			t.Fatalf("%v after the background UDF: %v", k.Value(), rec.Bins)
		}
	}

	// And over a query: only the records the index finds.
	createIndex(t, c, set, set+"_i", "i", as.NUMERIC, as.ICT_DEFAULT)
	stmt = as.NewStatement("test", set)
	stmt.SetFilter(as.NewRangeFilter("i", 5, 9))
	task, err = c.ExecuteUDF(nil, stmt, "counter", "incr", as.StringValue("q"), as.IntegerValue(1), as.IntegerValue(100))
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())
	for i, k := range keys {
		rec, err := c.Get(nil, k)
		mustOK(t, err)
		want := any(nil)
		if i >= 5 && i <= 9 {
			want = 1
		}
		if rec.Bins["q"] != want {
			t.Fatalf("record %d after the background UDF over a query: %v", i, rec.Bins)
		}
	}
}

// TestUDFWritesKeepIndexes: a UDF's write goes through the write path, so
// secondary indexes follow it.
func testUDFWritesKeepIndexes(t *testing.T, c *as.Client) {
	set := uniqueSet(t)
	createIndex(t, c, set, set+"_c", "c", as.NUMERIC, as.ICT_DEFAULT)
	for i := range 5 {
		execute(t, c, key(t, set, i), "counter", "incr", as.StringValue("c"), as.IntegerValue(int64(i)+1), as.IntegerValue(100))
	}
	stmt := as.NewStatement("test", set, "c")
	stmt.SetFilter(as.NewRangeFilter("c", 2, 3))
	rs, err := c.Query(nil, stmt)
	mustOK(t, err)
	var got []any
	for r := range rs.Results() {
		mustOK(t, r.Err)
		got = append(got, r.Record.Bins["c"])
	}
	if len(got) != 2 {
		t.Fatalf("query after UDF writes found %v, want the records with c 2 and 3", got)
	}
}

func testUDFAggregation(t *testing.T, c *as.Client) {
	set := uniqueSet(t)
	for i := range 100 {
		status := "done"
		if i%4 == 0 {
			status = "pending"
		}
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{"amount": i, "status": status}))
	}
	aggregate := func(fn string, args ...as.Value) []any {
		stmt := as.NewStatement("test", set)
		stmt.SetAggregateFunction("aggregate", fn, args, true)
		rs, err := c.Query(nil, stmt)
		mustOK(t, err)
		var out []any
		for r := range rs.Results() {
			mustOK(t, r.Err)
			if f, ok := r.Record.Bins["FAILURE"]; ok {
				t.Fatalf("aggregation failed: %v", f)
			}
			out = append(out, r.Record.Bins["SUCCESS"])
		}
		return out
	}
	if got := aggregate("sum", as.StringValue("amount")); len(got) != 1 || got[0] != 4950 {
		t.Fatalf("sum = %v, want [4950]", got)
	}
	got := aggregate("count_by", as.StringValue("status"))
	if len(got) != 1 || !equalValue(got[0], map[any]any{"done": 75, "pending": 25}) {
		t.Fatalf("count_by = %#v", got)
	}
}
