package proto

import "bytes"

// InfoNames calls fn with each command name of an info request body (names
// separated by newlines; empty names are skipped). The slices alias body.
func InfoNames(body []byte, fn func(name []byte)) {
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		var name []byte
		if i < 0 {
			name, body = body, nil
		} else {
			name, body = body[:i], body[i+1:]
		}
		if len(name) > 0 {
			fn(name)
		}
	}
}

// AppendInfo appends one "name\tvalue\n" line of an info reply.
func AppendInfo(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '\t')
	b = append(b, value...)
	return append(b, '\n')
}

// ParseInfoReply splits an info reply body into a map from command name to
// value. A line without a tab maps to "".
func ParseInfoReply(body []byte) map[string]string {
	out := make(map[string]string)
	InfoNames(body, func(line []byte) {
		name, value, _ := bytes.Cut(line, []byte{'\t'})
		out[string(name)] = string(value)
	})
	return out
}
