package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// Multiset is a list of spec names (Spec.Name) where a name may appear more
// than once: the suite has specs that share a name (generated in a loop),
// and a list says how many of them must pass.
type Multiset map[string]int

func (m Multiset) clone() Multiset {
	out := make(Multiset, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// take removes one occurrence of name, reporting whether there was one.
func (m Multiset) take(name string) bool {
	if m[name] == 0 {
		return false
	}
	m[name]--
	return true
}

// Len is the number of entries, counting repeats.
func (m Multiset) Len() int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// readSpecList reads a list of spec names: one "file: full text" a line;
// blank lines and lines starting with "#" are ignored. A missing file is an
// empty list.
func readSpecList(file string) (Multiset, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return Multiset{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := Multiset{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, ": ") {
			return nil, fmt.Errorf(`%s:%d: want "file_test.go: spec full text"`, file, n)
		}
		m[line]++
	}
	return m, sc.Err()
}

// writeSpecList writes a list of spec names, sorted, under a header comment.
func writeSpecList(file, header string, m Multiset) error {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(header, "\n"), "\n") {
		b.WriteString(strings.TrimRight("# "+line, " ") + "\n")
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for range m[name] {
			b.WriteString(name + "\n")
		}
	}
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// Comparison is a run checked against a baseline.
type Comparison struct {
	// Regressions: baseline specs the run selected that did not pass, with
	// what became of them (the first failure's reason).
	Regressions []Spec
	// Missing: baseline names that are not in the suite at all, because the
	// client version changed or the list was edited by hand.
	Missing []string
	// NewPasses: specs that passed and are not in the baseline.
	NewPasses []Spec
}

// Compare checks a run against the baseline. Only specs the run selected
// are checked: a run of one spec file says nothing about the others.
func Compare(run *Run, baseline Multiset) Comparison {
	var c Comparison
	inSuite := map[string]bool{}
	passed := Multiset{}
	var notPassed []Spec
	for i := range run.Specs {
		s := &run.Specs[i]
		name := s.Name()
		inSuite[name] = true
		switch s.Outcome {
		case Passed:
			passed[name]++
		case Failed, Skipped:
			notPassed = append(notPassed, *s)
		}
	}
	// Passes first satisfy the baseline; passes beyond its count are new.
	want := baseline.clone()
	for _, s := range sortedSpecs(run) {
		if s.Outcome == Passed && !want.take(s.Name()) {
			c.NewPasses = append(c.NewPasses, s)
		}
	}
	// What is left of the baseline and was selected did not pass.
	for _, s := range notPassed {
		if want.take(s.Name()) {
			c.Regressions = append(c.Regressions, s)
		}
	}
	for name, n := range want {
		if n > 0 && !inSuite[name] {
			c.Missing = append(c.Missing, name)
		}
	}
	slices.Sort(c.Missing)
	slices.SortStableFunc(c.Regressions, func(a, b Spec) int { return strings.Compare(a.Name(), b.Name()) })
	return c
}

// Updated is the baseline rewritten from a run: the passes of the specs the
// run selected, plus the old entries for specs it did not select. Entries
// for names no longer in the suite are dropped.
func Updated(run *Run, old Multiset) Multiset {
	selected := map[string]bool{}
	inSuite := map[string]bool{}
	out := Multiset{}
	for i := range run.Specs {
		s := &run.Specs[i]
		inSuite[s.Name()] = true
		if s.Outcome != Excluded {
			selected[s.Name()] = true
		}
		if s.Outcome == Passed {
			out[s.Name()]++
		}
	}
	for name, n := range old {
		if inSuite[name] && !selected[name] {
			out[name] = n
		}
	}
	return out
}
