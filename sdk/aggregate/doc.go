// Package aggregate runs a WebAssembly UDF aggregation on Skiff nodes with
// the official Aerospike Go client (github.com/aerospike/aerospike-client-go/v8)
// and returns the values it produces.
//
// # Why it exists
//
// The client's QueryAggregate is built for Lua: it runs the aggregation's
// final reduce on the client, in a Lua interpreter, over the values the
// nodes send, and so needs the module's Lua source. A Skiff module is
// WebAssembly and the node runs the whole aggregation — filter, map and
// reduce, see sdk/udf/abi.md, "Aggregations" — so the client has nothing
// left to do but read the values. The client can do that with a plain
// Query whose statement carries the aggregation
// (Statement.SetAggregateFunction): each value leaving the aggregation
// arrives as a record whose bin SUCCESS holds it. A failed aggregation
// arrives as a record whose bin FAILURE holds the message, and the node
// then ends its reply with result code UDF_BAD_RESPONSE. This package
// does that reading, and turns a FAILURE into an error.
//
// # Basics
//
//	stmt := as.NewStatement("test", "orders")
//	total, err := aggregate.Reduce(client, nil, stmt, "aggregate", "sum", as.StringValue("amount"))
//
// Run returns every value in the order received: with a reduce function,
// one value per node (none from a node that matched no record); without
// one, one value per mapped record. Reduce expects at most one value and
// returns it, or nil when no record matched.
//
// A statement with a Filter runs the aggregation over a secondary-index
// query; without one, over a scan of the namespace or set.
//
// # Caveats
//
// With several nodes each node reduces only its own records and sends its
// own reduced value: nothing combines them. Skiff runs one node per
// sidecar, so a client normally talks to one node; against a cluster of
// several, use Run and combine the values as the module's reduce does.
// Reduce refuses more than one value, saying whether they came from
// several nodes or from an aggregation without a reduce function.
//
// Values are as the client decodes bins: nil, bool, int (integers),
// float64, string, []byte, []any (lists), map[any]any (maps), and the
// client's GeoJSON and HLL types.
package aggregate
