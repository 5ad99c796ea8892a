package storagetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
)

// KillOptions configures RunKilled.
type KillOptions struct {
	// Path is the plugin binary (a test binary that serves its backend
	// when started as a plugin: os.Args[0]), Settings what it opens the
	// backend of namespace test with. Each process after the first gets
	// the region the killed one left (plugin.Process.Leftover).
	Path     string
	Settings map[string]string
	// Rounds is how many times a process is killed.
	Rounds int
	// Writers and KeysEach: how many writers, each over keys of its own.
	Writers, KeysEach int
	// MaxWait bounds the writers' time before each kill, at random from
	// 5 ms.
	MaxWait time.Duration
	// DurableDeletes makes the writers' deletes durable, for a backend
	// whose start reads its devices: a record deleted otherwise may come
	// back.
	DurableDeletes bool
	// InDoubtMayVanish: a write in doubt may leave its record absent (a
	// backend that drops a record being written when its process died).
	InDoubtMayVanish bool
	// MaxRecordSize leaves out the versions of records larger than this
	// (Versioned's 150 KiB ones); 0 for none.
	MaxRecordSize int
	// Restarted, if not nil, is called with each process started after a
	// kill, before its records are checked.
	Restarted func(round int, b storage.Backend)
}

// RunKilled kills the plugin process at random moments while writers put,
// rewrite and delete records, and starts the next process on the region
// it left, round after round: every write acknowledged is there, as
// acknowledged, and every record is whole. A write that failed is in
// doubt: its record may be as before it or as it wrote (or absent, with
// InDoubtMayVanish).
func RunKilled(t *testing.T, o KillOptions) {
	type state struct {
		version uint32 // acknowledged last; 0 when deleted or never written
		pending uint32 // the write in flight at the kill, when doubt
		doubt   bool
	}
	states := make([][]state, o.Writers)
	for w := range states {
		states[w] = make([]state, o.KeysEach)
	}
	digest := func(w, k int) storage.Digest { return DigestIn(uint16(k%50), uint64(w*o.KeysEach+k)) }
	ctx := context.Background()
	start := func(left *os.File) *plugin.Process {
		p, err := plugin.Start(ctx, plugin.Config{Path: o.Path, Namespace: "test", Settings: o.Settings, Logger: PluginLogger(t), Resume: left})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := start(nil)
	defer func() { p.Close() }()
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range o.Rounds {
		var wg sync.WaitGroup
		for w := range o.Writers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for v := uint32(round*100000 + 1); ; v++ {
					k := rng.IntN(o.KeysEach)
					st, d := &states[w][k], digest(w, k)
					var err error
					if rng.IntN(6) == 0 {
						st.pending = 0
						if err = p.Delete(ctx, d, o.DurableDeletes); err == nil || errors.Is(err, storage.ErrNotFound) {
							st.version, st.doubt = 0, false
							continue
						}
					} else {
						rec := Versioned(d, v)
						if o.MaxRecordSize > 0 && rec.Size() > o.MaxRecordSize {
							continue
						}
						st.pending = v
						if err = p.Put(ctx, d, rec); err == nil {
							st.version, st.doubt = v, false
							continue
						}
					}
					if !errors.Is(err, storage.ErrUnavailable) {
						t.Errorf("writer %d: %v", w, err)
					}
					st.doubt = true
					return
				}
			})
		}
		time.Sleep(5*time.Millisecond + time.Duration(rng.Int64N(int64(o.MaxWait))))
		if err := syscall.Kill(p.Pid(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		<-p.Broken()
		left := p.Leftover()
		if left == nil {
			t.Fatal("no region left by the killed process")
		}
		p = start(left)
		left.Close()
		if o.Restarted != nil {
			o.Restarted(round, p)
		}
		for w := range o.Writers {
			for k, st := range states[w] {
				d := digest(w, k)
				got := uint32(0)
				rec, err := p.Get(ctx, d, nil)
				switch {
				case err == nil:
					v, cerr := CheckVersioned(d, rec)
					if cerr != nil {
						t.Fatalf("round %d: %v", round, cerr)
					}
					got = v
				case !errors.Is(err, storage.ErrNotFound):
					t.Fatalf("round %d: get %x: %v", round, d, err)
				}
				inDoubt := st.doubt && (got == st.pending || got == 0 && o.InDoubtMayVanish)
				if got != st.version && !inDoubt {
					t.Fatalf("round %d: %x reads as version %d, %d acknowledged (in doubt: %v, %d)", round, d, got, st.version, st.doubt, st.pending)
				}
				states[w][k] = state{version: got}
			}
		}
	}
}
