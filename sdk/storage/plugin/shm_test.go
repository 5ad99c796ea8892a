package plugin

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

// startShared starts this test binary as a memory plugin (TestMain serves
// it) and returns it with its connection's shared memory. The backend does
// not share its index, so Gets go through the connection.
func startShared(t *testing.T) (*Process, *sharedMem) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("shared memory is set up on Linux only")
	}
	p, err := Start(context.Background(), Config{Path: os.Args[0], Namespace: "test", Settings: map[string]string{"test-private": ""}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if p.conns[0].shm == nil {
		t.Fatal("the connection has no shared memory")
	}
	return p, p.conns[0].shm
}

func bigRecord(seed, n int) storage.Record {
	bins := make([]byte, n)
	for i := range bins {
		bins[i] = byte(seed*31 + i*7)
	}
	return storage.Record{Meta: storage.Meta{Generation: uint32(seed), Set: fmt.Sprint("set", seed%3), HasKey: true}, Key: []byte{3, byte(seed)}, Bins: bins}
}

func inUse(m *sharedMem, s int) int {
	n := 0
	for i := range m.sides[s].inUse {
		if atomic.LoadUint32(&m.sides[s].inUse[i]) != 0 {
			n++
		}
	}
	return n
}

// runsInUse counts the runs of chunks in use on side s, and the chunks.
func runsInUse(m *sharedMem, s int) (runs, n int) {
	prev := false
	for i := range m.sides[s].inUse {
		used := atomic.LoadUint32(&m.sides[s].inUse[i]) != 0
		if used {
			n++
			if !prev {
				runs++
			}
		}
		prev = used
	}
	return runs, n
}

// Records on both sides of the threshold, and larger than a side, cross
// intact from many goroutines at once, through the shared memory when
// large, and every chunk is free after.
func TestSharedMemoryCarriesLargeRecords(t *testing.T) {
	p, shm := startShared(t)
	ctx := context.Background()
	var recs []storage.Record
	for _, n := range []int{100, sharedMin - 100, sharedMin, 128 << 10, 1 << 20} {
		for v := range 3 {
			recs = append(recs, bigRecord(len(recs)+v, n))
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 40 {
				d := storage.Digest{byte(g), byte(i % 5)}
				want := recs[rng.IntN(len(recs))]
				if err := p.Put(ctx, d, want); err != nil {
					t.Errorf("put of %d bytes: %v", len(want.Bins), err)
					return
				}
				got, err := p.Get(ctx, d, nil)
				if err != nil {
					t.Errorf("get of %d bytes: %v", len(want.Bins), err)
					return
				}
				if !bytes.Equal(got.Bins, want.Bins) || !bytes.Equal(got.Key, want.Key) || got.Meta != want.Meta {
					t.Errorf("record of %d bytes came back with %d bytes of bins, meta %+v, want %+v", len(want.Bins), len(got.Bins), got.Meta, want.Meta)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := inUse(shm, nodeSide); n != 0 {
		t.Errorf("%d chunks of the node's side still in use", n)
	}
	// The plugin's connection goroutine may hold the area of its next Get.
	if runs, n := runsInUse(shm, pluginSide); runs > 1 || n > getAreaMax/sharedChunkSize {
		t.Errorf("%d chunks of the plugin's side still in use, in %d runs", n, runs)
	}

	// One record, alone: it went through both sides (they are not
	// cleared when freed), and one larger than a side went through the
	// socket.
	for _, n := range []int{256 << 10, sharedSideSize + 1} {
		want := bigRecord(99, n)
		d := storage.Digest{99}
		if err := p.Put(ctx, d, want); err != nil {
			t.Fatalf("put of %d bytes: %v", n, err)
		}
		got, err := p.Get(ctx, d, nil)
		if err != nil || !bytes.Equal(got.Bins, want.Bins) {
			t.Fatalf("get of %d bytes: %v, %d bytes of bins", n, err, len(got.Bins))
		}
		if n > sharedSideSize {
			break
		}
		// Anywhere in the side: the plugin's Get area may lie past a run
		// its connection goroutine still holds from the Gets above.
		for s, name := range []string{"node's", "plugin's"} {
			if !bytes.Contains(shm.sides[s].data, want.Bins) {
				t.Errorf("the record of %d bytes is not on the %s side", n, name)
			}
		}
	}
}

// With a side full, records go through the socket.
func TestSharedMemoryFullFallsBackToTheSocket(t *testing.T) {
	p, shm := startShared(t)
	ctx := context.Background()
	for s := range shm.sides {
		for i := range shm.sides[s].inUse {
			atomic.StoreUint32(&shm.sides[s].inUse[i], 1)
		}
	}
	want := bigRecord(1, 256<<10)
	d := storage.Digest{1}
	if err := p.Put(ctx, d, want); err != nil {
		t.Fatal(err)
	}
	got, err := p.Get(ctx, d, nil)
	if err != nil || !bytes.Equal(got.Bins, want.Bins) {
		t.Fatalf("get: %v, %d bytes of bins", err, len(got.Bins))
	}
	for s := range shm.sides {
		if n := inUse(shm, s); n != sharedChunks {
			t.Errorf("side %d: %d chunks in use, want all %d", s, n, sharedChunks)
		}
	}
}

// A Put that points outside the node's side is refused; the connection
// serves on.
func TestSharedPutOutOfBoundsRefused(t *testing.T) {
	p, _ := startShared(t)
	dc := p.conns[0]
	for _, ref := range [][2]int{{sharedSideSize, 1}, {0, sharedSideSize + 1}, {1, 100}, {0, 0}, {-sharedChunkSize, 100}} {
		c := p.getCall()
		c.req = appendShared(append(c.req[:0], make([]byte, digestSize)...), ref[0], ref[1])
		if err := dc.do(c, opPutShared, nil); err != nil {
			t.Fatal(err)
		}
		if c.status != statusError {
			t.Errorf("put at %d of %d bytes: status %d, want %d", ref[0], ref[1], c.status, statusError)
		}
		p.putCall(c)
	}
	rec := bigRecord(2, 64<<10)
	if err := p.Put(context.Background(), storage.Digest{2}, rec); err != nil {
		t.Fatalf("put after the refusals: %v", err)
	}
}

func TestSharedAllocation(t *testing.T) {
	m := newSharedMem(make([]byte, sharedSize), func([]byte) error { return nil })
	s := &m.sides[nodeSide]
	a, ok := s.allocate(1)
	b, ok2 := s.allocate(sharedChunkSize + 1)
	c, ok3 := s.allocate(sharedChunkSize)
	if !ok || !ok2 || !ok3 || a != 0 || b != sharedChunkSize || c != 3*sharedChunkSize {
		t.Fatalf("allocations at %d, %d, %d (%v %v %v)", a, b, c, ok, ok2, ok3)
	}
	m.release(nodeSide, b, sharedChunkSize+1)
	// First fit: the freed run takes a record that fits it, not a larger one.
	if off, _ := s.allocate(3 * sharedChunkSize); off != 4*sharedChunkSize {
		t.Errorf("three chunks at %d, want %d", off, 4*sharedChunkSize)
	}
	if off, _ := s.allocate(2 * sharedChunkSize); off != sharedChunkSize {
		t.Errorf("two chunks at %d, want %d", off, sharedChunkSize)
	}
	if _, ok := s.allocate(sharedSideSize); ok {
		t.Error("a whole side allocated while chunks are in use")
	}
	m.close()
	if _, ok := m.putRecord(&storage.Record{}, 22); ok {
		t.Error("a record written after close")
	}
}

// sharedLen is exactly what appendRecord writes, or putRecord would write
// outside its chunks.
func TestSharedLen(t *testing.T) {
	for _, rec := range []storage.Record{{}, bigRecord(1, 10), {Meta: storage.Meta{Set: string(make([]byte, 255))}, Key: make([]byte, 300), Bins: make([]byte, 5)}} {
		if got, want := sharedLen(&rec), len(appendRecord(nil, &rec)); got != want {
			t.Errorf("sharedLen %d, appendRecord wrote %d", got, want)
		}
	}
}

// frames reads the replies w gathered: their codes and payloads.
func frames(t *testing.T, w *replyWriter) (codes []uint8, payloads [][]byte) {
	t.Helper()
	for b := w.buf; len(b) > 0; {
		n := int(binary.BigEndian.Uint32(b))
		codes = append(codes, b[8])
		payloads = append(payloads, b[9:4+n])
		b = b[4+n:]
	}
	w.buf = w.buf[:0]
	return codes, payloads
}

// backendGet does what the memory backend's Get does with its buffer.
func backendGet(buf []byte, key, bins []byte) storage.Record {
	if cap(buf) < len(key)+len(bins) {
		buf = make([]byte, 0, len(key)+len(bins))
	}
	buf = append(append(buf, key...), bins...)
	return storage.Record{Key: buf[:len(key):len(key)], Bins: buf[len(key):]}
}

func TestGetter(t *testing.T) {
	m := newSharedMem(make([]byte, sharedSize), func([]byte) error { return nil })
	w := &replyWriter{shm: m}
	var g getter
	key := []byte{3, 'k'}
	get := func(binsLen int) (uint8, []byte) {
		rec := backendGet(g.dest(m), key, bytes.Repeat([]byte{9}, binsLen))
		g.reply(w, 1, &rec)
		codes, payloads := frames(t, w)
		if len(codes) != 1 {
			t.Fatalf("%d replies", len(codes))
		}
		return codes[0], payloads[0]
	}
	areaChunks := getAreaMin / sharedChunkSize

	// Small: through the socket; the area stays for the next Get.
	if code, _ := get(100); code != statusOK {
		t.Fatalf("small record: status %d", code)
	}
	if n := inUse(m, pluginSide); n != areaChunks {
		t.Fatalf("%d chunks in use after a small Get, want the area's %d", n, areaChunks)
	}
	// In the area: handed to the node as it lies, the rest of the area freed.
	code, p := get(5000)
	if code != statusShared {
		t.Fatalf("record in the area: status %d", code)
	}
	ref := p[len(p)-8:]
	if off, n, _ := parseShared(ref); off != 0 || n != 5002 {
		t.Errorf("record in the area at %d, %d bytes", off, n)
	}
	if n := inUse(m, pluginSide); n != 2 {
		t.Errorf("%d chunks in use, want the record's 2", n)
	}
	m.release(pluginSide, 0, 5002) // as the node does
	// Larger than the area: the area is freed, the record copied into
	// chunks of its own (the first free), and the next area is larger.
	code, p = get(100_000)
	if off, n, _ := parseShared(p[len(p)-8:]); code != statusShared || off != 0 || n != 100_002 {
		t.Errorf("large record: status %d at %d, %d bytes", code, off, n)
	}
	if !bytes.Equal(m.sides[pluginSide].data[:2], key) {
		t.Error("the large record's key is not where the reply says")
	}
	if n := inUse(m, pluginSide); n != roundUp(100_002, sharedChunkSize)/sharedChunkSize {
		t.Errorf("%d chunks in use, want the record's", n)
	}
	m.release(pluginSide, 0, 100_002)
	if g.size != roundUp(200_004, sharedChunkSize) {
		t.Errorf("next area of %d bytes", g.size)
	}
	if code, _ := get(100_000); code != statusShared || g.area != nil {
		t.Errorf("large record after growth: status %d, area kept %v", code, g.area != nil)
	}
	m.release(pluginSide, 0, 100_002)
	// Another connection's memory: the area goes back to its own.
	g.dest(m)
	g.dest(newSharedMem(make([]byte, sharedSize), func([]byte) error { return nil }))
	if n := inUse(m, pluginSide); n != 0 {
		t.Errorf("%d chunks in use after moving to another connection", n)
	}
}

// A plugin killed while large records cross, scans included: every call
// in flight and after fails with ErrUnavailable, none touches the unmapped
// memory.
func TestSharedMemoryPluginKilled(t *testing.T) {
	p, _ := startShared(t)
	ctx := context.Background()
	rec := bigRecord(1, 200<<10)
	var wg sync.WaitGroup
	var calls atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			d := storage.Digest{byte(g)}
			buf := make([]byte, 0, 256<<10)
			for {
				err := p.Put(ctx, d, rec)
				if err == nil {
					_, err = p.Get(ctx, d, buf)
				}
				calls.Add(1)
				if err != nil {
					if !errors.Is(err, storage.ErrUnavailable) {
						t.Errorf("after the kill: %v, want ErrUnavailable", err)
					}
					return
				}
			}
		})
	}
	// Scans of the records the writers put, each record through the
	// shared memory, and their calls in flight when the plugin dies.
	for range 2 {
		wg.Go(func() {
			for pid := 0; ; pid = (pid + 1) % 8 {
				err := p.ScanPartition(ctx, uint16(pid), false, func(storage.Digest, *storage.Record) error { return nil })
				calls.Add(1)
				if err != nil {
					if !errors.Is(err, storage.ErrUnavailable) {
						t.Errorf("scan after the kill: %v, want ErrUnavailable", err)
					}
					return
				}
			}
		})
	}
	for calls.Load() < 50 {
		runtime.Gosched()
	}
	// Kill fails the connections from this goroutine while their readers
	// may be taking in a scan's records, then kills the process.
	p.Kill()
	wg.Wait()
	<-p.Broken()
	if err := p.Put(ctx, storage.Digest{1}, rec); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("put after the kill: %v", err)
	}
	if _, err := p.Get(ctx, storage.Digest{1}, nil); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("get after the kill: %v", err)
	}
}

// A scan's large records come through the plugin's side of the shared
// memory while scans hold less than half of it, and through the socket
// beyond.
func TestSharedScan(t *testing.T) {
	p, shm := startShared(t)
	ctx := context.Background()
	const pid = 7
	put := func(seed int) []storage.Record {
		var recs []storage.Record
		for i := range 20 {
			rec := bigRecord(seed+i, 100<<10+i)
			if err := p.Put(ctx, storage.Digest{pid, 0, 0, 0, 0, byte(i)}, rec); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
		return recs
	}
	scan := func(want []storage.Record) {
		t.Helper()
		n := 0
		err := p.ScanPartition(ctx, pid, false, func(d storage.Digest, rec *storage.Record) error {
			w := want[d[5]]
			if !bytes.Equal(rec.Bins, w.Bins) || rec.Meta != w.Meta || !bytes.Equal(rec.Key, w.Key) {
				t.Errorf("record %d scanned with %d bytes of bins, meta %+v", d[5], len(rec.Bins), rec.Meta)
			}
			n++
			return nil
		})
		if err != nil || n != len(want) {
			t.Fatalf("scan: %v, %d records", err, n)
		}
	}
	onPluginSide := func(recs []storage.Record) (n int) {
		for _, r := range recs {
			if bytes.Contains(shm.sides[pluginSide].data, r.Bins) {
				n++
			}
		}
		return n
	}

	recs := put(0)
	scan(recs)
	// Chunks the node freed during the scan took later records, so not
	// every record is still there.
	if n := onPluginSide(recs); n == 0 {
		t.Error("no record came through the shared memory")
	}
	if runs, n := runsInUse(shm, pluginSide); runs > 1 || n > getAreaMax/sharedChunkSize {
		t.Errorf("%d chunks of the plugin's side still in use after the scan, in %d runs", n, runs)
	}

	// Half the side held: the scan's records take the socket.
	half, ok := shm.sides[pluginSide].allocate(sharedSideSize / 2)
	if !ok {
		t.Fatal("cannot hold half the plugin's side")
	}
	recs = put(100)
	scan(recs)
	if n := onPluginSide(recs); n != 0 {
		t.Errorf("%d records came through the shared memory past half of it", n)
	}
	shm.release(pluginSide, half, sharedSideSize/2)
	if used := atomic.LoadInt64(shm.sides[pluginSide].used); used < 0 || used > getAreaMax {
		t.Errorf("%d bytes counted in use on the plugin's side", used)
	}
}
