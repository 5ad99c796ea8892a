package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// runXDR serves skiff xdr stats and skiff xdr rewind: info commands of a
// node's replication, with flags instead of their key=value syntax.
func runXDR(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "stats" && args[0] != "rewind") {
		fmt.Fprint(stderr, "usage: skiff xdr stats|rewind [-h HOST] [-p PORT] -dc DC [-n NAMESPACE] [-s SET]\n")
		return 2
	}
	sub := args[0]
	fs := flag.NewFlagSet("xdr "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("h", "127.0.0.1", "node `host`")
	port := fs.Int("p", 3000, "node service `port`")
	timeout := fs.Duration("t", 5*time.Second, "`timeout` for the whole exchange")
	dc := fs.String("dc", "", "the xdr `dc` block's name")
	ns := fs.String("n", "", "`namespace` (required for rewind)")
	set := fs.String("s", "", "rewind only this `set`")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "skiff xdr %s: unexpected %q\n", sub, fs.Arg(0))
		return 2
	case *dc == "":
		fmt.Fprintf(stderr, "skiff xdr %s: -dc is required\n", sub)
		return 2
	case sub == "rewind" && *ns == "":
		fmt.Fprintln(stderr, "skiff xdr rewind: -n NAMESPACE is required")
		return 2
	case sub == "stats" && *set != "":
		fmt.Fprintln(stderr, "skiff xdr stats: -s applies to rewind only")
		return 2
	}
	cmd := "get-stats:context=xdr;dc=" + *dc
	if sub == "rewind" {
		cmd = "xdr-rewind:dc=" + *dc
	}
	if *ns != "" {
		cmd += ";namespace=" + *ns
	}
	if *set != "" {
		cmd += ";set=" + *set
	}
	replies, err := requestInfo(*host, *port, *timeout, []string{cmd})
	if err != nil {
		fmt.Fprintf(stderr, "skiff xdr %s: %v\n", sub, err)
		return 1
	}
	reply := replies[cmd]
	if strings.HasPrefix(reply, "ERROR:") {
		fmt.Fprintf(stderr, "skiff xdr %s: %s\n", sub, reply)
		return 1
	}
	if sub == "stats" {
		// One figure a line reads better than the info form.
		reply = strings.ReplaceAll(reply, ";", "\n")
	}
	fmt.Fprintln(stdout, reply)
	return 0
}
