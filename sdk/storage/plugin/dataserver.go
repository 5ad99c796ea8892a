package plugin

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"sync"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// dataServer serves a backend on the data sockets, in the plugin process.
type dataServer struct {
	backend storage.Backend
	log     *slog.Logger
	// ctx ends when the backend closes; scans in progress stop with it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// work hands the point requests of a storage.IOBound backend to its
	// workers, as many as its MaxInFlight, and free holds the requests not
	// in progress, one per worker: a connection waits for one before it
	// reads on, which bounds the requests in progress. Both are nil for
	// other backends, whose requests are answered in order on their
	// connection's goroutine.
	work, free chan *request

	// indexFDs are the backend's shared index (see sharedIndexer): the
	// region's descriptor, then its files'; none without one.
	indexFDs []int
	workers  sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// request is a point request for the workers: its payload, read into the
// request's own buffer so that the connection reads on without copying it,
// where its reply goes, and the buffers answers reuse.
type request struct {
	w       *replyWriter
	id      uint32
	op      uint8
	p       []byte
	running *sync.WaitGroup // its connection's requests in progress
	get     getter
	sets    interner
}

// sharedIndexer is a backend that keeps its index, and its records or the
// way to them, where the node can read them (the memory and device
// backends): its data connections offer the node the region's descriptors.
// SharedIndex is nil for a backend that has none after all.
type sharedIndexer interface {
	SharedIndex() *sharedindex.Region
}

func newDataServer(b storage.Backend, log *slog.Logger) *dataServer {
	ctx, cancel := context.WithCancel(context.Background())
	s := &dataServer{backend: b, log: log, ctx: ctx, cancel: cancel, conns: make(map[net.Conn]struct{})}
	if si, ok := b.(sharedIndexer); ok {
		if r := si.SharedIndex(); r != nil && r.FD() >= 0 {
			s.indexFDs = append([]int{r.FD()}, r.Files()...)
		}
	}
	if io, ok := b.(storage.IOBound); ok {
		// Workers that live as long as the server, rather than a goroutine
		// per request: a new goroutine grows its stack by copying on each
		// device read (6% of the plugin's CPU, measured), a worker once.
		n := max(io.MaxInFlight(), 1)
		s.work = make(chan *request, n)
		s.free = make(chan *request, n)
		for range n {
			s.free <- &request{sets: interner{}}
			s.workers.Go(func() {
				for r := range s.work {
					s.answer(r)
				}
			})
		}
	}
	return s
}

// accept serves every connection of ln until it is closed.
func (s *dataServer) accept(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			nc.Close()
			return
		}
		s.conns[nc] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(nc)
		}()
	}
}

// stop ends scans in progress, closes the connections and waits for their
// goroutines to finish.
func (s *dataServer) stop() {
	s.mu.Lock()
	s.cancel()
	for nc := range s.conns {
		nc.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.work != nil {
		close(s.work)
		s.workers.Wait()
	}
}

// serveConn answers one connection's requests. Point requests are answered
// in order, and the replies of all requests that arrived together go out in
// one write; for an IOBound backend they run concurrently instead (see
// answer). Scans run on their own goroutines, so a long scan does not hold
// up point requests.
func (s *dataServer) serveConn(nc net.Conn) {
	defer nc.Close()
	shm, err := acceptSharedMem(nc.(*net.UnixConn))
	if err == nil {
		err = offerIndex(nc.(*net.UnixConn), s.indexFDs)
	}
	if err != nil {
		s.log.Error("data connection refused", "err", err)
		return
	}
	// Unmapped last, once no request uses it.
	defer shm.close()
	w := &replyWriter{nc: nc, shm: shm}
	br := bufio.NewReaderSize(nc, 64<<10)
	var buf []byte
	var get getter
	defer get.drop()
	sets := interner{}
	var running sync.WaitGroup
	defer running.Wait()
	for {
		// For an IOBound backend the frame goes straight into a free
		// request's buffer: a Put's record is not copied again.
		var r *request
		if s.work != nil {
			r = <-s.free
			buf = r.p
		}
		id, op, p, nb, err := readFrame(br, buf)
		buf = nb
		if r != nil {
			r.p = nb
		}
		if err != nil {
			if r != nil {
				s.free <- r
			}
			return
		}
		switch {
		case op == opScan:
			ok := len(p) == 3
			var pid uint16
			var metaOnly bool
			if ok {
				pid, metaOnly = binary.BigEndian.Uint16(p), p[2] != 0
			}
			if r != nil {
				s.free <- r // p is not used after this
			}
			if !ok {
				w.status(id, statusError, []byte("malformed scan request"))
				break
			}
			running.Go(func() { s.scan(w, id, pid, metaOnly) })
		case r != nil:
			r.w, r.id, r.op, r.running, r.p = w, id, op, &running, p
			running.Add(1)
			s.work <- r
			continue
		default:
			s.handle(w, id, op, p, &get, sets)
		}
		if (br.Buffered() == 0 || w.size() >= scanFlushSize) && !w.flush() {
			return
		}
	}
}

// answer serves a point request of an IOBound backend on a worker. Its
// reply goes out with those of the requests that complete about the same
// time.
func (s *dataServer) answer(r *request) {
	s.handle(r.w, r.id, r.op, r.p, &r.get, r.sets)
	w, running := r.w, r.running
	r.w, r.running = nil, nil
	s.free <- r
	w.flushSoon()
	running.Done() // last: the connection closes once all are done
}

// handle answers a point request, appending the reply to w; get is where
// a Get puts the record.
func (s *dataServer) handle(w *replyWriter, id uint32, op uint8, p []byte, get *getter, sets interner) {
	if op < opGet || op > opPutShared || op == opScan || len(p) < digestSize {
		w.status(id, statusError, []byte("malformed request"))
		return
	}
	d := storage.Digest(p[:digestSize])
	p = p[digestSize:]
	ctx := s.ctx
	switch op {
	case opGet:
		rec, err := s.backend.Get(ctx, d, get.dest(w.shm))
		if err != nil {
			w.err(id, err)
			return
		}
		get.reply(w, id, &rec)
	case opGetMeta:
		m, err := s.backend.GetMeta(ctx, d)
		if err != nil {
			w.err(id, err)
			return
		}
		w.meta(id, &m)
	case opPut:
		rec, err := parseRecord(p, sets)
		if err != nil {
			w.status(id, statusError, []byte(err.Error()))
			return
		}
		w.err(id, s.backend.Put(ctx, d, rec))
	case opPutShared:
		w.err(id, s.putShared(ctx, w.shm, d, p, sets))
	case opDelete:
		if len(p) != 1 {
			w.status(id, statusError, []byte("malformed delete request"))
			return
		}
		w.err(id, s.backend.Delete(ctx, d, p[0] != 0))
	}
}

// putShared stores the record a Put wrote into the connection's shared
// memory, which the node frees once it has the reply.
func (s *dataServer) putShared(ctx context.Context, shm *sharedMem, d storage.Digest, ref []byte, sets interner) error {
	off, n, ok := parseShared(ref)
	if !ok || shm == nil {
		return errMalformed
	}
	shm.mu.RLock()
	defer shm.mu.RUnlock()
	b, ok := shm.view(nodeSide, off, n)
	if !ok {
		return errMalformed
	}
	rec, err := parseRecord(b, sets)
	if err != nil {
		return err
	}
	return s.backend.Put(ctx, d, rec)
}

// scanFlushSize is the reply size at which a scan sends what it has.
const scanFlushSize = 256 << 10

// scan streams one partition's records, then the scan's status.
func (s *dataServer) scan(w *replyWriter, id uint32, pid uint16, metaOnly bool) {
	if pid >= storage.Partitions {
		w.status(id, statusError, []byte("partition out of range"))
		w.flush()
		return
	}
	err := s.backend.ScanPartition(s.ctx, pid, metaOnly, func(d storage.Digest, rec *storage.Record) error {
		if !w.record(id, statusRecord, d[:], rec) {
			return errConnClosed
		}
		return nil
	})
	if errors.Is(err, errConnClosed) {
		return
	}
	w.err(id, err)
	w.flush()
}

var errConnClosed = errors.New("storage plugin: connection closed")

// replyWriter collects replies and writes them in batches. Scans write from
// their own goroutines, so it is safe for concurrent use.
type replyWriter struct {
	nc     net.Conn
	shm    *sharedMem // the connection's shared memory, nil without it
	mu     sync.Mutex
	buf    []byte
	broken bool
	// sharedPending counts the bytes of scan records in the shared memory
	// whose replies are in buf.
	sharedPending int
	// pending is set while a goroutine is about to flush (flushSoon).
	pending bool
}

func (w *replyWriter) status(id uint32, status uint8, msg []byte) {
	w.mu.Lock()
	b, start := appendFrameHeader(w.buf, id, status)
	b = append(b, msg...)
	finishFrame(b, start)
	w.buf = b
	w.mu.Unlock()
}

func (w *replyWriter) err(id uint32, err error) {
	st := statusOf(err)
	var msg []byte
	if st != statusOK && st != statusNotFound && st != statusClosed {
		msg = []byte(err.Error())
	}
	w.status(id, st, msg)
}

func (w *replyWriter) meta(id uint32, m *storage.Meta) {
	w.mu.Lock()
	b, start := appendFrameHeader(w.buf, id, statusOK)
	b = appendMeta(b, m)
	finishFrame(b, start)
	w.buf = b
	w.mu.Unlock()
}

// record appends a record reply, prefixed by digest when it is a scan's.
// A scan's large record goes through the shared memory when there is room.
// A scan flushes once enough has gathered, in the socket or the shared
// memory; it returns false when the connection is broken.
func (w *replyWriter) record(id uint32, status uint8, digest []byte, rec *storage.Record) bool {
	off, n, shared := 0, 0, false
	if status == statusRecord && w.shm != nil {
		if n = sharedLen(rec); n >= sharedMin {
			off, shared = w.shm.putScanRecord(rec, n)
		}
	}
	w.mu.Lock()
	var b []byte
	var start int
	if shared {
		b, start = appendFrameHeader(w.buf, id, statusRecordShared)
		b = appendShared(append(b, digest...), off, n)
		w.sharedPending += n
	} else {
		b, start = appendFrameHeader(w.buf, id, status)
		b = append(b, digest...)
		b = appendRecord(b, rec)
	}
	finishFrame(b, start)
	w.buf = b
	full := len(b)+w.sharedPending >= scanFlushSize
	w.mu.Unlock()
	if full {
		return w.flush()
	}
	return true
}

// shared appends a Get's reply whose key and bins, n bytes, lie at off of
// the plugin's side of the shared memory.
func (w *replyWriter) shared(id uint32, m *storage.Meta, keyLen, off, n int) {
	w.mu.Lock()
	b, start := appendFrameHeader(w.buf, id, statusShared)
	b = appendMeta(b, m)
	b = binary.BigEndian.AppendUint32(b, uint32(keyLen))
	b = appendShared(b, off, n)
	finishFrame(b, start)
	w.buf = b
	w.mu.Unlock()
}

func (w *replyWriter) size() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.buf)
}

// flushSoon flushes what has gathered, unless another goroutine is about
// to. The one that flushes first lets the other runnable goroutines go, so
// that replies completing about the same time share one write.
func (w *replyWriter) flushSoon() {
	w.mu.Lock()
	if w.pending {
		w.mu.Unlock()
		return
	}
	w.pending = true
	w.mu.Unlock()
	runtime.Gosched()
	w.flush()
}

// flush writes what has gathered, holding the lock while it writes so that
// frames reach the socket in the order they were added. It returns false
// once the connection is broken.
func (w *replyWriter) flush() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Whatever a flushSoon was waiting to send goes now.
	w.pending = false
	if w.broken {
		return false
	}
	if len(w.buf) == 0 {
		return true
	}
	if _, err := w.nc.Write(w.buf); err != nil {
		w.broken = true
		return false
	}
	w.buf, w.sharedPending = w.buf[:0], 0
	return true
}
