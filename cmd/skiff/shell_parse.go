package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	as "github.com/aerospike/aerospike-client-go/v8"
)

// The shell's statements, in aql's syntax. Keywords are case-insensitive;
// names (namespaces, sets, bins, indexes) are taken as written.
//
//	INSERT INTO ns[.set] (PK, bin, ...) VALUES (key, value, ...)
//	SELECT * | bin, ... FROM ns[.set] [WHERE PK = key | WHERE bin = value
//	       | WHERE bin BETWEEN low AND high] [LIMIT n]
//	DELETE FROM ns[.set] WHERE PK = key
//	SHOW NAMESPACES | SETS [ns] | BINS [ns] | INDEXES [ns] | SCANS | QUERIES | JOBS
//	CREATE INDEX name ON ns[.set] (bin) NUMERIC | STRING | GEO2DSPHERE
//	DROP INDEX ns[.set] name
//	TRUNCATE ns[.set]
//	HELP | QUIT | EXIT
//
// Values are integers, floats, 'strings' or "strings", TRUE, FALSE, NULL
// (which removes a bin), and the typed forms JSON('[...]' or '{...}'),
// LIST('[...]'), MAP('{...}'), GEOJSON('{...}') and BLOB('hex'). A key is
// an integer, a string or a BLOB. Inside quotes a backslash escapes the
// enclosing quote character and nothing else, so JSON escapes pass through.

// insertStmt is INSERT INTO ns.set (PK, bins...) VALUES (key, values...).
type insertStmt struct {
	NS, Set string
	Key     any      // int64, string or []byte
	Bins    []string // in the statement's order, without PK
	Values  []any    // Values[i] goes to Bins[i]
}

// selectStmt is SELECT bins FROM ns[.set] [WHERE ...] [LIMIT n].
type selectStmt struct {
	NS, Set string
	Bins    []string // nil for *
	Where   *whereClause
	Limit   int // 0: no limit
}

// whereKind says which of aql's conditions a WHERE clause is.
type whereKind int

const (
	wherePK      whereKind = iota + 1 // PK = key: a read of one record
	whereEqual                        // bin = value: an equality query
	whereBetween                      // bin BETWEEN low AND high: a range query
)

type whereClause struct {
	Kind      whereKind
	Bin       string // whereEqual, whereBetween
	Value     any    // wherePK: the key; whereEqual: int64 or string
	Low, High int64  // whereBetween
}

// deleteStmt is DELETE FROM ns.set WHERE PK = key.
type deleteStmt struct {
	NS, Set string
	Key     any
}

// showStmt is SHOW NAMESPACES | SETS [ns] | BINS [ns] | INDEXES [ns] |
// SCANS | QUERIES | JOBS.
type showStmt struct {
	What string // "namespaces", "sets", "bins", "indexes", "scans", "queries" or "jobs"
	NS   string // optional
}

// createIndexStmt is CREATE INDEX name ON ns.set (bin) TYPE.
type createIndexStmt struct {
	Name, NS, Set, Bin string
	Type               as.IndexType
}

// dropIndexStmt is DROP INDEX ns[.set] name.
type dropIndexStmt struct {
	NS, Set, Name string
}

// truncateStmt is TRUNCATE ns[.set].
type truncateStmt struct {
	NS, Set string
}

type helpStmt struct{}

type quitStmt struct{}

// syntaxError is a statement the parser refused. Pos is the byte offset in
// the statement of the token it points at.
type syntaxError struct {
	Src string
	Pos int
	Msg string
}

func (e *syntaxError) Error() string {
	line, col := e.lineCol()
	if strings.Contains(e.Src, "\n") {
		return fmt.Sprintf("syntax error at line %d, column %d: %s", line, col, e.Msg)
	}
	return fmt.Sprintf("syntax error at column %d: %s", col, e.Msg)
}

// lineCol is the 1-based line and column (in characters) of e.Pos.
func (e *syntaxError) lineCol() (line, col int) {
	before := e.Src[:min(e.Pos, len(e.Src))]
	line = strings.Count(before, "\n") + 1
	if i := strings.LastIndexByte(before, '\n'); i >= 0 {
		before = before[i+1:]
	}
	return line, utf8.RuneCountInString(before) + 1
}

// caret is the statement's line that holds the error with a caret under
// the token, for people reading it on a terminal.
func (e *syntaxError) caret() string {
	line, col := e.lineCol()
	text := strings.Split(e.Src, "\n")[line-1]
	return "  " + text + "\n  " + strings.Repeat(" ", col-1) + "^"
}

// tokKind is the kind of a lexical token.
type tokKind int

const (
	tokEOF    tokKind = iota
	tokIdent          // a keyword or a name
	tokInt            // an integer, possibly signed
	tokFloat          // a number with a fraction or an exponent
	tokString         // a quoted string; text is its value
	tokPunct          // one of . , ( ) * = ;
)

type token struct {
	kind tokKind
	text string
	pos  int
}

// describe names a token in an error message.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of statement"
	case tokString:
		return "string " + strconv.Quote(t.text)
	}
	return strconv.Quote(t.text)
}

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }

func isIdentPart(r rune) bool { return isIdentStart(r) || r == '-' || unicode.IsDigit(r) }

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// lex splits a statement into tokens, ending with a tokEOF.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(src) && strings.IndexByte(" \t\r\n", src[i]) >= 0 {
			i++
		}
		if i == len(src) {
			return append(toks, token{kind: tokEOF, pos: i}), nil
		}
		start := i
		c := src[i]
		switch {
		case strings.IndexByte(".,()*=;", c) >= 0:
			toks = append(toks, token{tokPunct, src[i : i+1], i})
			i++
		case c == '\'' || c == '"':
			var b strings.Builder
			i++
			for {
				if i == len(src) {
					return nil, &syntaxError{src, start, "unterminated string"}
				}
				if src[i] == '\\' && i+1 < len(src) && src[i+1] == c {
					b.WriteByte(c)
					i += 2
					continue
				}
				if src[i] == c {
					i++
					break
				}
				b.WriteByte(src[i])
				i++
			}
			toks = append(toks, token{tokString, b.String(), start})
		case isDigit(c) || (c == '-' || c == '+') && i+1 < len(src) && isDigit(src[i+1]):
			kind := tokInt
			i++
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			if i+1 < len(src) && src[i] == '.' && isDigit(src[i+1]) {
				kind = tokFloat
				for i++; i < len(src) && isDigit(src[i]); i++ {
				}
			}
			if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
				j := i + 1
				if j < len(src) && (src[j] == '-' || src[j] == '+') {
					j++
				}
				if j < len(src) && isDigit(src[j]) {
					kind = tokFloat
					for i = j; i < len(src) && isDigit(src[i]); i++ {
					}
				}
			}
			toks = append(toks, token{kind, src[start:i], start})
		default:
			r, n := utf8.DecodeRuneInString(src[i:])
			if !isIdentStart(r) {
				return nil, &syntaxError{src, start, fmt.Sprintf("unexpected character %q", r)}
			}
			for i += n; i < len(src); i += n {
				r, n = utf8.DecodeRuneInString(src[i:])
				if !isIdentPart(r) {
					break
				}
			}
			toks = append(toks, token{tokIdent, src[start:i], start})
		}
	}
}

// parser is a recursive-descent parser over one statement's tokens.
type parser struct {
	src  string
	toks []token
	i    int
}

// parseStatement parses one statement (without its terminating ';', though
// one is accepted). An empty statement is (nil, nil).
func parseStatement(src string) (any, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	if toks[0].kind == tokEOF {
		return nil, nil
	}
	p := &parser{src: src, toks: toks}
	st, err := p.statement()
	if err != nil {
		return nil, err
	}
	p.punct(";")
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "expected end of statement, found %s", t.describe())
	}
	return st, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) error {
	return &syntaxError{Src: p.src, Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

// isKeyword reports whether t is the keyword kw (in upper case).
func isKeyword(t token, kw string) bool { return t.kind == tokIdent && strings.EqualFold(t.text, kw) }

// keyword consumes the keyword kw if it comes next.
func (p *parser) keyword(kw string) bool {
	if isKeyword(p.peek(), kw) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectKeyword(kw string) error {
	if !p.keyword(kw) {
		return p.errorf(p.peek(), "expected %s, found %s", kw, p.peek().describe())
	}
	return nil
}

// oneOf consumes one of the keywords kws and returns it in upper case.
func (p *parser) oneOf(kws ...string) (string, error) {
	for _, kw := range kws {
		if p.keyword(kw) {
			return kw, nil
		}
	}
	want := strings.Join(kws[:len(kws)-1], ", ") + " or " + kws[len(kws)-1]
	return "", p.errorf(p.peek(), "expected %s, found %s", want, p.peek().describe())
}

// punct consumes the punctuation s if it comes next.
func (p *parser) punct(s string) bool {
	if t := p.peek(); t.kind == tokPunct && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *parser) expectPunct(s string) error {
	if !p.punct(s) {
		return p.errorf(p.peek(), "expected %q, found %s", s, p.peek().describe())
	}
	return nil
}

// name parses a namespace, set, bin or index name: an identifier, or
// digits for names such as a set called 2024.
func (p *parser) name(what string) (string, error) {
	t := p.peek()
	if t.kind != tokIdent && (t.kind != tokInt || t.text[0] == '-' || t.text[0] == '+') {
		return "", p.errorf(t, "expected %s, found %s", what, t.describe())
	}
	p.i++
	return t.text, nil
}

// nsSet parses ns[.set].
func (p *parser) nsSet() (ns, set string, err error) {
	if ns, err = p.name("a namespace"); err != nil {
		return "", "", err
	}
	if p.punct(".") {
		if set, err = p.name("a set name"); err != nil {
			return "", "", err
		}
	}
	return ns, set, nil
}

func (p *parser) statement() (any, error) {
	t := p.peek()
	verb, err := p.oneOf("INSERT", "SELECT", "DELETE", "SHOW", "CREATE", "DROP", "TRUNCATE", "HELP", "QUIT", "EXIT")
	if err != nil {
		return nil, p.errorf(t, "expected a statement (INSERT, SELECT, DELETE, SHOW, CREATE INDEX, DROP INDEX, TRUNCATE, HELP or QUIT), found %s", t.describe())
	}
	switch verb {
	case "INSERT":
		return p.insert()
	case "SELECT":
		return p.selectStmt()
	case "DELETE":
		return p.delete()
	case "SHOW":
		return p.show()
	case "CREATE":
		return p.createIndex()
	case "DROP":
		return p.dropIndex()
	case "TRUNCATE":
		ns, set, err := p.nsSet()
		if err != nil {
			return nil, err
		}
		return &truncateStmt{NS: ns, Set: set}, nil
	case "HELP":
		return &helpStmt{}, nil
	}
	return &quitStmt{}, nil
}

func (p *parser) insert() (any, error) {
	if err := p.expectKeyword("INTO"); err != nil {
		return nil, err
	}
	st := &insertStmt{}
	var err error
	if st.NS, st.Set, err = p.nsSet(); err != nil {
		return nil, err
	}
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	pk := -1 // position of PK in the column list
	var cols []token
	for {
		t := p.peek()
		if _, err := p.name("a bin name or PK"); err != nil {
			return nil, err
		}
		if isKeyword(t, "PK") {
			if pk >= 0 {
				return nil, p.errorf(t, "PK is listed twice")
			}
			pk = len(cols)
		}
		cols = append(cols, t)
		if !p.punct(",") {
			break
		}
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	if pk < 0 {
		return nil, p.errorf(cols[0], "the column list needs PK, the record's key")
	}
	if len(cols) < 2 {
		return nil, p.errorf(cols[0], "the column list needs at least one bin besides PK")
	}
	if err := p.expectKeyword("VALUES"); err != nil {
		return nil, err
	}
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	for i := 0; ; i++ {
		t := p.peek()
		if i == len(cols) {
			return nil, p.errorf(t, "more values than the %d columns", len(cols))
		}
		if i == pk {
			if st.Key, err = p.key(); err != nil {
				return nil, err
			}
		} else {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			st.Bins = append(st.Bins, cols[i].text)
			st.Values = append(st.Values, v)
		}
		if !p.punct(",") {
			if i+1 < len(cols) {
				return nil, p.errorf(p.peek(), "expected \",\" and a value for column %s, found %s", cols[i+1].text, p.peek().describe())
			}
			break
		}
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return st, nil
}

func (p *parser) selectStmt() (any, error) {
	st := &selectStmt{}
	if !p.punct("*") {
		for {
			bin, err := p.name("* or a bin name")
			if err != nil {
				return nil, err
			}
			st.Bins = append(st.Bins, bin)
			if !p.punct(",") {
				break
			}
		}
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	var err error
	if st.NS, st.Set, err = p.nsSet(); err != nil {
		return nil, err
	}
	if p.keyword("WHERE") {
		if st.Where, err = p.where(); err != nil {
			return nil, err
		}
	}
	if p.keyword("LIMIT") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tokInt || err != nil || n <= 0 {
			return nil, p.errorf(t, "expected a positive integer after LIMIT, found %s", t.describe())
		}
		st.Limit = n
	}
	return st, nil
}

// where parses PK = key, bin = value or bin BETWEEN low AND high.
func (p *parser) where() (*whereClause, error) {
	t := p.peek()
	bin, err := p.name("PK or a bin name")
	if err != nil {
		return nil, err
	}
	if isKeyword(t, "PK") {
		if err := p.expectPunct("="); err != nil {
			return nil, err
		}
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		return &whereClause{Kind: wherePK, Value: k}, nil
	}
	if p.keyword("BETWEEN") {
		low, err := p.int64()
		if err != nil {
			return nil, err
		}
		if err := p.expectKeyword("AND"); err != nil {
			return nil, err
		}
		high, err := p.int64()
		if err != nil {
			return nil, err
		}
		return &whereClause{Kind: whereBetween, Bin: bin, Low: low, High: high}, nil
	}
	if !p.punct("=") {
		return nil, p.errorf(p.peek(), "expected \"=\" or BETWEEN, found %s", p.peek().describe())
	}
	v := p.peek()
	switch v.kind {
	case tokInt:
		n, err := p.int64()
		if err != nil {
			return nil, err
		}
		return &whereClause{Kind: whereEqual, Bin: bin, Value: n}, nil
	case tokString:
		p.i++
		return &whereClause{Kind: whereEqual, Bin: bin, Value: v.text}, nil
	}
	return nil, p.errorf(v, "expected an integer or a string to compare %s with, found %s", bin, v.describe())
}

func (p *parser) int64() (int64, error) {
	t := p.next()
	if t.kind != tokInt {
		return 0, p.errorf(t, "expected an integer, found %s", t.describe())
	}
	n, err := strconv.ParseInt(t.text, 10, 64)
	if err != nil {
		return 0, p.errorf(t, "integer %s is out of range", t.text)
	}
	return n, nil
}

// key parses a record key: an integer, a string or a BLOB.
func (p *parser) key() (any, error) {
	t := p.peek()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	switch v.(type) {
	case int64, string, []byte:
		return v, nil
	}
	return nil, p.errorf(t, "a key is an integer, a string or a BLOB, not %s", t.describe())
}

// value parses a bin value.
func (p *parser) value() (any, error) {
	t := p.next()
	switch t.kind {
	case tokInt:
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return nil, p.errorf(t, "integer %s is out of range", t.text)
		}
		return n, nil
	case tokFloat:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, p.errorf(t, "float %s is out of range", t.text)
		}
		return f, nil
	case tokString:
		return t.text, nil
	case tokIdent:
		switch strings.ToUpper(t.text) {
		case "TRUE":
			return true, nil
		case "FALSE":
			return false, nil
		case "NULL":
			return nil, nil
		case "JSON", "LIST", "MAP", "GEOJSON", "BLOB":
			return p.typedValue(t)
		}
	}
	return nil, p.errorf(t, "expected a value (a number, a 'string', TRUE, FALSE, NULL, JSON(), LIST(), MAP(), GEOJSON() or BLOB()), found %s", t.describe())
}

// typedValue parses the rest of FUNC('text') after FUNC.
func (p *parser) typedValue(fn token) (any, error) {
	kind := strings.ToUpper(fn.text)
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	t := p.next()
	if t.kind != tokString {
		return nil, p.errorf(t, "expected a quoted string in %s(), found %s", kind, t.describe())
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	if kind == "BLOB" {
		b, err := hex.DecodeString(t.text)
		if err != nil {
			return nil, p.errorf(t, "BLOB(): %v", err)
		}
		return b, nil
	}
	v, err := parseJSON(t.text)
	if err != nil {
		return nil, p.errorf(t, "%s(): %v", kind, err)
	}
	switch v.(type) {
	case []any:
		if kind == "LIST" || kind == "JSON" {
			return v, nil
		}
	case map[string]any:
		switch kind {
		case "MAP", "JSON":
			return v, nil
		case "GEOJSON":
			return as.NewGeoJSONValue(t.text), nil
		}
	}
	want := map[string]string{"JSON": "a [list] or a {map}", "LIST": "a [list]", "MAP": "a {map}", "GEOJSON": "a {GeoJSON object}"}[kind]
	return nil, p.errorf(t, "%s() takes %s", kind, want)
}

// parseJSON decodes one JSON value, with integers as int64 and other
// numbers as float64.
func parseJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON: text after the value")
	}
	return jsonNumbers(v), nil
}

func jsonNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = jsonNumbers(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = jsonNumbers(v[k])
		}
	}
	return v
}

func (p *parser) delete() (any, error) {
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	st := &deleteStmt{}
	var err error
	if st.NS, st.Set, err = p.nsSet(); err != nil {
		return nil, err
	}
	if err := p.expectKeyword("WHERE"); err != nil {
		return nil, err
	}
	if err := p.expectKeyword("PK"); err != nil {
		return nil, err
	}
	if err := p.expectPunct("="); err != nil {
		return nil, err
	}
	if st.Key, err = p.key(); err != nil {
		return nil, err
	}
	return st, nil
}

func (p *parser) show() (any, error) {
	what, err := p.oneOf("NAMESPACES", "SETS", "BINS", "INDEXES", "SCANS", "QUERIES", "JOBS")
	if err != nil {
		return nil, err
	}
	st := &showStmt{What: strings.ToLower(what)}
	if p.peek().kind == tokIdent && (what == "SETS" || what == "BINS" || what == "INDEXES") {
		st.NS = p.next().text
	}
	return st, nil
}

func (p *parser) createIndex() (any, error) {
	if err := p.expectKeyword("INDEX"); err != nil {
		return nil, err
	}
	st := &createIndexStmt{}
	var err error
	if st.Name, err = p.name("an index name"); err != nil {
		return nil, err
	}
	if err := p.expectKeyword("ON"); err != nil {
		return nil, err
	}
	if st.NS, st.Set, err = p.nsSet(); err != nil {
		return nil, err
	}
	if err := p.expectPunct("("); err != nil {
		return nil, err
	}
	if st.Bin, err = p.name("a bin name"); err != nil {
		return nil, err
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	typ, err := p.oneOf("NUMERIC", "STRING", "GEO2DSPHERE")
	if err != nil {
		return nil, err
	}
	st.Type = map[string]as.IndexType{"NUMERIC": as.NUMERIC, "STRING": as.STRING, "GEO2DSPHERE": as.GEO2DSPHERE}[typ]
	return st, nil
}

func (p *parser) dropIndex() (any, error) {
	if err := p.expectKeyword("INDEX"); err != nil {
		return nil, err
	}
	st := &dropIndexStmt{}
	var err error
	if st.NS, st.Set, err = p.nsSet(); err != nil {
		return nil, err
	}
	if st.Name, err = p.name("an index name"); err != nil {
		return nil, err
	}
	return st, nil
}

// splitter cuts input into statements: a statement ends at a ';' or at the
// end of a line, outside quotes; a line that ends inside a quoted string
// continues on the next. "--" after a blank or at the start of a line
// begins a comment that runs to the end of the line.
type splitter struct {
	buf   bytes.Buffer
	quote byte // the open quote character, or 0
}

// line takes one line of input (without its newline) and returns the
// statements it completes, trimmed and non-empty.
func (s *splitter) line(text string) []string {
	var out []string
	emit := func() {
		if st := strings.TrimSpace(s.buf.String()); st != "" {
			out = append(out, st)
		}
		s.buf.Reset()
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case s.quote != 0:
			if c == '\\' && i+1 < len(text) && text[i+1] == s.quote {
				s.buf.WriteByte(c)
				i++
				c = text[i]
			} else if c == s.quote {
				s.quote = 0
			}
		case c == '\'' || c == '"':
			s.quote = c
		case c == ';':
			emit()
			continue
		case c == '-' && strings.HasPrefix(text[i:], "--") && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
			i = len(text)
			continue
		}
		s.buf.WriteByte(c)
	}
	if s.quote != 0 {
		s.buf.WriteByte('\n')
		return out
	}
	emit()
	return out
}

// pending reports whether a statement continues on the next line.
func (s *splitter) pending() bool { return s.quote != 0 }

// end returns what is left at the end of the input: a statement with an
// unterminated string, which the parser then reports.
func (s *splitter) end() string {
	st := strings.TrimSpace(s.buf.String())
	s.buf.Reset()
	s.quote = 0
	return st
}
