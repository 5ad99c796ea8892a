package record

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/sindex"
	"github.com/skiffdb/skiff/core/proto"
	memory "github.com/skiffdb/skiff/plugins/storage-memory"
	"github.com/skiffdb/skiff/sdk/storage"
)

// TestIndexBuildWithWrites builds an index while other goroutines update
// and delete records: when the build is done, the index holds exactly the
// entries of the records as they are, none left from copies the build
// took before a write.
func TestIndexBuildWithWrites(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	const n = 20000
	for i := range n {
		wantCode(t, exec(t, ns, write(digest(i), intOp(proto.OpWrite, "v", int64(i)))), proto.OK)
	}
	ix, err := ns.CreateIndex(context.Background(), sindex.Def{Namespace: "test", Name: "v_idx", Bin: "v", Type: sindex.Numeric})
	if err != nil {
		t.Fatal(err)
	}
	// Writers: even records deleted, records divisible by 3 moved to
	// value -i, while the build runs.
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < n; i += 2 {
				switch {
				case i%2 == 0:
					wantCode(t, exec(t, ns, &Request{Digest: digest(i), Info2: proto.Info2Write | proto.Info2Delete}), proto.OK)
				case i%3 == 0:
					wantCode(t, exec(t, ns, write(digest(i), intOp(proto.OpWrite, "v", -int64(i)))), proto.OK)
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for ns.IndexLoadPct("v_idx") < 100 {
		if time.Now().After(deadline) {
			t.Fatal("build did not finish")
		}
		time.Sleep(5 * time.Millisecond)
	}
	want := map[storage.Digest]int64{}
	for i := 1; i < n; i += 2 {
		v := int64(i)
		if i%3 == 0 {
			v = -v
		}
		want[digest(i)] = v
	}
	got := map[storage.Digest]int64{}
	ix.Range(math.MinInt64, math.MaxInt64, nil, nil, func(k sindex.Key, d storage.Digest) bool {
		if _, dup := got[d]; dup {
			t.Errorf("record %x indexed twice", d[:4])
		}
		got[d] = k
		return true
	})
	if len(got) != len(want) {
		t.Errorf("%d entries, want %d", len(got), len(want))
	}
	for d, v := range want {
		if got[d] != v {
			t.Fatalf("record %x: entry %d, want %d", d[:4], got[d], v)
		}
	}
}

// inDoubt stores each Put, then, once failing is set, fails it as a plugin
// process does that dies before it answers: the write is in doubt, and
// happened.
type inDoubt struct {
	storage.Backend
	failing atomic.Bool
}

func (b *inDoubt) Put(ctx context.Context, d storage.Digest, rec storage.Record) error {
	if err := b.Backend.Put(ctx, d, rec); err != nil || !b.failing.Load() {
		return err
	}
	return fmt.Errorf("plugin died: %w", storage.ErrUnavailable)
}

// TestIndexedWriteInDoubt: a write whose backend may have taken it (the
// plugin died before answering) is indexed by its new value too, so that
// a query finds the record if the write happened.
func TestIndexedWriteInDoubt(t *testing.T) {
	mem, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := &inDoubt{Backend: mem}
	ns := New(config.Default().Namespaces[0], Options{Backend: b})
	defer ns.Close()
	ix, err := ns.CreateIndex(context.Background(), sindex.Def{Namespace: "test", Name: "v_idx", Bin: "v", Type: sindex.Numeric})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, exec(t, ns, write(digest(1), intOp(proto.OpWrite, "v", 1))), proto.OK)
	b.failing.Store(true)
	wantCode(t, exec(t, ns, write(digest(1), intOp(proto.OpWrite, "v", 2))), proto.PartitionUnavailable)
	for _, v := range []int64{1, 2} {
		found := false
		ix.Range(v, v, nil, nil, func(_ sindex.Key, d storage.Digest) bool {
			found = found || d == digest(1)
			return true
		})
		if !found {
			t.Errorf("no entry for v=%d", v)
		}
	}
}

// TestIndexBuildReportsInOrder: a build's workers finish their runs in any
// order, but its progress figures come in order and end at 100, which
// index tasks wait for (a late 93 after 100 left an index at load_pct 93).
func TestIndexBuildReportsInOrder(t *testing.T) {
	ns, _ := newTestNamespace(t, nil)
	for i := range 500 {
		wantCode(t, exec(t, ns, write(digest(i), intOp(proto.OpWrite, "v", int64(i)))), proto.OK)
	}
	for round := range 5 {
		ix := sindex.New(sindex.Def{Namespace: "test", Name: fmt.Sprint("idx", round), Bin: "v", Type: sindex.Numeric})
		var mu sync.Mutex
		var got []int
		err := ns.buildIndex(context.Background(), ix, func(pct int) {
			// Slow, as a store racing another worker's is at times.
			time.Sleep(time.Duration(100-pct) * 20 * time.Microsecond)
			mu.Lock()
			got = append(got, pct)
			mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(got) || got[len(got)-1] != 100 {
			t.Fatalf("progress reported %v: want figures in order, ending at 100", got)
		}
	}
}
