package main

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/skiffdb/skiff/core/config"
)

func TestXDRCommand(t *testing.T) {
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server did not start")
	}
	cfg := config.Default()
	cfg.Service.NodeID = "A1"
	for _, ns := range cfg.Namespaces {
		ns.Storage.Mode = config.ModeInProcess
	}
	cfg.XDR = []*config.DC{{Name: "hub", URLs: []string{s.ClientURL()}, Mode: config.ModeInProcess, Settings: map[string]string{},
		Namespaces: []*config.XDRNamespace{{Name: "test", BinPolicy: "all", ConflictResolution: "last-update-time", QueueLimit: 1024}}}}
	port := strconv.Itoa(startConfiguredNode(t, cfg))

	skiff := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"xdr"}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := skiff("stats", "-p", port, "-dc", "hub")
	if code != 0 || !strings.Contains(out, "\nconnected=1\n") || !strings.HasPrefix(out, "success=0\n") {
		t.Fatalf("stats: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut = skiff("rewind", "-p", port, "-dc", "hub", "-n", "test", "-s", "users"); code != 0 || out != "ok\n" {
		t.Fatalf("rewind: exit %d\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: skiff xdr stats|rewind"},
		{[]string{"stats"}, 2, "-dc is required"},
		{[]string{"rewind", "-dc", "hub"}, 2, "-n NAMESPACE is required"},
		{[]string{"stats", "-dc", "hub", "-s", "x"}, 2, "-s applies to rewind only"},
		{[]string{"stats", "-p", port, "-dc", "nowhere"}, 1, `no xdr dc "nowhere"`},
		{[]string{"stats", "-p", strconv.Itoa(closedPort(t)), "-dc", "hub"}, 1, "skiff xdr stats:"},
	} {
		code, _, errOut := skiff(tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("skiff xdr %v: exit %d, %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
