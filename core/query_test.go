package core_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core/config"
)

// queryInts runs a query and returns the sorted values of bin "i" of the
// records it returns.
func queryInts(t *testing.T, c *as.Client, stmt *as.Statement) []int {
	t.Helper()
	rs, err := c.Query(nil, stmt)
	mustOK(t, err)
	var out []int
	for r := range rs.Results() {
		mustOK(t, r.Err)
		out = append(out, r.Record.Bins["i"].(int))
	}
	sort.Ints(out)
	return out
}

func createIndex(t *testing.T, c *as.Client, set, name, bin string, typ as.IndexType, coll as.IndexCollectionType) {
	t.Helper()
	task, err := c.CreateComplexIndex(nil, "test", set, name, bin, typ, coll)
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())
}

// waitIndexRebuilt waits up to 30 s for namespace test's index name,
// which a restarted node rebuilds from the stored records, to be whole.
func waitIndexRebuilt(t *testing.T, c *as.Client, name string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(info(t, c, "sindex/test/"+name), "load_pct=100"); {
		if time.Now().After(deadline) {
			t.Fatal("the index was not rebuilt within 30 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClientSecondaryIndexQueries(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	for i := range 100 {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{
			"i": i, "s": fmt.Sprintf("v%d", i%10), "l": []any{i, i + 1000}, "m": map[any]any{fmt.Sprintf("k%d", i%3): i},
		}))
	}
	// Built over existing records in the background, then maintained.
	createIndex(t, c, set, set+"_i", "i", as.NUMERIC, as.ICT_DEFAULT)
	createIndex(t, c, set, set+"_s", "s", as.STRING, as.ICT_DEFAULT)
	createIndex(t, c, set, set+"_l", "l", as.NUMERIC, as.ICT_LIST)
	createIndex(t, c, set, set+"_m", "m", as.STRING, as.ICT_MAPKEYS)

	stmt := as.NewStatement("test", set)
	stmt.SetFilter(as.NewRangeFilter("i", 10, 14))
	if got := queryInts(t, c, stmt); fmt.Sprint(got) != "[10 11 12 13 14]" {
		t.Fatalf("range: %v", got)
	}
	stmt.SetFilter(as.NewEqualFilter("s", "v7"))
	if got := queryInts(t, c, stmt); len(got) != 10 || got[0] != 7 {
		t.Fatalf("string equality: %v", got)
	}
	stmt.SetFilter(as.NewContainsRangeFilter("l", as.ICT_LIST, 1050, 1052))
	if got := queryInts(t, c, stmt); fmt.Sprint(got) != "[50 51 52]" {
		t.Fatalf("list contains range: %v", got)
	}
	stmt.SetFilter(as.NewContainsFilter("m", as.ICT_MAPKEYS, "k1"))
	if got := queryInts(t, c, stmt); len(got) != 33 {
		t.Fatalf("map keys contain: %d records", len(got))
	}

	// Updates, deletes and new records are reflected.
	mustOK(t, c.Put(nil, key(t, set, 12), as.BinMap{"i": 500}))
	_, err := c.Delete(nil, key(t, set, 13))
	mustOK(t, err)
	mustOK(t, c.Put(nil, key(t, set, 1000), as.BinMap{"i": 11}))
	stmt.SetFilter(as.NewRangeFilter("i", 10, 14))
	if got := queryInts(t, c, stmt); fmt.Sprint(got) != "[10 11 11 14]" {
		t.Fatalf("range after writes: %v", got)
	}

	// A query with a filter expression, and with max records.
	qp := as.NewQueryPolicy()
	qp.FilterExpression = as.ExpEq(as.ExpNumMod(as.ExpIntBin("i"), as.ExpIntVal(2)), as.ExpIntVal(0))
	stmt.SetFilter(as.NewRangeFilter("i", 0, 99))
	rs, err := c.Query(qp, stmt)
	mustOK(t, err)
	count := 0
	for r := range rs.Results() {
		mustOK(t, r.Err)
		if r.Record.Bins["i"].(int)%2 != 0 {
			t.Fatalf("filter expression ignored: %v", r.Record.Bins)
		}
		count++
	}
	if count != 49 {
		t.Fatalf("even records: %d", count)
	}

	// Paginated by partition filter with max records.
	pf := as.NewPartitionFilterAll()
	qp = as.NewQueryPolicy()
	qp.MaxRecords = 30
	total := 0
	for !pf.IsDone() {
		rs, err := c.QueryPartitions(qp, stmt, pf)
		mustOK(t, err)
		for r := range rs.Results() {
			mustOK(t, r.Err)
			total++
		}
	}
	if total != 99 {
		t.Fatalf("paginated query: %d records, want 99", total)
	}

	// No index on the bin: the node says so.
	stmt.SetFilter(as.NewRangeFilter("nosuchbin", 0, 1))
	rs, err = c.Query(nil, stmt)
	if err == nil {
		for r := range rs.Results() {
			err = r.Err
		}
	}
	wantCode(t, err, types.INDEX_NOTFOUND)

	mustOK(t, c.DropIndex(nil, "test", set, set+"_i"))
	if got := info(t, c, "sindex-exists:ns=test;indexname="+set+"_i"); got != "false" {
		t.Fatalf("sindex-exists after drop: %q", got)
	}
	if got := info(t, c, "sindex-list:ns=test"); !contains(got, "indexname="+set+"_s") || contains(got, "indexname="+set+"_i:") {
		t.Fatalf("sindex-list: %q", got)
	}
}

func contains(s, sub string) bool { return len(sub) > 0 && indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestClientGeoQueries(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	for i := range 20 {
		lng, lat := -122.0+float64(i)*0.001, 37.5+float64(i)*0.001
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{
			"i":   i,
			"loc": as.NewGeoJSONValue(fmt.Sprintf(`{"type":"Point","coordinates":[%f,%f]}`, lng, lat)),
		}))
	}
	createIndex(t, c, set, set+"_loc", "loc", as.GEO2DSPHERE, as.ICT_DEFAULT)
	stmt := as.NewStatement("test", set)
	// A box around the first five points.
	stmt.SetFilter(as.NewGeoWithinRegionFilter("loc", `{"type":"Polygon","coordinates":[[[-122.0005,37.4995],[-121.9955,37.4995],[-121.9955,37.5045],[-122.0005,37.5045],[-122.0005,37.4995]]]}`))
	if got := queryInts(t, c, stmt); fmt.Sprint(got) != "[0 1 2 3 4]" {
		t.Fatalf("points within a polygon: %v", got)
	}
	stmt.SetFilter(as.NewGeoWithinRadiusFilter("loc", -122.0, 37.5, 200))
	if got := queryInts(t, c, stmt); len(got) < 1 || got[0] != 0 || len(got) > 3 {
		t.Fatalf("points within 200 m: %v", got)
	}
}

func TestClientBackgroundOperations(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	for i := range 50 {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{"i": i}))
	}
	mustOK(t, c.Put(nil, key(t, set+"other", 1), as.BinMap{"i": 1}))

	// Over a scan of the set.
	stmt := as.NewStatement("test", set)
	task, err := c.QueryExecute(nil, nil, stmt, as.AddOp(as.NewBin("i", 1000)), as.PutOp(as.NewBin("touched", true)))
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())
	for i := range 50 {
		assertBins(t, c, key(t, set, i), as.BinMap{"i": i + 1000, "touched": true})
	}
	assertBins(t, c, key(t, set+"other", 1), as.BinMap{"i": 1})

	// Over a query, with a filter expression.
	createIndex(t, c, set, set+"_i", "i", as.NUMERIC, as.ICT_DEFAULT)
	stmt.SetFilter(as.NewRangeFilter("i", 1000, 1009))
	wp := as.NewWritePolicy(0, 0)
	wp.FilterExpression = as.ExpLess(as.ExpIntBin("i"), as.ExpIntVal(1005))
	task, err = c.QueryExecute(nil, wp, stmt, as.PutOp(as.NewBin("q", "yes")))
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())
	for i := range 10 {
		rec, err := c.Get(nil, key(t, set, i))
		mustOK(t, err)
		if (rec.Bins["q"] == "yes") != (i < 5) {
			t.Fatalf("record %d: %v", i, rec.Bins)
		}
	}
	if got := info(t, c, fmt.Sprintf("query-show:trid=%d", task.TaskId())); !contains(got, "status=done(ok)") || !contains(got, "recs-succeeded=5") {
		t.Fatalf("query-show: %q", got)
	}
}

// TestRecordsPerSecond checks the pace of scans and background jobs: a
// scan's records-per-second, and a background job's, bounded by the
// namespace's background-query-max-rps. Only lower bounds are checked: a
// throttled run takes at least its records over its rate.
func TestRecordsPerSecond(t *testing.T) {
	cfg := config.Default()
	cfg.Namespaces[0].BackgroundQueryMaxRPS = 200
	c := startNode(t, cfg).connect(t)
	set := uniqueSet(t)
	const records = 100
	for i := range records {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{"i": i}))
	}
	atLeast := func(what string, start time.Time, rps int) {
		t.Helper()
		if took, want := time.Since(start), records*time.Second/time.Duration(rps); took < want {
			t.Errorf("%s took %v, want at least %v", what, took, want)
		}
	}

	qp := as.NewQueryPolicy()
	qp.RecordsPerSecond = 250
	start := time.Now()
	rs, err := c.Query(qp, as.NewStatement("test", set))
	mustOK(t, err)
	n := 0
	for r := range rs.Results() {
		mustOK(t, r.Err)
		n++
	}
	if n != records {
		t.Fatalf("scan: %d records, want %d", n, records)
	}
	atLeast("a scan at 250 records a second", start, 250)

	job := func(rps int) time.Time {
		t.Helper()
		qp := as.NewQueryPolicy()
		qp.RecordsPerSecond = rps
		start := time.Now()
		task, err := c.QueryExecute(qp, nil, as.NewStatement("test", set), as.AddOp(as.NewBin("n", 1)))
		mustOK(t, err)
		cmd := fmt.Sprintf("query-show:trid=%d", task.TaskId())
		for !contains(info(t, c, cmd), "status=done") {
			time.Sleep(5 * time.Millisecond)
		}
		if got := info(t, c, cmd); !contains(got, fmt.Sprintf("recs-succeeded=%d:", records)) {
			t.Fatalf("job: %s", got)
		}
		return start
	}
	atLeast("a background job with no rate", job(0), 200)
	atLeast("a background job asking for more", job(100000), 200)
	atLeast("a background job at 100 records a second", job(100), 100)
	assertBins(t, c, key(t, set, 7), as.BinMap{"i": 7, "n": 3})
	if got := info(t, c, "namespace/test"); !contains(got, "background-query-max-rps=200") {
		t.Errorf("namespace/test: %s", got)
	}
}

// TestMetadataNotSaved breaks the node's work-directory while it runs: an
// index created, an index dropped or a truncate that the node cannot keep
// across a restart fails with SERVER_ERROR and changes nothing.
func TestMetadataNotSaved(t *testing.T) {
	cfg := config.Default()
	work := t.TempDir()
	cfg.Service.WorkDirectory = work
	c := startNode(t, cfg).connect(t)
	set := uniqueSet(t)
	for i := range 10 {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{"i": i}))
	}
	createIndex(t, c, set, set+"_i", "i", as.NUMERIC, as.ICT_DEFAULT)
	// A file where the metadata's directory is.
	mustOK(t, os.RemoveAll(filepath.Join(work, "smd")))
	mustOK(t, os.WriteFile(filepath.Join(work, "smd"), nil, 0o644))

	_, err := c.CreateIndex(nil, "test", set, set+"_j", "j", as.NUMERIC)
	wantCode(t, err, types.SERVER_ERROR)
	wantCode(t, c.DropIndex(nil, "test", set, set+"_i"), types.SERVER_ERROR)
	if got := info(t, c, "sindex-list:ns=test"); !contains(got, "indexname="+set+"_i") || contains(got, set+"_j") {
		t.Fatalf("indexes: %s", got)
	}
	wantCode(t, c.Truncate(nil, "test", set, nil), types.SERVER_ERROR)
	for i := range 10 {
		assertBins(t, c, key(t, set, i), as.BinMap{"i": i})
	}
}

// TestClientExpressionIndexes indexes values computed by expressions
// (CreateIndexWithExpression) and queries them by expression and by index
// name, through writes, updates and deletes after the build.
func TestClientExpressionIndexes(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	for i := range 60 {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{"i": i, "age": i, "tags": []any{fmt.Sprintf("t%d", i%4), i % 7}}))
	}
	// 1 for adults (age >= 18) of even i, unknown (not indexed) otherwise.
	adult := as.ExpCond(
		as.ExpAnd(
			as.ExpGreaterEq(as.ExpIntBin("age"), as.ExpIntVal(18)),
			as.ExpEq(as.ExpNumMod(as.ExpIntBin("i"), as.ExpIntVal(2)), as.ExpIntVal(0)),
		),
		as.ExpIntVal(1),
		as.ExpUnknown(),
	)
	task, err := c.CreateIndexWithExpression(nil, "test", set, "adult_even", as.NUMERIC, as.ICT_DEFAULT, adult)
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())
	task, err = c.CreateIndexWithExpression(nil, "test", set, "tags_exp", as.STRING, as.ICT_LIST, as.ExpListBin("tags"))
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())

	var want []int
	for i := 18; i < 60; i += 2 {
		want = append(want, i)
	}
	byExp := as.NewStatement("test", set)
	mustOK(t, byExp.SetFilter(as.NewEqualWithExpressionFilter(adult, 1)))
	if got := queryInts(t, c, byExp); !equalValue(got, want) {
		t.Fatalf("by expression: %v, want %v", got, want)
	}
	byName := as.NewStatement("test", set)
	mustOK(t, byName.SetFilter(as.NewRangeWithIndexNameFilter("adult_even", 1, 1)))
	if got := queryInts(t, c, byName); !equalValue(got, want) {
		t.Fatalf("by index name: %v, want %v", got, want)
	}

	// Writes after the build move records in and out of the index.
	mustOK(t, c.Put(nil, key(t, set, 20), as.BinMap{"age": 5}))
	_, err = c.Delete(nil, key(t, set, 22))
	mustOK(t, err)
	mustOK(t, c.Put(nil, key(t, set, 3), as.BinMap{"i": 4, "age": 40}))
	want = append([]int{4, 18}, want[3:]...)
	if got := queryInts(t, c, byExp); !equalValue(got, want) {
		t.Fatalf("after writes: %v, want %v", got, want)
	}

	tags := as.NewStatement("test", set)
	mustOK(t, tags.SetFilter(as.NewContainsWithExpressionFilter(as.ExpListBin("tags"), as.ICT_LIST, "t1")))
	if got := queryInts(t, c, tags); len(got) != 15 {
		t.Fatalf("list expression index: %d records %v, want 15", len(got), got)
	}

	if s := info(t, c, "sindex-list:ns=test"); !contains(s, "indexname=adult_even") || !contains(s, "exp=") {
		t.Errorf("sindex-list: %s", s)
	}
	// Each index's figures are in /metrics too.
	_, body := get(t, "http://"+n.Admin.String()+"/metrics")
	for _, want := range []string{
		`aerospike_sindex_entries{ns="test",sindex="adult_even"} 20`,
		`aerospike_sindex_load_pct{ns="test",sindex="adult_even"} 100`,
		`aerospike_sindex_used_bytes{ns="test",sindex="tags_exp"}`,
	} {
		if !contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// An expression that does not compile is refused with a parameter
	// error; a query on an expression without an index finds none.
	_, err = c.CreateIndexWithExpression(nil, "test", set, "bad", as.NUMERIC, as.ICT_DEFAULT, as.ExpNumAdd(as.ExpIntVal(1), as.ExpStringVal("x")))
	wantCode(t, err, types.PARAMETER_ERROR)
	none := as.NewStatement("test", set)
	mustOK(t, none.SetFilter(as.NewEqualWithExpressionFilter(as.ExpIntBin("i"), 3)))
	rs, err := c.Query(nil, none)
	mustOK(t, err)
	for r := range rs.Results() {
		wantCode(t, r.Err, types.INDEX_NOTFOUND)
		break
	}
}

// TestClientContextIndexes indexes an element nested in a list bin (its
// largest item, CtxListRank(-1)) and one in a map bin, and queries them
// with the same contexts, through writes after the build.
func TestClientContextIndexes(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	for i := range 40 {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{
			"i":     i,
			"l":     []any{i + 3, i, i + 1},
			"prefs": map[any]any{"lang": fmt.Sprintf("l%d", i%4), "n": i},
		}))
	}
	last := as.CtxListRank(-1)
	task, err := c.CreateComplexIndex(nil, "test", set, "last", "l", as.NUMERIC, as.ICT_DEFAULT, last)
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())
	lang := as.CtxMapKey(as.StringValue("lang"))
	task, err = c.CreateComplexIndex(nil, "test", set, "lang", "prefs", as.STRING, as.ICT_DEFAULT, lang)
	mustOK(t, err)
	mustOK(t, <-task.OnComplete())

	byLast := as.NewStatement("test", set)
	mustOK(t, byLast.SetFilter(as.NewRangeFilter("l", 10, 14, last)))
	if got, want := queryInts(t, c, byLast), []int{7, 8, 9, 10, 11}; !equalValue(got, want) {
		t.Fatalf("by the list's largest item: %v, want %v", got, want)
	}
	byLang := as.NewStatement("test", set)
	mustOK(t, byLang.SetFilter(as.NewEqualFilter("prefs", "l1", lang)))
	if got := queryInts(t, c, byLang); len(got) != 10 {
		t.Fatalf("by the map's lang: %v, want 10 records", got)
	}

	// A write moves a record in the index; one without the element
	// leaves it.
	mustOK(t, c.Put(nil, key(t, set, 30), as.BinMap{"l": []any{12}}))
	mustOK(t, c.Put(nil, key(t, set, 8), as.BinMap{"l": []any{}}))
	if got, want := queryInts(t, c, byLast), []int{7, 9, 10, 11, 30}; !equalValue(got, want) {
		t.Fatalf("after writes: %v, want %v", got, want)
	}
	// Without the context the bin has no index.
	plain := as.NewStatement("test", set)
	mustOK(t, plain.SetFilter(as.NewRangeFilter("l", 10, 14)))
	rs, err := c.Query(nil, plain)
	mustOK(t, err)
	for r := range rs.Results() {
		wantCode(t, r.Err, types.INDEX_NOTFOUND)
		break
	}
	if s := info(t, c, "sindex-list:ns=test"); !contains(s, "indexname=last") || !contains(s, "context=khH/") {
		t.Errorf("sindex-list: %s", s)
	}
	_, err = c.CreateComplexIndex(nil, "test", set, "bad", "l", as.NUMERIC, as.ICT_DEFAULT, &as.CDTContext{Id: 0x99, Value: as.IntegerValue(0)})
	wantCode(t, err, types.PARAMETER_ERROR)
}
