package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/sdk/aggregate"
)

const aggregateUsage = `usage: skiff aggregate [-h HOST] [-p PORT] [-t TIMEOUT] -n NAMESPACE [-s SET]
                      [-where 'bin = value' | -where 'bin BETWEEN low AND high']
                      MODULE NAME [ARG ...]

Run the aggregation NAME of the WebAssembly UDF module MODULE (its
NAME:filter, NAME:map and NAME:reduce) on a node: over a scan of the
namespace or set, or with -where over a secondary-index query (the bin
needs an index). Each value the aggregation returns is printed as JSON, one
per line: with a reduce function one value (none when no record matched),
without one a value per record. Map keys that are not strings are written
as their text; bytes as a hex string.

Each ARG is a JSON value passed to the aggregation's functions: 12, -3,
1.5, true, null, [1, "a"], {"k": 1}, or a string in double quotes, which
the shell needs quoted again: '"status"'. Flags go before MODULE.

  skiff aggregate -n test -s orders aggregate count_by '"status"'
  skiff aggregate -n test -s orders -where 'amount BETWEEN 10 AND 99' aggregate sum '"amount"'

flags:
`

func runAggregate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aggregate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, aggregateUsage)
		fs.PrintDefaults()
	}
	host := fs.String("h", "127.0.0.1", "node `host`")
	port := fs.Int("p", 3000, "node service `port`")
	timeout := fs.Duration("t", 5*time.Second, "`timeout` of connecting and of each wait for the node")
	ns := fs.String("n", "", "`namespace` (required)")
	set := fs.String("s", "", "`set` (default: the whole namespace)")
	where := fs.String("where", "", "secondary-index `condition`: bin = value, or bin BETWEEN low AND high")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageError := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "skiff aggregate: "+format+"\n", a...)
		fmt.Fprintln(stderr, "run skiff aggregate -help for the usage")
		return 2
	}
	if *ns == "" {
		return usageError("-n NAMESPACE is required")
	}
	if fs.NArg() < 2 {
		return usageError("want MODULE and NAME after the flags, got %q", fs.Args())
	}
	module, name := fs.Arg(0), fs.Arg(1)
	udfArgs, err := parseAggregateArgs(fs.Args()[2:])
	if err != nil {
		return usageError("%v", err)
	}
	stmt := as.NewStatement(*ns, *set)
	if *where != "" {
		filter, err := parseAggregateWhere(*where)
		if err != nil {
			fmt.Fprintf(stderr, "skiff aggregate: -where: %v\n", err)
			var se *syntaxError
			if errors.As(err, &se) {
				fmt.Fprintln(stderr, se.caret())
			}
			return 2
		}
		stmt.Filter = filter
	}

	cp := as.NewClientPolicy()
	cp.Timeout = *timeout
	c, aerr := as.NewClientWithPolicy(cp, *host, *port)
	if aerr != nil {
		_, msg := aerospikeError(aerr)
		fmt.Fprintf(stderr, "skiff aggregate: connect to %s:%d: %s\n", *host, *port, msg)
		return 1
	}
	defer c.Close()
	// An aggregation may run long: no total timeout, but each wait for
	// the node is bounded.
	qp := as.NewQueryPolicy()
	qp.TotalTimeout = 0
	qp.SocketTimeout = *timeout
	values, err := aggregate.Run(c, qp, stmt, module, name, udfArgs...)
	if err != nil {
		fmt.Fprintln(stderr, "skiff aggregate:", aggregateErrorText(err))
		return 1
	}
	for _, v := range values {
		b, err := marshalValue(v)
		if err != nil {
			fmt.Fprintf(stderr, "skiff aggregate: value %v: %v\n", v, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", b)
	}
	return 0
}

// parseAggregateArgs turns the command line's ARGs, JSON values, into the
// aggregation's arguments: integral numbers become integers.
func parseAggregateArgs(args []string) ([]as.Value, error) {
	values := make([]as.Value, len(args))
	for i, a := range args {
		v, err := parseJSON(a)
		if err != nil {
			hint := "write a string in double quotes, as '\"" + a + "\"'"
			if strings.HasPrefix(a, "-") {
				hint = "flags go before MODULE"
			}
			return nil, fmt.Errorf("argument %d, %s, is not a JSON value (%s): %v", i+1, a, hint, err)
		}
		values[i] = as.NewValue(v)
	}
	return values, nil
}

// parseAggregateWhere parses -where with the shell's grammar for WHERE
// (an optional WHERE keyword first) into a secondary-index filter.
func parseAggregateWhere(src string) (*as.Filter, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	p.keyword("WHERE")
	w, err := p.where()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errorf(t, "expected end of condition, found %s", t.describe())
	}
	switch w.Kind {
	case whereEqual:
		return as.NewEqualFilter(w.Bin, w.Value), nil
	case whereBetween:
		return as.NewRangeFilter(w.Bin, w.Low, w.High), nil
	}
	return nil, errors.New("PK = key reads one record; an aggregation runs over a scan or a secondary-index query (bin = value, bin BETWEEN low AND high)")
}

// aggregateErrorText is the message of a failed aggregation: the module's
// own message for an *aggregate.Error, else the client's error without
// its retry and node details.
func aggregateErrorText(err error) string {
	var ae *aggregate.Error
	if errors.As(err, &ae) {
		return ae.Error()
	}
	var cerr *as.AerospikeError
	if errors.As(err, &cerr) {
		// The context aggregate adds comes before the client's error.
		context, _, found := strings.Cut(err.Error(), cerr.Error())
		if !found {
			context = ""
		}
		code, msg := aerospikeError(err)
		// The client retries some refusals, such as a query on a bin
		// without an index, and then reports the retries, not the refusal.
		var cause *as.AerospikeError
		if code == types.MAX_RETRIES_EXCEEDED && errors.As(cerr.Unwrap(), &cause) {
			causeCode, causeMsg := aerospikeError(cause)
			msg += fmt.Sprintf(", each failing with (%d) %s", causeCode, causeMsg)
		}
		return fmt.Sprintf("%s(%d) %s", context, code, msg)
	}
	return err.Error()
}

// marshalValue writes an aggregation's value as JSON, without HTML
// escapes. Map keys that are not strings are written with fmt, bytes as
// hex and GeoJSON as itself.
func marshalValue(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(jsonValue(v)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func jsonValue(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			ks, ok := k.(string)
			if !ok {
				ks = fmt.Sprint(jsonValue(k))
			}
			out[ks] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonValue(e)
		}
		return out
	case []byte:
		return hex.EncodeToString(v)
	case as.HLLValue:
		return hex.EncodeToString(v)
	case as.GeoJSONValue:
		if json.Valid([]byte(v)) {
			return json.RawMessage(v)
		}
		return string(v)
	}
	return v
}
