package logs

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/core/config"
)

func TestSetLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.log")
	l, err := Open([]config.LogSink{{Level: "critical"}, {Path: path, Level: "warning"}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := []Sink{{0, "stderr", "critical"}, {1, path, "warning"}}
	if got := l.Sinks(); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("sinks %v, want %v", got, want)
	}
	log := l.Logger()
	log.Info("quiet info")
	log.Warn("loud warning")
	if err := l.SetLevel(1, "DEBUG"); err != nil {
		t.Fatal(err)
	}
	log.Debug("debug after log-set")
	if got := l.Sinks()[1].Level; got != "debug" {
		t.Errorf("level %q after SetLevel, want debug", got)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if strings.Contains(text, "quiet info") || !strings.Contains(text, "loud warning") || !strings.Contains(text, "debug after log-set") {
		t.Errorf("the file holds:\n%s", text)
	}
	for _, tc := range []struct {
		id    int
		level string
		want  string
	}{
		{2, "info", "no log sink 2"},
		{-1, "info", "no log sink -1"},
		{0, "loud", `bad log level "loud"`},
	} {
		if err := l.SetLevel(tc.id, tc.level); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SetLevel(%d, %q): %v, want %q", tc.id, tc.level, err, tc.want)
		}
	}
}

func TestNoSinksLogNothing(t *testing.T) {
	l, err := Open([]config.LogSink{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Logger().Enabled(context.Background(), slog.LevelError+4) {
		t.Error("an empty logging block logs")
	}
}

func TestOpenFails(t *testing.T) {
	_, err := Open([]config.LogSink{{Path: filepath.Join(t.TempDir(), "no", "such", "dir.log"), Level: "info"}})
	if err == nil || !strings.Contains(err.Error(), "open log file") {
		t.Errorf("got %v", err)
	}
}
