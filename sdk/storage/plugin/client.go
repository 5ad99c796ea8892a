package plugin

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skiffdb/skiff/internal/ahead"
	"github.com/skiffdb/skiff/sdk/internal/pluginproc"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin/pb"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// Config says which plugin to start and how to open its backend.
type Config struct {
	// Path is the plugin's binary.
	Path string
	// Namespace and Settings are passed to the plugin's OpenFunc.
	Namespace string
	Settings  map[string]string
	// Logger receives the plugin's logs and the node's about it.
	Logger *slog.Logger
	// Conns is the number of data connections; 0 means one. One batches
	// best: the plugin answers each connection's requests in order, on one
	// goroutine, which keeps up with a memory backend, and an IOBound
	// backend's concurrently.
	Conns int
	// StartTimeout bounds the start and the handshake; 0 means 10 s.
	StartTimeout time.Duration
	// Resume is the memory file of the shared region a process of this
	// plugin left when it stopped (Process.Leftover), for the new process
	// to take over if its backend can (WithResume); nil for none. The
	// process gets a copy: the caller still owns the file.
	Resume *os.File
}

// Process is a backend served by a plugin process. It implements
// storage.Backend: each method sends its request on a data connection and
// waits for the reply, so many concurrent calls share each write and read.
//
// When the process exits or its data path breaks, calls in flight and every
// call after return storage.ErrUnavailable, and Broken is closed. A Process
// does not restart: the node starts a new one.
type Process struct {
	path   string
	client *goplugin.Client
	ctrl   pb.StorageClient
	conns  []*dataConn
	pid    int
	name   string
	log    *slog.Logger

	brokenOnce sync.Once
	broken     chan struct{}
	// closing is set by Close, so that the data path going down with the
	// plugin is not taken for a crash.
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
	calls     sync.Pool

	// index is the plugin's shared index, nil if it offers none; down is
	// set when the process stops serving, after which the index, frozen
	// as the process left it, is not read.
	index *sharedindex.Reader
	down  atomic.Bool
	// leftover is a copy of the shared region's descriptor when it holds
	// what the backend's next process needs, for Leftover; killed is closed
	// once the process is gone after it stopped serving.
	leftover atomic.Pointer[os.File]
	killed   chan struct{}
}

var _ storage.Backend = (*Process)(nil)

// Start starts the plugin binary, checks the handshake, opens the backend
// and connects its data path. The error names the binary and what went
// wrong, a binary that is no Skiff storage plugin or one of another
// protocol version included.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	var inherit map[string]*os.File
	if cfg.Resume != nil {
		inherit = map[string]*os.File{resumeEnv: cfg.Resume}
	}
	client := pluginproc.NewClient(cfg.Path, Handshake, goplugin.PluginSet{pluginName: &grpcPlugin{}}, log, cfg.StartTimeout, inherit)
	p, err := connect(ctx, client, cfg, log)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("storage plugin %s: %w", cfg.Path, err)
	}
	return p, nil
}

func connect(ctx context.Context, client *goplugin.Client, cfg Config, log *slog.Logger) (*Process, error) {
	raw, err := pluginproc.Dispense(client, pluginName, "storage", ProtocolVersion)
	if err != nil {
		return nil, err
	}
	ctrl := raw.(pb.StorageClient)
	resp, err := ctrl.Open(ctx, &pb.OpenRequest{Namespace: cfg.Namespace, Settings: cfg.Settings})
	if err != nil {
		return nil, fmt.Errorf("open backend for namespace %s: %w", cfg.Namespace, grpcError(err))
	}
	if len(resp.DataSockets) == 0 {
		return nil, errors.New("open backend: no data socket")
	}
	n := cfg.Conns
	if n <= 0 {
		n = 1
	}
	p := &Process{
		path:   cfg.Path,
		client: client,
		ctrl:   ctrl,
		pid:    client.ReattachConfig().Pid,
		name:   resp.Backend,
		log:    log,
		broken: make(chan struct{}),
		killed: make(chan struct{}),
		calls:  sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }},
	}
	for i := range n {
		path := resp.DataSockets[i%len(resp.DataSockets)]
		nc, err := net.Dial("unix", path)
		if err != nil {
			p.closeConns()
			return nil, fmt.Errorf("connect data socket %s: %w", path, err)
		}
		shm, err := offerSharedMem(nc.(*net.UnixConn))
		if err == nil {
			err = p.mapIndex(nc.(*net.UnixConn))
		}
		if err != nil {
			shm.close()
			nc.Close()
			p.closeConns()
			p.closeIndex()
			p.dropLeftover()
			return nil, fmt.Errorf("connect data socket %s: %w", path, err)
		}
		dc := newDataConn(nc, shm)
		p.conns = append(p.conns, dc)
		go func() {
			<-dc.broken
			p.breakDown(dc)
		}()
	}
	return p, nil
}

// mapIndex reads the plugin's answer to a data connection's greeting and,
// the first time it offers its shared index, maps it: Get and GetMeta then
// read the index themselves.
func (p *Process) mapIndex(uc *net.UnixConn) error {
	fds, err := acceptIndex(uc)
	if err != nil || len(fds) == 0 {
		return err
	}
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	if p.index != nil {
		return nil
	}
	ix, err := sharedindex.Open(fds[0], fds[1:])
	if err != nil {
		// Reads go through the socket, as with any backend.
		p.log.Warn("storage plugin's shared index not used", "binary", p.path, "err", err)
		return nil
	}
	p.index = ix
	if ix.Resumable() {
		dup, err := unix.FcntlInt(uintptr(fds[0]), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			p.log.Warn("a crash of this storage plugin will lose its records", "binary", p.path, "err", err)
			return nil
		}
		p.leftover.Store(os.NewFile(uintptr(dup), "storage region"))
	}
	return nil
}

// Leftover is the memory file of the shared region of a process that
// stopped serving, for the next process to resume what it holds
// (Config.Resume): a memory backend's records, a device backend's write
// buffers. It waits until the process is gone, so that nothing writes the
// region any more. It is nil if the region holds nothing to resume
// (sharedindex.Reader.Resumable), or the process did not stop serving (or
// was closed). The caller owns the file.
func (p *Process) Leftover() *os.File {
	select {
	case <-p.broken:
	default:
		return nil
	}
	if p.closing.Load() {
		return nil
	}
	<-p.killed
	return p.leftover.Swap(nil)
}

func (p *Process) dropLeftover() {
	if f := p.leftover.Swap(nil); f != nil {
		f.Close()
	}
}

// closeIndex unmaps the shared index once the reads using it are done.
func (p *Process) closeIndex() {
	if p.index != nil {
		p.index.Close()
	}
}

// breakDown fails the whole data path when one connection breaks: the
// process has exited or misbehaved, and is killed to be sure.
func (p *Process) breakDown(dc *dataConn) {
	p.down.Store(true)
	if p.closing.Load() {
		return
	}
	p.brokenOnce.Do(func() {
		dc.mu.Lock()
		err := dc.err
		dc.mu.Unlock()
		p.log.Error("storage plugin stopped serving", "binary", p.path, "pid", p.pid, "err", err)
		p.closeConns()
		// The node's mapping would keep the dead process's records in
		// memory.
		p.closeIndex()
		close(p.broken)
		go func() {
			p.client.Kill()
			close(p.killed)
		}()
	})
}

func (p *Process) closeConns() {
	for _, dc := range p.conns {
		dc.fail(fmt.Errorf("storage plugin %s: %w", p.path, storage.ErrUnavailable))
	}
}

// Pid is the plugin process's id.
func (p *Process) Pid() int { return p.pid }

// Backend is the name the plugin gives its backend.
func (p *Process) Backend() string { return p.name }

// ReadsSharedIndex reports that Get and GetMeta read the plugin's shared
// index themselves, without a round trip to the process.
func (p *Process) ReadsSharedIndex() bool { return p.index != nil }

// readsIndex reports whether a read may go to the shared index now: not
// once the process has stopped serving.
func (p *Process) readsIndex() bool { return p.index != nil && !p.down.Load() }

// Broken is closed when the process stops serving.
func (p *Process) Broken() <-chan struct{} { return p.broken }

// Health asks the plugin whether it still answers.
func (p *Process) Health(ctx context.Context) error {
	if _, err := p.ctrl.Health(ctx, &pb.HealthRequest{}); err != nil {
		return fmt.Errorf("storage plugin %s: health: %w", p.path, grpcError(err))
	}
	return nil
}

// Kill stops the process at once, without closing its backend.
func (p *Process) Kill() {
	p.breakDown(p.conns[0])
	p.client.Kill()
}

func (p *Process) conn(d *storage.Digest) *dataConn {
	return p.conns[int(d[3])%len(p.conns)]
}

// scanKeepBytes bounds the scan buffer a call keeps for the next.
const scanKeepBytes = 4 << 20

// errClosed is returned by every method once Close has been called.
var errClosed = storage.ErrClosed

func (p *Process) getCall() *call { return p.calls.Get().(*call) }

func (p *Process) putCall(c *call) {
	c.buf, c.scan, c.shared = nil, false, nil
	p.calls.Put(c)
}

// Get implements storage.Backend.
func (p *Process) Get(_ context.Context, d storage.Digest, buf []byte) (storage.Record, error) {
	if p.closing.Load() {
		return storage.Record{}, errClosed
	}
	if p.readsIndex() {
		if rec, ok, err := p.index.Get(&d, buf); ok {
			return rec, err
		}
	}
	c := p.getCall()
	defer p.putCall(c)
	c.req = append(c.req[:0], d[:]...)
	c.buf = buf[:0]
	dc := p.conn(&d)
	if err := dc.do(c, opGet, nil); err != nil {
		return storage.Record{}, err
	}
	if err := errorOf(c.status, c.msg); err != nil {
		return storage.Record{}, err
	}
	if c.shared != nil {
		if err := c.copyShared(dc.shm); err != nil {
			return storage.Record{}, err
		}
	}
	return storage.Record{Meta: c.meta, Key: c.buf[:c.key:c.key], Bins: c.buf[c.key:]}, nil
}

// GetMeta implements storage.Backend.
func (p *Process) GetMeta(_ context.Context, d storage.Digest) (storage.Meta, error) {
	if p.closing.Load() {
		return storage.Meta{}, errClosed
	}
	if p.readsIndex() {
		if m, ok, err := p.index.GetMeta(&d); ok {
			return m, err
		}
	}
	c := p.getCall()
	defer p.putCall(c)
	c.req = append(c.req[:0], d[:]...)
	if err := p.conn(&d).do(c, opGetMeta, nil); err != nil {
		return storage.Meta{}, err
	}
	if err := errorOf(c.status, c.msg); err != nil {
		return storage.Meta{}, err
	}
	return c.meta, nil
}

// Put implements storage.Backend.
func (p *Process) Put(_ context.Context, d storage.Digest, rec storage.Record) error {
	if p.closing.Load() {
		return errClosed
	}
	if len(rec.Set) > 255 {
		return fmt.Errorf("storage plugin: set name of %d bytes: %w", len(rec.Set), storage.ErrRecordTooBig)
	}
	c := p.getCall()
	defer p.putCall(c)
	c.req = append(c.req[:0], d[:]...)
	dc := p.conn(&d)
	if n := sharedLen(&rec); n >= sharedMin && dc.shm != nil {
		if off, ok := dc.shm.putRecord(&rec, n); ok {
			c.req = appendShared(c.req, off, n)
			err := dc.do(c, opPutShared, nil)
			// The plugin has replied: it no longer reads the record.
			dc.shm.release(nodeSide, off, n)
			if err != nil {
				return err
			}
			return errorOf(c.status, c.msg)
		}
	}
	if err := dc.do(c, opPut, &rec); err != nil {
		return err
	}
	return errorOf(c.status, c.msg)
}

// Delete implements storage.Backend.
func (p *Process) Delete(_ context.Context, d storage.Digest, durable bool) error {
	if p.closing.Load() {
		return errClosed
	}
	c := p.getCall()
	defer p.putCall(c)
	flag := byte(0)
	if durable {
		flag = 1
	}
	c.req = append(append(c.req[:0], d[:]...), flag)
	if err := p.conn(&d).do(c, opDelete, nil); err != nil {
		return err
	}
	return errorOf(c.status, c.msg)
}

// ScanPartition implements storage.Backend. The partition's records arrive
// whole before fn sees the first, so that fn may call the backend: its
// calls travel on the same connections the scan's records came on.
func (p *Process) ScanPartition(ctx context.Context, pid uint16, metaOnly bool, fn storage.ScanFunc) error {
	if p.closing.Load() {
		return errClosed
	}
	if p.readsIndex() {
		if done, err := p.scanShared(ctx, pid, metaOnly, fn); done {
			return err
		}
	}
	c := p.getCall()
	defer p.putCall(c)
	c.scan, c.buf = true, c.scanBuf[:0]
	defer func() {
		// Its records are valid only while fn runs: the next scan reuses it.
		if cap(c.buf) <= scanKeepBytes {
			c.scanBuf = c.buf[:0]
		}
	}()
	c.req = binary.BigEndian.AppendUint16(c.req[:0], pid)
	if metaOnly {
		c.req = append(c.req, 1)
	} else {
		c.req = append(c.req, 0)
	}
	dc := p.conns[int(pid)%len(p.conns)]
	if err := dc.do(c, opScan, nil); err != nil {
		return err
	}
	if err := errorOf(c.status, c.msg); err != nil {
		return err
	}
	sets := interner{}
	for b := c.buf; len(b) > 0; {
		n := int(binary.BigEndian.Uint32(b))
		frame := b[4 : 4+n]
		b = b[4+n:]
		if err := ctx.Err(); err != nil {
			return err
		}
		d := storage.Digest(frame[:digestSize])
		rec, err := parseRecord(frame[digestSize:], sets)
		if err != nil {
			return fmt.Errorf("storage plugin: scan of partition %d: %w", pid, err)
		}
		if err := fn(d, &rec); err != nil {
			return err
		}
	}
	return nil
}

// sharedScan is a scan's working memory when it reads the shared index.
type sharedScan struct {
	entries []sharedindex.Entry
	table   []byte
	buf     []byte
	reads   *ahead.Ring[scanRead] // a data scan of records on devices
}

var sharedScans = sync.Pool{New: func() any { return new(sharedScan) }}

// scanShared scans partition pid through the shared index: a copy of the
// partition's entries taken at one moment, then each record read as Get
// reads it, skipping those removed since; records on devices in the order
// they lie there, scanAhead at once (scanDevices). done is false when no
// copy could be had, and the plugin must scan.
func (p *Process) scanShared(ctx context.Context, pid uint16, metaOnly bool, fn storage.ScanFunc) (done bool, err error) {
	sc := sharedScans.Get().(*sharedScan)
	defer func() {
		if cap(sc.table)+cap(sc.buf) > scanKeepBytes {
			sc.table, sc.buf = nil, nil
		}
		sc.entries = sc.entries[:0]
		sharedScans.Put(sc)
	}()
	var ok bool
	if sc.entries, sc.table, ok = p.index.Partition(pid, sc.entries[:0], sc.table); !ok {
		return false, nil
	}
	if !metaOnly && p.index.OnDevices() {
		return true, p.scanDevices(ctx, sc, fn)
	}
	var rec storage.Record
	for i := range sc.entries {
		if err := ctx.Err(); err != nil {
			return true, err
		}
		e := &sc.entries[i]
		if metaOnly {
			rec = storage.Record{Meta: e.Meta}
		} else {
			if rec, err = p.Get(ctx, e.Digest, sc.buf); errors.Is(err, storage.ErrNotFound) {
				continue
			} else if err != nil {
				return true, err
			}
			if n := len(rec.Key) + len(rec.Bins); cap(sc.buf) < n {
				sc.buf = make([]byte, 0, n) // for the next records: Get made its own
			}
		}
		if err := fn(e.Digest, &rec); err != nil {
			return true, err
		}
	}
	return true, nil
}

// scanAhead is how many records a data scan of records on devices reads
// at once, as the device backend's own scans do.
const scanAhead = 32

// scanRead is a record a scan reads ahead.
type scanRead struct {
	d   storage.Digest
	rec storage.Record
	buf []byte
	err error
}

// scanDevices reads the records of sc.entries in device order, scanAhead
// at once, and delivers them in that order, skipping those removed since
// the entries were copied. Every read started has ended when it returns.
func (p *Process) scanDevices(ctx context.Context, sc *sharedScan, fn storage.ScanFunc) error {
	slices.SortFunc(sc.entries, func(x, y sharedindex.Entry) int { return cmp.Compare(x.Place, y.Place) })
	if sc.reads == nil {
		sc.reads = ahead.New[scanRead](scanAhead)
	}
	reads := sc.reads
	defer reads.Values(func(r *scanRead) {
		r.rec = storage.Record{}
		if cap(r.buf) > scanKeepBytes/scanAhead {
			r.buf = nil
		}
	})
	return reads.Run(len(sc.entries), func(i int, r *scanRead) {
		r.d = sc.entries[i].Digest
		r.rec, r.err = p.Get(ctx, r.d, r.buf[:0])
		if n := len(r.rec.Key) + len(r.rec.Bins); r.err == nil && cap(r.buf) < n {
			r.buf = make([]byte, 0, n) // for the next records: Get made its own
		}
	}, func(r *scanRead) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case errors.Is(r.err, storage.ErrNotFound):
			return nil
		case r.err != nil:
			return r.err
		}
		return fn(r.d, &r.rec)
	})
}

// grpcError maps a control call's error to the contract's sentinels.
func grpcError(err error) error {
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled:
		return fmt.Errorf("%v: %w", status.Convert(err).Message(), storage.ErrUnavailable)
	case codes.FailedPrecondition:
		return fmt.Errorf("%v: %w", status.Convert(err).Message(), storage.ErrClosed)
	}
	return errors.New(status.Convert(err).Message())
}

// Stats implements storage.Backend.
func (p *Process) Stats(ctx context.Context) (storage.Stats, error) {
	if p.closing.Load() {
		return storage.Stats{}, errClosed
	}
	select {
	case <-p.broken:
		return storage.Stats{}, fmt.Errorf("storage plugin %s: %w", p.path, storage.ErrUnavailable)
	default:
	}
	resp, err := p.ctrl.Stats(ctx, &pb.StatsRequest{})
	if err != nil {
		return storage.Stats{}, fmt.Errorf("storage plugin %s: stats: %w", p.path, grpcError(err))
	}
	st := storage.Stats{Records: resp.Records, DataBytes: resp.DataBytes, IndexBytes: resp.IndexBytes, Capacity: resp.Capacity, Extra: resp.Extra}
	for _, s := range resp.Sets {
		st.Sets = append(st.Sets, storage.SetStats{Name: s.Name, Records: s.Records, DataBytes: s.DataBytes})
	}
	return st, nil
}

// Close closes the backend and stops the process. Every method, Close
// included, returns storage.ErrClosed afterwards.
func (p *Process) Close() error {
	if p.closing.Swap(true) {
		return errClosed
	}
	var err error
	select {
	case <-p.broken:
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, cerr := p.ctrl.Close(ctx, &pb.CloseRequest{}); cerr != nil {
			err = fmt.Errorf("storage plugin %s: close: %w", p.path, grpcError(cerr))
			if p.client.Exited() {
				// It stopped on its own, on SIGTERM closing its backend
				// first, as when a service manager stops the node's group.
				p.log.Warn("storage plugin had stopped before the node closed it", "binary", p.path, "pid", p.pid)
				err = nil
			}
		}
	}
	p.brokenOnce.Do(func() {
		p.closeConns()
		close(p.broken)
	})
	p.client.Kill()
	p.closeIndex()
	p.dropLeftover()
	return err
}
