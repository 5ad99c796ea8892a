// Package logs builds a node's logger from the sinks of its logging block,
// and lets the log-set info command change a sink's level while the node
// runs, as Aerospike's does.
package logs

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/skiffdb/skiff/core/config"
)

// Logs are a node's log sinks.
type Logs struct {
	logger *slog.Logger
	sinks  []sink
	files  []io.Closer
}

type sink struct {
	name  string // "stderr" or the file's path, as Aerospike's logs command lists them
	level slog.LevelVar
}

// Sink describes one sink: its id in the info commands, where it writes,
// and its level by Aerospike's name.
type Sink struct {
	ID    int
	Name  string
	Level string
}

// Open opens the sinks' files and builds the logger. No sinks (an empty
// logging block) log nothing.
func Open(sinks []config.LogSink) (*Logs, error) {
	l := &Logs{sinks: make([]sink, len(sinks))}
	handlers := make([]slog.Handler, len(sinks))
	for i, s := range sinks {
		var w io.Writer = os.Stderr
		l.sinks[i].name = "stderr"
		if s.Path != "" {
			f, err := os.OpenFile(s.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				l.Close()
				return nil, fmt.Errorf("open log file: %w", err)
			}
			l.files = append(l.files, f)
			w = f
			l.sinks[i].name = s.Path
		}
		lv, _ := parseLevel(s.Level)
		l.sinks[i].level.Set(lv)
		handlers[i] = slog.NewTextHandler(w, &slog.HandlerOptions{Level: &l.sinks[i].level})
	}
	l.logger = slog.New(slog.NewMultiHandler(handlers...))
	return l, nil
}

// Logger is the logger that writes to every sink at its level.
func (l *Logs) Logger() *slog.Logger { return l.logger }

// Close closes the sinks' files.
func (l *Logs) Close() error {
	var errs []error
	for _, f := range l.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// Sinks lists the sinks in the order of the logging block.
func (l *Logs) Sinks() []Sink {
	out := make([]Sink, len(l.sinks))
	for i := range l.sinks {
		out[i] = Sink{ID: i, Name: l.sinks[i].name, Level: levelName(l.sinks[i].level.Level())}
	}
	return out
}

// SetLevel sets sink id's level, named as in the config file (critical,
// warning, info, debug or detail, any case).
func (l *Logs) SetLevel(id int, level string) error {
	if id < 0 || id >= len(l.sinks) {
		return fmt.Errorf("no log sink %d: the node has %d", id, len(l.sinks))
	}
	lv, ok := parseLevel(strings.ToLower(level))
	if !ok {
		return fmt.Errorf("bad log level %q: want critical, warning, info, debug or detail", level)
	}
	l.sinks[id].level.Set(lv)
	return nil
}

// Aerospike's levels, as slog levels.
const (
	levelCritical = slog.LevelError + 4
	levelDetail   = slog.LevelDebug - 4
)

// parseLevel maps an Aerospike level to slog's; the config parser has
// checked a file's levels, so Open ignores ok.
func parseLevel(s string) (slog.Level, bool) {
	switch s {
	case "critical":
		return levelCritical, true
	case "warning":
		return slog.LevelWarn, true
	case "info":
		return slog.LevelInfo, true
	case "debug":
		return slog.LevelDebug, true
	case "detail":
		return levelDetail, true
	}
	return slog.LevelInfo, false
}

func levelName(l slog.Level) string {
	switch l {
	case levelCritical:
		return "critical"
	case slog.LevelWarn:
		return "warning"
	case slog.LevelDebug:
		return "debug"
	case levelDetail:
		return "detail"
	}
	return "info"
}
