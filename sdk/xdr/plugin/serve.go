package plugin

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skiffdb/skiff/sdk/internal/pluginproc"
	"github.com/skiffdb/skiff/sdk/xdr"
	"github.com/skiffdb/skiff/sdk/xdr/plugin/pb"
)

// ProtocolVersion is the version of the plugin protocol: the service in
// pb/ and the encoding of changes it carries. A node refuses a plugin
// built for another.
const ProtocolVersion = 1

// Handshake is what a node and a plugin check before they talk: the
// protocol version, and a cookie in the plugin's environment that tells a
// binary it was started by a Skiff node as an xdr transport. The cookie is
// not storage plugins' (sdk/storage/plugin), so that a storage plugin
// started as a transport refuses to serve, and the node names it.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SKIFF_XDR_PLUGIN",
	MagicCookieValue: "3f7a91c4-xdr-transport",
}

// pluginName is the one plugin an xdr plugin process serves.
const pluginName = "xdr"

// maxMessage bounds a gRPC message both ways, as go-plugin bounds what its
// client sends and receives: a batch holds whole records, of up to a
// write block each.
const maxMessage = math.MaxInt32

// IsPluginProcess reports whether this process was started by a node as an
// xdr transport plugin. Tests use it to run their own binary as the
// plugin.
func IsPluginProcess() bool {
	return os.Getenv(Handshake.MagicCookieKey) == Handshake.MagicCookieValue
}

// TestMain is a test binary's TestMain for tests that start the binary
// itself as the transport plugin (with Config.Path = os.Args[0]): started
// by a node it serves open, otherwise it runs the tests.
//
//	func TestMain(m *testing.M) { plugin.TestMain(m, "nats", xdrnats.Open) }
func TestMain(m interface{ Run() int }, name string, open xdr.OpenFunc) {
	if IsPluginProcess() {
		Serve(name, open)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Serve runs this process as the xdr transport plugin called name (for
// logs and info), opening its transport with open when the node asks. It
// returns when the node is done with the plugin. A transport's main is:
//
//	func main() { plugin.Serve("nats", xdrnats.Open) }
//
// Serve's logger writes structured lines to stderr, which the node logs
// with the plugin's name; the transport may use slog.Default.
func Serve(name string, open xdr.OpenFunc) {
	log := slog.New(pluginproc.NewHCLogHandler(os.Stderr, slog.LevelDebug)).With("transport", name)
	slog.SetDefault(log)
	pluginproc.ExitWithParent(log)
	srv := &server{name: name, open: open, log: log}
	pluginproc.CloseOnSIGTERM("the transport", srv.close, log)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         goplugin.PluginSet{pluginName: &grpcPlugin{server: srv}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage))...)
		},
		Logger: pluginproc.NewHCLogger(log),
	})
	srv.close()
}

// grpcPlugin is the go-plugin glue: the plugin serves the service, the
// node gets a client for it.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	server *server
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterTransportServer(s, p.server)
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewTransportClient(c), nil
}

// server is the plugin's side of the service: it serves one transport
// instance.
type server struct {
	pb.UnimplementedTransportServer
	name string
	open xdr.OpenFunc
	log  *slog.Logger

	mu        sync.Mutex
	transport xdr.Transport // nil until Open and after Close
}

func (s *server) Open(ctx context.Context, req *pb.OpenRequest) (*pb.OpenResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transport != nil {
		return nil, status.Error(codes.AlreadyExists, "transport already open")
	}
	cfg := xdr.Config{DC: req.Dc, Namespace: req.Namespace, Node: req.Node, URLs: req.Urls, Settings: req.Settings}
	t, err := s.open(ctx, cfg)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.transport = t
	s.log.Info("transport open", "dc", cfg.DC, "namespace", cfg.Namespace, "node", cfg.Node)
	return &pb.OpenResponse{Transport: s.name}, nil
}

func (s *server) Stats(ctx context.Context, _ *pb.StatsRequest) (*pb.StatsResponse, error) {
	t, err := s.current()
	if err != nil {
		return nil, err
	}
	st, err := t.Stats(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.StatsResponse{Shipped: st.Shipped, Received: st.Received, Pending: st.Pending,
		Errors: st.Errors, Connected: st.Connected, Gap: st.Gap}, nil
}

func (s *server) Close(context.Context, *pb.CloseRequest) (*pb.CloseResponse, error) {
	if err := s.close(); err != nil {
		return nil, toStatus(err)
	}
	return &pb.CloseResponse{}, nil
}

func (s *server) current() (xdr.Transport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transport == nil {
		return nil, status.Error(codes.FailedPrecondition, "transport not open")
	}
	return s.transport, nil
}

// close closes the transport, once.
func (s *server) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.transport == nil {
		return nil
	}
	err := s.transport.Close()
	s.transport = nil
	s.log.Info("transport closed")
	if err != nil {
		return fmt.Errorf("close transport: %w", err)
	}
	return nil
}

// shipJob is a batch the Ship stream's reader queued for its shipper.
type shipJob struct {
	seq     uint64
	changes [][]byte
	ctx     context.Context
	cancel  context.CancelFunc
}

// Ship ships the stream's batches one after the other, in the order they
// arrive, which is the order the node shipped them. A reader takes the
// batches off the stream while the transport ships, so that a cancel
// message reaches the batch it cancels.
func (s *server) Ship(stream pb.Transport_ShipServer) error {
	t, err := s.current()
	if err != nil {
		return err
	}
	ctx := stream.Context()
	queue := make(chan *shipJob, 16)
	var (
		mu      sync.Mutex
		pending = map[uint64]*shipJob{}
	)
	go func() {
		defer close(queue)
		for {
			req, err := stream.Recv()
			if err != nil {
				return
			}
			if req.Cancel {
				mu.Lock()
				if j := pending[req.Seq]; j != nil {
					j.cancel()
				}
				mu.Unlock()
				continue
			}
			j := &shipJob{seq: req.Seq, changes: req.Changes}
			if req.DeadlineUnixNano != 0 {
				j.ctx, j.cancel = context.WithDeadline(ctx, time.Unix(0, req.DeadlineUnixNano))
			} else {
				j.ctx, j.cancel = context.WithCancel(ctx)
			}
			mu.Lock()
			pending[j.seq] = j
			mu.Unlock()
			select {
			case queue <- j:
			case <-ctx.Done():
				j.cancel()
				return
			}
		}
	}()
	for j := range queue {
		err := s.shipBatch(t, j)
		mu.Lock()
		delete(pending, j.seq)
		mu.Unlock()
		j.cancel()
		if serr := stream.Send(&pb.ShipReply{Seq: j.seq, Error: toPB(err)}); serr != nil {
			return serr
		}
	}
	return nil
}

func (s *server) shipBatch(t xdr.Transport, j *shipJob) error {
	if err := j.ctx.Err(); err != nil {
		return err // the node gave up on it before its turn
	}
	changes, err := decodeBatch(j.changes)
	if err != nil {
		return fmt.Errorf("ship: %w", err)
	}
	return t.Ship(j.ctx, changes)
}

// Receive runs the transport's Receive for as long as the stream lasts.
// Its apply callback sends the batch to the node and returns the node's
// answer, so that the transport acknowledges a batch only once the node
// applied it. A reader takes the node's answers off the stream and hands
// each to the callback waiting for it.
func (s *server) Receive(stream pb.Transport_ReceiveServer) error {
	t, err := s.current()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	r := &receiver{stream: stream, ctx: ctx}
	go func() {
		defer cancel() // the node went away: end the transport's Receive
		for {
			ack, err := stream.Recv()
			if err != nil {
				return
			}
			r.batches.answer(ack.Id, fromPB(ack.Error))
		}
	}()
	err = t.Receive(ctx, r.apply)
	if ctx.Err() != nil {
		return status.Error(codes.Canceled, "the node ended the receive stream")
	}
	return toStatus(err)
}

// receiver is the plugin's side of one Receive stream.
type receiver struct {
	stream  pb.Transport_ReceiveServer
	ctx     context.Context
	batches pending // by id, the apply calls waiting
}

// apply sends a batch to the node and waits for the node to apply it. The
// transport may call it from several goroutines.
func (r *receiver) apply(changes []xdr.Change) error {
	batch := &pb.ReceiveBatch{Changes: encodeBatch(changes)}
	id, done, err := r.batches.send(func(id uint64) error {
		batch.Id = id
		return r.stream.Send(batch)
	})
	if err != nil {
		return fmt.Errorf("send batch to the node: %w", err)
	}
	select {
	case err := <-done:
		return err
	case <-r.ctx.Done():
		r.batches.forget(id)
		return fmt.Errorf("batch not applied: the node ended the stream: %w", r.ctx.Err())
	}
}
