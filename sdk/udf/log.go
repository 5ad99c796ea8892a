package udf

import (
	"fmt"
	"os"
)

// Level is the severity of a Log line.
type Level int32

// Log levels, as the ABI numbers them.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// String returns the level's name.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int32(l))
}

// Log writes msg to the node's log at level, tagged with the module and
// the function being called. Outside a WebAssembly instance (a native
// build, such as a unit test of a function's helpers) it writes the line
// to standard error.
func Log(level Level, msg string) {
	if active == nil {
		fmt.Fprintf(os.Stderr, "udf %s: %s\n", level, msg)
		return
	}
	active.log(level, msg)
}

// Logf is Log with fmt.Sprintf formatting.
func Logf(level Level, format string, args ...any) {
	Log(level, fmt.Sprintf(format, args...))
}
