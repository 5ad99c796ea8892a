package backends

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/core/config"
	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/plugin"
)

// Restart policy of a crashed plugin.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
	// A plugin that crashes crashLoopCount times within crashLoopWindow is
	// crash-looping: it is reported, and restarted only every maxBackoff.
	crashLoopCount  = 5
	crashLoopWindow = time.Minute
	// A plugin that fails healthChecks checks in a row, each bounded by
	// healthTimeout, is taken for hung and killed.
	healthInterval = 5 * time.Second
	healthTimeout  = 2 * time.Second
	healthChecks   = 3
)

// supervised is a backend served by a plugin process that the node
// restarts when it stops. Calls go to the current process; while there is
// none they fail at once with storage.ErrUnavailable, so a namespace never
// hangs on a dead plugin.
type supervised struct {
	cfg plugin.Config
	log *slog.Logger
	cur atomic.Pointer[plugin.Process]

	mu     sync.Mutex
	status Status

	stop chan struct{}
	done chan struct{}
}

func startSupervised(ctx context.Context, cfg plugin.Config, log *slog.Logger) (*supervised, error) {
	p, err := plugin.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &supervised{
		cfg:  cfg,
		log:  cfg.Logger,
		stop: make(chan struct{}),
		done: make(chan struct{}),
		status: Status{
			Backend: p.Backend(),
			Mode:    config.ModeProcess,
			Path:    cfg.Path,
			Pid:     p.Pid(),
			State:   "running",

			SharedIndex: p.ReadsSharedIndex(),
		},
	}
	s.cur.Store(p)
	s.log.Info("storage plugin started", "pid", p.Pid(), "backend", p.Backend(), "shared_index", p.ReadsSharedIndex())
	go s.run(p)
	return s, nil
}

// Status reports the plugin's state.
func (s *supervised) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *supervised) setStatus(f func(*Status)) {
	s.mu.Lock()
	f(&s.status)
	s.mu.Unlock()
}

// run watches the current process and replaces it when it stops.
func (s *supervised) run(p *plugin.Process) {
	defer close(s.done)
	var crashes []time.Time
	for {
		if !s.watch(p) {
			return
		}
		s.cur.Store(nil)
		now := time.Now()
		crashes = append(crashes, now)
		for len(crashes) > 0 && now.Sub(crashes[0]) > crashLoopWindow {
			crashes = crashes[1:]
		}
		looping := len(crashes) >= crashLoopCount
		s.setStatus(func(st *Status) {
			st.Pid = 0
			st.Restarts++
			st.State = "restarting"
			if looping {
				st.State = "crash-looping"
			}
		})
		// A memory backend's records, and a device backend's write
		// buffers, outlive its process in the region the node holds: the
		// next process resumes them, unless they may be what makes it
		// crash.
		leftover := p.Leftover()
		if looping {
			s.log.Error("storage plugin keeps crashing; restarting it only every "+maxBackoff.String(), "crashes", len(crashes), "within", crashLoopWindow)
			if leftover != nil {
				s.log.Error("the records of the crash-looping storage plugin are dropped")
				leftover.Close()
				leftover = nil
			}
		}
		if p = s.restart(looping, leftover); p == nil {
			return
		}
	}
}

// watch waits until p stops serving, checking its health meanwhile. It
// returns false when the backend is being closed.
func (s *supervised) watch(p *plugin.Process) bool {
	t := time.NewTicker(healthInterval)
	defer t.Stop()
	failed := 0
	for {
		select {
		case <-s.stop:
			return false
		case <-p.Broken():
			s.setStatus(func(st *Status) { st.LastError = "process stopped serving" })
			return true
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
			err := p.Health(ctx)
			cancel()
			if err == nil {
				failed = 0
				continue
			}
			if failed++; failed >= healthChecks {
				s.log.Error("storage plugin does not answer; killing it", "pid", p.Pid(), "err", err)
				s.setStatus(func(st *Status) { st.LastError = "health check: " + err.Error() })
				p.Kill()
				return true
			}
		}
	}
}

// restart starts a new process after a back-off, retrying until one
// starts or the backend is closed (then it returns nil). It offers the
// first attempt the region leftover to resume, if not nil, and closes it:
// a later attempt opens the backend as configured (the region file, say,
// which the leftover locks).
func (s *supervised) restart(looping bool, leftover *os.File) *plugin.Process {
	defer func() {
		if leftover != nil {
			leftover.Close()
		}
	}()
	backoff := minBackoff
	if looping {
		backoff = maxBackoff
	}
	for {
		select {
		case <-s.stop:
			return nil
		case <-time.After(backoff):
		}
		cfg := s.cfg
		cfg.Resume = leftover
		p, err := plugin.Start(context.Background(), cfg)
		if leftover != nil {
			leftover.Close()
			leftover = nil
		}
		if err == nil {
			s.cur.Store(p)
			s.setStatus(func(st *Status) {
				st.Pid, st.State, st.Backend = p.Pid(), "running", p.Backend()
				st.SharedIndex = p.ReadsSharedIndex()
			})
			s.log.Warn("storage plugin restarted", "pid", p.Pid())
			return p
		}
		s.log.Error("storage plugin failed to restart", "err", err, "retry_in", min(2*backoff, maxBackoff))
		s.setStatus(func(st *Status) { st.LastError = err.Error() })
		backoff = min(2*backoff, maxBackoff)
	}
}

// ReadsInPlace reports that the running plugin's records are read without
// crossing its socket (it shares its index with the node).
func (s *supervised) ReadsInPlace() bool {
	p := s.cur.Load()
	return p != nil && p.ReadsSharedIndex()
}

func (s *supervised) current() (*plugin.Process, error) {
	if p := s.cur.Load(); p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("%w: %w", errUnavailable, storage.ErrUnavailable)
}

func (s *supervised) Get(ctx context.Context, d storage.Digest, buf []byte) (storage.Record, error) {
	p, err := s.current()
	if err != nil {
		return storage.Record{}, err
	}
	return p.Get(ctx, d, buf)
}

func (s *supervised) GetMeta(ctx context.Context, d storage.Digest) (storage.Meta, error) {
	p, err := s.current()
	if err != nil {
		return storage.Meta{}, err
	}
	return p.GetMeta(ctx, d)
}

func (s *supervised) Put(ctx context.Context, d storage.Digest, rec storage.Record) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	return p.Put(ctx, d, rec)
}

func (s *supervised) Delete(ctx context.Context, d storage.Digest, durable bool) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	return p.Delete(ctx, d, durable)
}

func (s *supervised) ScanPartition(ctx context.Context, pid uint16, metaOnly bool, fn storage.ScanFunc) error {
	p, err := s.current()
	if err != nil {
		return err
	}
	return p.ScanPartition(ctx, pid, metaOnly, fn)
}

func (s *supervised) Stats(ctx context.Context) (storage.Stats, error) {
	p, err := s.current()
	if err != nil {
		return storage.Stats{}, err
	}
	return p.Stats(ctx)
}

// Close stops supervising and closes the backend and its process.
func (s *supervised) Close() error {
	select {
	case <-s.stop:
		return storage.ErrClosed
	default:
	}
	close(s.stop)
	<-s.done
	s.setStatus(func(st *Status) { st.State, st.Pid = "closed", 0 })
	if p := s.cur.Swap(nil); p != nil {
		return p.Close()
	}
	return nil
}
