package xdrnats

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/skiffdb/skiff/sdk/xdr"
)

// Errors of a Transport, returned wrapped; test with errors.Is.
var (
	// ErrClosed: the transport was closed. Receive returns it when Close
	// stops it.
	ErrClosed = errors.New("xdr-nats transport closed")
	// ErrNotConnected: the client is not connected to a NATS server now
	// (it keeps reconnecting); Ship fails fast with it during an outage.
	ErrNotConnected = errors.New("not connected to NATS")
)

// Tuning. The figures are the design's, not settings: see doc.go.
const (
	// shipWindow is how many publishes Ship keeps in flight: it waits for
	// the oldest ack before publishing more.
	shipWindow = 4096
	// shipAckTimeout bounds the wait for one publish's ack, so that Ship
	// fails (and the node retries) when an ack is lost with no deadline
	// on ctx.
	shipAckTimeout = 10 * time.Second
	// dupWindow is the stream's duplicate window: how long JetStream
	// remembers message ids (capped at the stream's max age).
	dupWindow = 2 * time.Minute
	// maxAckPending bounds the changes delivered to a node and not yet
	// acknowledged.
	maxAckPending = 10_000
	// ackWait is how long JetStream waits for an ack before it redelivers.
	ackWait = 30 * time.Second
	// infoTimeout bounds a request for the stream's or the consumer's
	// figures, which a server that went away never answers.
	infoTimeout = 2 * time.Second
	// drainTimeout bounds Close's drain of the connection.
	drainTimeout = 5 * time.Second
)

// Open connects to cfg.URLs, creates the namespace's stream and the
// node's durable consumer if they are missing, and returns the transport.
// It is an xdr.OpenFunc. It fails on settings it does not know or cannot
// parse (see doc.go), and when it cannot reach a server or create the
// stream: the node retries Open.
func Open(ctx context.Context, cfg xdr.Config) (xdr.Transport, error) {
	if err := checkConfig(cfg); err != nil {
		return nil, fmt.Errorf("xdr-nats dc %s namespace %s: %w", cfg.DC, cfg.Namespace, err)
	}
	set, err := parseSettings(cfg.Settings)
	if err != nil {
		return nil, fmt.Errorf("xdr-nats dc %s: %w", cfg.DC, err)
	}
	t := &transport{
		cfg:      cfg,
		set:      set,
		stream:   streamName(cfg.Namespace),
		durable:  consumerName(cfg.Node),
		prefix:   subjectPrefix(cfg.Namespace),
		log:      slog.Default().With("xdr-dc", cfg.DC, "namespace", cfg.Namespace),
		done:     make(chan struct{}),
		connDone: make(chan struct{}),
		subjects: make(map[subjectKey]string),
	}
	if err := t.connect(); err != nil {
		return nil, err
	}
	if _, _, err := t.ensure(ctx); err != nil {
		t.nc.Close()
		return nil, err
	}
	return t, nil
}

func checkConfig(cfg xdr.Config) error {
	switch {
	case cfg.Node == "":
		return errors.New("no node id")
	case cfg.Namespace == "":
		return errors.New("no namespace")
	case len(cfg.URLs) == 0:
		return errors.New("no nats-url")
	}
	return nil
}

// transport is the xdr.Transport. Ship's state (subjects, futures, idBuf)
// is Ship's alone: Ship is not called concurrently with itself. The rest
// is safe for concurrent use.
type transport struct {
	cfg     xdr.Config
	set     settings
	stream  string // SKIFF_<ns>
	durable string // the node's consumer
	prefix  string // skiff.<ns>.
	log     *slog.Logger

	nc *nats.Conn
	js jetstream.JetStream

	// mu orders Close's closing of done after the Receive calls it waits
	// for have joined receivers.
	mu        sync.Mutex
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	receivers sync.WaitGroup
	connDone  chan struct{} // closed when the connection is closed

	subjects map[subjectKey]string
	futures  []jetstream.PubAckFuture
	idBuf    []byte
	// group is Ship's copy of its changes, grouped into messages.
	group []xdr.Change

	shipped, received, errors, pending atomic.Uint64
	gap                                atomic.Bool
}

var _ xdr.Transport = (*transport)(nil)

type subjectKey struct{ origin, set string }

// connect dials the servers. The client reconnects forever with a capped,
// jittered backoff, and does not buffer publishes while disconnected, so
// that Ship fails rather than waits during an outage.
func (t *transport) connect() error {
	opts := []nats.Option{
		nats.Name("skiff-" + t.cfg.Node + "-" + t.cfg.DC),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.ReconnectBufSize(-1),
		nats.PingInterval(20 * time.Second),
		nats.DrainTimeout(drainTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				t.log.Warn("xdr: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			t.log.Info("xdr: reconnected to NATS", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(t.connDone) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			t.log.Warn("xdr: NATS client error", "err", err)
		}),
	}
	opts = append(opts, t.set.auth...)
	opts = append(opts, t.set.tls...)
	nc, err := nats.Connect(strings.Join(t.cfg.URLs, ","), opts...)
	if err != nil {
		return fmt.Errorf("xdr-nats dc %s: connect to %s: %w", t.cfg.DC, strings.Join(t.cfg.URLs, ","), err)
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(2*shipWindow),
		jetstream.WithPublishAsyncTimeout(shipAckTimeout))
	if err != nil {
		nc.Close()
		return fmt.Errorf("xdr-nats dc %s: jetstream: %w", t.cfg.DC, err)
	}
	t.nc, t.js = nc, js
	return nil
}

// reconnectDelay is the wait before reconnect attempt n (from 1): 50 ms
// doubling to 2 s, ±25% so that a cluster's nodes do not reconnect in
// step.
func reconnectDelay(n int) time.Duration {
	return jitter(backoff(n, 50*time.Millisecond, 2*time.Second))
}

// backoff is base doubled n-1 times, at most limit.
func backoff(n int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

func jitter(d time.Duration) time.Duration {
	return d*3/4 + rand.N(d/2+1)
}

// ensure creates or updates the stream and the node's consumer.
func (t *transport) ensure(ctx context.Context) (jetstream.Stream, jetstream.Consumer, error) {
	stream, err := t.js.CreateOrUpdateStream(ctx, t.streamConfig())
	if err != nil {
		return nil, nil, fmt.Errorf("xdr-nats dc %s: create or update stream %s: %w", t.cfg.DC, t.stream, err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       t.durable,
		Description:   "skiff xdr: node " + t.cfg.Node,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxAckPending: maxAckPending,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("xdr-nats dc %s: create or update consumer %s on %s: %w", t.cfg.DC, t.durable, t.stream, err)
	}
	return stream, cons, nil
}

func (t *transport) streamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        t.stream,
		Description: "skiff xdr: changes of namespace " + t.cfg.Namespace,
		Subjects:    []string{t.prefix + ">"},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		MaxAge:      t.set.maxAge,
		MaxBytes:    t.set.maxBytes,
		MaxMsgs:     -1,
		Replicas:    t.set.replicas,
		Duplicates:  min(dupWindow, t.set.maxAge),
	}
}

func (t *transport) closed() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// Ship publishes changes asynchronously, up to shipWindow in flight, and
// returns once JetStream acknowledged them all, or at the first failure:
// a publish error, a lost or negative ack (shipAckTimeout), the end of
// ctx, Close. After a failure some of the changes may be stored: the node
// ships the batch again and JetStream drops the copies by their
// Nats-Msg-Id. A change's empty Origin and Namespace are the transport's.
func (t *transport) Ship(ctx context.Context, changes []xdr.Change) error {
	if t.closed() {
		return ErrClosed
	}
	if len(changes) == 0 {
		return nil
	}
	if err := t.ship(ctx, changes); err != nil {
		t.errors.Add(1)
		return fmt.Errorf("xdr-nats dc %s: ship %d changes to %s: %w", t.cfg.DC, len(changes), t.stream, err)
	}
	t.shipped.Add(uint64(len(changes)))
	return nil
}

func (t *transport) ship(ctx context.Context, changes []xdr.Change) error {
	if !t.nc.IsConnected() {
		return ErrNotConnected
	}
	// One buffer for the batch's payloads, which the messages keep: the
	// client may publish a message again after Ship returned.
	size := 0
	for i := range changes {
		c := &changes[i]
		if c.Kind < xdr.Write || c.Kind > xdr.Truncate {
			return fmt.Errorf("change %d: unknown kind %d", i, c.Kind)
		}
		if c.Namespace != "" && c.Namespace != t.cfg.Namespace {
			return fmt.Errorf("change %d: of namespace %q, not %q", i, c.Namespace, t.cfg.Namespace)
		}
		size += xdr.EncodedSize(c) + len(t.cfg.Namespace) + len(t.cfg.Node) + 2*binary.MaxVarintLen32
	}
	// The changes with their origin and namespace set, in the transport's
	// own slice.
	t.group = append(t.group[:0], changes...)
	for i := range t.group {
		c := &t.group[i]
		if c.Origin == "" {
			c.Origin = t.cfg.Node
		}
		c.Namespace = t.cfg.Namespace
	}
	defer clear(t.group)
	buf := make([]byte, 0, size)
	defer clear(t.futures) // drop the messages
	t.futures = t.futures[:0]
	acked := 0
	for rest := t.group; len(rest) > 0; {
		n := group(rest)
		g := rest[:n]
		rest = rest[n:]
		start := len(buf)
		buf = appendGroup(buf, g)
		// The group's id is its first and last changes' and its length:
		// the same when the node ships the same batch again.
		t.idBuf = appendMsgID(t.idBuf[:0], &g[0])
		t.idBuf = append(t.idBuf, '/')
		t.idBuf = appendMsgID(t.idBuf, &g[n-1])
		t.idBuf = append(t.idBuf, '/')
		t.idBuf = strconv.AppendInt(t.idBuf, int64(n), 10)
		msg := &nats.Msg{
			Subject: t.subject(g[0].Origin, g[0].Set),
			Data:    buf[start:len(buf):len(buf)],
			Header:  nats.Header{jetstream.MsgIDHeader: []string{string(t.idBuf)}},
		}
		f, err := t.js.PublishMsgAsync(msg)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		t.futures = append(t.futures, f)
		if len(t.futures)-acked >= shipWindow {
			if err := t.await(ctx, t.futures[acked]); err != nil {
				return err
			}
			acked++
		}
	}
	for ; acked < len(t.futures); acked++ {
		if err := t.await(ctx, t.futures[acked]); err != nil {
			return err
		}
	}
	return nil
}

// await waits for one publish's ack.
func (t *transport) await(ctx context.Context, f jetstream.PubAckFuture) error {
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return fmt.Errorf("publish %s: %w", f.Msg().Header.Get(jetstream.MsgIDHeader), err)
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.done:
		return ErrClosed
	}
}

// subject returns the subject of origin's changes to set, from a cache
// that a Skiff cluster's few origins and sets keep small.
func (t *transport) subject(origin, set string) string {
	k := subjectKey{origin, set}
	if s, ok := t.subjects[k]; ok {
		return s
	}
	if len(t.subjects) >= 4096 {
		clear(t.subjects)
	}
	s := subject(t.prefix, origin, set)
	t.subjects[k] = s
	return s
}

// Stats returns the counters, and asks the server for the consumer's
// pending count and the stream's first sequence (to see a gap) when
// connected; when it cannot, Pending is the last figure known. Its error
// is always nil.
func (t *transport) Stats(ctx context.Context) (xdr.Stats, error) {
	s := xdr.Stats{Connected: t.nc.IsConnected()}
	if s.Connected && !t.closed() {
		if err := t.refresh(ctx); err != nil {
			t.log.Debug("xdr: stats: consumer info", "err", err)
		}
	}
	s.Shipped = t.shipped.Load()
	s.Received = t.received.Load()
	s.Pending = t.pending.Load()
	s.Errors = t.errors.Load()
	s.Gap = t.gap.Load()
	return s, nil
}

// refresh reads the consumer's and the stream's positions.
func (t *transport) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, infoTimeout)
	defer cancel()
	ci, err := t.js.Consumer(ctx, t.stream, t.durable)
	if err != nil {
		return err
	}
	info := ci.CachedInfo()
	si, err := t.js.Stream(ctx, t.stream)
	if err != nil {
		return err
	}
	t.pending.Store(info.NumPending)
	t.checkGap(info.AckFloor.Stream, si.CachedInfo().State.FirstSeq)
	return nil
}

// checkGap sets Gap when the consumer's first unacknowledged change is
// below the stream's first: changes expired before this node took them.
func (t *transport) checkGap(ackFloor, firstSeq uint64) {
	if ackFloor+1 < firstSeq {
		t.setGap(ackFloor+1, firstSeq-1)
	}
}

// setGap sets Gap and logs it, once.
func (t *transport) setGap(from, to uint64) {
	if t.gap.CompareAndSwap(false, true) {
		t.log.Error("xdr: changes expired from the stream before this node received them; a peer must re-ship (skiff xdr rewind)",
			"stream", t.stream, "consumer", t.durable, "first-lost", from, "last-lost", to)
	}
}

// startReceive counts a Receive call in, unless the transport is closed.
func (t *transport) startReceive() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed() {
		return false
	}
	t.receivers.Add(1)
	return true
}

// Close stops Receive (waiting for it a bounded time), drains the
// connection, so that the acknowledgements sent reach the server, and
// closes it. Ship then returns ErrClosed.
func (t *transport) Close() error {
	t.closeOnce.Do(func() {
		t.mu.Lock()
		close(t.done)
		t.mu.Unlock()
		stopped := make(chan struct{})
		go func() { t.receivers.Wait(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(drainTimeout):
			t.log.Warn("xdr: close: Receive did not stop; closing anyway")
		}
		if err := t.nc.Drain(); err != nil {
			t.nc.Close()
		}
		select {
		case <-t.connDone:
		case <-time.After(2 * drainTimeout):
			t.nc.Close()
		}
	})
	return nil
}
