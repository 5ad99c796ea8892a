package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// tlsFlags are the flags of a command that may reach a node's tls-port.
type tlsFlags struct {
	CA   string `json:"tls_ca,omitempty"`
	Name string `json:"tls_name,omitempty"`
	Cert string `json:"-"`
	Key  string `json:"-"`
}

// config is the client side of TLS to a node whose certificate a CA of
// f.CA signed for f.Name, presenting f.Cert and f.Key when given; nil
// without f.CA (no TLS).
func (f tlsFlags) config() (*tls.Config, error) {
	switch {
	case f.CA == "" && (f.Name != "" || f.Cert != "" || f.Key != ""):
		return nil, errors.New("-tls-name, -tls-cert and -tls-key need -tls-ca")
	case f.CA == "":
		return nil, nil
	case (f.Cert == "") != (f.Key == ""):
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("-tls-ca: %w", err)
	}
	c := &tls.Config{RootCAs: x509.NewCertPool(), ServerName: f.Name, MinVersion: tls.VersionTLS12}
	if !c.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-tls-ca %s holds no PEM certificate", f.CA)
	}
	if f.Cert != "" {
		kp, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert and -tls-key: %w", err)
		}
		c.Certificates = []tls.Certificate{kp}
	}
	return c, nil
}
