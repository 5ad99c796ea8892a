package core_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	as "github.com/aerospike/aerospike-client-go/v8"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminEndpoints(t *testing.T) {
	n := startNode(t, nil)
	c := n.connect(t)
	set := uniqueSet(t)
	for i := range 3 {
		mustOK(t, c.Put(nil, key(t, set, i), as.BinMap{"a": i}))
	}
	c.Get(nil, key(t, set, 99))
	c.Delete(nil, key(t, set, 0))

	base := "http://" + n.Admin.String()
	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz: %d", code)
	}
	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`aerospike_namespace_client_write_success{ns="test"} 3`,
		`aerospike_namespace_client_read_not_found{ns="test"} 1`,
		`aerospike_namespace_client_delete_success{ns="test"} 1`,
		`aerospike_namespace_objects{ns="test"} 2`,
		`aerospike_sets_objects{ns="test",set="` + set + `"} 2`,
		`aerospike_node_stats_client_connections`,
		`skiff_request_duration_seconds_count{ns="test",op="write"} 4`,
		`skiff_request_duration_seconds_bucket{ns="test",op="read",le="+Inf"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	n.Stop()
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("admin endpoint still up after the node stopped")
	}
}
