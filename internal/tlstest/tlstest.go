// Package tlstest makes certificates for tests of TLS listeners: a CA, a
// node certificate it signs for 127.0.0.1 and a DNS name, client
// certificates, and a second CA that the node does not trust.
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// ServerName is the DNS name in the node's certificate.
const ServerName = "skiff.test"

// Files are the PEM files Write made.
type Files struct {
	CA, Cert, Key string // the CA, and the node's certificate and key
	// Client, ClientKey: a client certificate the CA signed, named
	// ClientName; Stranger, StrangerKey: one another CA signed.
	Client, ClientKey     string
	Stranger, StrangerKey string
	ClientName            string
	ca, other             *authority
}

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// Write makes the files in dir.
func Write(t testing.TB, dir string) Files {
	t.Helper()
	ca, other := newAuthority(t, "skiff test CA"), newAuthority(t, "another CA")
	f := Files{ClientName: "app", ca: ca, other: other}
	f.CA = write(t, dir, "ca.pem", ca.pem)
	f.Cert, f.Key = ca.issue(t, dir, "node", &x509.Certificate{
		Subject:     pkix.Name{CommonName: ServerName},
		DNSNames:    []string{ServerName},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	f.Client, f.ClientKey = ca.issue(t, dir, "client", clientTemplate(f.ClientName))
	f.Stranger, f.StrangerKey = other.issue(t, dir, "stranger", clientTemplate(f.ClientName))
	return f
}

// ClientCert is a client certificate named name, signed by the CA.
func (f Files) ClientCert(t testing.TB, dir, name string) tls.Certificate {
	t.Helper()
	cert, key := f.ca.issue(t, dir, "client-"+name, clientTemplate(name))
	c, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ClientConfig is what a client trusting the CA needs, presenting the
// certificate and key of the given files (none when cert is "").
func (f Files) ClientConfig(t testing.TB, cert, key string) *tls.Config {
	t.Helper()
	c := &tls.Config{RootCAs: x509.NewCertPool(), ServerName: ServerName}
	c.RootCAs.AppendCertsFromPEM(f.ca.pem)
	if cert != "" {
		kp, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		c.Certificates = []tls.Certificate{kp}
	}
	return c
}

func clientTemplate(name string) *x509.Certificate {
	return &x509.Certificate{Subject: pkix.Name{CommonName: name}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
}

func newAuthority(t testing.TB, name string) *authority {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &authority{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

var serial atomic.Int64

// issue signs tmpl and writes the certificate and its key to dir.
func (a *authority) issue(t testing.TB, dir, name string, tmpl *x509.Certificate) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	tmpl.SerialNumber = big.NewInt(serial.Add(1) + 1)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = write(t, dir, name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyFile = write(t, dir, name+"-key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	return certFile, keyFile
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func write(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
