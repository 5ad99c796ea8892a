package core_test

import (
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/nodetest"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	nvme "github.com/skiffdb/skiff/plugins/storage-nvme"
	xdrnats "github.com/skiffdb/skiff/plugins/xdr-nats"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
	xdrplugin "github.com/skiffdb/skiff/sdk/xdr/plugin"
)

// TestMain serves the first-party backends when a node of these tests
// starts this test binary as its storage plugin, the NATS transport when
// it starts it as its xdr plugin, and runs a whole node when a test starts
// it as one (nodeProcessEnv).
func TestMain(m *testing.M) {
	if xdrplugin.IsPluginProcess() {
		xdrplugin.Serve("nats", xdrnats.Open)
		return
	}
	if path := os.Getenv(nodeProcessEnv); path != "" && !plugin.IsPluginProcess() {
		runNodeProcess(path)
		return
	}
	plugin.TestMain(m, "test-backends", openTestBackend, plugin.WithResume(resumeTestBackend))
}

// resumeTestBackend resumes the backend whose region a dead process left.
func resumeTestBackend(namespace string, settings map[string]string, region *sharedindex.Region) (storage.Backend, error) {
	if region.Kind() == sharedindex.KindDevice {
		return nvme.Resume(namespace, settings, region)
	}
	return memory.Resume(namespace, settings, region)
}

// openTestBackend opens the backend a namespace's settings are for: the
// node passes data-size to the memory backend only.
func openTestBackend(namespace string, settings map[string]string) (storage.Backend, error) {
	if _, ok := settings["data-size"]; ok {
		return memory.Open(namespace, settings)
	}
	return nvme.Open(namespace, settings)
}

// usePluginBinary points the namespaces that run a first-party backend as
// a process at this test binary, which TestMain makes serve it.
func usePluginBinary(cfg *config.Config) {
	for _, ns := range cfg.Namespaces {
		if ns.Storage.Type != "plugin" && ns.Storage.Mode == config.ModeProcess && ns.Storage.Path == "" {
			ns.Storage.Path = os.Args[0]
		}
	}
}

// testNode is a node running in the test process on free ports.
type testNode struct{ *nodetest.Node }

// startNode runs a node with cfg (the default configuration when nil) on
// 127.0.0.1 and a free port, stopping it when the test ends.
func startNode(t testing.TB, cfg *config.Config) *testNode {
	t.Helper()
	if cfg == nil {
		cfg = config.Default()
	}
	cfg.Network.Service = config.Endpoint{Address: "127.0.0.1", Port: 0}
	cfg.Network.Admin = config.Endpoint{Address: "127.0.0.1", Port: freePort(t)}
	if cfg.UDF.UserPath == config.Default().UDF.UserPath {
		// Each node its own modules, unless a test shares a directory.
		cfg.UDF.UserPath = t.TempDir()
	}
	usePluginBinary(cfg)
	return &testNode{nodetest.Start(t, cfg)}
}

var freePort = nodetest.FreePort

// connect returns an official-client connection to the node.
func (n *testNode) connect(t testing.TB) *as.Client {
	t.Helper()
	p := as.NewClientPolicy()
	p.Timeout = 5 * time.Second
	c, err := as.NewClientWithPolicy(p, "127.0.0.1", n.Service.Port)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func key(t testing.TB, set string, v any) *as.Key {
	t.Helper()
	k, err := as.NewKey("test", set, v)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err is an Aerospike error with the result code.
func wantCode(t testing.TB, err error, code types.ResultCode) {
	t.Helper()
	ae, ok := err.(as.Error)
	if !ok || !ae.Matches(code) {
		t.Fatalf("got error %v, want %v", err, code)
	}
}

func info(t testing.TB, c *as.Client, cmd string) string {
	t.Helper()
	node := c.GetNodes()[0]
	m, err := node.RequestInfo(as.NewInfoPolicy(), cmd)
	mustOK(t, err)
	return m[cmd]
}

func uniqueSet(t testing.TB) string {
	return fmt.Sprintf("s%d", time.Now().UnixNano()%1e9)
}

func equalValue(got, want any) bool { return reflect.DeepEqual(got, want) }

func sprint(v any) string { return fmt.Sprintf("%#v", v) }

// twoNamespaces is the default configuration with a second memory
// namespace, "bar".
func twoNamespaces(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Parse("two.conf", append(config.DefaultText(), []byte(`
namespace bar {
	storage-engine memory {
		data-size 64M
	}
}
`)...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// untilStopped calls op with 0, 1, 2, ... until stop is closed or op
// reports false: a writer's loop in tests that kill what it writes to.
func untilStopped(stop <-chan struct{}, op func(i int) bool) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if !op(i) {
			return
		}
	}
}
