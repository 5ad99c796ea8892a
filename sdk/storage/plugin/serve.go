package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/skiffdb/skiff/sdk/internal/pluginproc"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin/pb"
	"github.com/skiffdb/skiff/sdk/storage/sharedindex"
)

// ProtocolVersion is the version of the plugin protocol: the control
// service and the data path. A node refuses a plugin built for another.
// Version 2 added a flags byte to the data path's record metadata, 3 the
// data connections' shared memory, 4 the plugin's answer to the greeting,
// which may carry its shared index, 5 the device files that come with a
// device backend's shared index.
const ProtocolVersion = 5

// Handshake is what a node and a plugin check before they talk: the
// protocol version, and a cookie in the plugin's environment that tells a
// binary it was started by a Skiff node.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SKIFF_STORAGE_PLUGIN",
	MagicCookieValue: "8d2f6c1e-storage-backend",
}

// pluginName is the one plugin a storage plugin process serves.
const pluginName = "storage"

// OpenFunc creates a backend for a namespace from the settings of its
// storage-engine block, exactly as written in the node's configuration. It
// returns an error naming the setting at fault for settings it does not
// know or cannot use.
type OpenFunc func(namespace string, settings map[string]string) (storage.Backend, error)

// ResumeFunc is OpenFunc for a backend taking over the shared region an
// earlier process of the plugin left when it died (see sharedindex.Adopt),
// so that the namespace keeps its records. On error the region is still
// the caller's, which then calls OpenFunc.
type ResumeFunc func(namespace string, settings map[string]string, region *sharedindex.Region) (storage.Backend, error)

// Option configures Serve.
type Option func(*controlServer)

// WithResume has Serve resume a region the node passes from the process
// before, with resume, instead of opening an empty backend: for a backend
// whose records live in its shared region only (the memory backend).
func WithResume(resume ResumeFunc) Option {
	return func(s *controlServer) { s.resume = resume }
}

// resumeEnv names the variable that tells a plugin process which of its
// descriptors is a region to resume (see Config.Resume).
const resumeEnv = "SKIFF_STORAGE_RESUME_FD"

// IsPluginProcess reports whether this process was started by a node as a
// storage plugin. Tests use it to run their own binary as the plugin.
func IsPluginProcess() bool {
	return os.Getenv(Handshake.MagicCookieKey) == Handshake.MagicCookieValue
}

// TestMain is a test binary's TestMain for tests that start the binary
// itself as the storage plugin (with Config.Path = os.Args[0]): started by
// a node it serves open, otherwise it runs the tests.
//
//	func TestMain(m *testing.M) { plugin.TestMain(m, "memory", memory.Open) }
func TestMain(m interface{ Run() int }, name string, open OpenFunc, opts ...Option) {
	if IsPluginProcess() {
		Serve(name, open, opts...)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Serve runs this process as the storage plugin called name (for logs and
// info), creating its backend with open when the node asks. It returns when
// the node is done with the plugin. A backend's main is:
//
//	func main() { plugin.Serve("memory", memory.Open) }
//
// Serve's logger writes structured lines to stderr, which the node logs
// with the plugin's name; the backend may use slog.Default.
func Serve(name string, open OpenFunc, opts ...Option) {
	log := slog.New(pluginproc.NewHCLogHandler(os.Stderr, slog.LevelDebug)).With("backend", name)
	slog.SetDefault(log)
	pluginproc.ExitWithParent(log)
	ctrl := &controlServer{name: name, open: open, log: log, inherited: -1}
	for _, o := range opts {
		o(ctrl)
	}
	if v := os.Getenv(resumeEnv); v != "" {
		os.Unsetenv(resumeEnv)
		if fd, err := strconv.Atoi(v); err == nil && fd > 2 {
			ctrl.inherited = fd
			syscall.CloseOnExec(fd)
		}
	}
	pluginproc.CloseOnSIGTERM("the backend", ctrl.close, log)
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         goplugin.PluginSet{pluginName: &grpcPlugin{server: ctrl}},
		GRPCServer:      goplugin.DefaultGRPCServer,
		Logger:          pluginproc.NewHCLogger(log),
	})
	ctrl.close()
}

// grpcPlugin is the go-plugin glue: the plugin serves the control service,
// the node gets a client for it.
type grpcPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	server *controlServer
}

func (p *grpcPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterStorageServer(s, p.server)
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewStorageClient(c), nil
}

// controlServer is the plugin's side of the control service.
type controlServer struct {
	pb.UnimplementedStorageServer
	name   string
	open   OpenFunc
	resume ResumeFunc
	log    *slog.Logger
	// inherited is the descriptor of a region the node passed to resume,
	// until Open takes it; -1 for none.
	inherited int

	mu      sync.Mutex
	backend storage.Backend
	data    *dataServer
	ln      net.Listener
	dir     string
}

func (s *controlServer) Open(_ context.Context, req *pb.OpenRequest) (*pb.OpenResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backend != nil {
		return nil, status.Error(codes.FailedPrecondition, "backend already open")
	}
	b := s.resumed(req.Namespace, req.Settings)
	var err error
	if b == nil {
		b, err = s.open(req.Namespace, req.Settings)
	}
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	dir, err := os.MkdirTemp("", "skiff-storage-")
	if err != nil {
		b.Close()
		return nil, status.Errorf(codes.Internal, "data socket directory: %v", err)
	}
	path := filepath.Join(dir, "data.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		b.Close()
		os.RemoveAll(dir)
		return nil, status.Errorf(codes.Internal, "data socket: %v", err)
	}
	s.backend, s.ln, s.dir = b, ln, dir
	s.data = newDataServer(b, s.log)
	go s.data.accept(ln)
	s.log.Info("backend open", "socket", path)
	return &pb.OpenResponse{DataSockets: []string{path}, Backend: s.name}, nil
}

// resumed is the backend resumed from the region the node passed, nil if
// it passed none or the region could not be resumed (logged: the backend
// then starts empty, as it would have without one).
func (s *controlServer) resumed(namespace string, settings map[string]string) storage.Backend {
	fd := s.inherited
	if fd < 0 {
		return nil
	}
	s.inherited = -1
	if s.resume == nil {
		syscall.Close(fd)
		return nil
	}
	region, err := sharedindex.Adopt(fd)
	if err != nil {
		s.log.Warn("the records of the process before are lost: its region cannot be taken over", "err", err)
		return nil
	}
	b, err := s.resume(namespace, settings, region)
	if err != nil {
		region.Close()
		s.log.Warn("the records of the process before are lost: its region cannot be resumed", "err", err)
		return nil
	}
	return b
}

func (s *controlServer) Stats(ctx context.Context, _ *pb.StatsRequest) (*pb.StatsResponse, error) {
	b := s.current()
	if b == nil {
		return nil, status.Error(codes.FailedPrecondition, "backend not open")
	}
	st, err := b.Stats(ctx)
	if err != nil {
		return nil, status.Error(codeOf(err), err.Error())
	}
	resp := &pb.StatsResponse{Records: st.Records, DataBytes: st.DataBytes, IndexBytes: st.IndexBytes, Capacity: st.Capacity, Extra: st.Extra}
	for _, set := range st.Sets {
		resp.Sets = append(resp.Sets, &pb.SetStats{Name: set.Name, Records: set.Records, DataBytes: set.DataBytes})
	}
	return resp, nil
}

func (s *controlServer) Health(context.Context, *pb.HealthRequest) (*pb.HealthResponse, error) {
	return &pb.HealthResponse{}, nil
}

func (s *controlServer) Close(context.Context, *pb.CloseRequest) (*pb.CloseResponse, error) {
	if err := s.close(); err != nil {
		return nil, status.Error(codeOf(err), err.Error())
	}
	return &pb.CloseResponse{}, nil
}

func (s *controlServer) current() storage.Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backend
}

// close stops the data path and closes the backend, once.
func (s *controlServer) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.backend == nil {
		return nil
	}
	s.ln.Close()
	s.data.stop()
	err := s.backend.Close()
	os.RemoveAll(s.dir)
	s.backend = nil
	if err != nil && !errors.Is(err, storage.ErrClosed) {
		return fmt.Errorf("close backend: %w", err)
	}
	return nil
}

// codeOf carries the contract's errors over gRPC.
func codeOf(err error) codes.Code {
	switch {
	case errors.Is(err, storage.ErrClosed):
		return codes.FailedPrecondition
	case errors.Is(err, storage.ErrUnavailable):
		return codes.Unavailable
	}
	return codes.Internal
}
