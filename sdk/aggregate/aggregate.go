package aggregate

import (
	"fmt"
	"strings"

	as "github.com/aerospike/aerospike-client-go/v8"
)

// Bins of the records that carry an aggregation's output.
const (
	binSuccess = "SUCCESS" // a value leaving the aggregation
	binFailure = "FAILURE" // the message of a failed aggregation
)

// Error is an aggregation that failed on a node: the node sent a record
// whose bin FAILURE holds Message, such as "aggregate.sum:map: ...".
type Error struct {
	Module, Name string // the aggregation, as passed to Run or Reduce
	Message      string // the node's FAILURE message
	// Err is the error that ended the node's reply: the client's
	// *as.AerospikeError with result code UDF_BAD_RESPONSE, which
	// errors.As finds through Unwrap. It is nil if the reply ended
	// without one.
	Err error
}

// Error is "aggregate MODULE.NAME: MESSAGE", or "aggregate MESSAGE" when
// the message names the aggregation itself, as Skiff's do
// ("aggregate.sum:map: ...").
func (e *Error) Error() string {
	if strings.HasPrefix(e.Message, e.Module+"."+e.Name+":") {
		return "aggregate " + e.Message
	}
	return fmt.Sprintf("aggregate %s.%s: %s", e.Module, e.Name, e.Message)
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Run runs the aggregation name of the UDF module over the records stmt
// selects, with args as the caller's arguments of its filter, map and
// reduce, and returns every value the nodes send, in the order received
// (see the package documentation). A nil policy is the client's default.
//
// stmt is not changed: the query runs a copy of it carrying the
// aggregation. A failed aggregation is an *Error; any other failure of the
// query is the client's error wrapped with the aggregation's name.
func Run(c *as.Client, policy *as.QueryPolicy, stmt *as.Statement, module, name string, args ...as.Value) ([]any, error) {
	var out []any
	err := query(c, policy, stmt, module, name, args, func(v any, _ *as.Node) {
		out = append(out, v)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Reduce runs the aggregation like Run and returns its single value: nil
// when no record matched. More than one value is an error, which says
// whether the aggregation has no reduce function or several nodes each
// sent their own (use Run for either).
func Reduce(c *as.Client, policy *as.QueryPolicy, stmt *as.Statement, module, name string, args ...as.Value) (any, error) {
	var (
		first any
		n     int
		nodes = map[*as.Node]bool{}
	)
	err := query(c, policy, stmt, module, name, args, func(v any, node *as.Node) {
		if n == 0 {
			first = v
		}
		n++
		nodes[node] = true
	})
	switch {
	case err != nil:
		return nil, err
	case n > 1 && len(nodes) > 1:
		return nil, fmt.Errorf("aggregate %s.%s: %d values from %d nodes, each node's own reduction: use Run and combine them", module, name, n, len(nodes))
	case n > 1:
		return nil, fmt.Errorf("aggregate %s.%s: the node sent %d values, not one: the aggregation has no reduce function (%s:reduce); use Run", module, name, n, name)
	}
	return first, nil
}

// query runs the aggregation and passes each value, with the node that
// sent it, to emit.
func query(c *as.Client, policy *as.QueryPolicy, stmt *as.Statement, module, name string, args []as.Value, emit func(v any, node *as.Node)) error {
	s := *stmt
	s.SetAggregateFunction(module, name, args, true)
	rs, err := c.Query(policy, &s)
	if err != nil {
		return wrapQueryError(module, name, err)
	}
	defer rs.Close()

	var failure *Error
	for res := range rs.Results() {
		if res.Err != nil {
			if failure != nil {
				failure.Err = res.Err
				return failure
			}
			return wrapQueryError(module, name, res.Err)
		}
		bins := res.Record.Bins
		if msg, ok := bins[binFailure]; ok {
			if failure == nil {
				failure = &Error{Module: module, Name: name, Message: fmt.Sprint(msg)}
			}
			continue
		}
		v, ok := bins[binSuccess]
		if !ok {
			return fmt.Errorf("aggregate %s.%s: the node sent a record without bin %s or %s: it did not run the aggregation", module, name, binSuccess, binFailure)
		}
		if failure != nil {
			continue // the values of a failed aggregation are not its output
		}
		emit(v, res.Record.Node)
	}
	if failure != nil {
		return failure
	}
	return nil
}

// wrapQueryError adds the aggregation's name to a query's error.
func wrapQueryError(module, name string, err as.Error) error {
	return fmt.Errorf("aggregate %s.%s: %w", module, name, err)
}
