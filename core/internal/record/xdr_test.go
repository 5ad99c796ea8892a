package record

import (
	"context"
	"errors"
	"testing"

	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/xdr"
)

// commits collects what a namespace emits.
type commits struct {
	partial bool
	got     []xdr.Change
	changed [][]byte
}

func (c *commits) WantsChangedBins() bool { return c.partial }
func (c *commits) Changed(cm *Commit) {
	ch := cm.Change
	ch.Key, ch.Bins = append([]byte(nil), ch.Key...), append([]byte(nil), ch.Bins...)
	c.got = append(c.got, ch)
	c.changed = append(c.changed, append([]byte(nil), cm.ChangedBins...))
}

func TestCommitsReachSinks(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	sink := &commits{partial: true}
	ns.AddChangeSink(sink)
	d := digest(1)
	exec(t, ns, write(d, intOp(proto.OpWrite, "a", 1), intOp(proto.OpWrite, "b", 2)))
	exec(t, ns, write(d, intOp(proto.OpAdd, "a", 5)))
	exec(t, ns, &Request{Digest: d, Info2: proto.Info2Write | proto.Info2Delete})
	if _, err := ns.Truncate(context.Background(), "s", 0); err != nil {
		t.Fatal(err)
	}
	kinds := []xdr.Kind{xdr.Write, xdr.Write, xdr.Delete, xdr.Truncate}
	if len(sink.got) != len(kinds) {
		t.Fatalf("%d commits, want %d", len(sink.got), len(kinds))
	}
	for i, k := range kinds {
		if sink.got[i].Kind != k {
			t.Errorf("commit %d is kind %d, want %d", i, sink.got[i].Kind, k)
		}
	}
	if g := sink.got[1].Generation; g != 2 {
		t.Errorf("second write's generation %d", g)
	}
	// The add changed bin a only.
	if n := len(sink.changed[1]); n == 0 || n >= len(sink.got[1].Bins) {
		t.Errorf("changed bins of the add: %d bytes of %d", n, len(sink.got[1].Bins))
	}
	if sink.got[3].Set != "s" || sink.got[3].LastUpdate == 0 {
		t.Errorf("truncate commit %+v", sink.got[3])
	}
}

func TestApplyChange(t *testing.T) {
	ctx := context.Background()
	src, _ := newTestNamespace(t, nil)
	sink := &commits{}
	src.AddChangeSink(sink)
	dst, clk := newTestNamespace(t, nil)
	dstSink := &commits{}
	dst.AddChangeSink(dstSink)
	var s Scratch
	d := digest(7)

	exec(t, src, write(d, intOp(proto.OpWrite, "v", 1)))
	first := sink.got[0]
	if err := dst.ApplyChange(ctx, &s, &first, LastUpdateWins); err != nil {
		t.Fatal(err)
	}
	if len(dstSink.got) != 0 {
		t.Fatal("an applied change was emitted again: a write loop")
	}
	if got := binsOf(exec(t, dst, getAll(d))); got != "v=1 " {
		t.Fatalf("after apply: %s", got)
	}
	// Applying it again, or an older version, changes nothing.
	if err := dst.ApplyChange(ctx, &s, &first, LastUpdateWins); !errors.Is(err, ErrStale) {
		t.Fatalf("same change again: %v, want ErrStale", err)
	}
	// A later local write beats an earlier remote one, under
	// last-update-time; the remote one with a higher generation wins
	// under generation.
	clk.advance(1e9)
	exec(t, dst, write(d, intOp(proto.OpWrite, "v", 2)))
	exec(t, src, write(d, intOp(proto.OpWrite, "v", 3)))
	exec(t, src, write(d, intOp(proto.OpWrite, "v", 4)))
	older := sink.got[2] // generation 3, written before dst's (src's clock is behind)
	if err := dst.ApplyChange(ctx, &s, &older, LastUpdateWins); !errors.Is(err, ErrStale) {
		t.Fatalf("older remote write under last-update-time: %v, want ErrStale", err)
	}
	if err := dst.ApplyChange(ctx, &s, &older, GenerationWins); err != nil {
		t.Fatalf("higher generation under generation: %v", err)
	}
	if got := binsOf(exec(t, dst, getAll(d))); got != "v=4 " {
		t.Fatalf("after the generation win: %s", got)
	}

	// A delete is remembered: the older write it beat does not come back.
	del := xdr.Change{Kind: xdr.Delete, Namespace: "test", Digest: d, LastUpdate: older.LastUpdate + 1, Generation: 9}
	if err := dst.ApplyChange(ctx, &s, &del, LastUpdateWins); err != nil {
		t.Fatal(err)
	}
	if err := dst.ApplyChange(ctx, &s, &older, LastUpdateWins); !errors.Is(err, ErrStale) {
		t.Fatalf("write older than a delete: %v, want ErrStale", err)
	}
	wantCode(t, exec(t, dst, getAll(d)), proto.KeyNotFound)
}

// TestApplyChangedBins: with bin-policy only-changed a write ships the
// bins it named, and applying it merges them, a removed bin included.
func TestApplyChangedBins(t *testing.T) {
	ctx := context.Background()
	src, _ := newTestNamespace(t, nil)
	sink := &commits{partial: true}
	src.AddChangeSink(sink)
	dst, _ := newTestNamespace(t, nil)
	var s Scratch
	d := digest(3)
	exec(t, src, write(d, intOp(proto.OpWrite, "a", 1), intOp(proto.OpWrite, "b", 2), intOp(proto.OpWrite, "c", 3)))
	exec(t, src, write(d, intOp(proto.OpAdd, "a", 10), proto.Op{Type: proto.OpWrite, Name: []byte("c")}))
	first := sink.got[0]
	if err := dst.ApplyChange(ctx, &s, &first, LastUpdateWins); err != nil {
		t.Fatal(err)
	}
	second := sink.got[1]
	second.Bins, second.Partial = sink.changed[1], true
	if err := dst.ApplyChange(ctx, &s, &second, LastUpdateWins); err != nil {
		t.Fatal(err)
	}
	if got, want := binsOf(exec(t, dst, getAll(d))), binsOf(exec(t, src, getAll(d))); got != want || got != "a=11 b=2 " {
		t.Fatalf("merged record %q, source %q, want a=11 b=2", got, want)
	}
}
