package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

func TestInfoCommand(t *testing.T) {
	port := strconv.Itoa(startBenchNode(t))
	var stdout, stderr bytes.Buffer
	if code := run([]string{"info", "-p", port, "namespaces", "build"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got := stdout.String(); got != "namespaces:\ntest\nbuild:\n7.2.0.0\n" {
		t.Fatalf("output %q", got)
	}

	stdout.Reset()
	if code := run([]string{"info", "-p", port}, &stdout, &stderr); code != 0 || stdout.String() != "ok\n" {
		t.Fatalf("default command: exit %d, %q", code, stdout.String())
	}

	stdout.Reset()
	if code := run([]string{"info", "-p", port, "namespace/nosuch"}, &stdout, &stderr); code != 1 || !strings.HasPrefix(stdout.String(), "ERROR:20:") {
		t.Fatalf("error reply: exit %d, %q", code, stdout.String())
	}

	stderr.Reset()
	if code := run([]string{"info", "-p", "1", "-t", "1s", "status"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "connect to 127.0.0.1:1") {
		t.Fatalf("no node: exit %d, %q", code, stderr.String())
	}
	if code := run([]string{"nosuch"}, &stdout, &stderr); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
}
