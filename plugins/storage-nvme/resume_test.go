package nvme

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// die stops b as its process's death would leave it, as far as a test in
// one process can: its goroutines end (the flushers' last round writes the
// buffers, which TestPluginKilledKeepsBufferedWrites leaves unwritten), its
// files close, its region stays as it was, and the region returned adopts
// it, as the node hands it to the next process.
func die(t *testing.T, b *Backend) *sharedindex.Region {
	t.Helper()
	b.closed.Store(true)
	for i := range b.parts {
		b.parts[i].mu.Lock()
		b.parts[i].mu.Unlock() //nolint:staticcheck // waits for holders
	}
	close(b.stop)
	for range len(b.devs) + 1 {
		<-b.defragDone
	}
	<-b.sampleDone
	close(b.flushStop)
	for _, dv := range b.devs {
		<-dv.done
		dv.f.Close()
	}
	fd, err := unix.Dup(b.region.FD())
	if err != nil {
		t.Fatal(err)
	}
	b.region.Close()
	left, err := sharedindex.Adopt(fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { left.Close() })
	return left
}

// resumeCapturing starts a backend of o on the region left, as Resume does,
// and returns what its start derived.
func resumeCapturing(t *testing.T, o Options, left *sharedindex.Region) (*Backend, startState) {
	t.Helper()
	var s startState
	o.loaded = func(b *Backend) { s = captureStart(b) }
	b, err := newBackend(o, left)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, s
}

func requireSharedRegion(t *testing.T) {
	t.Helper()
	if !sharedindex.Shareable {
		t.Skip("regions are handed over where the node shares them: linux/amd64")
	}
}

// TestResumeIndex takes over the index of a backend that died, and checks
// that the start derived exactly what reading the devices derives; then
// that writes after it win at the next cold start (the sequences went on
// from the dead process's).
func TestResumeIndex(t *testing.T) {
	requireSharedRegion(t)
	o := testOptions(t.TempDir(), 32<<20)
	b := mustNew(t, o)
	want := churn(t, b, 3000, 1, 0)
	b, resumed := resumeCapturing(t, o, die(t, b))
	if !b.resumed || stat(t, b).Extra["index_resumed"] != 1 {
		t.Fatal("the start after a death read the devices")
	}
	checkAll(t, b, want)
	for d, r := range churn(t, b, 3000, 5, 1) {
		want[d] = r
	}
	b, resumed = resumeCapturing(t, o, die(t, b))
	if !b.resumed {
		t.Fatal("the second start after a death read the devices")
	}
	checkAll(t, b, want)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, cold := openCapturing(t, o)
	if b.resumed || stat(t, b).Extra["index_resumed"] != 0 {
		t.Fatal("a start without a region resumed")
	}
	checkAll(t, b, want)
	sameStart(t, resumed, cold)
}

// TestResumeRefused: each way a dead process's index may not be whole or
// may not be this backend's makes the start read the devices, with every
// record there.
func TestResumeRefused(t *testing.T) {
	requireSharedRegion(t)
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, left *sharedindex.Region)
	}{
		{"partition changing", func(t *testing.T, left *sharedindex.Region) { left.BeginWrite(77) }},
		{"start unfinished", func(t *testing.T, left *sharedindex.Region) {
			binary.LittleEndian.PutUint64(left.ResumeArea()[sComplete:], 0)
		}},
		{"state unreadable", func(t *testing.T, left *sharedindex.Region) {
			binary.LittleEndian.PutUint64(left.ResumeArea()[sMagic:], 0)
		}},
		{"other instance", func(t *testing.T, left *sharedindex.Region) {
			binary.LittleEndian.PutUint64(left.ResumeArea()[sInstance:], 12345)
		}},
		{"block past the last sequence", func(t *testing.T, left *sharedindex.Region) {
			area := left.ResumeArea()
			binary.LittleEndian.PutUint64(area[sBlockSeq:], 1)
		}},
		{"entry past the device", func(t *testing.T, left *sharedindex.Region) {
			for pid := range uint16(storage.Partitions) {
				if off := left.TableOff(pid); off != 0 {
					for i := range left.TableLen(pid) {
						e := (*entry)(left.Mem()[off+i*entrySize:])
						if e.used() {
							l := e.loc()
							l.block = 1 << 30
							e.setLoc(l)
							return
						}
					}
				}
			}
			t.Fatal("no entry")
		}},
		{"table outside the region", func(t *testing.T, left *sharedindex.Region) {
			left.PublishTable(3, len(left.Mem())-pageSize, 1000)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := testOptions(t.TempDir(), 32<<20)
			b := mustNew(t, o)
			want := churn(t, b, 2000, 1, 0)
			left := die(t, b)
			c.damage(t, left)
			b, _ = resumeCapturing(t, o, left)
			if b.resumed {
				t.Fatal("resumed")
			}
			checkAll(t, b, want)
		})
	}
}
