package main

import (
	"os"
	"testing"

	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
)

// TestMain serves the memory backend when a node these tests start runs
// this test binary as its storage plugin.
func TestMain(m *testing.M) {
	if plugin.IsPluginProcess() {
		plugin.Serve("memory", memory.Open)
		return
	}
	os.Exit(m.Run())
}
