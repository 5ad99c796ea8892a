package config

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/internal/tlstest"
)

// tlsNetwork is a network block with a tls block of files f and service
// lines more.
func tlsNetwork(f tlstest.Files, tlsLines string, more ...string) string {
	return "network {\n" +
		"tls node {\ncert-file " + f.Cert + "\nkey-file " + f.Key + "\n" + tlsLines + "}\n" +
		"service {\naddress 127.0.0.1\nport 3000\n" + strings.Join(more, "\n") + "\n}\n}\n" + ns()
}

func TestTLSSettings(t *testing.T) {
	dir := t.TempDir()
	f := tlstest.Write(t, dir)
	c, err := Parse("t.conf", []byte(tlsNetwork(f, "ca-file "+f.CA+"\n", "tls-port 4333", "tls-name node")))
	if err != nil {
		t.Fatal(err)
	}
	want := TLSEndpoint{Address: "127.0.0.1", Port: 4333, Name: "node", AuthenticateClient: []string{AuthAny}}
	if got := c.Network.ServiceTLS; got.Address != want.Address || got.Port != want.Port || got.Name != want.Name || !slices.Equal(got.AuthenticateClient, want.AuthenticateClient) {
		t.Errorf("ServiceTLS = %+v, want %+v", got, want)
	}
	if got := c.Network.TLS["node"]; got.CertFile != f.Cert || got.KeyFile != f.Key || got.CAFile != f.CA || got.Line != 2 {
		t.Errorf("TLS[node] = %+v", got)
	}
	c, err = Parse("t.conf", []byte(tlsNetwork(f, "", "tls-address any", "tls-port 4333", "tls-name node", "tls-authenticate-client false")))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Network.ServiceTLS; got.Address != "0.0.0.0" || !slices.Equal(got.AuthenticateClient, []string{AuthNone}) {
		t.Errorf("ServiceTLS = %+v", got)
	}

	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, src, want string }{
		{"port without name", tlsNetwork(f, "", "tls-port 4333"), "t.conf:9: network service: tls-port needs a tls-name"},
		{"unknown name", tlsNetwork(f, "", "tls-port 4333", "tls-name other"), "t.conf:9: network service: tls-name other: no network tls other block"},
		{"name without port", tlsNetwork(f, "", "tls-name node"), "t.conf:1: network service: tls-name and tls-authenticate-client need a tls-port"},
		{"clients without a CA", tlsNetwork(f, "", "tls-port 4333", "tls-name node"), "t.conf:2: network tls node: clients are authenticated (tls-authenticate-client): the tls block needs a ca-file"},
		{"bad CA", tlsNetwork(f, "ca-file "+garbage+"\n", "tls-port 4333", "tls-name node"), "holds no PEM certificate"},
		{"bad certificate", strings.Replace(tlsNetwork(f, "", "tls-port 4333", "tls-name node", "tls-authenticate-client false"), f.Cert, garbage, 1), "t.conf:2: network tls node: cert-file"},
		{"any with names", tlsNetwork(f, "ca-file "+f.CA+"\n", "tls-port 4333", "tls-name node", "tls-authenticate-client any", "tls-authenticate-client app"), "tls-authenticate-client any stands alone"},
		{"same port", tlsNetwork(f, "", "tls-port 3000", "tls-name node", "tls-authenticate-client false"), "tls-port 3000 is the service's or the admin's port too"},
		{"a device for a CA", tlsNetwork(f, "ca-file /dev/zero\n", "tls-port 4333", "tls-name node"), "ca-file /dev/zero: not a regular file"},
		{"no key", "network {\ntls node {\ncert-file " + f.Cert + "\n}\n}\n" + ns(), "t.conf:2: network tls node needs a cert-file and a key-file"},
		{"unknown tls setting", "network {\ntls node {\ncipher-suite X\n}\n}\n" + ns(), `t.conf:3: unknown setting "cipher-suite" in network tls node`},
		{"tls-port in admin", "network {\nadmin {\ntls-port 1\n}\n}\n" + ns(), `unknown setting "tls-port" in network admin`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.conf", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestTLSClientNames: with names in tls-authenticate-client, a client
// certificate from the CA must carry one of them; without, any from the
// CA will do; one from another CA never does.
func TestTLSClientNames(t *testing.T) {
	dir := t.TempDir()
	f := tlstest.Write(t, dir)
	node := TLS{CertFile: f.Cert, KeyFile: f.Key, CAFile: f.CA}
	handshake := func(auth []string, client tls.Certificate) error {
		sc, err := node.ServerConfig(auth)
		if err != nil {
			t.Fatal(err)
		}
		cc := f.ClientConfig(t, "", "")
		cc.Certificates = []tls.Certificate{client}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		done := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			done <- tls.Server(c, sc).Handshake()
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cerr := tls.Client(c, cc).Handshake()
		if serr := <-done; serr != nil {
			return serr
		}
		return cerr
	}
	app := f.ClientCert(t, dir, "app")
	stranger, err := tls.LoadX509KeyPair(f.Stranger, f.StrangerKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		auth   []string
		client tls.Certificate
		ok     bool
	}{
		{[]string{AuthAny}, app, true},
		{[]string{"app"}, app, true},
		{[]string{"batch", "app"}, app, true},
		{[]string{"batch"}, app, false},
		{[]string{AuthAny}, stranger, false},
		{[]string{"app"}, stranger, false},
	} {
		if err := handshake(tc.auth, tc.client); (err == nil) != tc.ok {
			t.Errorf("tls-authenticate-client %q, client %q: %v", tc.auth, tc.client.Leaf.Subject.CommonName, err)
		}
	}
}
