package core_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core/config"
)

// configValue is one setting of a get-config answer.
func configValue(t testing.TB, c *as.Client, cmd, name string) string {
	t.Helper()
	for _, kv := range strings.Split(info(t, c, cmd), ";") {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	t.Fatalf("%s: no %s in %q", cmd, name, info(t, c, cmd))
	return ""
}

// TestGetConfig reads each context of the settings in effect.
func TestGetConfig(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	for _, tc := range []struct{ cmd, name, want string }{
		{"get-config", "proto-fd-max", "15000"},
		{"get-config:context=service", "proto-max-size", strconv.Itoa(128 << 20)},
		{"get-config:context=network", "service.port", strconv.Itoa(n.Service.Port)},
		{"get-config:context=namespace;id=test", "default-ttl", strconv.Itoa(30 * 86400)},
		{"get-config:context=namespace;namespace=test", "storage-engine", "memory"},
		{"get-config:context=namespace;id=test", "storage-engine.data-size", strconv.Itoa(4 << 30)},
		{"get-config:context=mod-udf", "max-call-ms", "100"},
	} {
		if got := configValue(t, c, tc.cmd, tc.name); got != tc.want {
			t.Errorf("%s: %s=%s, want %s", tc.cmd, tc.name, got, tc.want)
		}
	}
	wantAnswers(t, c, map[string]string{
		"get-config:context=namespace;id=nope": "ERROR:20:",
		// The client suite takes an answer here for Aerospike's XDR.
		"get-config:context=xdr":    "ERROR:4:",
		"get-config:context=banana": "ERROR:4:",
	})
}

// wantAnswers sends each command and checks that its answer starts as
// given.
func wantAnswers(t *testing.T, c *as.Client, answers map[string]string) {
	t.Helper()
	for cmd, want := range answers {
		if got := info(t, c, cmd); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %s...", cmd, got, want)
		}
	}
}

// TestSetConfig changes a running namespace's settings and sees each take
// effect on the next command; refused changes leave everything as it was.
func TestSetConfig(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	setConfig := func(changes string) string {
		return info(t, c, "set-config:context=namespace;id=test;"+changes)
	}

	if got := setConfig("default-ttl=1h"); got != "ok" {
		t.Fatalf("set default-ttl: %q", got)
	}
	k := key(t, set, "ttl")
	mustOK(t, c.Put(as.NewWritePolicy(0, as.TTLServerDefault), k, as.BinMap{"a": 1}))
	rec, err := c.GetHeader(nil, k)
	mustOK(t, err)
	if rec.Expiration < 3598 || rec.Expiration > 3600 {
		t.Errorf("TTL 0 after default-ttl=1h: expiration %d", rec.Expiration)
	}
	for _, cmd := range []string{"get-config:context=namespace;id=test", "namespace/test"} {
		if got := configValue(t, c, cmd, "default-ttl"); got != "3600" {
			t.Errorf("%s: default-ttl=%s, want 3600", cmd, got)
		}
	}

	if got := setConfig("max-record-size=2K"); got != "ok" {
		t.Fatalf("set max-record-size: %q", got)
	}
	big := as.BinMap{"v": strings.Repeat("b", 4000)}
	wantCode(t, c.Put(nil, key(t, set, "big"), big), types.RECORD_TOO_BIG)
	if got := setConfig("max-record-size=1M"); got != "ok" {
		t.Fatalf("set max-record-size back: %q", got)
	}
	mustOK(t, c.Put(nil, key(t, set, "big"), big))

	if got := setConfig("set=" + set + ";disable-eviction=true"); got != "ok" {
		t.Fatalf("set disable-eviction: %q", got)
	}
	if got := info(t, c, "sets/test/"+set); !strings.Contains(got, ":disable-eviction=true:") {
		t.Errorf("sets/test/%s after disable-eviction=true: %q", set, got)
	}

	before := info(t, c, "get-config:context=namespace;id=test")
	const cmd = "set-config:context=namespace;id=test;"
	wantAnswers(t, c, map[string]string{
		cmd + "default-ttl=soon":                  `ERROR:4:bad default-ttl "soon"`,
		cmd + "replication-factor=2":              "ERROR:4:replication-factor in namespace test cannot change",
		cmd + "storage-engine.data-size=8G":       "ERROR:4:storage-engine.data-size in namespace test cannot change",
		cmd + "no-such-setting=1":                 `ERROR:4:unknown setting "no-such-setting"`,
		cmd + "evict-used-pct=95":                 "ERROR:4:namespace test: evict-used-pct 95 must be below stop-writes-used-pct 90",
		cmd + "default-ttl=1m;max-record-size=2G": `ERROR:4:bad max-record-size "2G"`,
		cmd: "ERROR:4:no setting to change",
		cmd + "nsup-period=0;allow-ttl-without-nsup=no":      "ERROR:4:namespace test: default-ttl 1H needs a non-zero nsup-period",
		"set-config:context=namespace;id=nope;default-ttl=1": "ERROR:20:",
		"set-config:context=service;cluster-name=other":      "ERROR:4:cluster-name in service cannot change",
		"set-config:context=network;service.port=1":          "ERROR:4:no network setting changes",
		"set-config:default-ttl=1":                           "ERROR:4:unknown context",
		cmd + "set=a:b;disable-eviction=true":                `ERROR:4:bad set name "a:b"`,
		cmd + "set=s;default-ttl=1":                          `ERROR:4:unknown setting "default-ttl" in namespace test set s`,
	})
	if after := info(t, c, "get-config:context=namespace;id=test"); after != before {
		t.Errorf("refused changes changed the settings:\nbefore %s\nafter  %s", before, after)
	}
}

// TestSetConfigNsupPeriod starts nsup on a namespace that had it off: the
// records that expired meanwhile are removed at its first pass.
func TestSetConfigNsupPeriod(t *testing.T) {
	cfg := config.Default()
	cfg.Namespaces[0].NsupPeriod = 0
	cfg.Namespaces[0].AllowTTLWithoutNsup = true
	n := startNode(t, cfg)
	c := n.connect(t)
	set := uniqueSet(t)
	for i := range 20 {
		mustOK(t, c.Put(as.NewWritePolicy(0, 1), key(t, set, i), as.BinMap{"a": i}))
	}
	time.Sleep(1500 * time.Millisecond)
	// Expired, but nothing removes them while no command reads them.
	if got := nsInfo(t, c, "test", "objects"); got != "20" {
		t.Fatalf("objects=%s with nsup off, want the 20 expired records still held", got)
	}
	if got := info(t, c, "set-config:context=namespace;id=test;nsup-period=1"); got != "ok" {
		t.Fatalf("set nsup-period: %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for nsInfo(t, c, "test", "objects") != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("expired records not removed 10 s after nsup-period=1: %s", info(t, c, "namespace/test"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := nsInfo(t, c, "test", "expired_objects"); got != "20" {
		t.Errorf("expired_objects=%s, want 20", got)
	}
}

// TestSetConfigStopWrites moves stop-writes-used-pct under the space in
// use, then turns it off: writes stop, then go on; then the same with
// stop-writes-avail-pct over the space free.
func TestSetConfigStopWrites(t *testing.T) {
	cfg := config.Default()
	cfg.Namespaces[0].Storage.DataSize = 4 << 20
	n := startNode(t, cfg)
	c := n.connect(t)
	set := uniqueSet(t)
	wp := as.NewWritePolicy(0, 0)
	wp.MaxRetries = 0
	value := as.BinMap{"v": strings.Repeat("s", 10000)}
	for i := range 200 { // about half of the 4 MiB
		mustOK(t, c.Put(wp, key(t, set, i), value))
	}
	for _, limit := range []struct{ name, value string }{
		{"stop-writes-used-pct", "20"},  // under the space in use
		{"stop-writes-avail-pct", "80"}, // over the space free
	} {
		if got := info(t, c, "set-config:context=namespace;id=test;"+limit.name+"="+limit.value); got != "ok" {
			t.Fatalf("set %s: %q", limit.name, got)
		}
		waitPut(t, c, wp, key(t, set, "more"), value, types.SERVER_MEM_ERROR)
		if got := nsInfo(t, c, "test", "stop_writes"); got != "true" {
			t.Errorf("stop_writes=%s while %s refuses writes", got, limit.name)
		}
		if got := nsInfo(t, c, "test", limit.name); got != limit.value {
			t.Errorf("%s=%s, want %s", limit.name, got, limit.value)
		}
		if got := info(t, c, "set-config:context=namespace;id=test;"+limit.name+"=0"); got != "ok" {
			t.Fatalf("turn %s off: %q", limit.name, got)
		}
		waitPut(t, c, wp, key(t, set, "more"), value, types.OK)
	}
}

// waitPut retries a Put for up to 5 s until it ends with code.
func waitPut(t *testing.T, c *as.Client, wp *as.WritePolicy, k *as.Key, bins as.BinMap, code types.ResultCode) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := c.Put(wp, k, bins)
		if err == nil && code == types.OK {
			return
		}
		if ae, ok := err.(as.Error); ok && ae.Matches(code) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("put: %v after 5 s, want %v", err, code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSetConfigDeviceRecordSize raises a device namespace's max-record-size
// above the one it started with: the plugin takes what the node allows.
func TestSetConfigDeviceRecordSize(t *testing.T) {
	dir := t.TempDir()
	n := startNodeProcess(t, deviceConfig(t, dir, config.ModeProcess, freePort(t), "", "max-record-size 16K"))
	c := n.connect(t)
	k := key(t, uniqueSet(t), "big")
	big := as.BinMap{"v": strings.Repeat("d", 40000)}
	wantCode(t, c.Put(nil, k, big), types.RECORD_TOO_BIG)
	if got := info(t, c, "set-config:context=namespace;id=test;max-record-size=64K"); got != "ok" {
		t.Fatalf("set max-record-size: %q", got)
	}
	mustOK(t, c.Put(nil, k, big))
	rec, err := c.Get(nil, k)
	mustOK(t, err)
	if rec.Bins["v"] != big["v"] {
		t.Error("the large record came back different")
	}
}
