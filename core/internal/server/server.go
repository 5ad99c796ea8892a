// Package server accepts client connections, reads frames, dispatches
// decoded commands to namespaces and info commands to their handlers, and
// writes the replies.
//
// One goroutine serves each connection, one request at a time, as Aerospike
// clients use connections. All per-request working memory lives on the
// connection and is reused, so steady-state requests do not allocate.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/core/internal/latency"
	"github.com/skiffdb/skiff/core/internal/record"
	"github.com/skiffdb/skiff/core/internal/udf"
	"github.com/skiffdb/skiff/core/logs"
	"github.com/skiffdb/skiff/core/proto"
)

// Limits of the connection loop.
const (
	// defaultFrameTimeout bounds the time from a frame's first byte to the
	// end of its body, so a client that stalls mid-frame cannot hold its
	// connection.
	defaultFrameTimeout = 30 * time.Second
	// readBufferSize is the connection's read buffer: most requests arrive
	// whole in one read.
	readBufferSize = 16 << 10
	// batchFlushSize is the reply size at which a batch reply is sent in
	// pieces, bounding the memory a large batch takes.
	batchFlushSize = 128 << 10
)

// Server is the client-facing side of a node.
type Server struct {
	cfg        *config.Config
	log        *slog.Logger
	namespaces map[string]*record.Namespace
	nsOrder    []*record.Namespace
	nodeID     string
	start      time.Time
	info       map[string]infoHandler
	// frameTimeout is defaultFrameTimeout; tests shorten it.
	frameTimeout time.Duration
	// batchLatency is the time batch requests take, from request to the
	// last of the reply.
	batchLatency latency.Histogram
	latencies    latencyWindows
	jobs         jobTable
	// udf runs UDF modules; nil when the node has none.
	udf *udf.Host
	// logs are the node's log sinks; nil when the node manages none.
	logs *logs.Logs
	// ctx bounds background work that requests start (truncation,
	// background jobs).
	ctx context.Context
	// jobsRunning counts the background jobs still working.
	jobsRunning sync.WaitGroup
	// configMu orders set-config commands: each applies to the settings
	// the one before left.
	configMu sync.Mutex
	// protoFdMax is the service's proto-fd-max in effect, which set-config
	// may change.
	protoFdMax atomic.Int64

	mu       sync.Mutex
	ln       net.Listener
	tlsLn    net.Listener // network service's tls-port, or nil
	conns    map[*conn]struct{}
	closing  atomic.Bool
	connWG   sync.WaitGroup
	nConns   atomic.Int64
	accepted atomic.Uint64
	refused  atomic.Uint64
	ready    atomic.Bool
	// credentials is set once a client has sent a security command.
	credentials atomic.Bool
}

// New returns a server for the namespaces and the UDF host (nil for
// none), which it does not own.
func New(ctx context.Context, cfg *config.Config, namespaces []*record.Namespace, udfHost *udf.Host, log *slog.Logger) *Server {
	s := &Server{
		udf:        udfHost,
		cfg:        cfg,
		log:        log,
		namespaces: make(map[string]*record.Namespace, len(namespaces)),
		nsOrder:    namespaces,
		start:      time.Now(),
		conns:      make(map[*conn]struct{}),
		ctx:        ctx,

		frameTimeout: defaultFrameTimeout,
	}
	for _, ns := range namespaces {
		s.namespaces[ns.Name()] = ns
	}
	s.nodeID = nodeID(cfg)
	s.protoFdMax.Store(int64(cfg.Service.ProtoFdMax))
	s.info = s.infoHandlers()
	return s
}

// WaitJobs waits for the background jobs (QueryExecute, ExecuteUDF), which
// end with the context New was given, so that none outlives the
// namespaces they write to.
func (s *Server) WaitJobs() { s.jobsRunning.Wait() }

// NodeID returns the node's id as clients see it.
func (s *Server) NodeID() string { return s.nodeID }

// HandleInfo answers info command name:k=v;k=v with h, for a part of the
// node the server does not know; an error is a parameter error with its
// message. It must be called before Serve.
func (s *Server) HandleInfo(name string, h func(args map[string]string) (string, error)) {
	s.info[name] = func(text string) string {
		out, err := h(params(text))
		if err != nil {
			return infoError(proto.ParameterError, infoSafe(err.Error()))
		}
		return out
	}
}

// Ready reports whether the server is accepting connections.
func (s *Server) Ready() bool { return s.ready.Load() && !s.closing.Load() }

// Listen binds the service address, and the TLS one when there is one. It
// is separate from Serve so that a caller knows the address (port 0 picks a
// free one) before serving.
func (s *Server) Listen() (net.Addr, error) {
	ep := s.cfg.Network.Service
	addr := net.JoinHostPort(ep.Address, fmt.Sprint(ep.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	var tlsLn net.Listener
	if te := s.cfg.Network.ServiceTLS; te.Port != 0 {
		tc, err := s.cfg.Network.TLS[te.Name].ServerConfig(te.AuthenticateClient)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("network tls %s: %w", te.Name, err)
		}
		addr := net.JoinHostPort(te.Address, fmt.Sprint(te.Port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("listen on %s (tls-port): %w", addr, err)
		}
		tlsLn = tls.NewListener(l, tc)
	}
	s.mu.Lock()
	s.ln, s.tlsLn = ln, tlsLn
	s.mu.Unlock()
	return ln.Addr(), nil
}

// Serve accepts connections until Shutdown. It returns nil after a
// shutdown, or the error that stopped it.
func (s *Server) Serve() error {
	s.mu.Lock()
	lns := []net.Listener{s.ln}
	if s.tlsLn != nil {
		lns = append(lns, s.tlsLn)
	}
	s.mu.Unlock()
	if lns[0] == nil {
		return errors.New("serve: Listen was not called")
	}
	s.ready.Store(true)
	go s.runLatencyWindows()
	errs := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errs <- s.accept(ln) }()
	}
	var first error
	for range lns {
		if err := <-errs; err != nil && first == nil {
			first = err
			// The other listener's loop ends too.
			for _, ln := range lns {
				ln.Close()
			}
		}
	}
	return first
}

// accept serves the connections of one listener until it is closed.
func (s *Server) accept(ln net.Listener) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		backoff = 0
		if s.nConns.Load() >= s.protoFdMax.Load() {
			s.refused.Add(1)
			nc.Close()
			continue
		}
		s.accepted.Add(1)
		c := newConn(s, nc)
		if !s.track(c) {
			nc.Close()
			return nil
		}
		go c.serve()
	}
}

// track registers a connection; it fails once shutdown has begun.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	s.nConns.Add(1)
	s.connWG.Add(1)
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.nConns.Add(-1)
	s.connWG.Done()
}

// Shutdown stops accepting connections, lets requests in flight finish and
// closes idle connections. When ctx ends first it closes the remaining
// connections and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	if s.tlsLn != nil {
		s.tlsLn.Close()
	}
	for c := range s.conns {
		c.wakeIfIdle()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// ClientConnections is the number of open client connections.
func (s *Server) ClientConnections() int64 { return s.nConns.Load() }
