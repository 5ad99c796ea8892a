package server

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/core/proto"
)

// job is a scan or query the node runs or has run: the foreground ones a
// client reads as they go, and background ones (operations applied to every
// record found) the client polls with query-show.
type job struct {
	id         uint64
	module     string // "scan" or "query"
	background bool
	ns, set    string
	start      time.Time

	// parts is how many partitions the job covers, partsDone how many it
	// has finished: its progress.
	parts     int
	partsDone atomic.Int64
	// recs counts records returned (foreground) or written (background);
	// failed and filtered the background writes that failed or whose
	// filter rejected the record.
	recs, failed, filtered atomic.Uint64
	end                    atomic.Int64 // ns since the Unix epoch, once done
	code                   atomic.Uint32
}

// finish marks the job done with a result code.
func (j *job) finish(code proto.ResultCode) {
	j.code.Store(uint32(code))
	j.end.Store(time.Now().UnixNano())
}

func (j *job) status() string {
	state := "active"
	if j.end.Load() != 0 {
		state = "done"
	}
	if code := proto.ResultCode(j.code.Load()); code != proto.OK {
		return state + "(" + strings.ToLower(code.String()) + ")"
	}
	return state + "(ok)"
}

func (j *job) String() string {
	k := kv{sep: ':'}
	k.add("trid", j.id)
	kind := "basic"
	if j.background {
		kind = "background-ops"
	}
	k.add("job-type", kind)
	k.add("module", j.module)
	k.add("ns", j.ns)
	k.add("set", j.set)
	k.add("status", j.status())
	pct := 100
	if j.parts > 0 {
		pct = int(j.partsDone.Load() * 100 / int64(j.parts))
	}
	k.add("job-progress", pct)
	end := time.Now()
	if e := j.end.Load(); e != 0 {
		end = time.Unix(0, e)
	}
	k.add("run-time", end.Sub(j.start).Milliseconds())
	if j.background {
		k.add("recs-succeeded", j.recs.Load())
		k.add("recs-failed", j.failed.Load())
		k.add("recs-filtered-bins", j.filtered.Load())
	} else {
		k.add("recs-succeeded", j.recs.Load())
	}
	return k.b.String()
}

// maxFinishedJobs is how many finished jobs the node remembers.
const maxFinishedJobs = 256

// jobTable tracks the jobs by id.
type jobTable struct {
	mu   sync.Mutex
	jobs map[uint64]*job
}

// add registers a job, forgetting the oldest finished ones past the limit.
func (t *jobTable) add(j *job) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.jobs == nil {
		t.jobs = make(map[uint64]*job)
	}
	t.jobs[j.id] = j
	if len(t.jobs) <= maxFinishedJobs {
		return
	}
	var finished []*job
	for _, old := range t.jobs {
		if old.end.Load() != 0 {
			finished = append(finished, old)
		}
	}
	sort.Slice(finished, func(a, b int) bool { return finished[a].end.Load() < finished[b].end.Load() })
	for _, old := range finished[:max(0, len(t.jobs)-maxFinishedJobs)] {
		delete(t.jobs, old.id)
	}
}

func (t *jobTable) get(id uint64) *job {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.jobs[id]
}

func (t *jobTable) list(module string) []*job {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*job
	for _, j := range t.jobs {
		if module == "" || j.module == module {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].start.Before(out[b].start) })
	return out
}

// jobsInfo answers query-show, scan-show and jobs: every job of the
// module, or the one whose trid (or id) is given.
func (s *Server) jobsInfo(module string) infoHandler {
	return func(p string) string {
		args := params(p)
		if m := args["module"]; m != "" {
			module = m
		}
		if id := firstOf(args, "trid", "id"); id != "" {
			n, err := strconv.ParseUint(id, 10, 64)
			if err != nil {
				return infoError(proto.ParameterError, "bad trid")
			}
			j := s.jobs.get(n)
			if j == nil {
				return infoError(proto.KeyNotFound, fmt.Sprintf("job %d not found", n))
			}
			return j.String()
		}
		var parts []string
		for _, j := range s.jobs.list(module) {
			parts = append(parts, j.String())
		}
		return strings.Join(parts, ";")
	}
}

// startJob registers a job for a scan or query, named by the task id the
// client sent (QUERY_ID).
func (s *Server) startJob(module string, background bool, st *scanState, parts int) *job {
	j := &job{module: module, background: background, ns: st.ns.Name(), set: string(st.filter.Set), start: time.Now(), parts: parts}
	j.id = st.taskID
	s.jobs.add(j)
	return j
}
