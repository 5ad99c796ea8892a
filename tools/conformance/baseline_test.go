package main

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func spec(file, text string, o Outcome) Spec {
	return Spec{File: file, Text: text, Outcome: o, State: o.String()}
}

func names(specs []Spec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.Name())
	}
	return out
}

func TestCompare(t *testing.T) {
	run := &Run{Specs: []Spec{
		spec("a_test.go", "A passes", Passed),
		spec("a_test.go", "A fails", Failed),
		spec("a_test.go", "A skips", Skipped),
		spec("a_test.go", "A new", Passed),
		spec("a_test.go", "twin", Passed),
		spec("a_test.go", "twin", Failed),
		spec("b_test.go", "B excluded", Excluded),
	}}
	baseline := Multiset{
		"a_test.go: A passes":   1,
		"a_test.go: A fails":    1,
		"a_test.go: A skips":    1,
		"a_test.go: twin":       2, // both must pass; one did not
		"b_test.go: B excluded": 1, // not selected: not checked
		"c_test.go: gone":       1,
	}
	c := Compare(run, baseline)
	if got, want := names(c.Regressions), []string{"a_test.go: A fails", "a_test.go: A skips", "a_test.go: twin"}; !reflect.DeepEqual(got, want) {
		t.Errorf("regressions = %q, want %q", got, want)
	}
	if got, want := names(c.NewPasses), []string{"a_test.go: A new"}; !reflect.DeepEqual(got, want) {
		t.Errorf("new passes = %q, want %q", got, want)
	}
	if got, want := c.Missing, []string{"c_test.go: gone"}; !reflect.DeepEqual(got, want) {
		t.Errorf("missing = %q, want %q", got, want)
	}

	// A twin listed once is satisfied by one pass, whichever it is.
	baseline["a_test.go: twin"] = 1
	if c := Compare(run, baseline); slices.Contains(names(c.Regressions), "a_test.go: twin") {
		t.Errorf("twin listed once reported as a regression")
	}
}

func TestUpdated(t *testing.T) {
	run := &Run{Specs: []Spec{
		spec("a_test.go", "passes", Passed),
		spec("a_test.go", "twin", Passed),
		spec("a_test.go", "twin", Passed),
		spec("a_test.go", "fails now", Failed),
		spec("b_test.go", "not selected", Excluded),
	}}
	old := Multiset{
		"a_test.go: fails now":    1, // selected and failed: dropped
		"b_test.go: not selected": 1, // kept: this run says nothing about it
		"c_test.go: gone":         1, // not in the suite any more: dropped
	}
	want := Multiset{"a_test.go: passes": 1, "a_test.go: twin": 2, "b_test.go: not selected": 1}
	if got := Updated(run, old); !reflect.DeepEqual(got, want) {
		t.Errorf("Updated = %v, want %v", got, want)
	}
}

func TestSpecListRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "list.txt")
	m := Multiset{"b_test.go: x: y": 1, "a_test.go: twin": 2}
	if err := writeSpecList(file, "header\n\nsecond line", m); err != nil {
		t.Fatal(err)
	}
	got, err := readSpecList(file)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Errorf("read back %v, want %v", got, m)
	}
	if got, err := readSpecList(filepath.Join(t.TempDir(), "absent")); err != nil || len(got) != 0 {
		t.Errorf("absent list: %v, %v", got, err)
	}
}
