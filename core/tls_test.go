package core_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/internal/tlstest"
)

// TestTLSClients: with a tls-port the node serves the official client over
// TLS, asking for a client certificate its CA signed, beside plain clients
// on the service port; a client without a certificate, or with one of
// another CA, cannot connect.
func TestTLSClients(t *testing.T) {
	dir := t.TempDir()
	f := tlstest.Write(t, dir)
	cfg := config.Default()
	cfg.Network.TLS = map[string]config.TLS{"node": {CertFile: f.Cert, KeyFile: f.Key, CAFile: f.CA}}
	port := freePort(t)
	cfg.Network.ServiceTLS = config.TLSEndpoint{Address: "127.0.0.1", Port: port, Name: "node", AuthenticateClient: []string{config.AuthAny}}
	n := startNode(t, cfg)

	connect := func(cert, key string) (*as.Client, error) {
		p := as.NewClientPolicy()
		p.Timeout = 3 * time.Second
		p.TlsConfig = f.ClientConfig(t, cert, key)
		host := as.NewHost("127.0.0.1", port)
		host.TLSName = tlstest.ServerName
		return as.NewClientWithPolicyAndHost(p, host)
	}
	c, err := connect(f.Client, f.ClientKey)
	if err != nil {
		t.Fatalf("connect over TLS: %v", err)
	}
	defer c.Close()
	k := key(t, "tls", 1)
	mustOK(t, c.Put(nil, k, as.BinMap{"v": "secret"}))
	if rec, err := c.Get(nil, k); err != nil || rec.Bins["v"] != "secret" {
		t.Fatalf("get over TLS: %v, %v", rec, err)
	}
	for cmd, want := range map[string]string{
		"service-tls-std": fmt.Sprintf("127.0.0.1:%d", port),
		"peers-tls-std":   fmt.Sprintf("1,%d,[]", port),
	} {
		if got := info(t, c, cmd); got != want {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
	if got, want := info(t, c, "get-config:context=network"), fmt.Sprintf("service.tls-port=%d;service.tls-name=node;service.tls-authenticate-client=any", port); !strings.Contains(got, want) {
		t.Errorf("get-config:context=network: %q, want it to contain %q", got, want)
	}
	if rec, err := n.connect(t).Get(nil, k); err != nil || rec.Bins["v"] != "secret" {
		t.Fatalf("plain client on the service port: %v, %v", rec, err)
	}
	for what, files := range map[string][2]string{"no certificate": {"", ""}, "another CA's certificate": {f.Stranger, f.StrangerKey}} {
		if c, err := connect(files[0], files[1]); err == nil {
			c.Close()
			t.Errorf("a client with %s connected", what)
		}
	}
}
