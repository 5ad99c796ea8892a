package storagetest

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// PluginLogger returns a logger for the node's side of a backend served by
// a plugin process in a test (plugin.Config.Logger). It shows the plugin's
// lines on stderr with -v, and fails the test if the plugin reported a data
// race: a race-enabled plugin writes its reports to its stderr, which
// reaches this logger, while its exit status does not reach the test.
func PluginLogger(t testing.TB) *slog.Logger {
	h := &raceWatch{race: new(atomic.Bool)}
	if testing.Verbose() {
		h.out = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	t.Cleanup(func() {
		if h.race.Load() {
			t.Errorf("the storage plugin process reported a data race (run with -v to see it)")
		}
	})
	return slog.New(h)
}

// raceWatch is an slog handler that notes race reports, shared by the
// handlers derived from it, and passes records on to out, if set.
type raceWatch struct {
	out  slog.Handler
	race *atomic.Bool
}

func (h *raceWatch) Enabled(context.Context, slog.Level) bool { return true }

func (h *raceWatch) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "DATA RACE") {
		h.race.Store(true)
	}
	if h.out != nil {
		return h.out.Handle(ctx, r)
	}
	return nil
}

func (h *raceWatch) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := &raceWatch{race: h.race}
	if h.out != nil {
		n.out = h.out.WithAttrs(attrs)
	}
	return n
}

func (h *raceWatch) WithGroup(name string) slog.Handler {
	n := &raceWatch{race: h.race}
	if h.out != nil {
		n.out = h.out.WithGroup(name)
	}
	return n
}
