package udf

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeHost is the node's side of one call, in Go: a record as a map of
// encoded bins, and what the call returned.
type fakeHost struct {
	input []byte

	res      []byte // nil when the call gave no result
	failure  string
	logs     []string
	binGets  int
	readOnly bool // writes fail with -3, as in a filter or map stage
	maxBins  int  // writes of more bins fail with -4; 0 means no limit

	bins       map[string][]byte
	generation int32
	ttl        int32
	lastUpdate int64
	setTTL     int32
	key        []byte // nil: no key
	setName    string
	digest     [20]byte
}

var _ host = (*fakeHost)(nil)

func newFakeHost() *fakeHost { return &fakeHost{bins: map[string][]byte{}, setTTL: -2} }

// call runs name(args...) through d as skiff_call would, with args encoded
// as the host encodes them.
func (h *fakeHost) call(t *testing.T, d *dispatcher, name string, args ...Value) int32 {
	t.Helper()
	enc, err := appendValue(nil, args)
	if err != nil {
		t.Fatal(err)
	}
	return h.callRaw(d, name, enc)
}

func (h *fakeHost) callRaw(d *dispatcher, name string, args []byte) int32 {
	h.input = append([]byte(name), args...)
	h.res, h.failure = nil, ""
	return d.call(h, int32(len(name)), int32(len(args)))
}

func (h *fakeHost) callInput(dst []byte) { copy(dst, h.input) }
func (h *fakeHost) result(v []byte)      { h.res = append(h.res[:0], v...) }
func (h *fakeHost) fail(msg string)      { h.failure = msg }
func (h *fakeHost) log(level Level, msg string) {
	h.logs = append(h.logs, fmt.Sprintf("%s %s", level, msg))
}

func (h *fakeHost) recExists() int32 {
	if len(h.bins) > 0 {
		return 1
	}
	return 0
}

func badName(name string) bool { return name == "" || len(name) > 15 }

func fill(buf, v []byte) int32 {
	if len(v) <= len(buf) {
		copy(buf, v)
	}
	return int32(len(v))
}

func (h *fakeHost) binGet(name string, buf []byte) int32 {
	h.binGets++
	if badName(name) {
		return -2
	}
	v, ok := h.bins[name]
	if !ok {
		return -1
	}
	return fill(buf, v)
}

func (h *fakeHost) binNames(buf []byte) int32 {
	var b []byte
	for name := range h.bins {
		b = append(append(b, byte(len(name))), name...)
	}
	return fill(buf, b)
}

func (h *fakeHost) binSet(name string, v []byte) int32 {
	switch {
	case h.readOnly:
		return -3
	case badName(name):
		return -2
	}
	if _, err := decodeValue(v); err != nil {
		return -2
	}
	if bytes.Equal(v, []byte{mpNil}) {
		delete(h.bins, name)
		return 0
	}
	if _, ok := h.bins[name]; !ok && h.maxBins > 0 && len(h.bins) >= h.maxBins {
		return -4
	}
	h.bins[name] = bytes.Clone(v)
	return 0
}

func (h *fakeHost) binRemove(name string) int32 {
	switch {
	case h.readOnly:
		return -3
	case badName(name):
		return -2
	}
	delete(h.bins, name)
	return 0
}

func (h *fakeHost) recDelete() int32 {
	if h.readOnly {
		return -3
	}
	clear(h.bins)
	return 0
}

func (h *fakeHost) recGeneration() int32 { return h.generation }
func (h *fakeHost) recTTL() int32        { return h.ttl }
func (h *fakeHost) recLastUpdate() int64 { return h.lastUpdate }

func (h *fakeHost) recSetTTL(ttl int32) int32 {
	switch {
	case h.readOnly:
		return -3
	case ttl < -2:
		return -2
	}
	h.setTTL = ttl
	return 0
}

func (h *fakeHost) recKey(buf []byte) int32 {
	if h.key == nil {
		return -1
	}
	return fill(buf, h.key)
}

func (h *fakeHost) recSetName(buf []byte) int32 { return fill(buf, []byte(h.setName)) }
func (h *fakeHost) recDigest(dst *[20]byte)     { *dst = h.digest }

// resultValue decodes the call's result, nil when there was none.
func (h *fakeHost) resultValue(t *testing.T) Value {
	t.Helper()
	if h.res == nil {
		return nil
	}
	v, err := decodeValue(h.res)
	if err != nil {
		t.Fatalf("result % x: %v", h.res, err)
	}
	return v
}

func newDispatcher(register func(reg registry)) *dispatcher {
	reg := registry{}
	register(reg)
	return &dispatcher{funcs: reg}
}

func TestCallStatus(t *testing.T) {
	d := newDispatcher(func(reg registry) {
		reg.register("echo", func(_ *Record, args []Value) (Value, error) { return args, nil })
		reg.register("none", func(*Record, []Value) (Value, error) { return nil, nil })
		reg.register("fails", func(*Record, []Value) (Value, error) { return nil, errors.New("no luck") })
		reg.register("empty_error", func(*Record, []Value) (Value, error) { return nil, errors.New("") })
		reg.register("panics", func(*Record, []Value) (Value, error) { panic("boom 42") })
		reg.register("nil_deref", func(r *Record, _ []Value) (Value, error) {
			var m map[string]*int
			return *m["x"], nil
		})
		reg.register("bad_result", func(*Record, []Value) (Value, error) { return make(chan int), nil })
		reg.register("bad_bin", func(r *Record, _ []Value) (Value, error) {
			v, _ := r.Get("a_bin_name_over_15_bytes")
			return v, nil
		})
	})
	tests := []struct {
		name    string
		fn      string
		args    string // raw msgpack
		status  int32
		result  Value
		failure string // a substring of the message
	}{
		{"ok", "echo", "\x92\x01\xa2\x03a", statusOK, []Value{int64(1), "a"}, ""},
		{"ok no args", "echo", "", statusOK, []Value{}, ""},
		{"ok nil result", "none", "\x90", statusOK, nil, ""},
		{"error", "fails", "\x90", statusFailed, nil, "no luck"},
		{"empty error", "empty_error", "\x90", statusFailed, nil, "udf: empty_error: failed"},
		{"panic", "panics", "\x90", statusFailed, nil, "udf: panics: panic: boom 42"},
		{"runtime panic", "nil_deref", "\x90", statusFailed, nil, "udf: nil_deref: panic: runtime error"},
		{"bad result", "bad_result", "\x90", statusFailed, nil, "udf: bad_result: result: invalid argument"},
		{"host fault", "bad_bin", "\x90", statusFailed, nil, `udf: bad_bin: get bin "a_bin_name_over_15_bytes": invalid argument`},
		{"unknown", "nope", "\x90", statusUnknown, nil, ""},
		{"unknown prefix", "ech", "\x90", statusUnknown, nil, ""},
		{"bad args", "echo", "\x91", statusFailed, nil, "udf: echo: arguments: invalid argument"},
		{"args not a list", "echo", "\x01", statusFailed, nil, "not a msgpack array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost()
			status := h.callRaw(d, tt.fn, []byte(tt.args))
			if status != tt.status {
				t.Fatalf("status %d (failure %q), want %d", status, h.failure, tt.status)
			}
			if got := h.resultValue(t); !reflect.DeepEqual(got, tt.result) {
				t.Errorf("result %#v, want %#v", got, tt.result)
			}
			if status == statusFailed && !strings.Contains(h.failure, tt.failure) {
				t.Errorf("failure %q, want it to contain %q", h.failure, tt.failure)
			}
			if tt.fn == "fails" && h.failure != "no luck" {
				t.Errorf("failure %q, want exactly the error's message", h.failure)
			}
		})
	}
	t.Run("negative lengths", func(t *testing.T) {
		h := newFakeHost()
		if status := d.call(h, -1, 0); status != statusFailed || h.failure == "" {
			t.Errorf("status %d, failure %q; want a failure", status, h.failure)
		}
	})
	t.Run("instance reused", func(t *testing.T) {
		h := newFakeHost()
		for i := range 3 {
			long := strings.Repeat("x", 1000*i)
			if status := h.call(t, d, "echo", long); status != statusOK {
				t.Fatalf("call %d: status %d %q", i, status, h.failure)
			}
			if got := h.resultValue(t); !reflect.DeepEqual(got, []Value{long}) {
				t.Fatalf("call %d: result of %d bytes, want the argument back", i, len(h.res))
			}
		}
	})
}

func TestAggregate(t *testing.T) {
	d := newDispatcher(func(reg registry) {
		reg.registerAggregate("sum", Aggregate{
			Filter: func(r *Record, args []Value) (bool, error) {
				_, ok := r.Get(args[0].(string))
				return ok, nil
			},
			Reduce: func(a, b Value, args []Value) (Value, error) {
				return a.(int64) + b.(int64) + int64(len(args)), nil
			},
		})
	})
	h := newFakeHost()
	if status := h.call(t, d, "sum:filter", "x"); status != statusOK || h.resultValue(t) != false {
		t.Errorf("sum:filter on a record without x: status %d, result %v; want 0, false", status, h.resultValue(t))
	}
	h.bins["x"] = []byte{1}
	if status := h.call(t, d, "sum:filter", "x"); status != statusOK || h.resultValue(t) != true {
		t.Errorf("sum:filter on a record with x: status %d, result %v; want 0, true", status, h.resultValue(t))
	}
	if status := h.call(t, d, "sum:reduce", 2, 3, "extra"); status != statusOK || h.resultValue(t) != int64(6) {
		t.Errorf("sum:reduce(2, 3, extra): status %d, result %v; want 0, 6", status, h.resultValue(t))
	}
	if status := h.call(t, d, "sum:reduce", 2); status != statusFailed || !strings.Contains(h.failure, "sum:reduce") {
		t.Errorf("sum:reduce(2): status %d, failure %q; want a failure naming sum:reduce", status, h.failure)
	}
	if status := h.call(t, d, "sum:map", "x"); status != statusUnknown {
		t.Errorf("sum:map (not registered): status %d, want %d", status, statusUnknown)
	}
}

func TestRegisterPanics(t *testing.T) {
	fn := func(*Record, []Value) (Value, error) { return nil, nil }
	tests := []struct {
		name string
		reg  func(reg registry)
	}{
		{"empty", func(reg registry) { reg.register("", fn) }},
		{"colon", func(reg registry) { reg.register("a:map", fn) }},
		{"nil", func(reg registry) { reg.register("a", nil) }},
		{"twice", func(reg registry) { reg.register("a", fn); reg.register("a", fn) }},
		{"aggregate no stage", func(reg registry) { reg.registerAggregate("a", Aggregate{}) }},
		{"aggregate colon", func(reg registry) { reg.registerAggregate("a:b", Aggregate{Map: fn}) }},
		{"aggregate twice", func(reg registry) {
			reg.registerAggregate("a", Aggregate{Map: fn})
			reg.registerAggregate("a", Aggregate{Map: fn})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(fmt.Sprint(p), "udf: Register") {
					t.Errorf("panic %v, want a udf: Register... panic", p)
				}
			}()
			tt.reg(registry{})
		})
	}
}

// recordCall runs fn as a registered function on h's record and fails the
// test unless the call succeeds.
func recordCall(t *testing.T, h *fakeHost, fn func(r *Record) (Value, error)) Value {
	t.Helper()
	d := newDispatcher(func(reg registry) {
		reg.register("f", func(r *Record, _ []Value) (Value, error) { return fn(r) })
	})
	if status := h.call(t, d, "f"); status != statusOK {
		t.Fatalf("status %d: %s", status, h.failure)
	}
	return h.resultValue(t)
}

func TestRecord(t *testing.T) {
	t.Run("read", func(t *testing.T) {
		h := newFakeHost()
		h.bins["a"] = []byte("\xa2\x03x")
		h.bins["bb"] = []byte("\x07")
		h.generation, h.ttl, h.lastUpdate = 7, 3600, 1_700_000_000_123_456_789
		h.key, h.setName = []byte("\xa4\x03key"), "users"
		h.digest[0], h.digest[19] = 1, 2
		recordCall(t, h, func(r *Record) (Value, error) {
			if !r.Exists() {
				t.Error("Exists() = false")
			}
			if v, ok := r.Get("a"); !ok || v != "x" {
				t.Errorf(`Get("a") = %v, %v`, v, ok)
			}
			if v, ok := r.Get("missing"); ok || v != nil {
				t.Errorf(`Get("missing") = %v, %v`, v, ok)
			}
			names := r.BinNames()
			if len(names) != 2 || !(names[0] == "a" && names[1] == "bb" || names[0] == "bb" && names[1] == "a") {
				t.Errorf("BinNames() = %q", names)
			}
			if g := r.Generation(); g != 7 {
				t.Errorf("Generation() = %d", g)
			}
			if ttl := r.TTL(); ttl != 3600 {
				t.Errorf("TTL() = %d", ttl)
			}
			if lu := r.LastUpdate(); !lu.Equal(time.Unix(0, 1_700_000_000_123_456_789)) {
				t.Errorf("LastUpdate() = %v", lu)
			}
			if k, ok := r.Key(); !ok || k != "key" {
				t.Errorf("Key() = %v, %v", k, ok)
			}
			if s := r.SetName(); s != "users" {
				t.Errorf("SetName() = %q", s)
			}
			if dg := r.Digest(); dg != h.digest {
				t.Errorf("Digest() = %x", dg)
			}
			return nil, nil
		})
	})
	t.Run("new record", func(t *testing.T) {
		h := newFakeHost()
		recordCall(t, h, func(r *Record) (Value, error) {
			if r.Exists() || r.Generation() != 0 || !r.LastUpdate().IsZero() || r.BinNames() != nil || r.SetName() != "" {
				t.Errorf("new record: Exists %v, Generation %d, LastUpdate %v, BinNames %q, SetName %q",
					r.Exists(), r.Generation(), r.LastUpdate(), r.BinNames(), r.SetName())
			}
			if k, ok := r.Key(); ok {
				t.Errorf("Key() = %v, true; want none", k)
			}
			return nil, nil
		})
	})
	t.Run("write", func(t *testing.T) {
		h := newFakeHost()
		h.bins["gone"] = []byte{1}
		h.bins["old"] = []byte{1}
		recordCall(t, h, func(r *Record) (Value, error) {
			for _, err := range []error{
				r.Set("n", 5),
				r.Set("l", []string{"a"}),
				r.Set("old", nil),
				r.Remove("gone"),
				r.Remove("never"),
				r.SetTTL(60),
			} {
				if err != nil {
					t.Error(err)
				}
			}
			if v, ok := r.Get("n"); !ok || v != int64(5) {
				t.Errorf(`Get("n") after Set = %v, %v`, v, ok)
			}
			return nil, nil
		})
		want := map[string][]byte{"n": {5}, "l": []byte("\x91\xa2\x03a")}
		if !reflect.DeepEqual(h.bins, want) || h.setTTL != 60 {
			t.Errorf("bins %q, ttl %d; want %q, 60", h.bins, h.setTTL, want)
		}
		recordCall(t, h, func(r *Record) (Value, error) { return nil, r.Delete() })
		if len(h.bins) != 0 {
			t.Errorf("bins after Delete: %q", h.bins)
		}
	})
	t.Run("errors", func(t *testing.T) {
		h := newFakeHost()
		h.maxBins = 1
		h.bins["a"] = []byte{1}
		recordCall(t, h, func(r *Record) (Value, error) {
			for _, c := range []struct {
				err  error
				want error
			}{
				{r.Set("", 1), ErrInvalid},
				{r.Set("b", make(chan int)), ErrInvalid},
				{r.Set("b", 1), ErrLimit},
				{r.SetTTL(-3), ErrInvalid},
				{r.Remove("a_name_of_16_bts"), ErrInvalid},
			} {
				if !errors.Is(c.err, c.want) {
					t.Errorf("error %v, want %v", c.err, c.want)
				}
			}
			h.readOnly = true
			for _, err := range []error{r.Set("a", 2), r.Remove("a"), r.Delete(), r.SetTTL(1)} {
				if !errors.Is(err, ErrNotPermitted) {
					t.Errorf("read-only: error %v, want ErrNotPermitted", err)
				}
			}
			return nil, nil
		})
	})
	t.Run("large bin", func(t *testing.T) {
		h := newFakeHost()
		big := strings.Repeat("z", 3*minReadBuf)
		h.bins["big"], _ = appendValue(nil, big)
		got := recordCall(t, h, func(r *Record) (Value, error) {
			v, _ := r.Get("big")
			v2, _ := r.Get("big") // the grown buffer serves at once
			return []Value{v, v2}, nil
		})
		if !reflect.DeepEqual(got, []Value{big, big}) || h.binGets != 3 {
			t.Errorf("large bin: %d bin_get calls, result equal %v; want 3 calls and the value twice",
				h.binGets, reflect.DeepEqual(got, []Value{big, big}))
		}
	})
	t.Run("malformed bin", func(t *testing.T) {
		h := newFakeHost()
		h.bins["bad"] = []byte{0xc1}
		d := newDispatcher(func(reg registry) {
			reg.register("f", func(r *Record, _ []Value) (Value, error) { r.Get("bad"); return nil, nil })
		})
		if status := h.call(t, d, "f"); status != statusFailed || !strings.Contains(h.failure, `get bin "bad"`) {
			t.Errorf("status %d, failure %q; want a failure naming the bin", status, h.failure)
		}
	})
}

func TestLog(t *testing.T) {
	h := newFakeHost()
	recordCall(t, h, func(*Record) (Value, error) {
		Log(LevelWarn, "careful")
		Logf(LevelDebug, "n=%d", 3)
		return nil, nil
	})
	want := []string{"warn careful", "debug n=3"}
	if !reflect.DeepEqual(h.logs, want) {
		t.Errorf("logs %q, want %q", h.logs, want)
	}
	if active != nil {
		t.Error("the call's host is still active after the call")
	}
}

// TestCallAllocs pins the dispatch path: fetching input, the name lookup,
// decoding small arguments and encoding the result allocate nothing once
// the buffers have grown.
func TestCallAllocs(t *testing.T) {
	d := newDispatcher(func(reg registry) {
		reg.register("add", func(r *Record, args []Value) (Value, error) {
			return args[0].(int64) + args[1].(int64), nil
		})
	})
	h := newFakeHost()
	h.input = []byte("add\x92\x01\x02")
	allocs := testing.AllocsPerRun(100, func() {
		if d.call(h, 3, 3) != statusOK {
			t.Fatal(h.failure)
		}
	})
	if allocs > 0 {
		t.Errorf("%v allocations per call, want 0", allocs)
	}
}
