package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestChangeNamespace(t *testing.T) {
	tests := []struct {
		name    string
		changes []Change
		want    func(ns *Namespace)
	}{
		{"durations in the file's units", []Change{{"default-ttl", "1h"}, {"nsup-period", "30"}}, func(ns *Namespace) {
			ns.DefaultTTL = time.Hour
			ns.NsupPeriod = 30 * time.Second
		}},
		{"size", []Change{{"max-record-size", "128K"}}, func(ns *Namespace) { ns.MaxRecordSize = 128 << 10 }},
		// Each alone would break the order of the two marks; together they
		// keep it.
		{"two that must agree, at once", []Change{{"evict-used-pct", "95"}, {"stop-writes-used-pct", "98"}}, func(ns *Namespace) {
			ns.EvictUsedPct = 95
			ns.StopWritesUsedPct = 98
		}},
		{"nsup off with TTLs allowed", []Change{{"allow-ttl-without-nsup", "yes"}, {"nsup-period", "0"}}, func(ns *Namespace) {
			ns.AllowTTLWithoutNsup = true
			ns.NsupPeriod = 0
		}},
		{"background jobs", []Change{{"background-query-max-rps", "500"}}, func(ns *Namespace) { ns.BackgroundQueryMaxRPS = 500 }},
		{"writes must name a set", []Change{{"disallow-null-setname", "true"}}, func(ns *Namespace) { ns.DisallowNullSetname = true }},
		{"reads touch", []Change{{"default-read-touch-ttl-pct", "80"}}, func(ns *Namespace) { ns.DefaultReadTouchTTLPct = 80 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults(1)
			old := *c.Namespaces[0]
			got, err := c.ChangeNamespace(c.Namespaces[0], tt.changes)
			if err != nil {
				t.Fatal(err)
			}
			want := old
			tt.want(&want)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("got %+v\nwant %+v", *got, want)
			}
			if !reflect.DeepEqual(*c.Namespaces[0], old) {
				t.Errorf("the namespace changed in place: %+v", *c.Namespaces[0])
			}
		})
	}
}

func TestChangeNamespaceErrors(t *testing.T) {
	tests := []struct {
		name    string
		changes []Change
		want    string
	}{
		{"no change", nil, "no setting to change in namespace test"},
		{"bad value", []Change{{"default-ttl", "soon"}}, `bad default-ttl "soon" in namespace test: want seconds up to 3650D`},
		{"empty value", []Change{{"max-record-size", ""}}, `bad max-record-size "" in namespace test`},
		{"out of range", []Change{{"background-query-max-rps", "0"}}, "want an integer from 1 to 1000000"},
		{"read touch over 100", []Change{{"default-read-touch-ttl-pct", "101"}}, "want an integer from 0 to 100"},
		{"unknown", []Change{{"memory-size", "4G"}}, `unknown setting "memory-size" in namespace test`},
		{"static", []Change{{"replication-factor", "2"}}, "replication-factor in namespace test cannot change while the node runs"},
		{"storage engine, named bare as Aerospike does", []Change{{"max-write-cache", "128M"}}, "max-write-cache in namespace test cannot change while the node runs"},
		{"static storage", []Change{{"storage-engine.data-size", "8G"}}, "storage-engine.data-size in namespace test cannot change"},
		{"marks out of order", []Change{{"evict-used-pct", "90"}}, "evict-used-pct 90 must be below stop-writes-used-pct 90"},
		{"TTL nothing removes", []Change{{"default-ttl", "1D"}, {"nsup-period", "0"}}, "default-ttl 1D needs a non-zero nsup-period"},
		{"record larger than the data", []Change{{"max-record-size", "128M"}}, "max-record-size 128M exceeds data-size 64M"},
		{"record larger than a frame", []Change{{"max-record-size", "2M"}}, "max-record-size 2M exceeds service proto-max-size 1M"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults(1)
			c.Service.ProtoMaxSize = 1 << 20
			c.Namespaces[0].Storage.DataSize = 64 << 20
			old := *c.Namespaces[0]
			got, err := c.ChangeNamespace(c.Namespaces[0], tt.changes)
			if err == nil {
				t.Fatalf("no error; got %+v", *got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			// A command's message names no file: it came from none.
			if strings.Contains(err.Error(), ".conf") || strings.HasPrefix(err.Error(), ":") {
				t.Errorf("error %q has a file location", err)
			}
			if !reflect.DeepEqual(*c.Namespaces[0], old) {
				t.Errorf("a refused change modified the namespace: %+v", *c.Namespaces[0])
			}
		})
	}
}

func TestChangeService(t *testing.T) {
	c := defaults(1)
	got, err := c.ChangeService(c.Service, []Change{{"proto-fd-max", "100"}})
	if err != nil || got.ProtoFdMax != 100 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if c.Service.ProtoFdMax != 15000 {
		t.Errorf("the service changed in place: %+v", c.Service)
	}
	for _, tc := range []struct {
		changes []Change
		want    string
	}{
		{nil, "no setting to change in service"},
		{[]Change{{"proto-fd-max", "lots"}}, `bad proto-fd-max "lots" in service: want an integer from 1 to`},
		{[]Change{{"proto-fd-max", "0"}}, `bad proto-fd-max "0" in service`},
		{[]Change{{"cluster-name", "other"}}, "cluster-name in service cannot change while the node runs"},
		{[]Change{{"work-directory", "/x"}}, "work-directory in service cannot change"},
		{[]Change{{"service-threads", "4"}}, `unknown setting "service-threads" in service`},
	} {
		if _, err := c.ChangeService(c.Service, tc.changes); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.changes, err, tc.want)
		}
	}
}

func TestChangeSet(t *testing.T) {
	c := defaults(1)
	ns := c.Namespaces[0]
	ns.Sets = map[string]SetSettings{"logs": {}}
	got, err := c.ChangeSet(ns, "users", []Change{{"disable-eviction", "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]SetSettings{"logs": {}, "users": {DisableEviction: true}}; !reflect.DeepEqual(got.Sets, want) {
		t.Errorf("sets %v, want %v", got.Sets, want)
	}
	if len(ns.Sets) != 1 {
		t.Errorf("the namespace's sets changed in place: %v", ns.Sets)
	}
	for _, tc := range []struct {
		set     string
		changes []Change
		want    string
	}{
		{"users", []Change{{"disable-eviction", "maybe"}}, `bad disable-eviction "maybe" in namespace test set users`},
		{"users", []Change{{"enable-index", "true"}}, `unknown setting "enable-index" in namespace test set users`},
		{"users", nil, "no setting to change in namespace test set users"},
		{"", []Change{{"disable-eviction", "true"}}, `bad set name ""`},
		{"a:b", []Change{{"disable-eviction", "true"}}, `bad set name "a:b"`},
	} {
		if _, err := c.ChangeSet(ns, tc.set, tc.changes); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: %v, want %q", tc.set, tc.changes, err, tc.want)
		}
	}
}
