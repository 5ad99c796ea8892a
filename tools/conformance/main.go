// Command conformance runs the official Aerospike Go client's test suite
// against a Skiff node and checks the result against a baseline.
//
//	go run ./tools/conformance [flags]
//
// It locates github.com/aerospike/aerospike-client-go/v8@v8.5.0 with
// `go mod download`, copies it to a writable work directory and compiles its
// ginkgo suite there (`go test -c`; the binary is reused while the copy, the
// module version and the Go toolchain are unchanged), builds ./cmd/skiffd,
// starts it on free loopback ports with the default configuration, runs the
// suite's spec files against it, and stops it, whatever happens.
//
// From ginkgo's JSON report it prints, per spec file, how many of the specs
// that ran passed, failed and were skipped, then the closing lines
//
//	N passed, M failed, K skipped
//	of which X server-dependent
//
// where the second line leaves out the passes of client-only specs: the ones
// listed in conformance/client-only.txt, which pass against any server that
// completes the handshake (measure them again with -stub -all
// -update-client-only). Specs that the filters excluded are not counted;
// specs the suite did not reach (timeout, interrupt) or that an earlier
// failure in their ordered container blocked count as failed. See
// parseReport for how the report tells them apart.
//
// The specs listed in conformance/expected-pass.txt must pass: the exit
// status is 1 if one of them that the run selected did not, 2 if the tool
// could not run the suite, 0 otherwise. -update-baseline rewrites the list
// from the run.
//
// In the work directory (-workdir, default .cache/conformance in the
// repository) the tool leaves the node's configuration and log (skiffd.conf,
// skiffd.log), the suite's output (suite.log), ginkgo's report
// (report.json), the per-file counts (summary.tsv) and every selected spec
// that did not pass with its reason (outcomes.tsv).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Exit statuses.
const (
	exitOK         = 0
	exitRegression = 1 // a baseline spec did not pass
	exitError      = 2 // the suite could not be built or run
)

type options struct {
	workdir      string
	files        []string
	filesList    string
	all          bool
	focus, skip  []string
	timeout      time.Duration
	startTimeout time.Duration
	namespace    string
	storage      string
	adminPort    int
	seed         int64

	baseline         string
	updateBaseline   bool
	clientOnly       string
	updateClientOnly bool
	stub             bool
	stubBuild        string

	report   string
	summary  string
	failures bool
	verbose  bool
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

var errTimeout = errors.New("the -timeout elapsed")

func main() {
	os.Exit(run())
}

func run() int {
	var o options
	flag.StringVar(&o.workdir, "workdir", "", "work `dir` for the source copy, binaries, logs and reports (default REPO/.cache/conformance)")
	flag.Var((*listFlag)(&o.files), "file", "spec `file` to run, e.g. client_test.go; repeatable (default: the files in -files-list)")
	flag.StringVar(&o.filesList, "files-list", "", "`file` listing the spec files to run, one a line (default REPO/conformance/files.txt)")
	flag.BoolVar(&o.all, "all", false, "run every spec file of the suite")
	flag.Var((*listFlag)(&o.focus), "focus", "run only specs whose full text matches `regexp` (-ginkgo.focus); repeatable")
	flag.Var((*listFlag)(&o.skip), "skip", "leave out specs whose full text matches `regexp` (-ginkgo.skip); repeatable")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound on the whole run, builds included")
	flag.DurationVar(&o.startTimeout, "start-timeout", 30*time.Second, "how long the node may take to accept connections")
	flag.Int64Var(&o.seed, "seed", 1, "ginkgo's random `seed`, which orders the top-level containers; 0 lets ginkgo pick one")
	flag.StringVar(&o.namespace, "namespace", "test", "namespace the suite uses")
	flag.StringVar(&o.storage, "storage", storageMemory, "the namespace's storage: memory (the default config's), device (a data file in the work dir), or device-in-memory (the same with data-in-memory)")
	flag.IntVar(&o.adminPort, "admin-port", -1, "node's admin HTTP `port`: -1 picks a free one, 0 turns it off")
	flag.StringVar(&o.baseline, "baseline", "", "`file` of the specs that must pass (default REPO/conformance/expected-pass.txt)")
	flag.BoolVar(&o.updateBaseline, "update-baseline", false, "rewrite the baseline from this run's passes (specs the run did not select keep their entries)")
	flag.StringVar(&o.clientOnly, "client-only", "", "`file` of the client-only specs (default REPO/conformance/client-only.txt)")
	flag.BoolVar(&o.updateClientOnly, "update-client-only", false, "with -stub: rewrite the client-only list from this run's passes")
	flag.BoolVar(&o.stub, "stub", false, "run against the built-in handshake-only stub instead of skiffd")
	flag.StringVar(&o.stubBuild, "stub-build", "7.2.0.0", "server `version` the stub claims; keep it the node's")
	flag.StringVar(&o.report, "report", "", "analyze this ginkgo JSON report `file` instead of running the suite")
	flag.StringVar(&o.summary, "summary", "", "also write the per-file counts (tab-separated) to `file`; - is stdout")
	flag.BoolVar(&o.failures, "failures", false, "list the failed specs with the first line of their failure message")
	flag.BoolVar(&o.verbose, "v", false, "show the suite's output as it runs (it always goes to WORKDIR/suite.log)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "conformance: unexpected arguments %q\n", flag.Args())
		return exitError
	}
	switch o.storage {
	case storageMemory, storageDevice, storageDeviceInMemory:
	default:
		fmt.Fprintf(os.Stderr, "conformance: -storage %q: want %s, %s or %s\n", o.storage, storageMemory, storageDevice, storageDeviceInMemory)
		return exitError
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeoutCause(ctx, o.timeout, errTimeout)
	defer cancel()

	code, err := conform(ctx, &o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
	}
	return code
}

// conform runs the whole procedure and returns the exit status.
func conform(ctx context.Context, o *options) (int, error) {
	repo, err := repoRoot(ctx)
	if err != nil {
		return exitError, err
	}
	inRepo := func(p *string, def string) {
		if *p == "" {
			*p = filepath.Join(repo, def)
		}
	}
	inRepo(&o.workdir, ".cache/conformance")
	inRepo(&o.filesList, "conformance/files.txt")
	inRepo(&o.baseline, "conformance/expected-pass.txt")
	inRepo(&o.clientOnly, "conformance/client-only.txt")
	if o.updateClientOnly && !o.stub && o.report == "" {
		return exitError, errors.New("-update-client-only needs -stub: client-only specs are the ones that pass against the stub")
	}
	if o.updateBaseline && o.stub {
		return exitError, errors.New("-update-baseline with -stub would make the stub's passes the node's baseline")
	}

	reportFile := o.report
	interrupted := false
	if reportFile == "" {
		if err := os.MkdirAll(o.workdir, 0o755); err != nil {
			return exitError, err
		}
		reportFile = filepath.Join(o.workdir, "report.json")
		if err := runSuite(ctx, repo, o, reportFile); err != nil {
			if !errors.Is(err, errSuiteEndedEarly) {
				return exitError, err
			}
			fmt.Fprintln(os.Stderr, "conformance:", err)
			interrupted = true
		}
	}

	run, err := readReport(reportFile)
	if err != nil {
		return exitError, err
	}
	code, err := analyze(o, run, os.Stdout)
	if (interrupted || run.Incomplete) && code == exitOK {
		code = exitError
	}
	return code, err
}

var errSuiteEndedEarly = errors.New("the suite did not finish")

// runSuite prepares the suite and a server, runs the selected spec files
// and leaves ginkgo's report in reportFile. It returns errSuiteEndedEarly,
// wrapped, if the suite was interrupted but left a report.
func runSuite(ctx context.Context, repo string, o *options, reportFile string) error {
	start := time.Now()
	src, err := prepareSuite(ctx, repo, o)
	if err != nil {
		return err
	}
	files, err := selectFiles(o, src)
	if err != nil {
		return err
	}
	port, stop, err := startServer(ctx, repo, o)
	if err != nil {
		return err
	}
	defer stop()

	// The suite's own deadlines fall inside ours so that ginkgo can mark
	// what it did not reach and write its report: -ginkgo.timeout first,
	// then -test.timeout (which panics without a report), then our SIGINT,
	// then SIGKILL.
	deadline, _ := ctx.Deadline()
	budget := time.Until(deadline) - 30*time.Second // for stopping the node and the analysis
	if budget < 2*time.Minute {
		return fmt.Errorf("only %v of the -timeout is left for the suite; raise -timeout", budget.Round(time.Second))
	}
	args := suiteArgs(o, files, port, reportFile, budget)
	which := "every spec file"
	if len(files) > 0 {
		which = strings.Join(files, ", ")
	}
	logf("running %s: cd %s && ./%s %s", which, rel(src), suiteBinary, shellJoin(args))
	suiteCtx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	err = execSuite(suiteCtx, o, src, args, reportFile)
	logf("total %.1fs", time.Since(start).Seconds())
	return err
}

// prepareSuite locates the client module, keeps a pristine copy of it in
// the work directory and its suite binary up to date. It returns the copy.
func prepareSuite(ctx context.Context, repo string, o *options) (string, error) {
	mod, err := downloadModule(ctx, repo, clientModule)
	if err != nil {
		return "", err
	}
	src := filepath.Join(o.workdir, copyName(mod.Path, mod.Version))
	fresh, err := prepareSource(mod.Dir, src)
	if err != nil {
		return "", err
	}
	buildLog, err := os.Create(filepath.Join(o.workdir, "suite-build.log"))
	if err != nil {
		return "", err
	}
	defer buildLog.Close()
	t := time.Now()
	built, err := buildSuite(ctx, mod, src, buildLog)
	if err != nil {
		out, _ := os.ReadFile(buildLog.Name())
		return "", fmt.Errorf("%w\n%s", err, tail(out, 30))
	}
	what := "reused " + suiteBinary
	if built {
		what = fmt.Sprintf("built %s in %.1fs", suiteBinary, time.Since(t).Seconds())
	}
	if fresh {
		what = "copied the module, " + what
	}
	logf("client suite %s@%s in %s: %s", mod.Path, mod.Version, rel(src), what)
	return src, nil
}

// startServer starts what the suite runs against: skiffd, or the stub.
// stop stops it; it is always safe to call.
func startServer(ctx context.Context, repo string, o *options) (port int, stop func(), err error) {
	if o.stub {
		s, err := startStub(0, o.namespace, o.stubBuild)
		if err != nil {
			return 0, nil, err
		}
		logf("handshake-only stub (build %s) on 127.0.0.1:%d", o.stubBuild, s.Port())
		return s.Port(), func() { s.Close() }, nil
	}
	n, err := startSkiffd(ctx, repo, o)
	if err != nil {
		return 0, nil, err
	}
	stop = func() {
		n.stop(syscall.SIGTERM, 10*time.Second)
		if n.err != nil && !isSignalExit(n.err) {
			logf("skiffd ended with %s; see %s", exitStatus(n.err), rel(n.log))
		}
	}
	return n.port, stop, nil
}

// suiteArgs is the suite binary's command line.
func suiteArgs(o *options, files []string, port int, reportFile string, budget time.Duration) []string {
	args := []string{
		"-test.run=^TestAerospike$", // not the Example functions
		"-test.timeout=" + (budget - 30*time.Second).Round(time.Second).String(),
		"-ginkgo.timeout=" + (budget - 60*time.Second).Round(time.Second).String(),
		"-ginkgo.json-report=" + reportFile,
		"-ginkgo.no-color",
	}
	if o.seed != 0 {
		args = append(args, "-ginkgo.seed="+strconv.FormatInt(o.seed, 10))
	}
	for _, f := range files {
		args = append(args, "-ginkgo.focus-file="+focusFileFor(f))
	}
	for _, f := range o.focus {
		args = append(args, "-ginkgo.focus="+f)
	}
	for _, s := range o.skip {
		args = append(args, "-ginkgo.skip="+s)
	}
	// The suite's own flags: with a compiled test binary they are plain
	// flags (with `go test` they would have to follow -args, or go test
	// would take -p as its own).
	return append(args, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-n", o.namespace)
}

// execSuite runs the suite binary in the source copy until it ends, or
// until ctx ends: then it gets SIGINT, which makes ginkgo skip what is left
// and write its report, and SIGKILL 20 seconds later.
func execSuite(ctx context.Context, o *options, src string, args []string, reportFile string) error {
	if err := os.Remove(reportFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	suiteLog := filepath.Join(o.workdir, "suite.log")
	lf, err := os.Create(suiteLog)
	if err != nil {
		return err
	}
	defer lf.Close()
	cmd := exec.Command("./"+suiteBinary, args...)
	cmd.Dir = src
	var out io.Writer = lf
	if o.verbose {
		out = io.MultiWriter(lf, os.Stdout)
	}
	cmd.Stdout, cmd.Stderr = out, out
	t := time.Now()
	p, err := startProcess(suiteBinary, cmd)
	if err != nil {
		return err
	}
	werr := p.wait(ctx, os.Interrupt, 20*time.Second)
	logf("suite ran in %.1fs (%s); its output is in %s", time.Since(t).Seconds(), exitStatus(p.err), rel(suiteLog))
	if _, err := os.Stat(reportFile); err != nil {
		logOut, _ := os.ReadFile(suiteLog)
		return fmt.Errorf("%w (%s); the end of its output:\n%s", errNoReport, exitStatus(p.err), tail(logOut, 20))
	}
	if werr != nil && ctx.Err() != nil {
		return fmt.Errorf("%w: %v", errSuiteEndedEarly, werr)
	}
	return nil
}

// copyName names the source copy: "aerospike-client-go@v8.5.0".
func copyName(path, version string) string {
	name := filepath.Base(path)
	if len(name) >= 2 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
		name = filepath.Base(filepath.Dir(path)) // a major-version suffix
	}
	return name + "@" + version
}

// selectFiles is the list of spec files to run, checked against the suite.
func selectFiles(o *options, src string) ([]string, error) {
	known, err := specFiles(src)
	if err != nil {
		return nil, err
	}
	if o.all {
		return nil, nil // no file filter
	}
	files := o.files
	if len(files) == 0 {
		if files, err = readFilesList(o.filesList); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if !known[f] {
			return nil, fmt.Errorf("%q is not a spec file of the suite", f)
		}
	}
	return files, nil
}

// readFilesList reads a list of spec file names, one a line, "#" comments.
func readFilesList(file string) ([]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var files []string
	for line := range strings.SplitSeq(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.TrimSpace(line); line != "" {
			files = append(files, line)
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s lists no spec file", file)
	}
	return files, nil
}

// focusFileFor is the -ginkgo.focus-file value selecting one file by name.
func focusFileFor(name string) string { return "(^|/)" + regexp.QuoteMeta(name) + "$" }

// repoRoot is the directory of the main module's go.mod.
func repoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the tool inside the Skiff repository (no go.mod found)")
	}
	return filepath.Dir(gomod), nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "conformance: "+format+"\n", args...)
}

// rel shortens a path under the working directory for messages.
func rel(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

// shellJoin quotes args for a command line people can paste.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " ()|$^*?[]'\"\\<>;&") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func isSignalExit(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return true
		}
	}
	return false
}
