package xdrnats

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/sdk/xdr"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "_"},
		{"_", "%5F"},
		{"__", "__"},
		{"users", "users"},
		{"my_set-2", "my_set-2"},
		{"a.b", "a%2Eb"},
		{"*", "%2A"},
		{">", "%3E"},
		{"a b\tc", "a%20b%09c"},
		{"50%", "50%25"},
		{"x/y\\z", "x%2Fy%5Cz"},
		{"ü", "%C3%BC"},
		{"\x00", "%00"},
	} {
		if got := escape(tc.in); got != tc.want {
			t.Errorf("escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestEscapeLegal: every escaped name is one token that NATS accepts in a
// subject and in a stream or consumer name, and different names escape
// differently.
func TestEscapeLegal(t *testing.T) {
	seen := make(map[string]string)
	names := []string{"", "_", "%5F", "%", "a.b", "a%2Eb", " ", "\t", "*", ">", "x>", "/", "\\", "名前", "BB9020011AC4202"}
	for i := range 256 {
		names = append(names, string(rune(i)), string([]byte{byte(i)}), "s"+string([]byte{byte(i)}))
	}
	for _, n := range names {
		e := escape(n)
		if e == "" || strings.ContainsAny(e, " \t\r\n\f.*>/\\") {
			t.Errorf("escape(%q) = %q: not a legal token or name", n, e)
		}
		for _, c := range []byte(e) {
			if c < 0x21 || c > 0x7e {
				t.Errorf("escape(%q) = %q: byte %#x", n, e, c)
			}
		}
		if prev, ok := seen[e]; ok && prev != n {
			t.Errorf("escape(%q) = escape(%q) = %q", n, prev, e)
		}
		seen[e] = n
	}
}

func TestNames(t *testing.T) {
	if got := streamName("test.ns"); got != "SKIFF_test%2Ens" {
		t.Errorf("streamName = %q", got)
	}
	if got := subject(subjectPrefix("test"), "node.1", ""); got != "skiff.test.node%2E1._" {
		t.Errorf("subject = %q", got)
	}
	if got := consumerName("BB9 0"); got != "BB9%200" {
		t.Errorf("consumerName = %q", got)
	}
}

func TestMsgID(t *testing.T) {
	c := xdr.Change{Kind: xdr.Write, Digest: [20]byte{0xab, 1}, LastUpdate: 1767225600123456789, Generation: 3, Origin: "A:1", Set: "s"}
	want := "A%3A1:ab01000000000000000000000000000000000000:1767225600123456789:3:1"
	if got := string(appendMsgID(nil, &c)); got != want {
		t.Errorf("write id = %q, want %q", got, want)
	}
	c.Kind, c.Digest = xdr.Truncate, [20]byte{}
	want = "A%3A1:0000000000000000000000000000000000000000:1767225600123456789:3:3:s"
	if got := string(appendMsgID(nil, &c)); got != want {
		t.Errorf("truncate id = %q, want %q", got, want)
	}
}

func TestGroupMessages(t *testing.T) {
	cs := changes("A", 0, 600)
	cs[10].Set = "other"
	var msgs [][]byte
	for rest := cs; len(rest) > 0; {
		n := group(rest)
		msgs = append(msgs, appendGroup(nil, rest[:n]))
		rest = rest[n:]
	}
	// 0-9, 10 (another set), 11-266, 267-522, 523-599.
	if len(msgs) != 5 {
		t.Fatalf("%d messages, want 5", len(msgs))
	}
	var got []xdr.Change
	for _, m := range msgs {
		var err error
		if got, err = decodeMessage(got, m); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(indexes(got), seq(0, 600)) || got[10].Set != "other" {
		t.Fatalf("decoded %d changes, in another order or altered", len(got))
	}
	// A message of one change alone, as AppendChange writes it, reads too.
	one, err := decodeMessage(nil, xdr.AppendChange(nil, &cs[3]))
	if err != nil || len(one) != 1 || one[0].Digest != cs[3].Digest {
		t.Fatalf("single change: %v, %v", one, err)
	}
	// Truncated and padded groups are refused.
	for _, bad := range [][]byte{msgs[0][:len(msgs[0])-1], append(append([]byte(nil), msgs[0]...), 0), {groupMarker}, {groupMarker, 0xff}} {
		if _, err := decodeMessage(nil, bad); !errors.Is(err, xdr.ErrMalformed) {
			t.Errorf("malformed group %x...: %v", bad[:min(len(bad), 8)], err)
		}
	}
}
