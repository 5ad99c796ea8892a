package xdrnats

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Defaults of the stream settings.
const (
	DefaultMaxAge   = 7 * 24 * time.Hour
	DefaultReplicas = 1
)

// settings are a dc block's settings the transport understands, parsed.
type settings struct {
	// auth and tls are nats.go options: credentials and TLS files.
	auth, tls []nats.Option
	maxAge    time.Duration
	replicas  int
	maxBytes  int64 // -1: unlimited
}

// knownSettings are the keys parseSettings accepts; doc.go describes them.
var knownSettings = []string{
	"nats-user", "nats-password", "nats-token", "nats-creds",
	"nats-tls-ca", "nats-tls-cert", "nats-tls-key",
	"stream-max-age", "stream-replicas", "stream-max-bytes",
}

// parseSettings reads m, refusing keys it does not know, values it cannot
// parse and combinations that do not go together. Errors name the
// setting and its value.
func parseSettings(m map[string]string) (settings, error) {
	s := settings{maxAge: DefaultMaxAge, replicas: DefaultReplicas, maxBytes: -1}
	var unknown []string
	for k := range m {
		if !slices.Contains(knownSettings, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return s, fmt.Errorf("unknown setting %s (the transport knows %s)",
			strings.Join(unknown, ", "), strings.Join(knownSettings, ", "))
	}
	has := func(k string) bool { _, ok := m[k]; return ok }
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	switch user, pass := m["nats-user"], m["nats-password"]; {
	case has("nats-user") != has("nats-password"):
		check(errors.New("nats-user and nats-password go together"))
	case has("nats-user") && (has("nats-token") || has("nats-creds")):
		check(errors.New("nats-user, nats-token and nats-creds exclude each other"))
	case has("nats-user"):
		s.auth = append(s.auth, nats.UserInfo(user, pass))
	}
	if has("nats-token") {
		if has("nats-creds") {
			check(errors.New("nats-token and nats-creds exclude each other"))
		}
		if m["nats-token"] == "" {
			check(errors.New(`nats-token "": want a token`))
		}
		s.auth = append(s.auth, nats.Token(m["nats-token"]))
	}
	if f, ok := m["nats-creds"]; ok {
		check(nonEmpty("nats-creds", f, "a credentials file"))
		s.auth = append(s.auth, nats.UserCredentials(f))
	}
	if f, ok := m["nats-tls-ca"]; ok {
		check(nonEmpty("nats-tls-ca", f, "a PEM file of CA certificates"))
		s.tls = append(s.tls, nats.RootCAs(f))
	}
	if has("nats-tls-cert") != has("nats-tls-key") {
		check(errors.New("nats-tls-cert and nats-tls-key go together"))
	} else if cert, key := m["nats-tls-cert"], m["nats-tls-key"]; has("nats-tls-cert") {
		check(nonEmpty("nats-tls-cert", cert, "a PEM certificate file"))
		check(nonEmpty("nats-tls-key", key, "a PEM key file"))
		s.tls = append(s.tls, nats.ClientCert(cert, key))
	}

	var err error
	if v, ok := m["stream-max-age"]; ok {
		s.maxAge, err = parseDuration("stream-max-age", v)
		check(err)
	}
	if v, ok := m["stream-replicas"]; ok {
		s.replicas, err = strconv.Atoi(v)
		if err != nil || s.replicas < 1 || s.replicas > 5 {
			check(fmt.Errorf("stream-replicas %q: want 1 to 5", v))
		}
	}
	if v, ok := m["stream-max-bytes"]; ok {
		s.maxBytes, err = parseSize("stream-max-bytes", v)
		check(err)
	}
	return s, errors.Join(errs...)
}

func nonEmpty(k, v, what string) error {
	if v == "" {
		return fmt.Errorf("%s %q: want %s", k, v, what)
	}
	return nil
}

// parseDuration reads a positive duration: whole seconds (604800), a
// number with an S, M, H or D suffix in either case (7D), or a Go
// duration (168h, 1h30m).
func parseDuration(k, v string) (time.Duration, error) {
	bad := fmt.Errorf("%s %q: want a duration such as 7D, 168h or 604800 (seconds)", k, v)
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) {
			return 0, bad
		}
		d = time.Duration(n) * time.Second
	} else if days, ok := strings.CutSuffix(strings.ToLower(v), "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	} else if d, err = time.ParseDuration(strings.ToLower(v)); err != nil {
		return 0, bad
	}
	if d <= 0 {
		return 0, bad
	}
	return d, nil
}

// parseSize reads a positive number of bytes, with an optional K, M, G, T
// or P suffix (1024-based) in either case.
func parseSize(k, v string) (int64, error) {
	bad := fmt.Errorf("%s %q: want a size such as 1073741824 or 64G", k, v)
	num, shift := v, 0
	if i := len(v) - 1; i > 0 {
		if j := strings.IndexByte("KMGTPkmgtp", v[i]); j >= 0 {
			j %= 5
			num, shift = v[:i], 10*(j+1)
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64>>shift {
		return 0, bad
	}
	return n << shift, nil
}
