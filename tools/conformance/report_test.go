package main

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestSampleReport(t *testing.T) {
	run, err := readReport("testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Problems) > 0 {
		t.Errorf("problems: %q", run.Problems)
	}
	clientOnly := Multiset{
		"client_test.go: Aerospike Client-side limitations Bin size limit of 15 bytes should be respected on Get":              1,
		"batch_test.go: Aerospike Batch Write operations BatchOperate operations Should return the error for entire operation": 1,
		"batch_test.go: no such spec": 1,
	}
	files, total := Tally(run, clientOnly)
	want := []FileCounts{
		{"batch_test.go", Counts{Passed: 5, Failed: 1, ClientOnly: 1}},
		{"client_test.go", Counts{Passed: 5, Failed: 1, Skipped: 3, ClientOnly: 1}},
		// One spec failed; its ordered container blocked the other five.
		{"complex_query_test.go", Counts{Failed: 6}},
	}
	if len(files) != len(want) {
		t.Fatalf("files = %+v, want %+v", files, want)
	}
	for i := range want {
		if files[i] != want[i] {
			t.Errorf("file %d = %+v, want %+v", i, files[i], want[i])
		}
	}
	if want := (Counts{Passed: 10, Failed: 8, Skipped: 3, ClientOnly: 2}); total != want {
		t.Errorf("total = %+v, want %+v", total, want)
	}

	var out bytes.Buffer
	printClosing(&out, total)
	if got, want := out.String(), "10 passed, 8 failed, 3 skipped\nof which 8 server-dependent\n"; got != want {
		t.Errorf("closing lines = %q, want %q", got, want)
	}

	byText := map[string]Spec{}
	excluded := 0
	for _, s := range run.Specs {
		byText[s.Text] = s
		if s.Outcome == Excluded {
			excluded++
		}
	}
	if excluded != 9 {
		t.Errorf("%d excluded specs, want 9", excluded)
	}
	check := func(text string, o Outcome, reasonPrefix string) {
		t.Helper()
		s, ok := byText[text]
		if !ok {
			t.Errorf("no spec %q", text)
			return
		}
		if s.Outcome != o || !strings.HasPrefix(s.Reason, reasonPrefix) {
			t.Errorf("%q: %v %q, want %v %q...", text, s.Outcome, s.Reason, o, reasonPrefix)
		}
	}
	check("Aerospike Commands Test XDR Filter must successfully send SetXDRFilter command",
		Skipped, "XDR Filter Tests are not supported")
	check("Query operations on complex types must Query a key in map and get only relevant records back",
		Failed, "Spec skipped because an earlier spec in an ordered container failed")
	check("Aerospike Data operations on native types Operate operations must re-apply the same operations, and result should match expectation",
		Failed, "Unexpected error: ResultCode: UNSUPPORTED_FEATURE, Iteration: 0")
	check("Aerospike Client Management must open and close the client without a problem", Excluded, "")
	check("Version NewVersion with valid version strings should parse full semantic versions correctly", Excluded, "")
	if s := byText["Aerospike Data operations on native types Operate operations must re-apply the same operations, and result should match expectation"]; s.Where != "client_test.go:1907" || s.File != "client_test.go" {
		t.Errorf("failure at %q in %q", s.Where, s.File)
	}

	var summary bytes.Buffer
	if err := writeSummary(&summary, files, total); err != nil {
		t.Fatal(err)
	}
	wantSummary := "file\tpassed\tfailed\tskipped\tclient_only_passed\tserver_dependent_passed\n" +
		"batch_test.go\t5\t1\t0\t1\t4\n" +
		"client_test.go\t5\t1\t3\t1\t4\n" +
		"complex_query_test.go\t0\t6\t0\t0\t0\n" +
		"total\t10\t8\t3\t2\t8\n"
	if summary.String() != wantSummary {
		t.Errorf("summary:\n%s\nwant:\n%s", &summary, wantSummary)
	}
}

// Cases the sample report lacks, written the way ginkgo writes them.
func TestClassify(t *testing.T) {
	const head = `[{"SuiteDescription": "Suite", "PreRunStats": {"SpecsThatWillRun": %d},
		"SpecialSuiteFailureReasons": %s, "SuiteConfig": {%s}, "SpecReports": [%s]}]`
	spec := func(file string, line int, text, state string, attempts int, msg string) string {
		return `{"ContainerHierarchyTexts": ["Top"], "ContainerHierarchyLocations": [{"FileName": "/src/` + file + `", "LineNumber": 1}],
			"LeafNodeType": "It", "LeafNodeLocation": {"FileName": "/src/` + file + `", "LineNumber": ` + strconv.Itoa(line) + `},
			"LeafNodeText": "` + text + `", "State": "` + state + `", "NumAttempts": ` + strconv.Itoa(attempts) + `,
			"Failure": {"Message": "` + msg + `"}}`
	}
	tests := []struct {
		name     string
		willRun  int
		reasons  string
		config   string
		spec     string
		want     Outcome
		reason   string
		problems int
	}{
		{"passed", 1, "null", ``, spec("a_test.go", 5, "x", "passed", 1, ""), Passed, "", 0},
		{"timed out", 1, "null", ``, spec("a_test.go", 5, "x", "timedout", 1, "A spec timeout occurred"), Failed, "A spec timeout occurred", 0},
		{"skipped at run time", 1, "null", ``, spec("a_test.go", 5, "x", "skipped", 1, "needs EE"), Skipped, "needs EE", 0},
		{"excluded by file", 0, "null", `"FocusFiles": ["b_test\\.go"]`, spec("a_test.go", 5, "x", "skipped", 0, ""), Excluded, "", 0},
		{"excluded by line", 0, "null", `"FocusFiles": ["a_test\\.go:6-9"]`, spec("a_test.go", 5, "x", "skipped", 0, ""), Excluded, "", 0},
		{"selected by line", 1, "null", `"FocusFiles": ["a_test\\.go:5"]`, spec("a_test.go", 5, "x", "passed", 1, ""), Passed, "", 0},
		{"excluded by focus", 0, "null", `"FocusStrings": ["^Suite Top y$"]`, spec("a_test.go", 5, "x", "skipped", 0, ""), Excluded, "", 0},
		{"excluded by skip", 0, "null", `"SkipStrings": ["Top x"]`, spec("a_test.go", 5, "x", "skipped", 0, ""), Excluded, "", 0},
		{"excluded by skip file", 0, "null", `"SkipFiles": ["a_test"]`, spec("a_test.go", 5, "x", "skipped", 0, ""), Excluded, "", 0},
		{"focus matches the description", 1, "null", `"FocusStrings": ["^Suite Top x$"]`, spec("a_test.go", 5, "x", "passed", 1, ""), Passed, "", 0},
		{"not reached", 1, `["Suite Timeout Elapsed"]`, ``, spec("a_test.go", 5, "x", "skipped", 0, ""), Failed, "not run: Suite Timeout Elapsed", 1},
		{"blocked by BeforeAll", 1, "null", ``, spec("a_test.go", 5, "x", "skipped", 0, "Spec skipped because a BeforeAll node failed"), Failed, "Spec skipped because a BeforeAll", 0},
		{"Skip in BeforeAll", 1, "null", ``, spec("a_test.go", 5, "x", "skipped", 0, "Spec skipped because Skip() was called in BeforeAll"), Skipped, "Spec skipped because Skip()", 0},
		{"pending", 0, "null", ``, spec("a_test.go", 5, "x", "pending", 0, ""), Skipped, "pending in the suite's source", 0},
		{"pending, excluded", 0, "null", `"FocusFiles": ["b_test"]`, spec("a_test.go", 5, "x", "pending", 0, ""), Excluded, "", 0},
		{"ginkgo counted otherwise", 0, "null", ``, spec("a_test.go", 5, "x", "passed", 1, ""), Passed, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := fmt.Sprintf(head, tt.willRun, tt.reasons, tt.config, tt.spec)
			run, err := parseReport([]byte(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Specs) != 1 {
				t.Fatalf("%d specs", len(run.Specs))
			}
			s := run.Specs[0]
			if s.Outcome != tt.want || !strings.HasPrefix(s.Reason, tt.reason) {
				t.Errorf("%v %q, want %v %q", s.Outcome, s.Reason, tt.want, tt.reason)
			}
			if run.Incomplete != (tt.reasons != "null") {
				t.Errorf("incomplete = %v with special failure reasons %s", run.Incomplete, tt.reasons)
			}
			if len(run.Problems) != tt.problems {
				t.Errorf("problems %q, want %d", run.Problems, tt.problems)
			}
		})
	}
}

func TestSuiteLevelFailureIsAProblem(t *testing.T) {
	data := `[{"SuiteDescription": "S", "SpecReports": [
		{"LeafNodeType": "AfterSuite", "LeafNodeLocation": {"FileName": "/src/x_test.go"}, "State": "failed",
		 "Failure": {"Message": "cleanup failed\nmore"}}]}]`
	run, err := parseReport([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Specs) != 0 || len(run.Problems) != 1 || !strings.Contains(run.Problems[0], "AfterSuite at x_test.go failed: cleanup failed") {
		t.Errorf("specs %v, problems %q", run.Specs, run.Problems)
	}
}

func TestParseReportErrors(t *testing.T) {
	for _, data := range []string{``, `{}`, `[]`, `[{"SuiteConfig": {"FocusFiles": ["("]}}]`} {
		if _, err := parseReport([]byte(data)); err == nil {
			t.Errorf("parseReport(%q) succeeded", data)
		}
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct{ msg, want string }{
		{"", ""},
		{"\n  plain failure  \nsecond line", "plain failure"},
		{"Unexpected error:\n    <*aerospike.AerospikeError | 0x26756bec2000>: \n    ResultCode: UNSUPPORTED_FEATURE, Node: n: Unsupported Server Feature\n    {\n        wrapped: nil,\n    }\noccurred",
			"Unexpected error: ResultCode: UNSUPPORTED_FEATURE, Node: n: Unsupported Server Feature"},
		{"Expected\n    <int>: 1\nto equal\n    <int>: 2", "Expected 1 to equal 2"},
		{"Expected\n    <map[string]interface {} | len:1>: {\"a\": 1}\nto be empty", "Expected {\"a\": 1} to be empty"},
		{"Expected\n    <[]int | len:2, cap:2>: [1, 2]\nto have length 3", "Expected [1, 2] to have length 3"},
		{"Expected\n    <*T | 0x1>: \n    {\n        A: 1,\n    }\nto be nil", "Expected"},
		{strings.Repeat("x", 400), strings.Repeat("x", 300) + "..."},
	}
	for _, tt := range tests {
		if got := summarize(tt.msg); got != tt.want {
			t.Errorf("summarize(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}
