package main

import (
	"bytes"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestShellAgainstNode runs the shell's statements against a node in this
// process and compares the output with golden text (timings masked, rows
// of scans sorted). Each subtest uses its own set.
func TestShellAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	port := startBenchNode(t)
	// sh runs a session with stdin as its input; stdout and stderr go to one
	// text, in order.
	sh := func(t *testing.T, stdin string, args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		code := runShell(append([]string{"-p", strconv.Itoa(port)}, args...), strings.NewReader(stdin), &out, &out)
		return code, maskTimes(out.String())
	}
	golden := func(t *testing.T, got, want string) {
		t.Helper()
		want = strings.TrimPrefix(want, "\n")
		if got != want {
			t.Errorf("output:\n%s\nwant:\n%s", got, want)
		}
	}

	t.Run("InsertSelectByPK", func(t *testing.T) {
		code, out := sh(t, `
INSERT INTO test.pk (PK, name, age, score, tags, attrs) VALUES (1, 'Alice', 30, 2.5, LIST('[1, "a"]'), MAP('{"k": [true]}'))
SELECT * FROM test.pk WHERE PK = 1
select age, name, nothing from test.pk where pk = 1
INSERT INTO test.pk (PK, name) VALUES ('k2', "Bob"); SELECT * FROM test.pk WHERE PK = 'k2'
`)
		golden(t, out, `
OK, 1 record affected.
+----+-----+----------------------+---------+-------+------------------+
| PK | age | attrs                | name    | score | tags             |
+----+-----+----------------------+---------+-------+------------------+
| 1  | 30  | MAP('{"k": [true]}') | "Alice" | 2.5   | LIST('[1, "a"]') |
+----+-----+----------------------+---------+-------+------------------+
1 row in set (T secs)
+----+-----+---------+---------+
| PK | age | name    | nothing |
+----+-----+---------+---------+
| 1  | 30  | "Alice" |         |
+----+-----+---------+---------+
1 row in set (T secs)
OK, 1 record affected.
+------+-------+
| PK   | name  |
+------+-------+
| "k2" | "Bob" |
+------+-------+
1 row in set (T secs)
`)
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
	})

	t.Run("Scan", func(t *testing.T) {
		code, out := sh(t, `
INSERT INTO test.scan (PK, name, age) VALUES (1, 'Alice', 30)
INSERT INTO test.scan (PK, name, age) VALUES (2, 'Bob', 40)
INSERT INTO test.scan (PK, name, age) VALUES ('three', 'Carol', 50)
SELECT * FROM test.scan
SELECT name FROM test.scan
`)
		golden(t, sortTableRows(out), `
OK, 1 record affected.
OK, 1 record affected.
OK, 1 record affected.
+---------+-----+---------+
| PK      | age | name    |
+---------+-----+---------+
| "three" | 50  | "Carol" |
| 1       | 30  | "Alice" |
| 2       | 40  | "Bob"   |
+---------+-----+---------+
3 rows in set (T secs)
+---------+---------+
| PK      | name    |
+---------+---------+
| "three" | "Carol" |
| 1       | "Alice" |
| 2       | "Bob"   |
+---------+---------+
3 rows in set (T secs)
`)
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
		if _, out := sh(t, "", "-e", "SELECT * FROM test.scan LIMIT 2"); !strings.HasSuffix(out, "\n2 rows in set (T secs)\n") {
			t.Errorf("SELECT with LIMIT 2:\n%s", out)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		code, out := sh(t, `
INSERT INTO test.del (PK, a) VALUES (7, 1)
DELETE FROM test.del WHERE PK = 7
SELECT * FROM test.del WHERE PK = 7
DELETE FROM test.del WHERE PK = 7
SELECT * FROM test.del
`)
		golden(t, out, `
OK, 1 record affected.
OK, 1 record affected.
Error: (2) Key not found
OK, 0 records affected.
0 rows in set (T secs)
`)
		if code != 1 {
			t.Errorf("exit %d, want 1 (a statement failed)", code)
		}
	})

	t.Run("Show", func(t *testing.T) {
		code, out := sh(t, `
INSERT INTO test.show (PK, s1, s2) VALUES (1, 1, 'x')
INSERT INTO test.show (PK, s1) VALUES (2, 2)
SHOW NAMESPACES
`)
		golden(t, out, `
OK, 1 record affected.
OK, 1 record affected.
+------------+
| namespaces |
+------------+
| test       |
+------------+
1 row in set (T secs)
`)
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
		for _, stmt := range []string{"SHOW SETS", "SHOW SETS test"} {
			_, out = sh(t, "", "-e", stmt)
			if row := findRow(parseTable(t, out), "set", "show"); row == nil || row["ns"] != "test" || row["objects"] != "2" {
				t.Errorf("%s: row of set show %v, want ns test and 2 objects:\n%s", stmt, row, out)
			}
		}
		_, out = sh(t, "", "-e", "SHOW BINS test")
		rows := parseTable(t, out)
		for _, bin := range []string{"s1", "s2"} {
			if row := findRow(rows, "bin", bin); row == nil || row["namespace"] != "test" {
				t.Errorf("SHOW BINS: row of bin %s %v:\n%s", bin, row, out)
			}
		}
	})

	t.Run("Truncate", func(t *testing.T) {
		code, out := sh(t, `
INSERT INTO test.trunc (PK, a) VALUES (1, 1)
INSERT INTO test.trunc (PK, a) VALUES (2, 2)
INSERT INTO test.keep (PK, a) VALUES (1, 1)
TRUNCATE test.trunc
SELECT * FROM test.trunc
SELECT a FROM test.keep
`)
		golden(t, out, `
OK, 1 record affected.
OK, 1 record affected.
OK, 1 record affected.
OK
0 rows in set (T secs)
+----+---+
| PK | a |
+----+---+
| 1  | 1 |
+----+---+
1 row in set (T secs)
`)
		if code != 0 {
			t.Errorf("exit %d, want 0", code)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		for _, c := range []struct{ stmt, want string }{
			{"SELECT * FROM test.none WHERE PK = 'missing'", "Error: (2) Key not found\n"},
			{"SELECT * FROM nope.s WHERE PK = 1", "Error: (20) Namespace not found in partition map: nope\n"},
			{"SELECT * FROM nope.s", "Error: (20) Invalid Partition Map for namespace `nope` in Partition Scan\n"},
			{"INSERT INTO nope.s (PK, a) VALUES (1, 1)", "Error: (20) Namespace not found in partition map: nope\n"},
			{"SHOW BINS nope", "Error: (20) namespace not found\n"},
			{"TRUNCATE nope", "Error: (20) namespace not found\n"},
		} {
			code, out := sh(t, "", "-e", c.stmt)
			if code != 1 || out != c.want {
				t.Errorf("%s: exit %d, output %q; want exit 1, %q", c.stmt, code, out, c.want)
			}
		}
	})

	t.Run("ExecExitCodes", func(t *testing.T) {
		for _, c := range []struct {
			name       string
			args       []string
			code       int
			out, errs  string // stdout and stderr, masked
			errsPrefix bool   // errs is a prefix
		}{
			{"ok", []string{"-e", "INSERT INTO test.exec (PK, a) VALUES (1, 1);"}, 0, "OK, 1 record affected.\n", "", false},
			{"two statements", []string{"-e", "INSERT INTO test.exec (PK, a) VALUES (2, 2); select a from test.exec where pk=2"}, 0,
				"OK, 1 record affected.\n+----+---+\n| PK | a |\n+----+---+\n| 2  | 2 |\n+----+---+\n1 row in set (T secs)\n", "", false},
			{"missing record", []string{"-e", "SELECT * FROM test.exec WHERE PK = 99"}, 1, "", "Error: (2) Key not found\n", false},
			{"syntax error", []string{"-e", "SELECT * FORM test.exec"}, 1, "",
				"Error: syntax error at column 10: expected FROM, found \"FORM\"\n  SELECT * FORM test.exec\n           ^\n", false},
			{"stops at QUIT", []string{"-e", "QUIT; SELECT * FROM test.exec WHERE PK = 99"}, 0, "", "", false},
			{"help needs no node", []string{"-p", "1", "-e", "help"}, 0, shellHelp, "", false},
			{"no node", []string{"-p", strconv.Itoa(closedPort(t)), "-t", "2s", "-e", "SHOW NAMESPACES"}, 1, "", "Error: (-3) connect to 127.0.0.1:", true},
			{"argument without -e", []string{"SHOW"}, 2, "", "skiff shell: unexpected argument \"SHOW\"", true},
			{"bad flag", []string{"-x"}, 2, "", "flag provided but not defined: -x", true},
		} {
			t.Run(c.name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := runShell(append([]string{"-p", strconv.Itoa(port)}, c.args...), strings.NewReader(""), &stdout, &stderr)
				out, errs := maskTimes(stdout.String()), stderr.String()
				if code != c.code {
					t.Errorf("exit %d, want %d", code, c.code)
				}
				if out != c.out {
					t.Errorf("stdout:\n%s\nwant:\n%s", out, c.out)
				}
				if c.errsPrefix && !strings.HasPrefix(errs, c.errs) || !c.errsPrefix && errs != c.errs {
					t.Errorf("stderr:\n%s\nwant:\n%s", errs, c.errs)
				}
			})
		}
	})

	t.Run("Script", func(t *testing.T) {
		code, out := sh(t, `-- a statement script, as from a file
insert into test.script (PK, note, n) values (1, 'one; with a semicolon', 1); insert into test.script (PK, note, n) values (2, 'two
lines', 2)
SELECT n FROM test.script WHERE PK = 3   -- no such record: the script goes on

select note from test.script where pk = 2;
selec oops
QUIT
SELECT * FROM test.script WHERE PK = 1
`)
		golden(t, out, `
OK, 1 record affected.
OK, 1 record affected.
Error: (2) Key not found
+----+--------------+
| PK | note         |
+----+--------------+
| 2  | "two\nlines" |
+----+--------------+
1 row in set (T secs)
Error: syntax error at column 1: expected a statement (INSERT, SELECT, DELETE, SHOW, CREATE INDEX, DROP INDEX, TRUNCATE, HELP or QUIT), found "selec"
  selec oops
  ^
`)
		if code != 1 {
			t.Errorf("exit %d, want 1 (statements failed)", code)
		}
	})

	// Queries, index creation and SHOW INDEXES depend on the node's
	// secondary indexes. Each either works, or the shell prints the node's
	// error as one line and exits 1; the test logs which.
	t.Run("Query", func(t *testing.T) {
		_, out := sh(t, `
INSERT INTO test.query (PK, age, name) VALUES (1, 30, 'Alice')
INSERT INTO test.query (PK, age, name) VALUES (2, 40, 'Bob')
INSERT INTO test.query (PK, age, name) VALUES (3, 50, 'Carol')
`)
		if strings.Count(out, "OK, 1 record affected.\n") != 3 {
			t.Fatalf("inserts:\n%s", out)
		}
		errorLine := regexp.MustCompile(`^Error: \(-?\d+\) .+\n$`)
		failed := func(stmt string, code int, out string) bool {
			t.Helper()
			if code == 0 {
				return false
			}
			if code != 1 || !errorLine.MatchString(out) {
				t.Errorf("%s: exit %d, output %q; want exit 1 and one error line", stmt, code, out)
			}
			t.Logf("%s: %s", stmt, strings.TrimSpace(out))
			return true
		}

		create := "CREATE INDEX query_age ON test.query (age) NUMERIC"
		code, out := sh(t, "", "-e", create)
		created := !failed(create, code, out)
		if created && out != "OK, 1 index added.\n" {
			t.Errorf("%s: %q", create, out)
		}
		code, out = sh(t, "", "-e", "SHOW INDEXES test")
		if !failed("SHOW INDEXES test", code, out) && created {
			if row := findRow(parseTable(t, out), "indexname", "query_age"); row == nil || row["bin"] != "age" {
				t.Errorf("SHOW INDEXES: row of query_age %v:\n%s", row, out)
			}
		}
		for _, c := range []struct{ stmt, want string }{
			{"SELECT * FROM test.query WHERE age = 40", `
+----+-----+-------+
| PK | age | name  |
+----+-----+-------+
| 2  | 40  | "Bob" |
+----+-----+-------+
1 row in set (T secs)
`},
			{"SELECT name FROM test.query WHERE age BETWEEN 35 AND 60", `
+----+---------+
| PK | name    |
+----+---------+
| 2  | "Bob"   |
| 3  | "Carol" |
+----+---------+
2 rows in set (T secs)
`},
		} {
			// A new index may still be building: retry for a while.
			deadline := time.Now().Add(5 * time.Second)
			code, out := sh(t, "", "-e", c.stmt)
			for created && code != 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				code, out = sh(t, "", "-e", c.stmt)
			}
			if !failed(c.stmt, code, out) {
				golden(t, sortTableRows(out), c.want)
			}
		}
		// The queries above are listed, done, with their progress.
		code, out = sh(t, "", "-e", "SHOW QUERIES")
		if !failed("SHOW QUERIES", code, out) && created {
			if row := findRow(parseTable(t, out), "module", "query"); row == nil || row["job-progress"] != "100" || row["status"] != "done(ok)" {
				t.Errorf("SHOW QUERIES: %v:\n%s", row, out)
			}
		}
		if created {
			if code, out := sh(t, "", "-e", "DROP INDEX test query_age"); code != 0 || out != "OK, 1 index removed.\n" {
				t.Errorf("DROP INDEX: exit %d, %q", code, out)
			}
		}
	})
}

// TestShellPrompt checks the prompts of an interactive session, which needs
// no node for HELP and a statement that does not parse.
func TestShellPrompt(t *testing.T) {
	var out bytes.Buffer
	sh := newShell("127.0.0.1", 1, time.Second, &out, &out)
	defer sh.close()
	if sh.runInput(strings.NewReader("help\nSELECT 'two\nlines' FROM\nquit\nhelp\n"), true) {
		t.Error("runInput reported success after a syntax error")
	}
	want := promptFirst + shellHelp + promptFirst + promptMore +
		"Error: syntax error at line 1, column 8: expected * or a bin name, found string \"two\\nlines\"\n  SELECT 'two\n         ^\n" +
		promptFirst
	if out.String() != want {
		t.Errorf("session:\n%s\nwant:\n%s", out.String(), want)
	}
}

var secsRE = regexp.MustCompile(`\(\d+\.\d{3} secs\)`)

// maskTimes replaces the footers' timings with T.
func maskTimes(s string) string { return secsRE.ReplaceAllString(s, "(T secs)") }

// sortTableRows sorts the rows of each table in s, so that scans compare
// whatever order the node returned the records in.
func sortTableRows(s string) string {
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		// A table: rule, header, rule, rows, rule.
		if !strings.HasPrefix(lines[i], "+") || i+2 >= len(lines) {
			continue
		}
		start := i + 3
		end := start
		for end < len(lines) && strings.HasPrefix(lines[end], "|") {
			end++
		}
		slices.Sort(lines[start:end])
		i = end
	}
	return strings.Join(lines, "\n")
}

// parseTable reads the first table in a shell's output back as rows of
// column -> cell.
func parseTable(t *testing.T, out string) []map[string]string {
	t.Helper()
	var cols []string
	var rows []map[string]string
	for line := range strings.SplitSeq(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if cols == nil {
			cols = cells
			continue
		}
		row := make(map[string]string)
		for i, c := range cols {
			row[c] = cells[i]
		}
		rows = append(rows, row)
	}
	if cols == nil {
		t.Errorf("no table in output:\n%s", out)
	}
	return rows
}

func findRow(rows []map[string]string, col, value string) map[string]string {
	for _, r := range rows {
		if r[col] == value {
			return r
		}
	}
	return nil
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}
