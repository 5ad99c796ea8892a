package xdrnats

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/xdr"
)

// TestShipReceive: what A ships, B receives all of, in order, and A none.
func TestShipReceive(t *testing.T) {
	s := startServer(t)
	a, b := open(t, s, "A", nil), open(t, s, "B", nil)
	ra, rb := receive(t, a, nil), receive(t, b, nil)

	const n = 1000
	want := changes("A", 0, n)
	want[1].Kind, want[1].Bins = xdr.Delete, nil
	want[2].Kind, want[2].Set, want[2].Digest, want[2].Bins = xdr.Truncate, "", [20]byte{2}, nil
	want[3].Set, want[3].Partial = "odd.set *>", true
	for i := 0; i < n; i += 100 {
		ship(t, a, want[i:i+100])
	}
	waitFor(t, "B to receive everything", func() bool { return rb.count() >= n })
	if got := rb.changes(); !reflect.DeepEqual(got, want) {
		t.Fatalf("B received %d changes, %v..., want %d in order", len(got), indexes(got)[:min(10, len(got))], n)
	}
	// A acks its own changes without applying them; once its consumer has
	// none pending, it has seen them all.
	waitFor(t, "A's consumer to be caught up", func() bool { return stats(t, a).Pending == 0 })
	if got := ra.count(); got != 0 {
		t.Fatalf("A received %d of its own changes", got)
	}
	sa, sb := stats(t, a), stats(t, b)
	if sa.Shipped != n || sa.Received != 0 || !sa.Connected || sa.Gap {
		t.Errorf("A's stats %+v", sa)
	}
	if sb.Received != n || sb.Shipped != 0 || sb.Errors != 0 {
		t.Errorf("B's stats %+v", sb)
	}
}

// TestDuplicate: a batch shipped twice, as the node retries a batch, is
// delivered once. (Changes are de-duplicated by the group of changes a
// message holds: a change shipped again in another batch, as a recovery
// scan may, can arrive twice, which applying tolerates.)
func TestDuplicate(t *testing.T) {
	s := startServer(t)
	a, b := open(t, s, "A", nil), open(t, s, "B", nil)
	rb := receive(t, b, nil)
	cs := changes("A", 0, 3)
	ship(t, a, cs[:2])
	ship(t, a, cs[:2])
	ship(t, a, cs[2:])
	waitFor(t, "the last change", func() bool { return slices.Contains(indexes(rb.changes()), 2) })
	if got := indexes(rb.changes()); !slices.Equal(got, seq(0, 3)) {
		t.Fatalf("B received %v, want each change once: [0 1 2]", got)
	}
}

// TestApplyError: a batch whose apply fails is delivered again, before
// the changes after it.
func TestApplyError(t *testing.T) {
	s := startServer(t)
	a, b := open(t, s, "A", nil), open(t, s, "B", nil)
	ship(t, a, changes("A", 0, 5))
	failed := 0
	rb := receive(t, b, func(batch []xdr.Change) bool {
		failed++
		return failed <= 2 // twice, for the growing delay
	})
	waitFor(t, "the first changes", func() bool { return rb.count() >= 5 })
	ship(t, a, changes("A", 5, 5))
	waitFor(t, "the later changes", func() bool { return rb.count() >= 10 })
	if got := indexes(rb.changes()); !slices.Equal(got, seq(0, 10)) {
		t.Fatalf("B received %v, want [0 ... 9] in order", got)
	}
	if st := stats(t, b); st.Errors < 2 || st.Received != 10 {
		t.Errorf("B's stats %+v: want 2 errors or more, 10 received", st)
	}
}

// TestDurablePosition: a node that was closed gets exactly the changes
// shipped while it was away.
func TestDurablePosition(t *testing.T) {
	s := startServer(t)
	a, b := open(t, s, "A", nil), open(t, s, "B", nil)
	rb := receive(t, b, nil)
	ship(t, a, changes("A", 0, 10))
	waitFor(t, "the first changes", func() bool { return rb.count() >= 10 })
	rb.stop(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Ship(context.Background(), changes("B", 0, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Ship after Close = %v, want ErrClosed", err)
	}

	ship(t, a, changes("A", 10, 10))
	b = open(t, s, "B", nil)
	rb = receive(t, b, nil)
	waitFor(t, "the missed changes", func() bool { return rb.count() >= 10 })
	waitFor(t, "B's consumer to be caught up", func() bool { return stats(t, b).Pending == 0 })
	if got := indexes(rb.changes()); !slices.Equal(got, seq(10, 10)) {
		t.Fatalf("B received %v after reopening, want exactly [10 ... 19]", got)
	}
}

// TestServerRestart: what was acked before the server went down, and what
// is shipped after, arrives; a Ship during the outage fails rather than
// drop changes, and succeeds once retried.
func TestServerRestart(t *testing.T) {
	s := startServer(t)
	a, b := open(t, s, "A", nil), open(t, s, "B", nil)
	rb := receive(t, b, nil)
	ship(t, a, changes("A", 0, 100))
	s.stop()
	waitFor(t, "A to see the outage", func() bool { return !stats(t, a).Connected })

	outage := changes("A", 100, 100)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err := a.Ship(ctx, outage)
	cancel()
	if err == nil {
		t.Fatalf("Ship during the outage returned nil")
	}
	t.Logf("Ship during the outage: %v", err)

	s.start()
	// The node retries the failed batch until it succeeds.
	waitFor(t, "a retried Ship to succeed", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return a.Ship(ctx, outage) == nil
	})
	ship(t, a, changes("A", 200, 100))
	waitFor(t, "everything shipped", func() bool { return len(distinct(rb.changes())) >= 300 })
	if got := distinct(rb.changes()); !slices.Equal(got, seq(0, 300)) {
		t.Fatalf("B received %d distinct changes, want [0 ... 299]", len(got))
	}
	if st := stats(t, a); st.Errors == 0 {
		t.Errorf("A's stats %+v: the failed Ship is not counted", st)
	}
}

// distinct lists the indexes of cs once each, sorted.
func distinct(cs []xdr.Change) []int {
	out := indexes(cs)
	slices.Sort(out)
	return slices.Compact(out)
}

// TestGap: changes that expire before a node takes them set Gap, seen
// both when Receive starts and by Stats.
func TestGap(t *testing.T) {
	s := startServer(t)
	short := map[string]string{"stream-max-age": "1s"}
	a, b := open(t, s, "A", short), open(t, s, "B", short)
	if st := stats(t, b); st.Gap {
		t.Fatalf("a new consumer reports a gap: %+v", st)
	}
	ship(t, a, changes("A", 0, 5))
	stream, err := a.js.Stream(context.Background(), a.stream)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the changes to expire", func() bool {
		info, err := stream.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	receive(t, b, nil)
	waitFor(t, "Receive to see the gap", b.gap.Load)
	if st := stats(t, b); !st.Gap {
		t.Fatalf("Stats = %+v, want Gap", st)
	}
	// A, whose consumer only had its own changes to skip, saw them all.
	c := open(t, s, "C", short)
	if st := stats(t, c); st.Gap {
		t.Errorf("a node that joined later reports a gap: %+v", st)
	}
}

// TestGapWhileReceiving: a consumer that falls behind while it receives
// (its apply failing) and then skips expired changes sets Gap.
func TestGapWhileReceiving(t *testing.T) {
	s := startServer(t)
	short := map[string]string{"stream-max-age": "1s"}
	a, b := open(t, s, "A", short), open(t, s, "B", short)
	ship(t, a, changes("A", 0, 5))
	healthy := make(chan struct{})
	rb := receive(t, b, func([]xdr.Change) bool {
		select {
		case <-healthy:
			return false
		default:
			return true
		}
	})
	stream, err := a.js.Stream(context.Background(), a.stream)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the changes to expire", func() bool {
		info, err := stream.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	close(healthy)
	ship(t, a, changes("A", 5, 1))
	waitFor(t, "the change after the gap", func() bool { return rb.count() >= 1 })
	if got := indexes(rb.changes()); !slices.Equal(got, []int{5}) {
		t.Errorf("B received %v, want [5]", got)
	}
	if st := stats(t, b); !st.Gap {
		t.Fatalf("Stats = %+v, want Gap", st)
	}
}

func TestOpenRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  xdr.Config
		want string
	}{
		{"unknown setting", xdr.Config{Namespace: "ns", Node: "A", URLs: []string{"nats://127.0.0.1:1"},
			Settings: map[string]string{"stream-max-age": "1D", "nats-pasword": "x", "zzz": "1"}},
			"unknown setting nats-pasword, zzz"},
		{"bad value", xdr.Config{Namespace: "ns", Node: "A", URLs: []string{"nats://127.0.0.1:1"},
			Settings: map[string]string{"stream-replicas": "0"}}, `stream-replicas "0": want 1 to 5`},
		{"no node", xdr.Config{Namespace: "ns", URLs: []string{"nats://127.0.0.1:1"}}, "no node id"},
		{"no namespace", xdr.Config{Node: "A", URLs: []string{"nats://127.0.0.1:1"}}, "no namespace"},
		{"no url", xdr.Config{Namespace: "ns", Node: "A"}, "no nats-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Open(context.Background(), tc.cfg)
			if err == nil {
				tr.Close()
				t.Fatalf("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v; want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestCloseStopsReceive: Close makes Receive return ErrClosed.
func TestCloseStopsReceive(t *testing.T) {
	s := startServer(t)
	b := open(t, s, "B", nil)
	done := make(chan error, 1)
	go func() { done <- b.Receive(context.Background(), func([]xdr.Change) error { return nil }) }()
	time.Sleep(50 * time.Millisecond) // let Receive start; either way it must return
	b.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Receive returned %v, want ErrClosed", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Receive did not return after Close")
	}
}
