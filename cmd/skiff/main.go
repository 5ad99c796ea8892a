// Command skiff is the operator's tool for a Skiff node.
//
//	skiff info [-h HOST] [-p PORT] [-t TIMEOUT] [COMMAND ...]
//
// info sends info commands (as asinfo does) and prints each reply; with
// several commands each reply is preceded by its command. Without a command
// it asks for "status".
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/skiffdb/skiff/internal/sysmon"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "bench" || os.Args[1] == "device-test") {
		// A load generator should take as little CPU as it can from what it
		// measures, which may share its cores: see package sysmon.
		if err := sysmon.Reexec(); err != nil {
			fmt.Fprintln(os.Stderr, "skiff: warning:", err)
		}
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: skiff COMMAND [ARGS]

commands:
  info [-h HOST] [-p PORT] [-t TIMEOUT] [INFO-COMMAND ...]
        send info commands to a node and print the replies
  bench [-h HOST] [-p PORT] [-c CONC] [-k KEYS] [-v SIZE] [-r READ%] [-d DUR] [-json] ...
        drive a node with the official client and report throughput and latency
  shell [-h HOST] [-p PORT] [-t TIMEOUT] [-e STATEMENT]
        run aql-style statements (INSERT, SELECT, DELETE, SHOW, TRUNCATE...)
  device-test [-d DUR] [-read-rate N] [-write-rate N] [-record-bytes N] ... PATH
        certify a device or file (ACT's role): random reads and sequential
        block writes with O_DIRECT; latency histogram and PASS/FAIL
  udf build DIR [-o OUT.wasm]
        build a WebAssembly UDF module: a Go package (sdk/udf) or one .wat file
  aggregate [-h HOST] [-p PORT] -n NS [-s SET] [-where COND] MODULE NAME [ARG ...]
        run a UDF aggregation on a node and print its values as JSON
  xdr stats|rewind [-h HOST] [-p PORT] -dc DC [-n NAMESPACE] [-s SET]
        show a node's replication figures for a dc, or re-ship a namespace
        (or one of its sets) to it
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "info":
		return runInfo(args[1:], stdout, stderr)
	case "bench":
		return runBench(args[1:], stdout, stderr)
	case "shell":
		return runShell(args[1:], os.Stdin, stdout, stderr)
	case "device-test":
		return runDeviceTest(args[1:], stdout, stderr)
	case "udf":
		return runUDF(args[1:], stdout, stderr)
	case "aggregate":
		return runAggregate(args[1:], stdout, stderr)
	case "xdr":
		return runXDR(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "skiff: unknown command %q\n%s", args[0], usage)
	return 2
}

func runInfo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("h", "127.0.0.1", "node `host`")
	port := fs.Int("p", 3000, "node service `port`")
	timeout := fs.Duration("t", 5*time.Second, "`timeout` for the whole exchange")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cmds := fs.Args()
	if len(cmds) == 0 {
		cmds = []string{"status"}
	}
	replies, err := requestInfo(*host, *port, *timeout, cmds)
	if err != nil {
		fmt.Fprintln(stderr, "skiff info:", err)
		return 1
	}
	status := 0
	for _, cmd := range cmds {
		v, ok := replies[cmd]
		if len(cmds) > 1 {
			fmt.Fprintf(stdout, "%s:\n", cmd)
		}
		if !ok {
			fmt.Fprintf(stderr, "skiff info: no reply for %q\n", cmd)
			status = 1
			continue
		}
		fmt.Fprintln(stdout, v)
		if strings.HasPrefix(v, "ERROR") {
			status = 1
		}
	}
	return status
}
