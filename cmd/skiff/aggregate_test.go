package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/nodetest"
)

// TestAggregateAgainstNode runs skiff aggregate with the aggregations of
// examples/udf/aggregate, built once with skiff udf build's builder, on a
// node in this process.
func TestAggregateAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node and builds a module")
	}
	port := startUDFNode(t)
	cp := as.NewClientPolicy()
	cp.Timeout = 5 * time.Second
	c, aerr := as.NewClientWithPolicy(cp, "127.0.0.1", port)
	if aerr != nil {
		t.Fatal(aerr)
	}
	defer c.Close()

	wasm, err := buildUDF("../../examples/udf/aggregate", filepath.Join(t.TempDir(), "aggregate.wasm"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	content, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	wp := as.NewWritePolicy(0, 0)
	wp.TotalTimeout = time.Minute // compiling takes seconds under -race
	task, aerr := c.RegisterUDF(wp, content, "aggregate.wasm", as.Language("WASM"))
	if aerr != nil {
		t.Fatal(aerr)
	}
	if err := <-task.OnComplete(); err != nil {
		t.Fatal(err)
	}
	// orders: amount 0..99; every fourth record pending, the rest done.
	for i := range 100 {
		status := "done"
		if i%4 == 0 {
			status = "pending"
		}
		k, _ := as.NewKey("test", "orders", i)
		if err := c.Put(nil, k, as.BinMap{"amount": i, "status": status}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ix := range []struct {
		name, bin string
		typ       as.IndexType
	}{{"orders_amount", "amount", as.NUMERIC}, {"orders_status", "status", as.STRING}} {
		task, err := c.CreateIndex(nil, "test", "orders", ix.name, ix.bin, ix.typ)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-task.OnComplete(); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		out, inErr string
	}{
		{"Sum", []string{"-s", "orders", "aggregate", "sum", `"amount"`}, 0, "4950\n", ""},
		{"CountBy", []string{"-s", "orders", "aggregate", "count_by", `"status"`}, 0, `{"done":75,"pending":25}` + "\n", ""},
		{"Between", []string{"-s", "orders", "-where", "amount BETWEEN 10 AND 19", "aggregate", "sum", `"amount"`}, 0, "145\n", ""},
		{"EqualString", []string{"-s", "orders", "-where", "WHERE status = 'pending'", "aggregate", "count_by", `"status"`}, 0, `{"pending":25}` + "\n", ""},
		{"IntegerKeys", []string{"-s", "orders", "-where", "amount BETWEEN 1 AND 3", "aggregate", "count_by", `"amount"`}, 0, `{"1":1,"2":1,"3":1}` + "\n", ""},
		{"NoReduce", []string{"-s", "orders", "-where", "amount = 7", "aggregate", "undefined"}, 0, `{"amount":7,"status":"done"}` + "\n", ""},
		{"NoRecords", []string{"-s", "empty", "aggregate", "sum", `"amount"`}, 0, "", ""},
		{"Failure", []string{"-s", "orders", "aggregate", "sum", "1"}, 1, "", "skiff aggregate: aggregate aggregate.sum:filter: the bin name is a int64, not a string\n"},
		{"UnknownModule", []string{"-s", "orders", "nosuch", "sum", `"amount"`}, 1, "", "skiff aggregate: aggregate nosuch.sum: no such UDF module\n"},
		{"NoIndex", []string{"-s", "orders", "-where", "nobin = 1", "aggregate", "sum", `"amount"`}, 1, "", "skiff aggregate: aggregate aggregate.sum: (-16) Max retries exceeded: 5, each failing with (201) Index not found\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-p", strconv.Itoa(port), "-n", "test"}, tc.args...)
			code := run(append([]string{"aggregate"}, args...), &stdout, &stderr)
			if code != tc.code || stdout.String() != tc.out || !strings.HasPrefix(stderr.String(), tc.inErr) || (tc.inErr == "") != (stderr.Len() == 0) {
				t.Fatalf("skiff aggregate %q: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d, stdout:\n%s\nstderr starting:\n%s",
					args, code, &stdout, &stderr, tc.code, tc.out, tc.inErr)
			}
		})
	}
}

// TestAggregateUsage checks the command line's errors, which need no node.
func TestAggregateUsage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		inErr string
	}{
		{"NoNamespace", []string{"aggregate", "sum"}, 2, "-n NAMESPACE is required"},
		{"NoName", []string{"-n", "test", "aggregate"}, 2, `want MODULE and NAME after the flags, got ["aggregate"]`},
		{"BareString", []string{"-n", "test", "aggregate", "sum", "amount"}, 2, `argument 1, amount, is not a JSON value (write a string in double quotes, as '"amount"')`},
		{"FlagAfterModule", []string{"-n", "test", "aggregate", "sum", `"amount"`, "-s", "x"}, 2, "argument 2, -s, is not a JSON value (flags go before MODULE)"},
		{"BadFlag", []string{"-x", "-n", "test", "aggregate", "sum"}, 2, "flag provided but not defined: -x"},
		{"BadWhere", []string{"-n", "test", "-where", "amount >", "aggregate", "sum"}, 2, "skiff aggregate: -where: syntax error at column 8: unexpected character '>'\n  amount >\n         ^\n"},
		{"WhereTrailing", []string{"-n", "test", "-where", "a = 1 LIMIT 2", "aggregate", "sum"}, 2, `skiff aggregate: -where: syntax error at column 7: expected end of condition, found "LIMIT"`},
		{"WherePK", []string{"-n", "test", "-where", "PK = 1", "aggregate", "sum"}, 2, "skiff aggregate: -where: PK = key reads one record"},
		{"NoNode", []string{"-p", strconv.Itoa(closedPort(t)), "-t", "1s", "-n", "test", "aggregate", "sum"}, 1, "skiff aggregate: connect to 127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"aggregate"}, tc.args...), &stdout, &stderr)
			if code != tc.code || stdout.Len() != 0 || !strings.Contains(stderr.String(), tc.inErr) {
				t.Fatalf("skiff aggregate %q: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit %d and stderr holding:\n%s",
					tc.args, code, &stdout, &stderr, tc.code, tc.inErr)
			}
		})
	}
}

func TestAggregateJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"Scalars", []any{nil, true, 1, 2.5, "s"}, `[null,true,1,2.5,"s"]`},
		{"NonStringKeys", map[any]any{1: "a", 2.5: []any{"b"}, "c": map[any]any{true: 1}}, `{"1":"a","2.5":["b"],"c":{"true":1}}`},
		{"Bytes", map[any]any{"b": []byte{0, 0xff}, "h": as.HLLValue{1}}, `{"b":"00ff","h":"01"}`},
		{"GeoJSON", as.GeoJSONValue(`{"type":"Point","coordinates":[1,2]}`), `{"type":"Point","coordinates":[1,2]}`},
		{"NotHTMLEscaped", "<a&b>", `"<a&b>"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := marshalValue(tc.v)
			if err != nil || string(b) != tc.want {
				t.Fatalf("marshalValue(%#v) = %s, %v; want %s", tc.v, b, err, tc.want)
			}
		})
	}
}

// startUDFNode starts a node with the default configuration on a free
// loopback port, its namespaces linked in and its modules in a temporary
// directory, and stops it when the test ends.
func startUDFNode(t *testing.T) int {
	t.Helper()
	cfg := config.Default()
	cfg.UDF.UserPath = t.TempDir()
	for _, ns := range cfg.Namespaces {
		ns.Storage.Mode = config.ModeInProcess
	}
	return startConfiguredNode(t, cfg)
}

// startConfiguredNode runs a node with cfg on 127.0.0.1, a free service
// port and no admin port, until the test ends, and returns its port.
func startConfiguredNode(t *testing.T, cfg *config.Config) int {
	t.Helper()
	cfg.Network.Service = config.Endpoint{Address: "127.0.0.1", Port: 0}
	cfg.Network.Admin = config.Endpoint{Address: "127.0.0.1", Port: 0}
	return nodetest.Start(t, cfg).Service.Port
}
