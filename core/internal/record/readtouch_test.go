package record

import (
	"context"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/proto"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/xdr"
)

// TestReadTouch checks read-touch-ttl-pct: a read within pct percent of
// the end of the TTL the last write gave a record moves its void time to
// now plus that TTL, keeping its generation; -1 never touches, 0 takes the
// namespace's default, over 100 is a parameter error; records without a
// TTL are never touched; the read answers as it found the record.
func TestReadTouch(t *testing.T) {
	ns, clk := newTestNamespace(t, func(c *config.Namespace) { c.DefaultReadTouchTTLPct = 50 })
	d := digest(1)
	epochNow := func() uint32 { return uint32(clk.now().Unix() - storage.EpochUnix) }
	put := write(d, intOp(proto.OpWrite, "n", 1))
	put.TTL = 100
	wantCode(t, exec(t, ns, put), proto.OK)
	void := epochNow() + 100
	read := func(pct uint32, headerOnly bool) Result {
		t.Helper()
		req := getAll(d)
		if headerOnly {
			req.Info1 = proto.Info1Read | proto.Info1NoBinData
		}
		req.TTL = pct
		return exec(t, ns, req)
	}
	meta := func() storage.Meta {
		t.Helper()
		m, err := ns.backend.GetMeta(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	clk.advance(10 * time.Second)
	if res := read(80, false); res.Code != proto.OK || res.VoidTime != void || meta().VoidTime != void {
		t.Fatalf("read 10 s into a 100 s TTL at 80%%: %v, void %d, stored %d: want no touch", res.Code, res.VoidTime, meta().VoidTime)
	}
	clk.advance(20 * time.Second) // 30 s in: past the 80% mark (20 s)
	if res := read(neverTouch, false); meta().VoidTime != void || res.Code != proto.OK {
		t.Fatal("a read at -1 touched")
	}
	before := meta()
	res := read(80, false)
	after := meta()
	if res.Code != proto.OK || res.VoidTime != void || binsOf(res) != "n=1 " {
		t.Fatalf("touching read answered %v, void %d, bins %q: want the record as found", res.Code, res.VoidTime, binsOf(res))
	}
	if after.VoidTime != epochNow()+100 || after.Generation != before.Generation || after.LastUpdate <= before.LastUpdate {
		t.Fatalf("after the touch: %+v, before %+v: want void %d, same generation, later update", after, before, epochNow()+100)
	}
	if n := ns.Stats.ReadTouchSuccess.Load(); n != 1 {
		t.Fatalf("read_touch_success %d, want 1", n)
	}

	// The namespace's default, 50%: 40 s into the new 100 s, no touch; at
	// 60 s a header-only read touches.
	void = after.VoidTime
	clk.advance(40 * time.Second)
	if read(0, true); meta().VoidTime != void {
		t.Fatal("a read 40 s into 100 touched at the default 50%")
	}
	clk.advance(20 * time.Second)
	if read(0, true); meta().VoidTime != epochNow()+100 {
		t.Fatalf("a header-only read 60 s into 100 at the default 50%%: void %d, want %d", meta().VoidTime, epochNow()+100)
	}

	wantCode(t, exec(t, ns, func() *Request { r := getAll(d); r.TTL = 101; return r }()), proto.ParameterError)

	forever := write(digest(2), intOp(proto.OpWrite, "n", 1))
	forever.TTL = proto.TTLNeverExpire
	wantCode(t, exec(t, ns, forever), proto.OK)
	noTTL := getAll(digest(2))
	noTTL.TTL = 100
	wantCode(t, exec(t, ns, noTTL), proto.OK)
	if m, _ := ns.backend.GetMeta(context.Background(), digest(2)); m.VoidTime != 0 {
		t.Fatalf("a record without a TTL was touched: void %d", m.VoidTime)
	}
}

// TestReadTouchSetDefault checks a set's default-read-touch-ttl-pct: it
// stands for the namespace's for the set's records, and -1 there never
// touches whatever the namespace's says.
func TestReadTouchSetDefault(t *testing.T) {
	ns, clk := newTestNamespace(t, func(c *config.Namespace) {
		c.DefaultReadTouchTTLPct = 90
		c.Sets = map[string]config.SetSettings{"hot": {DefaultReadTouchTTLPct: 10}, "frozen": {DefaultReadTouchTTLPct: -1}}
	})
	voids := map[string]uint32{}
	for i, set := range []string{"hot", "frozen", "other"} {
		req := write(digest(i), intOp(proto.OpWrite, "n", 1))
		req.Set, req.TTL = []byte(set), 100
		voids[set] = exec(t, ns, req).VoidTime
	}
	// 50 s into 100: within the last 90% (the namespace's), not within the
	// last 10% (hot's).
	clk.advance(50 * time.Second)
	for i, set := range []string{"hot", "frozen", "other"} {
		wantCode(t, exec(t, ns, getAll(digest(i))), proto.OK)
		m, err := ns.backend.GetMeta(context.Background(), digest(i))
		if err != nil {
			t.Fatal(err)
		}
		if touched := m.VoidTime != voids[set]; touched != (set == "other") {
			t.Errorf("set %s: touched %v", set, touched)
		}
	}
}

// TestReadTouchReplicates checks that a read's touch ships as a write of
// the whole record with its generation, a new void time and last-update
// time, and that a peer takes it under either conflict rule.
func TestReadTouchReplicates(t *testing.T) {
	ctx := context.Background()
	for _, rule := range []int{LastUpdateWins, GenerationWins} {
		src, clk := newTestNamespace(t, nil)
		sink := &commits{partial: true}
		src.AddChangeSink(sink)
		dst, _ := newTestNamespace(t, nil)
		var s Scratch
		d := digest(3)
		put := write(d, intOp(proto.OpWrite, "v", 1))
		put.TTL = 100
		wantCode(t, exec(t, src, put), proto.OK)
		first := sink.got[0]
		if err := dst.ApplyChange(ctx, &s, &first, rule); err != nil {
			t.Fatal(err)
		}
		clk.advance(50 * time.Second)
		read := getAll(d)
		read.TTL = 100
		wantCode(t, exec(t, src, read), proto.OK)
		if len(sink.got) != 2 {
			t.Fatalf("%d changes shipped, want the write and the touch", len(sink.got))
		}
		touch := sink.got[1]
		if touch.Kind != xdr.Write || touch.Generation != first.Generation || touch.VoidTime != first.VoidTime+50 ||
			touch.LastUpdate <= first.LastUpdate || len(sink.changed[1]) != 0 || string(touch.Bins) != string(first.Bins) {
			t.Fatalf("the touch shipped as %+v (changed bins %d bytes), after %+v", touch, len(sink.changed[1]), first)
		}
		if err := dst.ApplyChange(ctx, &s, &touch, rule); err != nil {
			t.Fatalf("rule %d: the peer refused the touch: %v", rule, err)
		}
		if m, err := dst.backend.GetMeta(ctx, d); err != nil || m.VoidTime != touch.VoidTime {
			t.Fatalf("rule %d: the peer's void time %d (%v), want %d", rule, m.VoidTime, err, touch.VoidTime)
		}
	}
}
