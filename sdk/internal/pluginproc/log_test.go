package pluginproc

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestPluginAttributes checks that a plugin's attributes, after their
// trip through hclog's JSON, log as the plugin wrote them: whole numbers
// as integers, without go-plugin's extra timestamp.
func TestPluginAttributes(t *testing.T) {
	var out bytes.Buffer
	l := NewHCLogger(slog.New(slog.NewTextHandler(&out, nil))).Named("skiff-storage-nvme")
	// As go-plugin hands a parsed line over.
	l.Info("nvme: started", "records", float64(1_000_000), "fill", 0.5, "devices", float64(-2), "name", "a.dat",
		"timestamp", "2026-11-27T16:32:55.328Z")
	got := out.String()
	for _, want := range []string{"records=1000000 ", "fill=0.5 ", "devices=-2 ", "name=a.dat ", "logger=skiff-storage-nvme"} {
		if !strings.Contains(got, want) {
			t.Errorf("log line %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "timestamp=") || strings.Contains(got, "e+06") {
		t.Errorf("log line %q keeps what the JSON trip added", got)
	}
}

// TestPluginLinesCarryDurations checks that a plugin writes a duration as
// text, which reads as one in the node's log, not as nanoseconds.
func TestPluginLinesCarryDurations(t *testing.T) {
	var line bytes.Buffer
	slog.New(NewHCLogHandler(&line, slog.LevelInfo)).Info("started", "cold-start", 3*time.Millisecond)
	var entry map[string]any
	if err := json.Unmarshal(line.Bytes(), &entry); err != nil {
		t.Fatal(err)
	}
	if entry["cold-start"] != "3ms" || entry["@message"] != "started" || entry["@level"] != "info" {
		t.Errorf("plugin log line %s", line.Bytes())
	}
}
