package main

import (
	"testing"

	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
)

// TestMain serves the memory backend when a node these tests start runs
// this test binary as its storage plugin.
func TestMain(m *testing.M) {
	plugin.TestMain(m, "memory", memory.Open, plugin.WithResume(memory.Resume))
}
