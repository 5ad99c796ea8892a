package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The ginkgo JSON report (-ginkgo.json-report) is a []types.Report from
// github.com/onsi/ginkgo/v2/types. The structs below declare only the fields
// this tool reads, so the tool needs no ginkgo dependency.

type ginkgoReport struct {
	SuiteDescription           string
	SuiteSucceeded             bool
	SpecialSuiteFailureReasons []string
	RunTime                    time.Duration
	PreRunStats                struct {
		TotalSpecs       int
		SpecsThatWillRun int
	}
	SuiteConfig struct {
		FocusStrings []string
		SkipStrings  []string
		FocusFiles   []string
		SkipFiles    []string
	}
	SpecReports []specReport
}

type codeLocation struct {
	FileName   string
	LineNumber int
}

type specReport struct {
	ContainerHierarchyTexts     []string
	ContainerHierarchyLocations []codeLocation
	LeafNodeType                string
	LeafNodeLocation            codeLocation
	LeafNodeText                string
	State                       string
	NumAttempts                 int
	RunTime                     time.Duration
	Failure                     struct {
		Message  string
		Location codeLocation
	}
}

// fullText is ginkgo's SpecReport.FullText: the container texts and the
// leaf's text, joined by spaces, empty texts left out.
func (r *specReport) fullText() string {
	texts := make([]string, 0, len(r.ContainerHierarchyTexts)+1)
	for _, t := range append(r.ContainerHierarchyTexts, r.LeafNodeText) {
		if t != "" {
			texts = append(texts, t)
		}
	}
	return strings.Join(texts, " ")
}

// Outcome is what became of one spec of the suite in a run.
type Outcome int

const (
	// Excluded: the run's filters (focus, skip, focus-file, skip-file)
	// left the spec out. Ginkgo still lists it in the report, as
	// "skipped"; it is not counted anywhere.
	Excluded Outcome = iota
	// Passed: the spec ran and passed.
	Passed
	// Failed: the spec was selected and did not pass for a reason the
	// server can be blamed for: it failed, panicked or timed out, an
	// earlier spec of its ordered container (or a BeforeAll) failed, or the
	// suite was interrupted or ran out of time before reaching it.
	Failed
	// Skipped: the spec was selected and decided itself not to run
	// (Skip() at run time, e.g. "needs Enterprise Edition"), or is marked
	// pending in the suite's source.
	Skipped
)

func (o Outcome) String() string {
	switch o {
	case Passed:
		return "passed"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	}
	return "excluded"
}

// Spec is one spec of a run, classified.
type Spec struct {
	File    string // base name of the spec's file (its outermost container's): "client_test.go"
	Line    int    // line of the spec's It
	Text    string // ginkgo's full text: containers and leaf, space-separated
	Outcome Outcome
	State   string // ginkgo's own state: passed, skipped, failed, timedout...
	// Reason is the first line of the failure or skip message, for specs
	// that failed or were skipped; Where is the failure's location.
	Reason string
	Where  string
}

// Name identifies the spec across runs: "client_test.go: Aerospike ...".
// Names are not always unique (specs generated in a loop share one), so
// lists of names are multisets.
func (s *Spec) Name() string { return s.File + ": " + s.Text }

// Run is a parsed report.
type Run struct {
	Specs []Spec // every spec of the suite, in the report's order
	// Problems are suite-level failures (BeforeSuite, AfterSuite, report
	// nodes) and ginkgo's special failure reasons ("Interrupted by User",
	// "Suite Timeout Elapsed").
	Problems []string
	// Incomplete: ginkgo says the suite did not run to its end
	// (interrupted, timed out); the specs it did not reach count as failed.
	Incomplete bool
	RunTime    time.Duration
}

// readReport reads a ginkgo JSON report file.
func readReport(file string) (*Run, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	run, err := parseReport(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return run, nil
}

// parseReport classifies every spec of a ginkgo JSON report.
//
// Telling the specs that ran from the ones the filters excluded: ginkgo
// reports a spec excluded by a filter with State "skipped", NumAttempts 0,
// an empty Failure and a zero EndTime, exactly like a spec that a suite
// timeout or an interrupt kept from starting. A spec that called Skip() at
// run time has NumAttempts >= 1 and its message in Failure.Message; a spec
// skipped because of an earlier failure in its ordered container has
// NumAttempts 0 and a message saying so. So the report's fields alone
// separate "ran and skipped itself" from "did not start", and the filters,
// which the report records in SuiteConfig, separate "excluded" from "not
// reached": parseReport re-applies them the way ginkgo does (file filters
// on the spec's code locations, focus and skip regular expressions on the
// suite description followed by the spec's full text). Pending specs are
// reported as "pending" whether or not a filter selected them; the filters
// decide there too.
func parseReport(data []byte) (*Run, error) {
	var reports []ginkgoReport
	if err := json.Unmarshal(data, &reports); err != nil {
		return nil, fmt.Errorf("not a ginkgo JSON report: %w", err)
	}
	if len(reports) == 0 {
		return nil, fmt.Errorf("the report holds no suite")
	}
	run := &Run{}
	for i := range reports {
		r := &reports[i]
		sel, err := newSelector(r)
		if err != nil {
			return nil, err
		}
		run.RunTime += r.RunTime
		notReached := "not run: the suite ended before reaching it"
		if len(r.SpecialSuiteFailureReasons) > 0 {
			run.Problems = append(run.Problems, r.SpecialSuiteFailureReasons...)
			run.Incomplete = true
			notReached = "not run: " + strings.Join(r.SpecialSuiteFailureReasons, "; ")
		}
		willRun := 0
		for j := range r.SpecReports {
			sr := &r.SpecReports[j]
			if sr.LeafNodeType != "It" {
				if isFailureState(sr.State) {
					run.Problems = append(run.Problems, fmt.Sprintf("%s at %s %s: %s",
						sr.LeafNodeType, path.Base(sr.LeafNodeLocation.FileName), sr.State, summarize(sr.Failure.Message)))
				}
				continue
			}
			run.Specs = append(run.Specs, classify(sr, sel, notReached))
			if sr.State != "pending" && run.Specs[len(run.Specs)-1].Outcome != Excluded {
				willRun++
			}
		}
		// Ginkgo counts the specs its filters select before it runs them;
		// a difference means the filters were read differently here.
		if willRun != r.PreRunStats.SpecsThatWillRun {
			run.Problems = append(run.Problems, fmt.Sprintf(
				"ginkgo selected %d specs, the report's filters select %d here: the counts may be off",
				r.PreRunStats.SpecsThatWillRun, willRun))
		}
	}
	return run, nil
}

// Ginkgo's messages for specs it did not start because of an earlier failure.
var blockedPrefixes = []string{
	"Spec skipped because an earlier spec in an ordered container failed",
	"Spec skipped because a BeforeAll node failed",
}

func classify(sr *specReport, sel *selector, notReached string) Spec {
	file := sr.LeafNodeLocation.FileName
	if len(sr.ContainerHierarchyLocations) > 0 {
		// The outermost container's file: an It written in a helper file
		// still belongs to the spec file that calls the helper.
		file = sr.ContainerHierarchyLocations[0].FileName
	}
	s := Spec{
		File:  path.Base(file),
		Line:  sr.LeafNodeLocation.LineNumber,
		Text:  sr.fullText(),
		State: sr.State,
	}
	if sr.Failure.Message != "" {
		s.Reason = summarize(sr.Failure.Message)
		if l := sr.Failure.Location; l.FileName != "" {
			s.Where = path.Base(l.FileName) + ":" + strconv.Itoa(l.LineNumber)
		}
	}
	switch {
	case sr.State == "passed":
		s.Outcome = Passed
	case isFailureState(sr.State):
		s.Outcome = Failed
	case !sel.selects(sr):
		s.Outcome = Excluded
		s.Reason, s.Where = "", ""
	case sr.State == "pending":
		s.Outcome, s.Reason = Skipped, "pending in the suite's source"
	case sr.NumAttempts > 0:
		s.Outcome = Skipped // Skip() at run time
	case hasAnyPrefix(sr.Failure.Message, blockedPrefixes):
		s.Outcome = Failed
	case sr.Failure.Message != "":
		s.Outcome = Skipped // Skip() in a BeforeAll
	default:
		s.Outcome, s.Reason = Failed, notReached
	}
	return s
}

func isFailureState(state string) bool {
	switch state {
	case "failed", "panicked", "timedout", "interrupted", "aborted":
		return true
	}
	return false
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// summarize turns a failure message into one line: its first line, and
// when that only introduces what follows (gomega's "Unexpected error:",
// "Expected"), the lines that follow up to gomega's dump of the value, with
// gomega's "<type | address>:" prefixes left out. Long summaries are cut.
func summarize(msg string) string {
	const max = 300
	var lines []string
	for line := range strings.SplitSeq(msg, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	out := lines[0]
	if strings.HasSuffix(out, ":") || out == "Expected" {
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "{") || strings.HasPrefix(l, "[") {
				break // gomega's dump of the value's fields
			}
			if m := gomegaType.FindStringIndex(l); m != nil {
				l = strings.TrimSpace(l[m[1]:])
			}
			if l != "" {
				out += " " + l
			}
			if len(out) > max {
				break
			}
		}
	}
	if r := []rune(out); len(r) > max {
		out = string(r[:max]) + "..."
	}
	return out
}

// gomegaType is how gomega introduces a value: "<*pkg.T | 0xc000123>:".
var gomegaType = regexp.MustCompile(`^<[^<>]*(<[^<>]*>[^<>]*)*>:`)

// selector re-applies a run's spec filters, as recorded in the report.
type selector struct {
	description          string
	focusFiles, skipFile []fileFilter
	focus, skip          *regexp.Regexp
}

// fileFilter is one -ginkgo.focus-file or -ginkgo.skip-file value:
// "REGEX", "REGEX:LINE", "REGEX:A-B" or "REGEX:L1,L2".
type fileFilter struct {
	file  *regexp.Regexp
	lines [][2]int // half-open ranges; none means every line
}

func newSelector(r *ginkgoReport) (*selector, error) {
	sel := &selector{description: r.SuiteDescription}
	var err error
	if sel.focusFiles, err = parseFileFilters(r.SuiteConfig.FocusFiles); err != nil {
		return nil, err
	}
	if sel.skipFile, err = parseFileFilters(r.SuiteConfig.SkipFiles); err != nil {
		return nil, err
	}
	if len(r.SuiteConfig.FocusStrings) > 0 {
		if sel.focus, err = regexp.Compile(strings.Join(r.SuiteConfig.FocusStrings, "|")); err != nil {
			return nil, fmt.Errorf("focus: %w", err)
		}
	}
	if len(r.SuiteConfig.SkipStrings) > 0 {
		if sel.skip, err = regexp.Compile(strings.Join(r.SuiteConfig.SkipStrings, "|")); err != nil {
			return nil, fmt.Errorf("skip: %w", err)
		}
	}
	return sel, nil
}

func parseFileFilters(values []string) ([]fileFilter, error) {
	var out []fileFilter
	for _, v := range values {
		re, lines, hasLines := strings.Cut(v, ":")
		ff := fileFilter{}
		var err error
		if ff.file, err = regexp.Compile(re); err != nil {
			return nil, fmt.Errorf("file filter %q: %w", v, err)
		}
		if hasLines {
			for r := range strings.SplitSeq(lines, ",") {
				a, b, isRange := strings.Cut(r, "-")
				lo, err1 := strconv.Atoi(strings.TrimSpace(a))
				hi, err2 := lo+1, error(nil)
				if isRange {
					hi, err2 = strconv.Atoi(strings.TrimSpace(b))
				}
				if err1 != nil || err2 != nil {
					return nil, fmt.Errorf("file filter %q: bad line range %q", v, r)
				}
				ff.lines = append(ff.lines, [2]int{lo, hi})
			}
		}
		out = append(out, ff)
	}
	return out, nil
}

func (ff *fileFilter) matches(locs []codeLocation) bool {
	for _, l := range locs {
		if !ff.file.MatchString(l.FileName) {
			continue
		}
		if len(ff.lines) == 0 {
			return true
		}
		for _, r := range ff.lines {
			if r[0] <= l.LineNumber && l.LineNumber < r[1] {
				return true
			}
		}
	}
	return false
}

func anyMatches(ffs []fileFilter, locs []codeLocation) bool {
	for i := range ffs {
		if ffs[i].matches(locs) {
			return true
		}
	}
	return false
}

// selects reports whether the run's filters selected the spec.
func (sel *selector) selects(sr *specReport) bool {
	locs := append(append([]codeLocation(nil), sr.ContainerHierarchyLocations...), sr.LeafNodeLocation)
	if len(sel.focusFiles) > 0 && !anyMatches(sel.focusFiles, locs) {
		return false
	}
	if anyMatches(sel.skipFile, locs) {
		return false
	}
	text := sel.description + " " + sr.fullText()
	if sel.focus != nil && !sel.focus.MatchString(text) {
		return false
	}
	if sel.skip != nil && sel.skip.MatchString(text) {
		return false
	}
	return true
}
