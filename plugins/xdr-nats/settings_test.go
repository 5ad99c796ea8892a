package xdrnats

import (
	"strings"
	"testing"
	"time"
)

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       map[string]string
		maxAge   time.Duration
		replicas int
		maxBytes int64
		auth     int
		tls      int
	}{
		{name: "defaults", in: nil, maxAge: 7 * 24 * time.Hour, replicas: 1, maxBytes: -1},
		{name: "seconds", in: map[string]string{"stream-max-age": "3600"}, maxAge: time.Hour, replicas: 1, maxBytes: -1},
		{name: "days", in: map[string]string{"stream-max-age": "30D"}, maxAge: 30 * 24 * time.Hour, replicas: 1, maxBytes: -1},
		{name: "go duration", in: map[string]string{"stream-max-age": "1h30m"}, maxAge: 90 * time.Minute, replicas: 1, maxBytes: -1},
		{name: "aerospike minutes", in: map[string]string{"stream-max-age": "90M"}, maxAge: 90 * time.Minute, replicas: 1, maxBytes: -1},
		{name: "stream", in: map[string]string{"stream-replicas": "3", "stream-max-bytes": "64G"},
			maxAge: 7 * 24 * time.Hour, replicas: 3, maxBytes: 64 << 30},
		{name: "bytes", in: map[string]string{"stream-max-bytes": "1000"}, maxAge: 7 * 24 * time.Hour, replicas: 1, maxBytes: 1000},
		{name: "user", in: map[string]string{"nats-user": "u", "nats-password": "p"}, maxAge: 7 * 24 * time.Hour, replicas: 1, maxBytes: -1, auth: 1},
		{name: "token", in: map[string]string{"nats-token": "t"}, maxAge: 7 * 24 * time.Hour, replicas: 1, maxBytes: -1, auth: 1},
		{name: "creds and tls", in: map[string]string{"nats-creds": "/c", "nats-tls-ca": "/ca", "nats-tls-cert": "/c", "nats-tls-key": "/k"},
			maxAge: 7 * 24 * time.Hour, replicas: 1, maxBytes: -1, auth: 1, tls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseSettings(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if s.maxAge != tc.maxAge || s.replicas != tc.replicas || s.maxBytes != tc.maxBytes || len(s.auth) != tc.auth || len(s.tls) != tc.tls {
				t.Fatalf("got max age %v, replicas %d, max bytes %d, %d auth and %d TLS options", s.maxAge, s.replicas, s.maxBytes, len(s.auth), len(s.tls))
			}
		})
	}
}

func TestParseSettingsRefuses(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]string
		want string
	}{
		{map[string]string{"nats-url": "x", "stream-max-agee": "1"}, "unknown setting nats-url, stream-max-agee (the transport knows nats-user"},
		{map[string]string{"stream-max-age": "0"}, `stream-max-age "0": want a duration such as 7D, 168h or 604800 (seconds)`},
		{map[string]string{"stream-max-age": "-5s"}, `stream-max-age "-5s"`},
		{map[string]string{"stream-max-age": "7 days"}, `stream-max-age "7 days"`},
		{map[string]string{"stream-max-age": "99999999999999D"}, `stream-max-age "99999999999999D"`},
		{map[string]string{"stream-replicas": "6"}, `stream-replicas "6": want 1 to 5`},
		{map[string]string{"stream-replicas": "x"}, `stream-replicas "x": want 1 to 5`},
		{map[string]string{"stream-max-bytes": "0"}, `stream-max-bytes "0": want a size such as 1073741824 or 64G`},
		{map[string]string{"stream-max-bytes": "G"}, `stream-max-bytes "G"`},
		{map[string]string{"stream-max-bytes": "9999999999P"}, `stream-max-bytes "9999999999P"`},
		{map[string]string{"nats-user": "u"}, "nats-user and nats-password go together"},
		{map[string]string{"nats-user": "u", "nats-password": "p", "nats-token": "t"}, "exclude each other"},
		{map[string]string{"nats-token": "t", "nats-creds": "/c"}, "nats-token and nats-creds exclude each other"},
		{map[string]string{"nats-token": ""}, `nats-token "": want a token`},
		{map[string]string{"nats-tls-key": "/k"}, "nats-tls-cert and nats-tls-key go together"},
		{map[string]string{"nats-creds": ""}, `nats-creds "": want a credentials file`},
		{map[string]string{"stream-replicas": "0", "stream-max-bytes": "x"}, `stream-replicas "0": want 1 to 5` + "\n" + `stream-max-bytes "x"`},
	} {
		_, err := parseSettings(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseSettings(%v) = %v, want an error saying %q", tc.in, err, tc.want)
		}
	}
}
