package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skiffdb/skiff/sdk/internal/pluginproc"
	"github.com/skiffdb/skiff/sdk/xdr"
	"github.com/skiffdb/skiff/sdk/xdr/plugin/pb"
)

// Config says which plugin to start and which transport instance to open.
type Config struct {
	// Path is the plugin's binary.
	Path string
	// Name is the plugin's name in the node's logs ("nats").
	Name string
	// Logger receives the plugin's logs and the node's about it.
	Logger *slog.Logger
	// Transport is passed to the plugin's OpenFunc.
	Transport xdr.Config
	// StartTimeout bounds the start and the handshake; 0 means 10 s.
	StartTimeout time.Duration
}

// Process is a transport served by a plugin process. It implements
// xdr.Transport: Ship sends its batch on a stream the Process keeps open
// and waits for the plugin's answer, Receive runs the transport's Receive
// in the plugin for as long as it lasts, on a stream of its own.
//
// When the process exits, calls in flight and every call after return
// ErrUnavailable, and Broken is closed. A Process does not restart: the
// node starts a new one, whose Receive resumes from the node's durable
// position.
type Process struct {
	path string
	name string
	pid  int
	log  *slog.Logger

	client *goplugin.Client
	ctrl   pb.TransportClient

	// life ends when the process stops serving or is closed: it closes
	// Broken, ends the Ship stream, and cancels calls in flight.
	life    context.Context
	endLife context.CancelFunc
	endOnce sync.Once
	// closing is set by Close, so that the streams going down with the
	// plugin are not taken for a crash.
	closing atomic.Bool

	ship  pb.Transport_ShipClient
	ships pending // by seq, the Ship calls waiting
}

var _ xdr.Transport = (*Process)(nil)

// Start starts the plugin binary, checks the handshake and opens the
// transport instance. The error names the binary and what went wrong, a
// binary that is no Skiff xdr transport plugin (a storage plugin, say) or
// one of another protocol version included.
func Start(ctx context.Context, cfg Config) (*Process, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Name != "" {
		log = log.With("plugin", cfg.Name)
	}
	client := pluginproc.NewClient(cfg.Path, Handshake, goplugin.PluginSet{pluginName: &grpcPlugin{}}, log, cfg.StartTimeout, nil)
	p, err := connect(ctx, client, cfg, log)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("xdr plugin %s: %w", cfg.Path, err)
	}
	return p, nil
}

func connect(ctx context.Context, client *goplugin.Client, cfg Config, log *slog.Logger) (*Process, error) {
	raw, err := pluginproc.Dispense(client, pluginName, "xdr transport", ProtocolVersion)
	if err != nil {
		return nil, err
	}
	ctrl := raw.(pb.TransportClient)
	t := cfg.Transport
	resp, err := ctrl.Open(ctx, &pb.OpenRequest{Dc: t.DC, Namespace: t.Namespace, Node: t.Node, Urls: t.URLs, Settings: t.Settings})
	if err != nil {
		return nil, fmt.Errorf("open transport for namespace %s, dc %s: %w", t.Namespace, t.DC, fromStatus(err))
	}
	p := &Process{
		path:   cfg.Path,
		name:   resp.Transport,
		pid:    client.ReattachConfig().Pid,
		log:    log,
		client: client,
		ctrl:   ctrl,
	}
	p.life, p.endLife = context.WithCancel(context.Background())
	p.ship, err = ctrl.Ship(p.life)
	if err != nil {
		p.endLife()
		return nil, fmt.Errorf("open the ship stream: %w", fromStatus(err))
	}
	go p.readShipAcks()
	return p, nil
}

// Pid is the plugin process's id.
func (p *Process) Pid() int { return p.pid }

// Name is the name the plugin gives its transport ("nats").
func (p *Process) Name() string { return p.name }

// Broken is closed when the process stops serving, and by Close.
func (p *Process) Broken() <-chan struct{} { return p.life.Done() }

// Kill stops the process at once, without closing its transport.
func (p *Process) Kill() {
	p.breakDown(errors.New("killed by the node"))
	p.client.Kill()
}

// breakDown fails every call in flight and after when the process stops
// serving, and kills it to be sure.
func (p *Process) breakDown(err error) {
	if p.closing.Load() {
		return
	}
	p.endOnce.Do(func() {
		p.log.Error("xdr plugin stopped serving", "binary", p.path, "pid", p.pid, "err", err)
		p.endLife()
		go p.client.Kill()
	})
}

// failure is the error of a call the end of the process's life stopped.
func (p *Process) failure() error {
	if p.closing.Load() {
		return ErrClosed
	}
	return fmt.Errorf("xdr plugin %s: %w", p.path, ErrUnavailable)
}

// usable returns the error of a call made when the process cannot serve.
func (p *Process) usable() error {
	if p.closing.Load() || p.life.Err() != nil {
		return p.failure()
	}
	return nil
}

// readShipAcks hands each answer on the Ship stream to the Ship call
// waiting for it. The stream ends only with the process, or on Close.
func (p *Process) readShipAcks() {
	for {
		reply, err := p.ship.Recv()
		if err != nil {
			p.breakDown(fmt.Errorf("ship stream: %w", err))
			return
		}
		p.ships.answer(reply.Seq, fromPB(reply.Error))
	}
}

// Ship implements xdr.Transport: it sends the changes to the plugin as one
// message and returns once the plugin's transport shipped them. When ctx
// ends first, Ship returns ctx's error at once and asks the plugin to
// cancel the batch: it may still have been shipped. Ship may be called
// concurrently; the plugin ships batches in the order they were sent.
func (p *Process) Ship(ctx context.Context, changes []xdr.Change) error {
	if err := p.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(changes) == 0 {
		return nil
	}
	req := &pb.ShipRequest{Changes: encodeBatch(changes)}
	if d, ok := ctx.Deadline(); ok {
		req.DeadlineUnixNano = d.UnixNano()
	}
	seq, done, err := p.ships.send(func(seq uint64) error {
		req.Seq = seq
		return p.ship.Send(req)
	})
	if err != nil {
		// The stream is down: its reader says why, and breaks the process.
		return p.failure()
	}
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("xdr transport %s: ship %d changes: %w", p.name, len(changes), err)
		}
		return nil
	case <-ctx.Done():
		p.ships.forget(seq)
		go p.cancelShip(seq)
		return ctx.Err()
	case <-p.life.Done():
		return p.failure()
	}
}

func (p *Process) cancelShip(seq uint64) {
	p.ships.sendAlone(func() error {
		return p.ship.Send(&pb.ShipRequest{Seq: seq, Cancel: true}) // a failure is the reader's to report
	})
}

// Receive implements xdr.Transport: it runs the transport's Receive in the
// plugin, applies each batch the transport delivers with apply, one after
// the other in the order they come, and answers the plugin with apply's
// error, so that the transport acknowledges a batch only once it was
// applied. It returns when ctx ends (ctx's error), when the process stops
// serving (ErrUnavailable), on Close (ErrClosed) or with the transport's
// reason for ending.
func (p *Process) Receive(ctx context.Context, apply func([]xdr.Change) error) error {
	if err := p.usable(); err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.life, cancel)()
	stream, err := p.ctrl.Receive(sctx)
	if err != nil {
		return p.callErr(ctx, "receive", err)
	}
	for {
		batch, err := stream.Recv()
		if err == io.EOF {
			return nil // the transport's Receive returned nil
		}
		if err != nil {
			return p.callErr(ctx, "receive", err)
		}
		changes, err := decodeBatch(batch.Changes)
		if err != nil {
			err = fmt.Errorf("xdr transport %s: receive: %w", p.name, err)
			p.log.Error("undecodable batch from the xdr plugin", "binary", p.path, "err", err)
		} else {
			err = apply(changes)
		}
		// A failed send means the stream ended: the next Recv says why.
		stream.Send(&pb.ReceiveAck{Id: batch.Id, Error: toPB(err)})
	}
}

// callErr is the error of a call whose request or stream failed with err.
func (p *Process) callErr(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if status.Code(err) == codes.Unavailable {
		// The connection to the process is gone, so the process is: the
		// Ship stream's reader is about to notice.
		t := time.NewTimer(time.Second)
		select {
		case <-p.life.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if p.closing.Load() || p.life.Err() != nil {
		return p.failure()
	}
	return fmt.Errorf("xdr transport %s: %s: %w", p.name, op, fromStatus(err))
}

// Stats implements xdr.Transport.
func (p *Process) Stats(ctx context.Context) (xdr.Stats, error) {
	if err := p.usable(); err != nil {
		return xdr.Stats{}, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.life, cancel)()
	resp, err := p.ctrl.Stats(sctx, &pb.StatsRequest{})
	if err != nil {
		return xdr.Stats{}, p.callErr(ctx, "stats", err)
	}
	return xdr.Stats{Shipped: resp.Shipped, Received: resp.Received, Pending: resp.Pending,
		Errors: resp.Errors, Connected: resp.Connected, Gap: resp.Gap}, nil
}

// Close closes the transport and stops the process. Every method, Close
// included, returns ErrClosed afterwards.
func (p *Process) Close() error {
	if p.closing.Swap(true) {
		return ErrClosed
	}
	var err error
	if p.life.Err() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, cerr := p.ctrl.Close(ctx, &pb.CloseRequest{}); cerr != nil {
			err = fmt.Errorf("xdr plugin %s: close: %w", p.path, fromStatus(cerr))
			if p.client.Exited() {
				// It stopped on its own, on SIGTERM closing its transport
				// first, as when a service manager stops the node's group.
				p.log.Warn("xdr plugin had stopped before the node closed it", "binary", p.path, "pid", p.pid)
				err = nil
			}
		}
	}
	p.endOnce.Do(p.endLife)
	p.client.Kill()
	return err
}
