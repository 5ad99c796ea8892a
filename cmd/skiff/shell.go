package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"
)

// skiff shell plays aql's role: it reads statements in aql's syntax (see
// shell_parse.go for the grammar), runs them with the official Go client,
// and prints results as aligned tables and failures as
// "Error: (CODE) MESSAGE" with the Aerospike result code.
//
// Statements come from -e, or from stdin one per line (a ';' also ends a
// statement; a string may span lines). On a terminal the shell prompts and
// carries on after errors; otherwise it runs the whole script, and the exit
// status says whether every statement succeeded. The client connects at the
// first statement that needs the node, so HELP and syntax errors work
// without one.

const shellUsage = `usage: skiff shell [-h HOST] [-p PORT] [-t TIMEOUT] [-e STATEMENT]

Run aql-style statements against a node: from -e, or from stdin (one per
line, or separated by ';'). Type HELP for the statements.

flags:
`

const shellHelp = `Statements (keywords in any case, ';' optional):
  INSERT INTO ns[.set] (PK, bin, ...) VALUES (key, value, ...)
  SELECT * | bin, ... FROM ns[.set] [WHERE PK = key] [LIMIT n]
  SELECT * | bin, ... FROM ns[.set] WHERE bin = value [LIMIT n]
  SELECT * | bin, ... FROM ns[.set] WHERE bin BETWEEN low AND high [LIMIT n]
  DELETE FROM ns[.set] WHERE PK = key
  SHOW NAMESPACES | SETS [ns] | BINS [ns] | INDEXES [ns]
  SHOW SCANS | QUERIES | JOBS   (running and recent ones, with job-progress)
  CREATE INDEX name ON ns[.set] (bin) NUMERIC | STRING | GEO2DSPHERE
  DROP INDEX ns[.set] name
  TRUNCATE ns[.set]
  HELP
  QUIT | EXIT

Values: 12, -3, 1.5, 'text' or "text", TRUE, FALSE, NULL (removes the bin),
  JSON('[1, 2]') or JSON('{"a": 1}'), LIST('[...]'), MAP('{...}'),
  GEOJSON('{"type": "Point", "coordinates": [1.5, 2.5]}'), BLOB('00ff').
Keys: an integer, a string or a BLOB. Records are written with their key,
  so scans show it in the PK column.
A SELECT without WHERE scans; WHERE bin = / BETWEEN is a secondary-index
  query and needs an index on the bin.
`

const (
	promptFirst = "skiff> "
	promptMore  = "    -> "
)

func runShell(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, shellUsage)
		fs.PrintDefaults()
	}
	host := fs.String("h", "127.0.0.1", "node `host`")
	port := fs.Int("p", 3000, "node service `port`")
	timeout := fs.Duration("t", 5*time.Second, "`timeout` of one request (for scans and queries: of each wait for the node)")
	exec := fs.String("e", "", "run `STATEMENT` (or several, separated by ';') and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "skiff shell: unexpected argument %q (quote the statement and pass it with -e)\n", fs.Arg(0))
		return 2
	}
	sh := newShell(*host, *port, *timeout, stdout, stderr)
	defer sh.close()

	var ok bool
	if isFlagSet(fs, "e") {
		var sp splitter
		var stmts []string
		for line := range strings.SplitSeq(*exec, "\n") {
			stmts = append(stmts, sp.line(line)...)
		}
		ok = sh.runStatements(append(stmts, sp.end()))
	} else {
		ok = sh.runInput(stdin, isTerminal(stdin))
	}
	if !ok {
		return 1
	}
	return 0
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// isTerminal reports whether r is a terminal, where the shell prompts.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// shell is one session: its settings, its output and, once a statement
// needed it, its client.
type shell struct {
	host        string
	port        int
	out, errOut io.Writer

	client      *as.Client // nil until connect
	readPolicy  *as.BasePolicy
	writePolicy *as.WritePolicy
	scanPolicy  *as.ScanPolicy
	queryPolicy *as.QueryPolicy
	infoPolicy  *as.InfoPolicy
	timeout     time.Duration
}

func newShell(host string, port int, timeout time.Duration, out, errOut io.Writer) *shell {
	sh := &shell{host: host, port: port, out: out, errOut: errOut, timeout: timeout}
	sh.readPolicy = as.NewPolicy()
	sh.readPolicy.TotalTimeout = timeout
	sh.writePolicy = as.NewWritePolicy(0, 0)
	sh.writePolicy.TotalTimeout = timeout
	sh.writePolicy.SendKey = true
	// Scans and queries may run long: no total timeout, but each wait for
	// the node is bounded.
	sh.scanPolicy = as.NewScanPolicy()
	sh.scanPolicy.TotalTimeout = 0
	sh.scanPolicy.SocketTimeout = timeout
	sh.queryPolicy = as.NewQueryPolicy()
	sh.queryPolicy.TotalTimeout = 0
	sh.queryPolicy.SocketTimeout = timeout
	sh.infoPolicy = as.NewInfoPolicy()
	sh.infoPolicy.Timeout = timeout
	return sh
}

func (sh *shell) close() {
	if sh.client != nil {
		sh.client.Close()
	}
}

// connect returns the session's client, connecting it the first time.
func (sh *shell) connect() (*as.Client, error) {
	if sh.client != nil {
		return sh.client, nil
	}
	cp := as.NewClientPolicy()
	cp.Timeout = sh.timeout
	c, err := as.NewClientWithPolicy(cp, sh.host, sh.port)
	if err != nil {
		code, msg := aerospikeError(err)
		return nil, &shellError{code, fmt.Sprintf("connect to %s:%d: %s", sh.host, sh.port, msg)}
	}
	sh.client = c
	return c, nil
}

// runInput runs the statements read from r until its end or QUIT,
// prompting if interactive. It reports whether every statement succeeded.
func (sh *shell) runInput(r io.Reader, interactive bool) bool {
	br := bufio.NewReader(r)
	var sp splitter
	ok := true
	for {
		if interactive {
			prompt := promptFirst
			if sp.pending() {
				prompt = promptMore
			}
			fmt.Fprint(sh.out, prompt)
		}
		line, err := br.ReadString('\n')
		if line != "" || err == nil {
			stmts := sp.line(strings.TrimRight(line, "\r\n"))
			for _, st := range stmts {
				stOK, quit := sh.run(st)
				ok = ok && stOK
				if quit {
					return ok
				}
			}
		}
		if err != nil {
			if interactive {
				fmt.Fprintln(sh.out)
			}
			if rest := sp.end(); rest != "" {
				stOK, _ := sh.run(rest)
				ok = ok && stOK
			}
			if err != io.EOF {
				fmt.Fprintln(sh.errOut, "Error: read statements:", err)
				return false
			}
			return ok
		}
	}
}

// runStatements runs statements until one is QUIT and reports whether all
// succeeded.
func (sh *shell) runStatements(stmts []string) bool {
	ok := true
	for _, st := range stmts {
		if st == "" {
			continue
		}
		stOK, quit := sh.run(st)
		ok = ok && stOK
		if quit {
			break
		}
	}
	return ok
}

// run parses and executes one statement, printing its result or error.
func (sh *shell) run(src string) (ok, quit bool) {
	st, err := parseStatement(src)
	if err == nil {
		switch st.(type) {
		case nil:
			return true, false
		case *quitStmt:
			return true, true
		}
		err = sh.execute(st)
	}
	if err != nil {
		fmt.Fprintln(sh.errOut, formatError(err))
		if se, isSyntax := err.(*syntaxError); isSyntax {
			fmt.Fprintln(sh.errOut, se.caret())
		}
		return false, false
	}
	return true, false
}

// execute runs a parsed statement.
func (sh *shell) execute(st any) error {
	if _, isHelp := st.(*helpStmt); isHelp {
		fmt.Fprint(sh.out, shellHelp)
		return nil
	}
	c, err := sh.connect()
	if err != nil {
		return err
	}
	start := time.Now()
	switch st := st.(type) {
	case *insertStmt:
		return sh.insert(c, st)
	case *selectStmt:
		t, err := sh.selectRecords(c, st)
		if err != nil {
			return err
		}
		t.write(sh.out, time.Since(start))
	case *deleteStmt:
		return sh.delete(c, st)
	case *showStmt:
		t, err := sh.show(c, st)
		if err != nil {
			return err
		}
		t.write(sh.out, time.Since(start))
	case *createIndexStmt:
		if _, err := c.CreateIndex(sh.writePolicy, st.NS, st.Set, st.Name, st.Bin, st.Type); err != nil {
			return err
		}
		fmt.Fprintln(sh.out, "OK, 1 index added.")
	case *dropIndexStmt:
		// The info command itself rather than client.DropIndex, which
		// polls until the node says the index is gone and has no timeout.
		cmd := "sindex-delete:ns=" + st.NS
		if st.Set != "" {
			cmd += ";set=" + st.Set
		}
		if _, err := sh.info(c, cmd+";indexname="+st.Name); err != nil {
			return err
		}
		fmt.Fprintln(sh.out, "OK, 1 index removed.")
	case *truncateStmt:
		if err := c.Truncate(sh.infoPolicy, st.NS, st.Set, nil); err != nil {
			return err
		}
		fmt.Fprintln(sh.out, "OK")
	default:
		panic(fmt.Sprintf("skiff shell: statement %T has no executor", st))
	}
	return nil
}

func (sh *shell) insert(c *as.Client, st *insertStmt) error {
	key, err := as.NewKey(st.NS, st.Set, st.Key)
	if err != nil {
		return err
	}
	bins := make([]*as.Bin, len(st.Bins))
	for i, name := range st.Bins {
		bins[i] = as.NewBin(name, st.Values[i])
	}
	if err := c.PutBins(sh.writePolicy, key, bins...); err != nil {
		return err
	}
	fmt.Fprintln(sh.out, "OK, 1 record affected.")
	return nil
}

func (sh *shell) delete(c *as.Client, st *deleteStmt) error {
	key, err := as.NewKey(st.NS, st.Set, st.Key)
	if err != nil {
		return err
	}
	existed, err := c.Delete(sh.writePolicy, key)
	if err != nil {
		return err
	}
	if existed {
		fmt.Fprintln(sh.out, "OK, 1 record affected.")
	} else {
		fmt.Fprintln(sh.out, "OK, 0 records affected.")
	}
	return nil
}

// selectRecords reads one record by key, scans, or queries, and returns
// the records as a table.
func (sh *shell) selectRecords(c *as.Client, st *selectStmt) (*table, error) {
	t := &table{}
	for _, b := range st.Bins {
		t.column(b)
	}
	var rs *as.Recordset
	var err error
	switch {
	case st.Where != nil && st.Where.Kind == wherePK:
		key, err := as.NewKey(st.NS, st.Set, st.Where.Value)
		if err != nil {
			return nil, err
		}
		rec, err := c.Get(sh.readPolicy, key, st.Bins...)
		if err != nil {
			return nil, err
		}
		t.addRecord(rec, st.Bins)
		return t, nil
	case st.Where == nil:
		p := *sh.scanPolicy
		p.MaxRecords = int64(st.Limit)
		rs, err = c.ScanAll(&p, st.NS, st.Set, st.Bins...)
	default:
		stmt := as.NewStatement(st.NS, st.Set, st.Bins...)
		if st.Where.Kind == whereEqual {
			err = stmt.SetFilter(as.NewEqualFilter(st.Where.Bin, st.Where.Value))
		} else {
			err = stmt.SetFilter(as.NewRangeFilter(st.Where.Bin, st.Where.Low, st.Where.High))
		}
		if err != nil {
			return nil, err
		}
		p := *sh.queryPolicy
		p.MaxRecords = int64(st.Limit)
		rs, err = c.Query(&p, stmt)
	}
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for res := range rs.Results() {
		if res.Err != nil {
			return nil, res.Err
		}
		t.addRecord(res.Record, st.Bins)
		if st.Limit > 0 && len(t.rows) == st.Limit {
			break
		}
	}
	return t, nil
}

// show answers SHOW from the info commands of one node (a Skiff node is a
// cluster of one).
func (sh *shell) show(c *as.Client, st *showStmt) (*table, error) {
	switch st.What {
	case "namespaces":
		reply, err := sh.info(c, "namespaces")
		if err != nil {
			return nil, err
		}
		t := &table{cols: []string{"namespaces"}}
		for ns := range strings.SplitSeq(reply, ";") {
			if ns != "" {
				t.rows = append(t.rows, []string{ns})
			}
		}
		return t, nil
	case "sets", "bins":
		cmd := st.What
		if st.NS != "" {
			cmd += "/" + st.NS
		}
		reply, err := sh.info(c, cmd)
		if err != nil {
			return nil, err
		}
		if st.What == "bins" {
			return binsTable(reply), nil
		}
		return infoTable(reply, ";", ":"), nil
	case "scans", "queries", "jobs":
		cmd := map[string]string{"scans": "scan-show", "queries": "query-show", "jobs": "jobs"}[st.What]
		reply, err := sh.info(c, cmd)
		if err != nil {
			return nil, err
		}
		return infoTable(reply, ";", ":"), nil
	}
	reply, err := sh.info(c, "sindex-list:")
	if err != nil {
		return nil, err
	}
	t := infoTable(reply, ";", ":")
	if st.NS != "" {
		all := t.rows
		t.rows = nil
		for _, r := range all {
			for i, col := range t.cols {
				if (col == "ns" || col == "namespace") && r[i] == st.NS {
					t.rows = append(t.rows, r)
					break
				}
			}
		}
	}
	return t, nil
}

// info sends one info command to a node and returns its reply, or the
// error the reply carries ("ERROR:CODE:MESSAGE").
func (sh *shell) info(c *as.Client, cmd string) (string, error) {
	nodes := c.GetNodes()
	if len(nodes) == 0 {
		return "", &shellError{types.INVALID_NODE_ERROR, "no node is connected"}
	}
	replies, err := nodes[0].RequestInfo(sh.infoPolicy, cmd)
	if err != nil {
		return "", err
	}
	reply, ok := replies[cmd]
	if !ok {
		return "", &shellError{types.SERVER_ERROR, fmt.Sprintf("no reply to info command %q", cmd)}
	}
	if len(reply) >= 5 && strings.EqualFold(reply[:5], "ERROR") {
		return "", parseInfoError(reply)
	}
	return reply, nil
}

// parseInfoError reads an info reply's error, "ERROR:CODE:MESSAGE" (code
// and message optional).
func parseInfoError(reply string) *shellError {
	_, rest, _ := strings.Cut(reply, ":")
	codeText, msg, _ := strings.Cut(rest, ":")
	code := types.SERVER_ERROR
	if n, err := strconv.Atoi(codeText); err == nil {
		code = types.ResultCode(n)
	}
	if msg == "" {
		msg = types.ResultCodeToString(code)
	}
	return &shellError{code, msg}
}

// shellError is a failure with an Aerospike result code that did not come
// from the client as an as.Error: an info reply's error, or a connection
// failure with the address added.
type shellError struct {
	Code types.ResultCode
	Msg  string
}

func (e *shellError) Error() string { return fmt.Sprintf("(%d) %s", e.Code, e.Msg) }

// formatError is the line the shell prints for a failed statement:
// "Error: (CODE) MESSAGE" for anything with a result code.
func formatError(err error) string {
	var se *shellError
	if errors.As(err, &se) {
		return "Error: " + se.Error()
	}
	var ae *as.AerospikeError
	if errors.As(err, &ae) {
		code, msg := aerospikeError(err)
		return fmt.Sprintf("Error: (%d) %s", code, msg)
	}
	return "Error: " + err.Error()
}

// aerospikeError takes the result code and the message out of a client's
// error, without the iteration, node and in-doubt details its Error method
// adds. Of the causes it wraps, only one that is not the client's own (a
// network error, say) is kept: the client's are retries' noise.
func aerospikeError(err error) (types.ResultCode, string) {
	var ae *as.AerospikeError
	if !errors.As(err, &ae) {
		return types.COMMON_ERROR, err.Error()
	}
	prefix := fmt.Sprintf("ResultCode: %s, Iteration: %d, InDoubt: %t, Node: %s: ", ae.ResultCode.String(), ae.Iteration, ae.InDoubt, ae.Node)
	msg, found := strings.CutPrefix(ae.Error(), prefix)
	msg, _, _ = strings.Cut(msg, "\n") // a wrapped cause follows on the next line
	if !found || msg == "" {
		msg = types.ResultCodeToString(ae.ResultCode)
	}
	for cause := ae.Unwrap(); cause != nil; cause = errors.Unwrap(cause) {
		if _, own := cause.(*as.AerospikeError); !own {
			msg += ": " + cause.Error()
			break
		}
	}
	if ae.InDoubt {
		msg += " (the write may have been applied)"
	}
	return ae.ResultCode, msg
}
