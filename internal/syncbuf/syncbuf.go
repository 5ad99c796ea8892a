// Package syncbuf has a byte buffer that goroutines may write and read at
// once: tests collect a logger's or a child process's output in it while
// they inspect what has come so far.
package syncbuf

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent Write and String.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// LineWith returns the first line written so far that contains s, or "".
func (b *Buffer) LineWith(s string) string {
	for line := range strings.Lines(b.String()) {
		if strings.Contains(line, s) {
			return strings.TrimSuffix(line, "\n")
		}
	}
	return ""
}
