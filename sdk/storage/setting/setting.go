// Package setting parses the values of a storage backend's settings: the
// lines of a namespace's storage-engine block, which the node passes to the
// backend's plugin.OpenFunc as strings. Its errors name the setting and the
// value ("data-size \"12X\": want a number of bytes"), so that every
// backend reports a bad setting alike; the caller adds the namespace.
//
// The node's config parser has already turned sizes such as 128K or 16G
// into plain numbers of bytes.
package setting

import (
	"fmt"
	"strconv"
	"strings"
)

// Bytes parses setting k's value v, a number of bytes.
func Bytes(k, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q: want a number of bytes", k, v)
	}
	return n, nil
}

// Int parses setting k's value v, a number that is not negative; what
// names its unit in the error ("milliseconds", "a percentage").
func Int(k, v, what string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s %q: want %s", k, v, what)
	}
	return n, nil
}

// Bool parses setting k's value v: true, yes or on, or false, no or off, in
// any case.
func Bool(k, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s %q: want true or false", k, v)
}

// List splits a comma-separated value, trimming spaces and dropping empty
// items; it returns nil for a value with none.
func List(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
