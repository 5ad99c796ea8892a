package setting_test

import (
	"slices"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage/setting"
)

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want int64
		err  string
	}{
		{v: "0", want: 0},
		{v: "1073741824", want: 1 << 30},
		{v: "9223372036854775807", want: 1<<63 - 1},
		{v: "-1", err: `data-size "-1": want a number of bytes`},
		{v: "16G", err: `data-size "16G": want a number of bytes`},
		{v: "", err: `data-size "": want a number of bytes`},
		{v: "9223372036854775808", err: `data-size "9223372036854775808": want a number of bytes`},
	} {
		t.Run(tc.v, func(t *testing.T) {
			n, err := setting.Bytes("data-size", tc.v)
			check(t, n, tc.want, err, tc.err)
		})
	}
}

func TestInt(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want int
		err  string
	}{
		{v: "0", want: 0},
		{v: "1000", want: 1000},
		{v: "-5", err: `flush-max-ms "-5": want milliseconds`},
		{v: "1.5", err: `flush-max-ms "1.5": want milliseconds`},
		{v: "ten", err: `flush-max-ms "ten": want milliseconds`},
	} {
		t.Run(tc.v, func(t *testing.T) {
			n, err := setting.Int("flush-max-ms", tc.v, "milliseconds")
			check(t, n, tc.want, err, tc.err)
		})
	}
}

func TestBool(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
		err  string
	}{
		{v: "true", want: true},
		{v: "YES", want: true},
		{v: "On", want: true},
		{v: "false", want: false},
		{v: "no", want: false},
		{v: "OFF", want: false},
		{v: "1", err: `direct-io "1": want true or false`},
		{v: "", err: `direct-io "": want true or false`},
	} {
		t.Run(tc.v, func(t *testing.T) {
			on, err := setting.Bool("direct-io", tc.v)
			check(t, on, tc.want, err, tc.err)
		})
	}
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want []string
	}{
		{v: "", want: nil},
		{v: " , ,", want: nil},
		{v: "/dev/nvme0n1", want: []string{"/dev/nvme0n1"}},
		{v: " /dev/a , /dev/b,,/dev/c ", want: []string{"/dev/a", "/dev/b", "/dev/c"}},
	} {
		t.Run(tc.v, func(t *testing.T) {
			if got := setting.List(tc.v); !slices.Equal(got, tc.want) {
				t.Fatalf("List(%q) = %q, want %q", tc.v, got, tc.want)
			}
		})
	}
}

// check compares a parser's result with a case's: the value, or the error
// message when the case wants one.
func check[T comparable](t *testing.T, got, want T, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr != "":
		if err == nil || err.Error() != wantErr {
			t.Fatalf("err = %v, want %q", err, wantErr)
		}
	case err != nil:
		t.Fatalf("err = %v", err)
	case got != want:
		t.Fatalf("got %v, want %v", got, want)
	}
}
