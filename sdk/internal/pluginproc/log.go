package pluginproc

import (
	"context"
	"io"
	"log"
	"log/slog"
	"math"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// go-plugin logs through hclog, in the node and in the plugin; Skiff logs
// through slog. Two bridges join them: a plugin writes slog records to its
// stderr in hclog's JSON form, which go-plugin in the node parses and hands
// to the node's hclog logger with the plugin's name, which is an adapter
// onto the node's slog logger.

// NewHCLogHandler returns an slog handler writing hclog's JSON lines:
// a plugin process's logger.
func NewHCLogHandler(w io.Writer, level slog.Level) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				// As text: JSON would carry nanoseconds.
				return slog.String(a.Key, a.Value.Duration().String())
			}
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", hclogLevel(a.Value.Any().(slog.Level)).String())
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	})
}

func hclogLevel(l slog.Level) hclog.Level {
	switch {
	case l < slog.LevelDebug:
		return hclog.Trace
	case l < slog.LevelInfo:
		return hclog.Debug
	case l < slog.LevelWarn:
		return hclog.Info
	case l < slog.LevelError:
		return hclog.Warn
	}
	return hclog.Error
}

func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// hcLogger is an hclog.Logger that logs to an slog.Logger.
type hcLogger struct {
	log  *slog.Logger
	name string
	args []any
}

// NewHCLogger returns the node side's go-plugin logger: an hclog.Logger
// onto l.
func NewHCLogger(l *slog.Logger) hclog.Logger { return &hcLogger{log: l} }

// OutputWriter is where a plugin's stdout or stderr (stream) goes in the
// node: a line at info level in l, marked with the stream's name.
func OutputWriter(l *slog.Logger, stream string) io.Writer {
	return lineWriter{&hcLogger{log: l, name: stream}}
}

func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	args = fromJSON(args)
	if h.name != "" {
		args = append(args, "logger", h.name)
	}
	h.log.Log(context.Background(), slogLevel(level), msg, args...)
}

// fromJSON undoes what the trip through a JSON line did to a plugin's
// attributes: go-plugin decodes every number as a float64, which slog
// prints as 1.048576e+06, and adds the line's timestamp, which the node's
// own record has. Whole numbers become integers again.
func fromJSON(args []any) []any {
	out := args[:0:0]
	for i := 0; i+1 < len(args); i += 2 {
		k, v := args[i], args[i+1]
		if k == "timestamp" {
			continue
		}
		if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			v = int64(f)
		}
		out = append(out, k, v)
	}
	if len(args)%2 == 1 {
		out = append(out, args[len(args)-1])
	}
	return out
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hcLogger) enabled(l hclog.Level) bool {
	return h.log.Enabled(context.Background(), slogLevel(l))
}

func (h *hcLogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hcLogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hcLogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hcLogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hcLogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hcLogger) ImpliedArgs() []any { return h.args }

func (h *hcLogger) With(args ...any) hclog.Logger {
	return &hcLogger{log: h.log.With(args...), name: h.name, args: append(h.args[:len(h.args):len(h.args)], args...)}
}

func (h *hcLogger) Name() string { return h.name }

func (h *hcLogger) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return &hcLogger{log: h.log, name: name, args: h.args}
}

func (h *hcLogger) ResetNamed(name string) hclog.Logger {
	return &hcLogger{log: h.log, name: name, args: h.args}
}

// SetLevel does nothing: the slog logger's handler decides.
func (h *hcLogger) SetLevel(hclog.Level) {}

func (h *hcLogger) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn} {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Error
}

func (h *hcLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hcLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return lineWriter{h}
}

// lineWriter logs each write as a line at info level.
type lineWriter struct{ h *hcLogger }

func (w lineWriter) Write(p []byte) (int, error) {
	w.h.Info(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
