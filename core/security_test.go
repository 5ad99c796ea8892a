package core_test

import (
	"errors"
	"testing"
	"time"

	as "github.com/aerospike/aerospike-client-go/v8"
	"github.com/aerospike/aerospike-client-go/v8/types"
)

// TestClientWithCredentials: a client configured with a user and password,
// as for a server with security, connects and works, as against a server
// without security; security commands fail with SECURITY_NOT_ENABLED.
func TestClientWithCredentials(t *testing.T) {
	n := startNode(t, nil)
	p := as.NewClientPolicy()
	p.Timeout = 5 * time.Second
	p.User, p.Password = "admin", "secret"
	c, err := as.NewClientWithPolicy(p, "127.0.0.1", n.Service.Port)
	if err != nil {
		t.Fatalf("connect with credentials: %v", err)
	}
	defer c.Close()
	k := key(t, "s", 1)
	mustOK(t, c.Put(nil, k, as.BinMap{"v": 1}))
	if rec, err := c.Get(nil, k); err != nil || rec.Bins["v"] != 1 {
		t.Fatalf("get: %v, %v", rec, err)
	}
	notEnabled := func(what string, err error) {
		t.Helper()
		var ae as.Error
		if !errors.As(err, &ae) || !ae.Matches(types.SECURITY_NOT_ENABLED) {
			t.Errorf("%s: %v, want SECURITY_NOT_ENABLED", what, err)
		}
	}
	notEnabled("create user", c.CreateUser(nil, "bob", "pw", []string{"read"}))
	_, err = c.QueryUsers(nil)
	notEnabled("query users", err)
	notEnabled("drop role", c.DropRole(nil, "reader"))
	// The connection still serves afterwards.
	if ok, err := c.Exists(nil, k); err != nil || !ok {
		t.Fatalf("exists after security commands: %v, %v", ok, err)
	}
}
