package plugin

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"sync"

	"github.com/skiffdb/skiff/sdk/storage"
)

// call is one request in flight on a data connection. The goroutine that
// made it waits on done; the connection's reader fills in the outcome.
type call struct {
	// req is the request's payload, built by the caller.
	req    []byte
	done   chan struct{}
	status uint8
	msg    []byte
	meta   storage.Meta
	// buf receives a Get's key and bins (the caller's buffer, grown if
	// needed) or a scan's records, as they came in frames.
	buf  []byte
	key  int // length of the key at the start of buf, for a Get
	scan bool
	// scanBuf is kept for the next scan's records (a Get's buf is its
	// caller's), unless it grew past scanKeepBytes.
	scanBuf []byte
	// shared is a Get's key and bins where the plugin wrote them, in the
	// connection's shared memory, for the caller to copy into buf (so
	// that the connection's reader does not copy every large record);
	// sharedOff and sharedLen say which of the plugin's chunks to free.
	shared               []byte
	sharedOff, sharedLen int
}

// dataConn is one data socket on the node's side. Requests are written by
// the goroutines that make them, combined: while one goroutine writes,
// others append to the buffer it will write next, so under load one write
// carries many requests and no goroutine waits for a dedicated writer.
type dataConn struct {
	nc net.Conn
	// shm is the connection's shared memory, nil without it. It is
	// unmapped when the connection breaks.
	shm *sharedMem

	mu       sync.Mutex
	wbuf     []byte
	spare    []byte
	flushing bool
	nextID   uint32
	calls    map[uint32]*call
	err      error // set once the connection is broken

	// broken is closed when the connection breaks.
	broken chan struct{}
}

func newDataConn(nc net.Conn, shm *sharedMem) *dataConn {
	dc := &dataConn{nc: nc, shm: shm, calls: make(map[uint32]*call), broken: make(chan struct{})}
	go dc.read()
	return dc
}

// do sends the request whose payload is c.req, followed by rec when not nil
// (a Put's record, appended straight to the connection's buffer rather than
// copied into c.req first), and waits for its reply.
func (dc *dataConn) do(c *call, op uint8, rec *storage.Record) error {
	dc.mu.Lock()
	if dc.err != nil {
		dc.mu.Unlock()
		return dc.err
	}
	id := dc.nextID
	dc.nextID++
	dc.calls[id] = c
	b, start := appendFrameHeader(dc.wbuf, id, op)
	b = append(b, c.req...)
	if rec != nil {
		b = appendRecord(b, rec)
	}
	finishFrame(b, start)
	dc.wbuf = b
	if !dc.flushing {
		// This goroutine writes. It first lets the other runnable
		// goroutines go, many of them about to send a request of their
		// own, so that one write carries them all: under load this halves
		// the system calls on both sides of the socket.
		dc.flushing = true
		dc.mu.Unlock()
		runtime.Gosched()
		dc.mu.Lock()
		dc.flushLocked()
	}
	dc.mu.Unlock()
	<-c.done
	return nil
}

// flushLocked writes the buffer until no request is left, releasing the
// lock during each write. dc.mu is held on entry and on return.
func (dc *dataConn) flushLocked() {
	for len(dc.wbuf) > 0 && dc.err == nil {
		out := dc.wbuf
		dc.wbuf = dc.spare[:0]
		dc.mu.Unlock()
		_, err := dc.nc.Write(out)
		dc.mu.Lock()
		dc.spare = out[:0]
		if err != nil {
			dc.failLocked(fmt.Errorf("storage plugin: write: %v: %w", err, storage.ErrUnavailable))
		}
	}
	dc.flushing = false
}

// failLocked marks the connection broken and completes every call in
// flight with ErrUnavailable.
func (dc *dataConn) failLocked(err error) {
	if dc.err != nil {
		return
	}
	dc.err = err
	dc.nc.Close()
	// A scan's call stays registered while its records arrive, and the
	// reader may be adding one to it now: the reader completes scans as it
	// stops (endCalls), which closing the connection makes it do.
	dc.endCallsLocked(func(c *call) bool { return !c.scan })
	dc.shm.close()
	close(dc.broken)
}

// endCallsLocked completes the calls in flight that end says to with
// ErrUnavailable.
func (dc *dataConn) endCallsLocked(end func(*call) bool) {
	for id, c := range dc.calls {
		if end(c) {
			delete(dc.calls, id)
			c.status = statusUnavailable
			c.msg = nil
			c.done <- struct{}{}
		}
	}
}

// endCalls completes every call left once the reader has stopped, after
// the connection broke.
func (dc *dataConn) endCalls() {
	dc.mu.Lock()
	dc.endCallsLocked(func(*call) bool { return true })
	dc.mu.Unlock()
}

func (dc *dataConn) fail(err error) {
	dc.mu.Lock()
	dc.failLocked(err)
	dc.mu.Unlock()
}

// read completes calls with the replies as they arrive.
func (dc *dataConn) read() {
	defer dc.endCalls()
	br := bufio.NewReaderSize(dc.nc, 64<<10)
	var buf []byte
	sets := interner{}
	for {
		id, status, p, nb, err := readFrame(br, buf)
		buf = nb
		if err != nil {
			dc.fail(fmt.Errorf("storage plugin: read: %v: %w", err, storage.ErrUnavailable))
			return
		}
		dc.mu.Lock()
		c := dc.calls[id]
		if !isScanRecord(status) {
			delete(dc.calls, id)
		}
		dc.mu.Unlock()
		if c == nil {
			dc.fail(fmt.Errorf("storage plugin: reply to unknown request %d: %w", id, storage.ErrUnavailable))
			return
		}
		switch status {
		case statusShared:
			err = c.completeShared(p, dc.shm, sets)
		case statusRecordShared:
			err = c.scanRecordShared(p, dc.shm)
		default:
			err = c.complete(status, p, sets)
		}
		if err != nil {
			dc.fail(fmt.Errorf("storage plugin: reply to request %d: %v: %w", id, err, storage.ErrUnavailable))
			if isScanRecord(status) {
				// Not yet removed from the calls: endCalls completes it.
				return
			}
			c.status = statusUnavailable
			c.done <- struct{}{}
			return
		}
	}
}

// complete records a reply in the call; unless it is one record of a
// scan, the call is done.
func (c *call) complete(status uint8, p []byte, sets interner) error {
	if status == statusRecord {
		if !c.scan || len(p) < digestSize {
			return errMalformed
		}
		// Kept as received: length-prefixed, decoded when the scan ends.
		c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(len(p)))
		c.buf = append(c.buf, p...)
		return nil
	}
	c.status = status
	c.msg = append(c.msg[:0], p...)
	if status == statusOK && !c.scan && len(p) > 0 {
		c.msg = c.msg[:0]
		rec, err := parseRecordOrMeta(p, sets)
		if err != nil {
			return err
		}
		c.meta = rec.Meta
		if rec.Key != nil || rec.Bins != nil {
			c.buf = append(append(c.buf[:0], rec.Key...), rec.Bins...)
			c.key = len(rec.Key)
		}
	}
	c.done <- struct{}{}
	return nil
}

// scanRecordShared adds to a scan's records one the plugin wrote into the
// connection's shared memory: "digest[20] offset:uint32 length:uint32".
// It is kept as a statusRecord frame's payload would be.
func (c *call) scanRecordShared(p []byte, shm *sharedMem) error {
	if !c.scan || shm == nil || len(p) != digestSize+8 {
		return errMalformed
	}
	off, n, _ := parseShared(p[digestSize:])
	shm.mu.RLock()
	rec, ok := shm.view(pluginSide, off, n)
	if ok {
		c.buf = binary.BigEndian.AppendUint32(c.buf, uint32(digestSize+n))
		c.buf = append(append(c.buf, p[:digestSize]...), rec...)
	}
	shm.mu.RUnlock()
	shm.release(pluginSide, off, n)
	if !ok {
		return errMalformed
	}
	return nil
}

// completeShared completes a Get whose key and bins the plugin wrote into
// the connection's shared memory: "meta keyLen:uint32 offset:uint32
// length:uint32". The caller copies them out (copyShared).
func (c *call) completeShared(p []byte, shm *sharedMem, sets interner) error {
	if c.scan || shm == nil {
		return errMalformed
	}
	m, rest, err := parseMeta(p, sets)
	if err != nil || len(rest) != 12 {
		return errMalformed
	}
	keyLen := int(binary.BigEndian.Uint32(rest))
	off, n, _ := parseShared(rest[4:])
	shm.mu.RLock()
	b, ok := shm.view(pluginSide, off, n)
	shm.mu.RUnlock()
	if !ok || keyLen > n {
		shm.release(pluginSide, off, n)
		return errMalformed
	}
	c.status, c.msg = statusOK, c.msg[:0]
	c.meta, c.key = m, keyLen
	c.shared = b
	c.sharedOff, c.sharedLen = off, n
	c.done <- struct{}{}
	return nil
}

// copyShared copies a Get's key and bins out of the shared memory into
// c.buf and frees their chunks. It fails when the connection broke since.
func (c *call) copyShared(shm *sharedMem) error {
	shm.mu.RLock()
	ok := shm.mem != nil
	if ok {
		c.buf = append(c.buf[:0], c.shared...)
	}
	shm.mu.RUnlock()
	shm.release(pluginSide, c.sharedOff, c.sharedLen)
	c.shared = nil
	if !ok {
		return fmt.Errorf("storage plugin: connection broken: %w", storage.ErrUnavailable)
	}
	return nil
}

// parseRecordOrMeta reads a Get's or a GetMeta's reply.
func parseRecordOrMeta(p []byte, sets interner) (storage.Record, error) {
	m, rest, err := parseMeta(p, sets)
	if err != nil {
		return storage.Record{}, err
	}
	if len(rest) == 0 {
		return storage.Record{Meta: m}, nil
	}
	return parseRecord(p, sets)
}
