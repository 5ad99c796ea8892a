package record

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/bins"
	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/core/proto"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	"github.com/skiffdb/skiff/sdk/storage"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestNamespace(t testing.TB, edit func(*config.Namespace)) (*Namespace, *testClock) {
	t.Helper()
	cfg := config.Default().Namespaces[0]
	if edit != nil {
		edit(cfg)
	}
	b, err := memory.New(memory.Options{DataSize: cfg.Storage.DataSize})
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	ns := New(cfg, Options{Backend: b, Now: clk.now})
	t.Cleanup(func() { ns.Close() })
	return ns, clk
}

func digest(i int) storage.Digest {
	var d storage.Digest
	binary.BigEndian.PutUint64(d[4:], uint64(i)*0x9E3779B97F4A7C15)
	binary.LittleEndian.PutUint16(d[:], uint16(i))
	return d
}

func intOp(typ uint8, name string, v int64) proto.Op {
	return proto.Op{Type: typ, ParticleType: proto.ParticleInteger, Name: []byte(name), Value: binary.BigEndian.AppendUint64(nil, uint64(v))}
}

func strOp(typ uint8, name, v string) proto.Op {
	return proto.Op{Type: typ, ParticleType: proto.ParticleString, Name: []byte(name), Value: []byte(v)}
}

func readOp(name string) proto.Op { return proto.Op{Type: proto.OpRead, Name: []byte(name)} }

func write(d storage.Digest, ops ...proto.Op) *Request {
	return &Request{Digest: d, Set: []byte("s"), Info2: proto.Info2Write, Ops: ops}
}

func getAll(d storage.Digest) *Request {
	return &Request{Digest: d, Info1: proto.Info1Read | proto.Info1GetAll}
}

func exec(t testing.TB, ns *Namespace, req *Request) Result {
	t.Helper()
	var s Scratch
	res := ns.Execute(context.Background(), &s, req)
	// Detach the bins from the scratch for the caller.
	out := make([]bins.Bin, len(res.Bins))
	for i, b := range res.Bins {
		out[i] = bins.Bin{Name: append([]byte(nil), b.Name...), Type: b.Type, Value: append([]byte(nil), b.Value...)}
	}
	res.Bins = out
	return res
}

func wantCode(t testing.TB, res Result, code proto.ResultCode) {
	t.Helper()
	if res.Code != code {
		t.Fatalf("result %v, want %v", res.Code, code)
	}
}

// binsOf renders a result's bins as name=value text for comparisons.
func binsOf(res Result) string {
	s := ""
	for _, b := range res.Bins {
		switch b.Type {
		case proto.ParticleInteger:
			s += fmt.Sprintf("%s=%d ", b.Name, int64(binary.BigEndian.Uint64(b.Value)))
		case proto.ParticleNull:
			s += fmt.Sprintf("%s=nil ", b.Name)
		default:
			s += fmt.Sprintf("%s=%q ", b.Name, b.Value)
		}
	}
	return s
}

func TestWriteAndRead(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	d := digest(1)
	res := exec(t, ns, write(d, intOp(proto.OpWrite, "n", 5), strOp(proto.OpWrite, "s", "x")))
	wantCode(t, res, proto.OK)
	if res.Generation != 1 {
		t.Fatalf("generation %d", res.Generation)
	}
	res = exec(t, ns, getAll(d))
	wantCode(t, res, proto.OK)
	if got := binsOf(res); got != `n=5 s="x" ` {
		t.Fatalf("bins %s", got)
	}
	res = exec(t, ns, &Request{Digest: d, Info1: proto.Info1Read, Ops: []proto.Op{readOp("s"), readOp("missing")}})
	if got := binsOf(res); got != `s="x" ` {
		t.Fatalf("selected bins %s", got)
	}
	res = exec(t, ns, &Request{Digest: d, Info1: proto.Info1Read | proto.Info1NoBinData})
	if res.Code != proto.OK || len(res.Bins) != 0 || res.Generation != 1 {
		t.Fatalf("header read %+v", res)
	}
	wantCode(t, exec(t, ns, getAll(digest(2))), proto.KeyNotFound)
	wantCode(t, exec(t, ns, &Request{Digest: d}), proto.ParameterError)
}

func TestOperations(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	d := digest(3)
	for _, tc := range []struct {
		name string
		ops  []proto.Op
		code proto.ResultCode
		want string
	}{
		{"create", []proto.Op{intOp(proto.OpWrite, "n", 1), strOp(proto.OpWrite, "s", "b"), {Type: proto.OpRead}}, proto.OK, `n=1 s="b" `},
		{"add append prepend", []proto.Op{intOp(proto.OpAdd, "n", 41), strOp(proto.OpAppend, "s", "c"), strOp(proto.OpPrepend, "s", "a"), readOp("n"), readOp("s")}, proto.OK, `n=42 s="abc" `},
		{"add to string", []proto.Op{intOp(proto.OpAdd, "s", 1)}, proto.BinTypeError, ""},
		{"append to integer", []proto.Op{strOp(proto.OpAppend, "n", "x")}, proto.BinTypeError, ""},
		{"add string operand to a new bin", []proto.Op{strOp(proto.OpAdd, "new", "x"), readOp("new"), {Type: proto.OpWrite, Name: []byte("new")}}, proto.OK, `new="x" `},
		{"add string operand to a string bin", []proto.Op{strOp(proto.OpAdd, "s", "x")}, proto.BinTypeError, ""},
		{"bin name too long", []proto.Op{intOp(proto.OpWrite, "sixteen-chars-xx", 1)}, proto.BinNameTooLong, ""},
		{"empty bin name", []proto.Op{intOp(proto.OpWrite, "", 1)}, proto.ParameterError, ""},
		{"bad integer", []proto.Op{{Type: proto.OpWrite, ParticleType: proto.ParticleInteger, Name: []byte("n"), Value: []byte{1}}}, proto.ParameterError, ""},
		{"unknown particle", []proto.Op{{Type: proto.OpWrite, ParticleType: 99, Name: []byte("n"), Value: []byte{1}}}, proto.ParameterError, ""},
		{"malformed list operation", []proto.Op{{Type: proto.OpCDTModify, Name: []byte("l"), Value: []byte{0x91}}}, proto.ParameterError, ""},
		{"list operation on an integer", []proto.Op{{Type: proto.OpCDTModify, Name: []byte("n"), Value: []byte{0x92, 1, 7}}}, proto.BinTypeError, ""},
		{"unknown operation type", []proto.Op{{Type: 99, Name: []byte("h")}}, proto.UnsupportedFeature, ""},
		{"malformed HLL value", []proto.Op{{Type: proto.OpWrite, ParticleType: proto.ParticleHLL, Name: []byte("h"), Value: []byte{1, 2, 3}}}, proto.ParameterError, ""},
		{"bit operation on a string", []proto.Op{{Type: proto.OpBitModify, Name: []byte("s"), Value: []byte{0x93, 7, 0, 8}}}, proto.BinTypeError, ""},
		{"no operations", nil, proto.ParameterError, ""},
		{"read in sequence", []proto.Op{readOp("n"), intOp(proto.OpAdd, "n", 1), readOp("n")}, proto.OK, `n=42 n=43 `},
		{"remove bin", []proto.Op{{Type: proto.OpWrite, Name: []byte("s")}, {Type: proto.OpRead}}, proto.OK, `n=43 `},
		{"delete then write", []proto.Op{{Type: proto.OpDelete}, intOp(proto.OpWrite, "m", 7), {Type: proto.OpRead}}, proto.OK, `m=7 `},
		// A list or map written whole is checked, and sorted if ordered.
		{"ordered list out of order", []proto.Op{{Type: proto.OpWrite, ParticleType: proto.ParticleList, Name: []byte("l"), Value: []byte{0x93, 0xc7, 0, 1, 3, 1}}, {Type: proto.OpRead}},
			proto.OK, `m=7 l="\x93\xc7\x00\x01\x01\x03" `},
		{"list with trailing bytes", []proto.Op{{Type: proto.OpWrite, ParticleType: proto.ParticleList, Name: []byte("l"), Value: []byte{0x91, 1, 2}}}, proto.ParameterError, ""},
		{"map for a list", []proto.Op{{Type: proto.OpWrite, ParticleType: proto.ParticleList, Name: []byte("l"), Value: []byte{0x81, 1, 2}}}, proto.ParameterError, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := write(d, tc.ops...)
			req.Info1 = proto.Info1Read | proto.Info1GetAll
			res := exec(t, ns, req)
			wantCode(t, res, tc.code)
			if got := binsOf(res); tc.code == proto.OK && got != tc.want {
				t.Fatalf("bins %s, want %s", got, tc.want)
			}
		})
	}
	res := exec(t, ns, getAll(d))
	if res.Generation != 7 {
		t.Fatalf("generation %d after 7 successful writes", res.Generation)
	}

	// Respond-all-ops gives each write an empty result, in order.
	req := write(d, intOp(proto.OpAdd, "m", 1), readOp("m"), intOp(proto.OpWrite, "k", 2), readOp("absent"))
	req.Info2 |= proto.Info2RespondAllOps
	if got := binsOf(exec(t, ns, req)); got != `m=nil m=8 k=nil absent=nil ` {
		t.Fatalf("respond-all-ops: %s", got)
	}
}

func TestExistsAndGenerationPolicies(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	d := digest(4)
	put := func(info2, info3 uint8, gen uint32) proto.ResultCode {
		req := write(d, intOp(proto.OpWrite, "n", 1))
		req.Info2 |= info2
		req.Info3 = info3
		req.Generation = gen
		return exec(t, ns, req).Code
	}
	steps := []struct {
		name         string
		info2, info3 uint8
		gen          uint32
		want         proto.ResultCode
	}{
		{"update-only on missing", 0, proto.Info3UpdateOnly, 0, proto.KeyNotFound},
		{"replace-only on missing", 0, proto.Info3ReplaceOnly, 0, proto.KeyNotFound},
		{"create-only on missing", proto.Info2CreateOnly, 0, 0, proto.OK},
		{"create-only on existing", proto.Info2CreateOnly, 0, 0, proto.KeyExists},
		{"update-only on existing", 0, proto.Info3UpdateOnly, 0, proto.OK},
		{"replace-only on existing", 0, proto.Info3ReplaceOnly, 0, proto.OK},
		{"generation equal, wrong", proto.Info2Generation, 0, 1, proto.GenerationError},
		{"generation equal, right", proto.Info2Generation, 0, 3, proto.OK},
		{"generation greater, equal", proto.Info2GenerationGT, 0, 4, proto.GenerationError},
		{"generation greater, greater", proto.Info2GenerationGT, 0, 9, proto.OK},
	}
	for _, st := range steps {
		if got := put(st.info2, st.info3, st.gen); got != st.want {
			t.Fatalf("%s: %v, want %v", st.name, got, st.want)
		}
	}
	del := &Request{Digest: d, Info2: proto.Info2Write | proto.Info2Delete | proto.Info2Generation, Generation: 1}
	wantCode(t, exec(t, ns, del), proto.GenerationError)
	del.Generation = 5
	wantCode(t, exec(t, ns, del), proto.OK)
	wantCode(t, exec(t, ns, del), proto.KeyNotFound)
}

func TestReplaceDropsOtherBins(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	d := digest(5)
	exec(t, ns, write(d, intOp(proto.OpWrite, "a", 1), intOp(proto.OpWrite, "b", 2)))
	req := write(d, intOp(proto.OpWrite, "c", 3))
	req.Info3 = proto.Info3CreateOrReplace
	wantCode(t, exec(t, ns, req), proto.OK)
	if got := binsOf(exec(t, ns, getAll(d))); got != "c=3 " {
		t.Fatalf("after replace: %s", got)
	}
}

func TestTTLAndExpiry(t *testing.T) {
	ns, clk := newTestNamespace(t, nil)
	ttl := func(d storage.Digest, v uint32) Result {
		req := write(d, intOp(proto.OpWrite, "n", 1))
		req.TTL = v
		return exec(t, ns, req)
	}
	now := uint32(clk.now().Unix() - storage.EpochUnix)
	if res := ttl(digest(6), 0); res.VoidTime != now+30*24*3600 {
		t.Fatalf("default TTL: void time %d, want %d", res.VoidTime, now+30*24*3600)
	}
	if res := ttl(digest(6), proto.TTLNeverExpire); res.VoidTime != 0 {
		t.Fatalf("never expire: void time %d", res.VoidTime)
	}
	ttl(digest(6), 100)
	clk.advance(10 * time.Second)
	if res := ttl(digest(6), proto.TTLDontUpdate); res.VoidTime != now+100 {
		t.Fatalf("don't update: void time %d, want %d", res.VoidTime, now+100)
	}
	wantCode(t, ttl(digest(6), MaxTTL+1), proto.ParameterError)
	wantCode(t, ttl(digest(6), 0xFFFFFFFD), proto.ParameterError)

	// A record is visible for at least its TTL, then gone for every command.
	ttl(digest(7), 5)
	clk.advance(5 * time.Second)
	wantCode(t, exec(t, ns, getAll(digest(7))), proto.OK)
	clk.advance(2 * time.Second)
	wantCode(t, exec(t, ns, getAll(digest(7))), proto.KeyNotFound)
	touch := write(digest(7), proto.Op{Type: proto.OpTouch})
	wantCode(t, exec(t, ns, touch), proto.KeyNotFound)
	if ns.Stats.Expired.Load() != 1 {
		t.Fatalf("expired count %d", ns.Stats.Expired.Load())
	}

	// nsup removes expired records no command touches.
	for i := 100; i < 200; i++ {
		ttl(digest(i), 60)
	}
	ttl(digest(300), proto.TTLNeverExpire)
	clk.advance(2 * time.Minute)
	// The 100 records, and digest(6) whose 100 s TTL has run out too.
	n, err := ns.RemoveDead(context.Background())
	if err != nil || n != 101 {
		t.Fatalf("nsup removed %d, %v", n, err)
	}
	st, _ := ns.Backend().Stats(context.Background())
	if st.Records != 1 {
		t.Fatalf("%d records left, want 1", st.Records)
	}
}

func TestTTLWithoutNsup(t *testing.T) {
	ns, _ := newTestNamespace(t, func(c *config.Namespace) {
		c.NsupPeriod = 0
		c.DefaultTTL = 0
	})
	req := write(digest(1), intOp(proto.OpWrite, "n", 1))
	req.TTL = 10
	wantCode(t, exec(t, ns, req), proto.FailForbidden)
	req.TTL = 0
	wantCode(t, exec(t, ns, req), proto.OK)
}

func TestRecordTooBig(t *testing.T) {
	ns, _ := newTestNamespace(t, func(c *config.Namespace) { c.MaxRecordSize = 4 << 10 })
	big := proto.Op{Type: proto.OpWrite, ParticleType: proto.ParticleBlob, Name: []byte("b"), Value: make([]byte, 5<<10)}
	wantCode(t, exec(t, ns, write(digest(1), big)), proto.RecordTooBig)
	wantCode(t, exec(t, ns, getAll(digest(1))), proto.KeyNotFound)
}

func TestTruncate(t *testing.T) {
	ns, clk := newTestNamespace(t, nil)
	for i := 0; i < 50; i++ {
		req := write(digest(i), intOp(proto.OpWrite, "n", 1))
		if i%2 == 1 {
			req.Set = []byte("other")
		}
		exec(t, ns, req)
	}
	clk.advance(time.Millisecond)
	if _, err := ns.Truncate(context.Background(), "s", 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		want := proto.OK
		if i%2 == 0 {
			want = proto.KeyNotFound
		}
		wantCode(t, exec(t, ns, getAll(digest(i))), want)
	}
	clk.advance(time.Millisecond)
	exec(t, ns, write(digest(0), intOp(proto.OpWrite, "n", 2)))
	wantCode(t, exec(t, ns, getAll(digest(0))), proto.OK)

	if _, err := ns.Truncate(context.Background(), "", uint64(clk.now().Add(time.Hour).UnixNano())); err == nil {
		t.Fatal("a truncation point in the future was accepted")
	}
	clk.advance(time.Millisecond)
	if _, err := ns.Truncate(context.Background(), "", 0); err != nil {
		t.Fatal(err)
	}
	wantCode(t, exec(t, ns, getAll(digest(0))), proto.KeyNotFound)
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := ns.Backend().Stats(context.Background())
		if st.Records == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d truncated records still stored", st.Records)
		}
		time.Sleep(10 * time.Millisecond)
	}
	sets, err := ns.Sets(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		if s.Objects != 0 {
			t.Errorf("set %s: %d objects after truncation", s.Name, s.Objects)
		}
	}
}

func TestSetCounts(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	for i := 0; i < 10; i++ {
		exec(t, ns, write(digest(i), intOp(proto.OpWrite, "n", 1)))
	}
	exec(t, ns, write(digest(0), intOp(proto.OpWrite, "n", 2)))
	exec(t, ns, &Request{Digest: digest(1), Info2: proto.Info2Write | proto.Info2Delete})
	exec(t, ns, write(digest(2), proto.Op{Type: proto.OpWrite, Name: []byte("n")}))
	sets, err := ns.Sets(context.Background())
	if err != nil || len(sets) != 1 || sets[0].Name != "s" || sets[0].Objects != 8 || sets[0].DataBytes == 0 {
		t.Fatalf("sets %+v", sets)
	}
	if names := ns.BinNames(); len(names) != 1 || names[0] != "n" {
		t.Fatalf("bin names %v", names)
	}
}

func TestConcurrentAdds(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	d := digest(9)
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var s Scratch
			req := write(d, intOp(proto.OpAdd, "n", 1))
			for range each {
				if res := ns.Execute(context.Background(), &s, req); res.Code != proto.OK {
					t.Errorf("add: %v", res.Code)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := binsOf(exec(t, ns, getAll(d))); got != fmt.Sprintf("n=%d ", workers*each) {
		t.Fatalf("after concurrent adds: %s", got)
	}
}

func TestScanPartition(t *testing.T) {
	ns, clk := newTestNamespace(t, nil)
	var pid uint16 = 77
	var ds []storage.Digest
	for i := 0; i < 40; i++ {
		d := digest(i*storage.Partitions + int(pid))
		ds = append(ds, d)
		req := write(d, intOp(proto.OpWrite, "n", int64(i)))
		if i%4 == 0 {
			req.Set = []byte("other")
		}
		if i%5 == 0 {
			req.TTL = 1
		}
		exec(t, ns, req)
	}
	clk.advance(3 * time.Second)
	var buf ScanBuffer
	var got []storage.Digest
	err := ns.ScanPartition(context.Background(), pid, ScanFilter{Set: []byte("s")}, &buf, func(d storage.Digest, rec *storage.Record) error {
		if rec.Set != "s" || len(rec.Bins) == 0 {
			t.Errorf("record %x: set %q, %d bytes of bins", d, rec.Set, len(rec.Bins))
		}
		got = append(got, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 40 records, 10 in "other", 8 expired, of which 2 were in "other".
	if len(got) != 24 {
		t.Fatalf("scan returned %d records, want 24", len(got))
	}
	for i := 1; i < len(got); i++ {
		if string(got[i-1][:]) >= string(got[i][:]) {
			t.Fatal("scan not in digest order")
		}
	}
	after := got[11]
	var rest int
	ns.ScanPartition(context.Background(), pid, ScanFilter{Set: []byte("s"), After: &after, MetaOnly: true}, &buf, func(d storage.Digest, rec *storage.Record) error {
		rest++
		return nil
	})
	if rest != 12 {
		t.Fatalf("resumed scan returned %d records, want 12", rest)
	}
}

func TestExecuteAllocations(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	d := digest(11)
	var s Scratch
	ctx := context.Background()
	put := write(d, intOp(proto.OpWrite, "n", 1), strOp(proto.OpWrite, "s", "0123456789"))
	add := write(d, intOp(proto.OpAdd, "n", 1), readOp("n"))
	get := getAll(d)
	for _, req := range []*Request{put, add, get} {
		ns.Execute(ctx, &s, req)
	}
	for name, req := range map[string]*Request{"put": put, "add": add, "get": get} {
		if n := testing.AllocsPerRun(200, func() { ns.Execute(ctx, &s, req) }); n != 0 {
			t.Errorf("%s: %v allocations per command", name, n)
		}
	}
}

func blobOp(name string, n int) proto.Op {
	return proto.Op{Type: proto.OpWrite, ParticleType: proto.ParticleBlob, Name: []byte(name), Value: make([]byte, n)}
}

func TestStopWrites(t *testing.T) {
	ns, _ := newTestNamespace(t, func(c *config.Namespace) {
		c.Storage.DataSize = 1 << 20
		c.StopWritesUsedPct = 50
	})
	ctx := context.Background()
	i := 0
	for ; !ns.StopWrites(); i++ {
		if i > 1000 {
			t.Fatal("stop-writes never came on")
		}
		wantCode(t, exec(t, ns, write(digest(i), blobOp("b", 8<<10))), proto.OK)
		ns.checkStopWrites(ctx)
	}
	wantCode(t, exec(t, ns, write(digest(i+1), blobOp("b", 10))), proto.ServerMemError)
	wantCode(t, exec(t, ns, write(digest(0), blobOp("b", 10))), proto.ServerMemError)
	wantCode(t, exec(t, ns, getAll(digest(0))), proto.OK)
	for j := 0; j < i/2; j++ {
		wantCode(t, exec(t, ns, &Request{Digest: digest(j), Info2: proto.Info2Write | proto.Info2Delete}), proto.OK)
	}
	ns.checkStopWrites(ctx)
	if ns.StopWrites() {
		t.Fatal("stop-writes still on after deleting half the records")
	}
	wantCode(t, exec(t, ns, write(digest(i+1), blobOp("b", 10))), proto.OK)
}

// TestDisallowNullSetname checks disallow-null-setname: writes that name
// no set fail with PARAMETER_ERROR and store nothing; writes to a set, and
// reads and deletes without one, go on.
func TestDisallowNullSetname(t *testing.T) {
	ns, _ := newTestNamespace(t, func(c *config.Namespace) { c.DisallowNullSetname = true })
	noSet := write(digest(1), intOp(proto.OpWrite, "n", 1))
	noSet.Set = nil
	wantCode(t, exec(t, ns, noSet), proto.ParameterError)
	wantCode(t, exec(t, ns, getAll(digest(1))), proto.KeyNotFound)
	wantCode(t, exec(t, ns, write(digest(2), intOp(proto.OpWrite, "n", 1))), proto.OK)
	wantCode(t, exec(t, ns, &Request{Digest: digest(2), Info2: proto.Info2Write | proto.Info2Delete}), proto.OK)
	if n := ns.Stats.WriteError.Load(); n != 1 {
		t.Fatalf("client_write_error %d, want 1", n)
	}
}

// overloaded is a backend whose writes fail with ErrOverloaded while
// full is set, as the device backend's do while its write queue is full.
type overloaded struct {
	storage.Backend
	full bool
}

func (b *overloaded) Put(ctx context.Context, d storage.Digest, rec storage.Record) error {
	if b.full {
		return fmt.Errorf("nvme: put %x: a.dat: write queue full: %w", d[:4], storage.ErrOverloaded)
	}
	return b.Backend.Put(ctx, d, rec)
}

func (b *overloaded) Delete(ctx context.Context, d storage.Digest, durable bool) error {
	if b.full && durable {
		return fmt.Errorf("nvme: durable delete %x: a.dat: write queue full: %w", d[:4], storage.ErrOverloaded)
	}
	return b.Backend.Delete(ctx, d, durable)
}

// TestDeviceOverload checks that a write the backend refuses for a full
// write queue comes back as DEVICE_OVERLOAD, counted as an error, with the
// record as it was.
func TestDeviceOverload(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	b := &overloaded{Backend: ns.backend}
	ns.backend = b
	wantCode(t, exec(t, ns, write(digest(1), intOp(proto.OpWrite, "n", 1))), proto.OK)
	b.full = true
	wantCode(t, exec(t, ns, write(digest(1), intOp(proto.OpWrite, "n", 2))), proto.DeviceOverload)
	wantCode(t, exec(t, ns, write(digest(2), intOp(proto.OpWrite, "n", 2))), proto.DeviceOverload)
	durable := &Request{Digest: digest(1), Info2: proto.Info2Write | proto.Info2Delete | proto.Info2DurableDelete}
	wantCode(t, exec(t, ns, durable), proto.DeviceOverload)
	if w, d := ns.Stats.WriteError.Load(), ns.Stats.DeleteError.Load(); w != 2 || d != 1 {
		t.Fatalf("client_write_error %d, client_delete_error %d: want 2 and 1", w, d)
	}
	b.full = false
	res := exec(t, ns, getAll(digest(1)))
	wantCode(t, res, proto.OK)
	if got := binsOf(res); got != "n=1 " {
		t.Fatalf("record after refused writes: %s, want n=1", got)
	}
	wantCode(t, exec(t, ns, getAll(digest(2))), proto.KeyNotFound)
}

func TestEvictClosestToExpiry(t *testing.T) {
	ns, _ := newTestNamespace(t, func(c *config.Namespace) {
		c.Storage.DataSize = 4 << 20
		c.EvictUsedPct = 40
		c.StopWritesUsedPct = 0
	})
	ctx := context.Background()
	const n = 300
	for i := 0; i < n; i++ {
		req := write(digest(i), blobOp("b", 8<<10))
		if i%3 != 0 {
			req.TTL = uint32(1000 + i) // later records expire later
		}
		wantCode(t, exec(t, ns, req), proto.OK)
	}
	before, _ := ns.Backend().Stats(ctx)
	if usedPct(&before) < 40 {
		t.Fatalf("only %d%% used; the test needs more than 40%%", usedPct(&before))
	}
	evicted, err := ns.Evict(ctx)
	if err != nil || evicted == 0 {
		t.Fatalf("evicted %d, %v", evicted, err)
	}
	after, _ := ns.Backend().Stats(ctx)
	if usedPct(&after) >= 40 {
		t.Fatalf("still %d%% used after evicting %d", usedPct(&after), evicted)
	}
	// Records without a TTL all stay; of the others, the earliest to expire
	// went first.
	lastGone, firstKept := -1, n
	for i := 0; i < n; i++ {
		found := exec(t, ns, getAll(digest(i))).Code == proto.OK
		switch {
		case i%3 == 0 && !found:
			t.Fatalf("record %d without a TTL was evicted", i)
		case i%3 != 0 && !found:
			lastGone = max(lastGone, i)
		case i%3 != 0 && found:
			firstKept = min(firstKept, i)
		}
	}
	if lastGone > firstKept {
		t.Fatalf("record %d evicted but %d, which expires sooner, kept", lastGone, firstKept)
	}
	if got := ns.Stats.Evicted.Load(); got != uint64(evicted) {
		t.Fatalf("evicted_objects %d, evicted %d", got, evicted)
	}
}

// TestEvictTenthsPct: evict-tenths-pct caps a pass at that many tenths of
// a percent of the records, the soonest to expire, however far above the
// threshold the namespace is.
func TestEvictTenthsPct(t *testing.T) {
	ns, _ := newTestNamespace(t, func(c *config.Namespace) {
		c.Storage.DataSize = 4 << 20
		c.EvictUsedPct = 40
		c.EvictTenthsPct = 10 // 1%: 3 of 300 records
		c.StopWritesUsedPct = 0
	})
	const n = 300
	for i := range n {
		req := write(digest(i), blobOp("b", 8<<10))
		req.TTL = uint32(1000 + i)
		wantCode(t, exec(t, ns, req), proto.OK)
	}
	evicted, err := ns.Evict(context.Background())
	if err != nil || evicted != 3 {
		t.Fatalf("evicted %d, %v; want 3", evicted, err)
	}
	for i := range n {
		if found := exec(t, ns, getAll(digest(i))).Code == proto.OK; found != (i >= 3) {
			t.Fatalf("record %d found %v after a pass that evicted the 3 soonest to expire", i, found)
		}
	}
}

// TestEvictCutoffResolution: records with TTLs of minutes beside records
// with the default TTL of 30 days share one bucket of a histogram over the
// whole range; the cutoff is still the void time of exactly the need-th
// record to expire, so that eviction takes those and no others.
func TestEvictCutoffResolution(t *testing.T) {
	ns, clk := newTestNamespace(t, nil) // default-ttl 30D
	for i := range 300 {
		req := write(digest(i), blobOp("b", 100))
		if i%3 != 0 {
			req.TTL = uint32(1000 + i)
		}
		wantCode(t, exec(t, ns, req), proto.OK)
	}
	now := uint32(clk.now().Unix() - storage.EpochUnix)
	for _, need := range []uint64{1, 2, 57, 199, 200} {
		// The need-th record with a TTL, in expiry order.
		k := int(need) + int(need-1)/2
		cutoff, err := ns.evictCutoff(context.Background(), nil, need)
		if err != nil {
			t.Fatal(err)
		}
		if want := now + 1000 + uint32(k); cutoff != want {
			t.Errorf("need %d: cutoff %d, want %d (record %d's void time)", need, cutoff, want, k)
		}
	}
}

// getCounter counts the data reads of the backend it wraps.
type getCounter struct {
	storage.Backend
	gets int
}

func (b *getCounter) Get(ctx context.Context, d storage.Digest, buf []byte) (storage.Record, error) {
	b.gets++
	return b.Backend.Get(ctx, d, buf)
}

// TestBlindReplace checks that a replace reads only the stored record's
// metadata, and its data only when it must: for a stored key the write
// does not send, and under a secondary index.
func TestBlindReplace(t *testing.T) {
	ns, clk := newTestNamespace(t, nil)
	counter := &getCounter{Backend: ns.backend}
	ns.backend = counter
	ctx := context.Background()
	key := []byte{proto.ParticleString, 'k'}
	replace := func(d storage.Digest, key []byte, ops ...proto.Op) *Request {
		req := write(d, ops...)
		req.Info3 = proto.Info3CreateOrReplace
		req.Key = key
		return req
	}
	stored := func(d storage.Digest) storage.Record {
		t.Helper()
		rec, err := counter.Backend.Get(ctx, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	steps := []struct {
		name     string
		req      *Request
		edit     func(*Request) // changes to req, when not nil
		code     proto.ResultCode
		wantGets int
		wantKey  string
		wantOut  string // the command's read results, when it has some
	}{
		{"create with a key", replace(digest(1), key, intOp(proto.OpWrite, "a", 1)), nil, proto.OK, 0, "k", ""},
		{"replace sending the key", replace(digest(1), key, intOp(proto.OpWrite, "b", 2)), nil, proto.OK, 0, "k", ""},
		{"replace keeping a stored key", replace(digest(1), nil, intOp(proto.OpWrite, "c", 3)), nil, proto.OK, 1, "k", ""},
		{"create without a key", replace(digest(2), nil, intOp(proto.OpWrite, "a", 1)), nil, proto.OK, 0, "", ""},
		{"replace without a key", replace(digest(2), nil, intOp(proto.OpAdd, "a", 5), readOp("a")),
			func(r *Request) { r.TTL = 100 }, proto.OK, 0, "", "a=5 "},
		{"replace-only, missing", replace(digest(3), nil, intOp(proto.OpWrite, "a", 1)),
			func(r *Request) { r.Info3 = proto.Info3ReplaceOnly }, proto.KeyNotFound, 0, "", ""},
		{"replace, wrong generation", replace(digest(2), nil, intOp(proto.OpWrite, "a", 1)),
			func(r *Request) { r.Info2 |= proto.Info2Generation; r.Generation = 9 }, proto.GenerationError, 0, "", ""},
		{"replace, right generation, TTL unchanged, no set", replace(digest(2), nil, intOp(proto.OpWrite, "a", 1)),
			func(r *Request) {
				r.Info2 |= proto.Info2Generation
				r.Generation = 2
				r.TTL = proto.TTLDontUpdate
				r.Set = nil
			}, proto.OK, 0, "", ""},
		{"update", write(digest(2), intOp(proto.OpWrite, "b", 1)),
			func(r *Request) { r.TTL = proto.TTLDontUpdate }, proto.OK, 1, "", ""},
	}
	for _, st := range steps {
		if st.edit != nil {
			st.edit(st.req)
		}
		counter.gets = 0
		res := exec(t, ns, st.req)
		if res.Code != st.code || counter.gets != st.wantGets {
			t.Fatalf("%s: %v with %d data reads, want %v with %d", st.name, res.Code, counter.gets, st.code, st.wantGets)
		}
		if st.wantOut != "" && binsOf(res) != st.wantOut {
			t.Fatalf("%s: read %s, want %s", st.name, binsOf(res), st.wantOut)
		}
		if res.Code == proto.OK {
			if rec := stored(st.req.Digest); string(rec.Key[min(len(rec.Key), 1):]) != st.wantKey || rec.Set != "s" {
				t.Fatalf("%s: stored key %q, set %q; want key %q, set s", st.name, rec.Key, rec.Set, st.wantKey)
			}
		}
	}
	if got := binsOf(exec(t, ns, getAll(digest(1)))); got != "c=3 " {
		t.Fatalf("after replaces: %s", got)
	}
	// The generation counted on, and the 100 s TTL stayed.
	res := exec(t, ns, getAll(digest(2)))
	if got := binsOf(res); got != "a=1 b=1 " || res.Generation != 4 {
		t.Fatalf("digest 2: %sgeneration %d, want a=1 b=1, generation 4", got, res.Generation)
	}
	if now := uint32(clk.now().Unix() - storage.EpochUnix); res.VoidTime != now+100 {
		t.Fatalf("digest 2: void time %d, want %d", res.VoidTime, now+100)
	}

	// Under a secondary index a replace reads the old bins, to drop their
	// entries.
	if _, err := ns.CreateIndex(ctx, sindex.Def{Namespace: "test", Name: "a_idx", Bin: "a", Type: sindex.Numeric}); err != nil {
		t.Fatal(err)
	}
	for ns.IndexLoadPct("a_idx") < 100 {
		time.Sleep(time.Millisecond)
	}
	counter.gets = 0
	wantCode(t, exec(t, ns, replace(digest(2), nil, intOp(proto.OpWrite, "a", 7))), proto.OK)
	if counter.gets != 1 {
		t.Fatalf("replace under an index: %d data reads, want 1", counter.gets)
	}
}

// TestStopWritesSysMemory: writes stop while the node's memory in use is at
// or over stop-writes-sys-memory-pct, go on once it is under, and never
// stop when it is 0 or the figure cannot be read.
func TestStopWritesSysMemory(t *testing.T) {
	ns, _ := newTestNamespace(t, func(c *config.Namespace) { c.StopWritesUsedPct, c.StopWritesAvailPct = 0, 0 })
	ctx := context.Background()
	pct, readErr := 50, error(nil)
	ns.sysMemory = func() (int, error) { return pct, readErr }
	for _, tc := range []struct {
		pct   int
		err   error
		limit int
		stop  bool
	}{
		{50, nil, 90, false},
		{90, nil, 90, true},
		{97, nil, 90, true},
		{97, errors.New("no /proc"), 90, false},
		{89, nil, 90, false},
		{97, nil, 0, false},
	} {
		pct, readErr = tc.pct, tc.err
		cfg := *ns.Config()
		cfg.StopWritesSysMemoryPct = tc.limit
		ns.SetConfig(&cfg)
		ns.checkStopWrites(ctx)
		if ns.StopWrites() != tc.stop {
			t.Fatalf("memory %d%% (read error %v), limit %d: stop-writes %v", tc.pct, tc.err, tc.limit, ns.StopWrites())
		}
		want := proto.OK
		if tc.stop {
			want = proto.ServerMemError
		}
		wantCode(t, exec(t, ns, write(digest(1), blobOp("b", 10))), want)
	}
}
