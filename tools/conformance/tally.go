package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Counts are the outcomes of the selected specs of one file, or of a run.
type Counts struct {
	Passed, Failed, Skipped int
	// ClientOnly is how many of the passes are specs listed as client-only:
	// they pass against any server that completes the handshake.
	ClientOnly int
}

// ServerDependent is the number of passes that needed a working server.
func (c Counts) ServerDependent() int { return c.Passed - c.ClientOnly }

func (c *Counts) add(o Counts) {
	c.Passed += o.Passed
	c.Failed += o.Failed
	c.Skipped += o.Skipped
	c.ClientOnly += o.ClientOnly
}

// FileCounts are one spec file's counts.
type FileCounts struct {
	File string
	Counts
}

// Tally counts the selected specs of a run per file, files sorted by name.
// clientOnly lists the specs that pass without a server; a pass counts as
// client-only up to the number of times its name is listed.
func Tally(run *Run, clientOnly Multiset) (files []FileCounts, total Counts) {
	byFile := map[string]*FileCounts{}
	credit := clientOnly.clone()
	for i := range run.Specs {
		s := &run.Specs[i]
		if s.Outcome == Excluded {
			continue
		}
		fc := byFile[s.File]
		if fc == nil {
			fc = &FileCounts{File: s.File}
			byFile[s.File] = fc
		}
		switch s.Outcome {
		case Passed:
			fc.Passed++
			if credit.take(s.Name()) {
				fc.ClientOnly++
			}
		case Failed:
			fc.Failed++
		case Skipped:
			fc.Skipped++
		}
	}
	for _, fc := range byFile {
		files = append(files, *fc)
		total.add(fc.Counts)
	}
	slices.SortFunc(files, func(a, b FileCounts) int { return cmp.Compare(a.File, b.File) })
	return files, total
}

// printTable writes the per-file counts for people.
func printTable(w io.Writer, files []FileCounts, total Counts) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "spec file\tpassed\tfailed\tskipped\tclient-only passes\t")
	for _, f := range files {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", f.File, f.Passed, f.Failed, f.Skipped, f.ClientOnly)
	}
	fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t\n", "total", total.Passed, total.Failed, total.Skipped, total.ClientOnly)
	tw.Flush()
}

// printClosing writes the run's closing lines:
//
//	N passed, M failed, K skipped
//	of which X server-dependent
func printClosing(w io.Writer, total Counts) {
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", total.Passed, total.Failed, total.Skipped)
	fmt.Fprintf(w, "of which %d server-dependent\n", total.ServerDependent())
}

// writeSummary writes the per-file counts as tab-separated values with a
// header line and a closing "total" row.
func writeSummary(w io.Writer, files []FileCounts, total Counts) error {
	var b strings.Builder
	b.WriteString("file\tpassed\tfailed\tskipped\tclient_only_passed\tserver_dependent_passed\n")
	row := func(name string, c Counts) {
		fmt.Fprintf(&b, "%s\t%d\t%d\t%d\t%d\t%d\n", name, c.Passed, c.Failed, c.Skipped, c.ClientOnly, c.ServerDependent())
	}
	for _, f := range files {
		row(f.File, f.Counts)
	}
	row("total", total)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeOutcomes writes every selected spec that did not pass, as
// tab-separated values: file, line, outcome, ginkgo state, full text,
// failure location and the first line of the failure or skip message.
func writeOutcomes(w io.Writer, run *Run) error {
	var b strings.Builder
	b.WriteString("file\tline\toutcome\tstate\tspec\twhere\treason\n")
	for _, s := range sortedSpecs(run) {
		if s.Outcome == Excluded || s.Outcome == Passed {
			continue
		}
		fmt.Fprintf(&b, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", s.File, s.Line, s.Outcome, s.State,
			tsvField(s.Text), s.Where, tsvField(s.Reason))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// printFailures writes the failed specs for people, grouped by file.
func printFailures(w io.Writer, run *Run) {
	file := ""
	for _, s := range sortedSpecs(run) {
		if s.Outcome != Failed {
			continue
		}
		if s.File != file {
			file = s.File
			fmt.Fprintf(w, "%s:\n", file)
		}
		where := ""
		if s.Where != "" {
			where = " (" + s.Where + ")"
		}
		fmt.Fprintf(w, "  FAIL %s\n       %s: %s%s\n", s.Text, s.State, s.Reason, where)
	}
}

// sortedSpecs are the run's specs by file, then line, then text.
func sortedSpecs(run *Run) []Spec {
	specs := slices.Clone(run.Specs)
	slices.SortStableFunc(specs, func(a, b Spec) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Text, b.Text))
	})
	return specs
}

// tsvField keeps a value on one line and inside its column.
func tsvField(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}
