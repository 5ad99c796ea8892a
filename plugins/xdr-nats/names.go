package xdrnats

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/sdk/xdr"
)

// Names on the NATS side. Every name Skiff puts into a subject, a stream
// name or a consumer name goes through escape, so that any namespace, set
// or node name is one legal token and two names never meet.

// subjectRoot is the first token of every subject the transport publishes.
const subjectRoot = "skiff"

// streamName is the stream of namespace ns: SKIFF_<ns>.
func streamName(ns string) string { return "SKIFF_" + escape(ns) }

// subjectPrefix is what the subjects of namespace ns start with, the dot
// included: skiff.<ns>.
func subjectPrefix(ns string) string { return subjectRoot + "." + escape(ns) + "." }

// consumerName is the durable consumer of node: its escaped name.
func consumerName(node string) string { return escape(node) }

// subject is where a change of origin to set goes: the prefix, then
// <origin>.<set>.
func subject(prefix, origin, set string) string {
	return prefix + escape(origin) + "." + escape(set)
}

// emptyToken stands for an empty name (no set). escape never makes it
// from a name that is not empty: it escapes a lone "_".
const emptyToken = "_"

// escape makes s a single token that NATS accepts in a subject and in a
// stream or consumer name: letters, digits, '-' and '_' stay; every other
// byte ('.', '*', '>', space, '/', '%', non-ASCII...) becomes %XX in
// upper-case hex. The empty name becomes emptyToken, and a name that is
// exactly emptyToken becomes %5F. escape is one-to-one.
func escape(s string) string {
	switch s {
	case "":
		return emptyToken
	case emptyToken:
		return "%5F"
	}
	plain := true
	for i := 0; i < len(s); i++ {
		if !tokenByte(s[i]) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	const digits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		if c := s[i]; tokenByte(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(digits[c>>4])
			b.WriteByte(digits[c&15])
		}
	}
	return b.String()
}

func tokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// appendMsgID appends the Nats-Msg-Id of change c:
// <origin>:<digest hex>:<last update>:<generation>:<kind>, and for a
// truncate also :<set>, whose digest is not the record's; the origin is
// escaped, so that the id reads back one way. It is the same
// for every shipment of the same change, so JetStream drops a retried one
// within its duplicate window; two different changes of one record differ
// in last update or generation.
func appendMsgID(dst []byte, c *xdr.Change) []byte {
	dst = append(dst, escape(c.Origin)...)
	dst = append(dst, ':')
	dst = hex.AppendEncode(dst, c.Digest[:])
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, c.LastUpdate, 10)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, uint64(c.Generation), 10)
	dst = append(dst, ':')
	dst = strconv.AppendUint(dst, uint64(c.Kind), 10)
	if c.Kind == xdr.Truncate {
		dst = append(dst, ':')
		dst = append(dst, c.Set...)
	}
	return dst
}
