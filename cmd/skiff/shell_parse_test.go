package main

import (
	"reflect"
	"strings"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"
)

func TestShellParse(t *testing.T) {
	for _, c := range []struct {
		name string
		src  string
		want any
	}{
		{"insert", `INSERT INTO test.demo (PK, name, age) VALUES (1, 'Alice', 30)`,
			&insertStmt{NS: "test", Set: "demo", Key: int64(1), Bins: []string{"name", "age"}, Values: []any{"Alice", int64(30)}}},
		{"insert lower case, string key, PK not first", `insert into test.demo (a, pk) values ("x", "k1");`,
			&insertStmt{NS: "test", Set: "demo", Key: "k1", Bins: []string{"a"}, Values: []any{"x"}}},
		{"insert without set", `INSERT INTO test (PK, f) VALUES (-7, -1.5e3)`,
			&insertStmt{NS: "test", Key: int64(-7), Bins: []string{"f"}, Values: []any{-1500.0}}},
		{"insert typed values", `INSERT INTO test.s (PK, l, m, j, g, b, t, n) VALUES (BLOB('00ff'), LIST('[1, "a", 2.5]'), MAP('{"k": {"n": [1]}}'), JSON('[]'), GEOJSON('{"type": "Point", "coordinates": [1, 2]}'), blob('0A'), TRUE, NULL)`,
			&insertStmt{NS: "test", Set: "s", Key: []byte{0, 0xff}, Bins: []string{"l", "m", "j", "g", "b", "t", "n"}, Values: []any{
				[]any{int64(1), "a", 2.5}, map[string]any{"k": map[string]any{"n": []any{int64(1)}}}, []any{},
				as.GeoJSONValue(`{"type": "Point", "coordinates": [1, 2]}`), []byte{0x0a}, true, nil}}},
		{"insert escaped quotes", `INSERT INTO test.s (PK, a, b) VALUES ('it\'s', "say \"hi\"", JSON('{"q": "a\"b"}'))`,
			&insertStmt{NS: "test", Set: "s", Key: "it's", Bins: []string{"a", "b"}, Values: []any{`say "hi"`, map[string]any{"q": `a"b`}}}},
		{"names with dashes and digits", `INSERT INTO test.2024 (PK, bin-1) VALUES (1, 2)`,
			&insertStmt{NS: "test", Set: "2024", Key: int64(1), Bins: []string{"bin-1"}, Values: []any{int64(2)}}},
		{"select star", `SELECT * FROM test.demo`, &selectStmt{NS: "test", Set: "demo"}},
		{"select namespace", `select * from test limit 10`, &selectStmt{NS: "test", Limit: 10}},
		{"select bins by PK", `SELECT name, age FROM test.demo WHERE PK = 'k1'`,
			&selectStmt{NS: "test", Set: "demo", Bins: []string{"name", "age"}, Where: &whereClause{Kind: wherePK, Value: "k1"}}},
		{"select equal int", `SELECT * FROM test.demo WHERE age = 30 LIMIT 5`,
			&selectStmt{NS: "test", Set: "demo", Where: &whereClause{Kind: whereEqual, Bin: "age", Value: int64(30)}, Limit: 5}},
		{"select equal string", `SELECT * FROM test.demo WHERE name="Bob"`,
			&selectStmt{NS: "test", Set: "demo", Where: &whereClause{Kind: whereEqual, Bin: "name", Value: "Bob"}}},
		{"select between", `select * from test.demo where age between -5 and 50`,
			&selectStmt{NS: "test", Set: "demo", Where: &whereClause{Kind: whereBetween, Bin: "age", Low: -5, High: 50}}},
		{"delete", `DELETE FROM test.demo WHERE PK = 3`, &deleteStmt{NS: "test", Set: "demo", Key: int64(3)}},
		{"show namespaces", `show namespaces`, &showStmt{What: "namespaces"}},
		{"show sets of a namespace", `SHOW SETS test`, &showStmt{What: "sets", NS: "test"}},
		{"show bins", `SHOW BINS`, &showStmt{What: "bins"}},
		{"show indexes", `Show Indexes test`, &showStmt{What: "indexes", NS: "test"}},
		{"create index", `CREATE INDEX idx_age ON test.demo (age) NUMERIC`,
			&createIndexStmt{Name: "idx_age", NS: "test", Set: "demo", Bin: "age", Type: as.NUMERIC}},
		{"create geo index", `create index loc on test (where) geo2dsphere`,
			&createIndexStmt{Name: "loc", NS: "test", Bin: "where", Type: as.GEO2DSPHERE}},
		{"drop index", `DROP INDEX test.demo idx_age`, &dropIndexStmt{NS: "test", Set: "demo", Name: "idx_age"}},
		{"drop index without set", `DROP INDEX test idx_age`, &dropIndexStmt{NS: "test", Name: "idx_age"}},
		{"truncate set", `TRUNCATE test.demo`, &truncateStmt{NS: "test", Set: "demo"}},
		{"truncate namespace", `truncate test;`, &truncateStmt{NS: "test"}},
		{"help", `help`, &helpStmt{}},
		{"quit", `QUIT`, &quitStmt{}},
		{"exit", `exit;`, &quitStmt{}},
		{"empty", `  `, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseStatement(c.src)
			if err != nil {
				t.Fatalf("parse %q: %v", c.src, err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("parse %q:\n got %#v\nwant %#v", c.src, got, c.want)
			}
		})
	}
}

// TestShellParseErrors checks that a refused statement's message says what
// was expected and points at the offending token.
func TestShellParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      string // the error message
		caret     string // the caret line, its column included
	}{
		{"unknown verb", `SELEC * FROM test`,
			`syntax error at column 1: expected a statement (INSERT, SELECT, DELETE, SHOW, CREATE INDEX, DROP INDEX, TRUNCATE, HELP or QUIT), found "SELEC"`, "  ^"},
		{"misspelt FROM", `SELECT * FORM test.demo`, `syntax error at column 10: expected FROM, found "FORM"`, "           ^"},
		{"missing namespace", `SELECT * FROM`, `syntax error at column 14: expected a namespace, found end of statement`, "               ^"},
		{"bad set", `SELECT * FROM test.'x'`, `syntax error at column 20: expected a set name, found string "x"`, ""},
		{"trailing tokens", `SELECT * FROM test.demo extra`, `syntax error at column 25: expected end of statement, found "extra"`, ""},
		{"where operator", `SELECT * FROM test WHERE a > 1`, `syntax error at column 28: unexpected character '>'`, ""},
		{"where value", `SELECT * FROM test WHERE a = 1.5`, `syntax error at column 30: expected an integer or a string to compare a with, found "1.5"`, ""},
		{"between float", `SELECT * FROM test WHERE a BETWEEN 1 AND 2.5`, `syntax error at column 42: expected an integer, found "2.5"`, ""},
		{"bad limit", `SELECT * FROM test LIMIT 0`, `syntax error at column 26: expected a positive integer after LIMIT, found "0"`, ""},
		{"insert without PK", `INSERT INTO test.s (a, b) VALUES (1, 2)`, `syntax error at column 21: the column list needs PK, the record's key`, ""},
		{"insert PK only", `INSERT INTO test.s (PK) VALUES (1)`, `syntax error at column 21: the column list needs at least one bin besides PK`, ""},
		{"too few values", `INSERT INTO test.s (PK, a, b) VALUES (1, 2)`, `syntax error at column 43: expected "," and a value for column b, found ")"`, ""},
		{"too many values", `INSERT INTO test.s (PK, a) VALUES (1, 2, 3)`, `syntax error at column 42: more values than the 2 columns`, ""},
		{"float key", `DELETE FROM test.s WHERE PK = 1.5`, `syntax error at column 31: a key is an integer, a string or a BLOB, not "1.5"`, ""},
		{"bad JSON", `INSERT INTO test.s (PK, l) VALUES (1, LIST('[1,'))`, `syntax error at column 44: LIST(): invalid JSON: unexpected EOF`, ""},
		{"LIST of a map", `INSERT INTO test.s (PK, l) VALUES (1, LIST('{}'))`, `syntax error at column 44: LIST() takes a [list]`, ""},
		{"bad hex", `INSERT INTO test.s (PK, b) VALUES (1, BLOB('xyz'))`, `syntax error at column 44: BLOB(): encoding/hex: invalid byte: U+0078 'x'`, ""},
		{"unknown value", `INSERT INTO test.s (PK, b) VALUES (1, bob)`, `syntax error at column 39: expected a value (a number, a 'string', TRUE, FALSE, NULL, JSON(), LIST(), MAP(), GEOJSON() or BLOB()), found "bob"`, ""},
		{"unterminated string", `INSERT INTO test.s (PK, b) VALUES (1, 'abc)`, `syntax error at column 39: unterminated string`, ""},
		{"show what", `SHOW TABLES`, `syntax error at column 6: expected NAMESPACES, SETS, BINS, INDEXES, SCANS, QUERIES or JOBS, found "TABLES"`, ""},
		{"index type", `CREATE INDEX i ON test.s (b) TEXT`, `syntax error at column 30: expected NUMERIC, STRING or GEO2DSPHERE, found "TEXT"`, ""},
		{"drop index name", `DROP INDEX test`, `syntax error at column 16: expected an index name, found end of statement`, ""},
		{"second line", "INSERT INTO test.s (PK, a) VALUES (1, 'x\ny') junk",
			`syntax error at line 2, column 5: expected end of statement, found "junk"`, "      ^"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := parseStatement(c.src)
			if err == nil {
				t.Fatalf("parse %q = %#v, want an error", c.src, st)
			}
			if err.Error() != c.want {
				t.Errorf("parse %q:\n got %s\nwant %s", c.src, err, c.want)
			}
			se, ok := err.(*syntaxError)
			if !ok {
				t.Fatalf("error is a %T, want a *syntaxError", err)
			}
			if c.caret != "" {
				lines := strings.Split(se.caret(), "\n")
				if lines[1] != c.caret {
					t.Errorf("caret line %q, want %q", lines[1], c.caret)
				}
			}
		})
	}
}

func TestShellSplitter(t *testing.T) {
	var sp splitter
	var got []string
	var pending []bool
	for _, line := range []string{
		"SHOW NAMESPACES",
		"  ",
		"-- a comment",
		"SELECT * FROM test; SHOW SETS ;;",
		"INSERT INTO test.s (PK, a) VALUES (1, 'semi;colon') -- trailing comment",
		"INSERT INTO test.s (PK, a) VALUES (2, 'two",
		"lines') ; INSERT INTO test.s (PK, a) VALUES (3, 'it\\'s -- not a comment')",
		"SELECT * FROM test WHERE a = -1",
		"SELECT 'unterminated",
	} {
		got = append(got, sp.line(line)...)
		pending = append(pending, sp.pending())
	}
	got = append(got, sp.end())
	want := []string{
		"SHOW NAMESPACES",
		"SELECT * FROM test",
		"SHOW SETS",
		"INSERT INTO test.s (PK, a) VALUES (1, 'semi;colon')",
		"INSERT INTO test.s (PK, a) VALUES (2, 'two\nlines')",
		"INSERT INTO test.s (PK, a) VALUES (3, 'it\\'s -- not a comment')",
		"SELECT * FROM test WHERE a = -1",
		"SELECT 'unterminated",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statements:\n got %q\nwant %q", got, want)
	}
	if wantPending := []bool{false, false, false, false, false, true, false, false, true}; !reflect.DeepEqual(pending, wantPending) {
		t.Errorf("pending after each line %v, want %v", pending, wantPending)
	}
}

func TestShellFormatValue(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{1, "1"},
		{int64(-2), "-2"},
		{2.0, "2.0"},
		{1.5e300, "1.5e+300"},
		{"a\"b", `"a\"b"`},
		{true, "true"},
		{nil, "NULL"},
		{[]byte{1, 0xab}, "BLOB('01ab')"},
		{[]any{1, "x", []any{2.5}}, `LIST('[1, "x", [2.5]]')`},
		{map[any]any{"b": 2, "a": map[any]any{1: nil}}, `MAP('{"a": {1: null}, "b": 2}')`},
		{as.GeoJSONValue(`{"type":"Point","coordinates":[1,2]}`), `GEOJSON('{"type":"Point","coordinates":[1,2]}')`},
	} {
		if got := formatValue(c.v); got != c.want {
			t.Errorf("formatValue(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestShellInfoTables(t *testing.T) {
	sets := infoTable("ns=test:set=a:objects=2;ns=test:set=b:objects=0:extra=x;", ";", ":")
	wantSets := &table{
		cols: []string{"ns", "set", "objects", "extra"},
		rows: [][]string{{"test", "a", "2", ""}, {"test", "b", "0", "x"}},
	}
	if !reflect.DeepEqual(sets, wantSets) {
		t.Errorf("sets table %+v, want %+v", sets, wantSets)
	}
	bins := binsTable("test:bin_names=2,bin_names_quota=65535,a,b;bar:bin_names=0,bin_names_quota=65535")
	wantBins := &table{
		cols: []string{"namespace", "bin", "count", "quota"},
		rows: [][]string{{"test", "a", "2", "65535"}, {"test", "b", "2", "65535"}},
	}
	if !reflect.DeepEqual(bins, wantBins) {
		t.Errorf("bins table %+v, want %+v", bins, wantBins)
	}
	if err := parseInfoError("ERROR:201:no index"); *err != (shellError{201, "no index"}) {
		t.Errorf("parseInfoError = %+v", *err)
	}
	if err := parseInfoError("ERROR::"); err.Code != 1 || err.Msg == "" {
		t.Errorf("parseInfoError without code or message = %+v", *err)
	}
}
