package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/config"
)

// The node's own default configuration must keep working with the edits.
func TestNodeConfigFromDefault(t *testing.T) {
	defaults, err := os.ReadFile("../../core/config/default.conf")
	if err != nil {
		t.Skip("no default configuration to test against:", err)
	}
	out, err := nodeConfig(defaults, 43210, 43211, "/tmp/conformance-node", "test")
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{"\t\tport 43210\n", "\t\tport 43211\n", "\taddress 127.0.0.1\n", "default-ttl 30D\n", "nsup-period 120\n", "\twork-directory /tmp/conformance-node\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "port 3000") || strings.Contains(got, "port 9145") {
		t.Errorf("config keeps a default port:\n%s", got)
	}
}

func TestEditConfig(t *testing.T) {
	const src = `# comment { not a block }
network {
	service {
		address any   # everywhere
		port 3000
	}
}
namespace test {
	storage-engine memory { data-size 1G }
}
namespace other {
	default-ttl 5
}
`
	tests := []struct {
		name  string
		edits []configEdit
		want  []string // lines the result must contain
		err   string   // part of the expected error
	}{
		{
			name:  "replace keeps indentation",
			edits: []configEdit{{block: []string{"network", "service"}, name: "port", value: "1234"}},
			want:  []string{"\t\tport 1234\n", "\t\taddress any   # everywhere\n"},
		},
		{
			name:  "add a missing setting at the block's end",
			edits: []configEdit{{block: []string{"namespace test"}, name: "nsup-period", value: "120"}},
			want:  []string{"\tstorage-engine memory { data-size 1G }\n\tnsup-period 120\n}\n"},
		},
		{
			name:  "only the named namespace",
			edits: []configEdit{{block: []string{"namespace test"}, name: "default-ttl", value: "30D"}},
			want:  []string{"\tdefault-ttl 5\n", "\tdefault-ttl 30D\n"},
		},
		{
			name:  "optional block absent",
			edits: []configEdit{{block: []string{"network", "admin"}, name: "port", value: "0", optional: true}},
			want:  []string{"\t\tport 3000\n"},
		},
		{
			name:  "required block absent",
			edits: []configEdit{{block: []string{"network", "admin"}, name: "port", value: "0"}},
			err:   `no block "network / admin"`,
		},
		{
			name:  "setting inside a one-line block",
			edits: []configEdit{{block: []string{"namespace test", "storage-engine memory"}, name: "data-size", value: "2G"}},
			err:   "not alone on its line",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := editConfig([]byte(src), tt.edits)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("result lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestNodeConfigNeedsMemoryNamespace(t *testing.T) {
	src := "service {\n}\nnetwork {\n\tservice {\n\t\tport 3000\n\t}\n}\nnamespace test {\n\tstorage-engine device {\n\t\tfile /x\n\t}\n}\n"
	if _, err := nodeConfig([]byte(src), 1, 0, "/tmp/w", "test"); err == nil || !strings.Contains(err.Error(), "storage-engine memory") {
		t.Fatalf("err = %v, want a complaint about the storage engine", err)
	}
}

// -storage device: the default configuration's memory namespace becomes a
// device one the node's config parser accepts.
func TestUseDevice(t *testing.T) {
	defaults, err := os.ReadFile("../../core/config/default.conf")
	if err != nil {
		t.Skip("no default configuration to test against:", err)
	}
	conf, err := nodeConfig(defaults, 43210, 43211, "/tmp/conformance-node", "test")
	if err != nil {
		t.Fatal(err)
	}
	out, err := useDevice(conf, "test", "/tmp/conformance-node", true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse("skiffd.conf", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	d := c.Namespaces[0].Storage
	if d.Type != "device" || !d.Device.DataInMemory || len(d.Device.Files) != 1 || d.Device.Files[0] != "/tmp/conformance-node/test.dat" ||
		c.Namespaces[0].DefaultTTL != 30*24*time.Hour {
		t.Errorf("namespace test: %+v, default-ttl %v", d, c.Namespaces[0].DefaultTTL)
	}
	if _, err := useDevice(conf, "other", "/tmp/w", false); err == nil {
		t.Error("replaced the block of a namespace the configuration lacks")
	}
}
