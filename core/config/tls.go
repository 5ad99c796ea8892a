package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// TLSEndpoint is a TLS listener of network service.
type TLSEndpoint struct {
	Address string
	Port    int
	// Name names the tls block whose certificate the listener presents.
	Name string
	// AuthenticateClient is what a client must show: AuthAny (the
	// default), a certificate signed by a CA of the tls block's ca-file;
	// AuthNone, nothing; otherwise such a certificate naming one of these
	// (its common name or a DNS name).
	AuthenticateClient []string
}

// The words of tls-authenticate-client that are not names.
const (
	AuthAny  = "any"
	AuthNone = "false"
)

// TLS is a network tls NAME { } block: the node's certificate chain and
// key, and the CAs that sign the clients it trusts.
type TLS struct {
	CertFile, KeyFile, CAFile string
	Line                      int
}

// ServerConfig builds the TLS configuration of a listener presenting t's
// certificate and asking clients for what auth requires (see
// TLSEndpoint.AuthenticateClient). It reads the files each time.
func (t TLS) ServerConfig(auth []string) (*tls.Config, error) {
	certPEM, err := readPEM("cert-file", t.CertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEM("key-file", t.KeyFile)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cert-file %s and key-file %s: %w", t.CertFile, t.KeyFile, err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if slices.Equal(auth, []string{AuthNone}) {
		return c, nil
	}
	if t.CAFile == "" {
		return nil, errors.New("clients are authenticated (tls-authenticate-client): the tls block needs a ca-file, or set tls-authenticate-client false")
	}
	pem, err := readPEM("ca-file", t.CAFile)
	if err != nil {
		return nil, err
	}
	c.ClientCAs = x509.NewCertPool()
	if !c.ClientCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca-file %s holds no PEM certificate", t.CAFile)
	}
	c.ClientAuth = tls.RequireAndVerifyClientCert
	if names := slices.DeleteFunc(slices.Clone(auth), func(s string) bool { return s == AuthAny }); len(names) > 0 {
		c.VerifyPeerCertificate = func(_ [][]byte, chains [][]*x509.Certificate) error {
			leaf := chains[0][0]
			for _, n := range names {
				if leaf.Subject.CommonName == n || slices.Contains(leaf.DNSNames, n) {
					return nil
				}
			}
			return fmt.Errorf("client certificate %q names none of tls-authenticate-client %q", leaf.Subject.CommonName, names)
		}
	}
	return c, nil
}

// maxPEM bounds a certificate or key file: PEM bundles of a few hundred
// CAs are far smaller.
const maxPEM = 1 << 20

// readPEM reads the certificate or key file of setting name: a regular
// file of at most maxPEM bytes (not a device that never ends).
func readPEM(name, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w", name, err)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("%s %s: not a regular file", name, path)
	case st.Size() > maxPEM:
		return nil, fmt.Errorf("%s %s: %d bytes, more than a PEM file's %d", name, path, st.Size(), maxPEM)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}
