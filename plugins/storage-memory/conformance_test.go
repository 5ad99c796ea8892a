package memory

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
	"github.com/skiffdb/skiff/sdk/storage/storagetest"
)

// conformanceDataSize is small enough for the suite's OutOfSpace test to
// fill quickly, and large enough for its other tests.
const conformanceDataSize = 64 << 20

// TestMain lets the process-mode tests start this test binary as the
// storage plugin.
func TestMain(m *testing.M) { plugin.TestMain(m, "memory", Open, plugin.WithResume(Resume)) }

func TestConformance(t *testing.T) {
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			b, err := New(Options{DataSize: conformanceDataSize})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		MaxRecordSize: MaxRecordSize,
	})
}

// TestConformanceProcess runs the suite against the backend served by a
// plugin process, through the plugin glue.
func TestConformanceProcess(t *testing.T) {
	storagetest.RunWithOptions(t, storagetest.Options{
		Open: func(t *testing.T) storage.Backend {
			p, err := plugin.Start(context.Background(), plugin.Config{
				Path:      os.Args[0],
				Namespace: "test",
				Settings:  map[string]string{"data-size": strconv.Itoa(conformanceDataSize)},
				Logger:    storagetest.PluginLogger(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		MaxRecordSize: MaxRecordSize,
	})
}

func TestOpenSettings(t *testing.T) {
	for settings, ok := range map[string]bool{
		"":                  true,
		"data-size=1048576": true,
		"data-size=4G":      false,
		"data-size=-1":      false,
		"colour=blue":       false,
	} {
		m := map[string]string{}
		if settings != "" {
			k, v, _ := cut(settings)
			m[k] = v
		}
		b, err := Open("test", m)
		if (err == nil) != ok {
			t.Errorf("%q: %v", settings, err)
		}
		if b != nil {
			b.Close()
		}
	}
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
