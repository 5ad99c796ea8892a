package sets_test

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
	"github.com/skiffdb/skiff/sdk/storage/sets"
)

// Ids fit the 12 bits an index entry may give them: this fails to compile
// otherwise.
const _ uint16 = 1<<12 - 1 - sets.Max

func TestEmptyName(t *testing.T) {
	var st sets.Table
	if id, err := st.ID(""); id != 0 || err != nil {
		t.Fatalf(`ID("") = %d, %v; want 0`, id, err)
	}
	if id, err := st.IDOfBytes(nil); id != 0 || err != nil {
		t.Fatalf("IDOfBytes(nil) = %d, %v; want 0", id, err)
	}
	if name := st.Name(0); name != "" {
		t.Fatalf(`Name(0) = %q, want ""`, name)
	}
	if got := st.Stats(); got != nil {
		t.Fatalf("Stats of an empty table = %v, want none", got)
	}
}

func TestIDKeepsACopy(t *testing.T) {
	var st sets.Table
	buf := []byte("users")
	id, err := st.ID(string(buf))
	if err != nil || id == 0 {
		t.Fatalf("ID(users) = %d, %v", id, err)
	}
	buf[0] = 'X' // the caller reuses its buffer
	if again, _ := st.ID("users"); again != id || st.Name(id) != "users" {
		t.Fatalf("users: id %d then %d, name %q", id, again, st.Name(id))
	}
	name := []byte("orders")
	byBytes, err := st.IDOfBytes(name)
	if err != nil || byBytes == id {
		t.Fatalf("IDOfBytes(orders) = %d, %v", byBytes, err)
	}
	name[0] = 'X'
	if again, _ := st.ID("orders"); again != byBytes || st.Name(byBytes) != "orders" {
		t.Fatalf("orders: id %d then %d, name %q", byBytes, again, st.Name(byBytes))
	}
}

func TestMax(t *testing.T) {
	var st sets.Table
	for i := 1; i <= sets.Max; i++ {
		id, err := st.ID("set" + strconv.Itoa(i))
		if err != nil || int(id) != i {
			t.Fatalf("set %d of %d: id %d, %v", i, sets.Max, id, err)
		}
	}
	if _, err := st.ID("one-too-many"); !errors.Is(err, storage.ErrOutOfSpace) {
		t.Fatalf("set %d: err = %v, want ErrOutOfSpace", sets.Max+1, err)
	}
	if _, err := st.IDOfBytes([]byte("one-too-many")); !errors.Is(err, storage.ErrOutOfSpace) {
		t.Fatalf("set %d by bytes: err = %v, want ErrOutOfSpace", sets.Max+1, err)
	}
	if id, err := st.ID("set7"); id != 7 || err != nil {
		t.Fatalf("a known name once full: ID(set7) = %d, %v", id, err)
	}
}

func TestStats(t *testing.T) {
	var st sets.Table
	users, _ := st.ID("users")
	orders, _ := st.ID("orders")
	st.ID("empty")
	st.Add(0, 5, 500) // records without a set are not reported
	st.Add(users, 1, 100)
	st.Add(users, 1, 120)
	st.Add(users, 0, 30)
	st.Add(orders, 1, 50)
	st.Add(orders, -1, -50)
	want := []storage.SetStats{{Name: "users", Records: 2, DataBytes: 250}}
	if got := st.Stats(); !slices.Equal(got, want) {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

// TestConcurrent adds and reads names from many goroutines; run with -race.
func TestConcurrent(t *testing.T) {
	var st sets.Table
	const goroutines, names = 8, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range names {
				name := "set" + strconv.Itoa((i*7+g)%names)
				id, err := st.ID(name)
				if err != nil {
					t.Error(err)
					return
				}
				if got := st.Name(id); got != name {
					t.Errorf("Name(ID(%q)) = %q", name, got)
					return
				}
				st.Add(id, 1, 10)
			}
		})
	}
	wg.Wait()
	got := st.Stats()
	if len(got) != names {
		t.Fatalf("%d sets, want %d", len(got), names)
	}
	for _, s := range got {
		if s.Records == 0 || s.DataBytes != 10*s.Records {
			t.Fatalf("set %s: %+v", s.Name, s)
		}
	}
}

// TestReadsDoNotAllocate pins what the hot path relies on: looking up a
// known name, by string or bytes, and naming an id.
func TestReadsDoNotAllocate(t *testing.T) {
	var st sets.Table
	id, _ := st.ID("users")
	name := []byte("users")
	for what, f := range map[string]func(){
		"ID":        func() { st.ID("users") },
		"ID empty":  func() { st.ID("") },
		"IDOfBytes": func() { st.IDOfBytes(name) },
		"Name":      func() { _ = st.Name(id) },
		"Add":       func() { st.Add(id, 1, 10) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", what, n)
		}
	}
}

func BenchmarkID(b *testing.B) {
	var st sets.Table
	st.ID("users")
	b.ReportAllocs()
	for b.Loop() {
		st.ID("users")
	}
}

func BenchmarkName(b *testing.B) {
	var st sets.Table
	id, _ := st.ID("users")
	b.ReportAllocs()
	for b.Loop() {
		_ = st.Name(id)
	}
}

// TestRestore fills a table with names by id, gaps included, and refuses a
// name given two ids and a table in use.
func TestRestore(t *testing.T) {
	var st sets.Table
	if err := st.Restore([]string{"", "a", "", "c"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint16{"a": 1, "c": 3} {
		if id, err := st.ID(name); id != want || err != nil {
			t.Errorf("ID(%q) = %d, %v; want %d", name, id, err, want)
		}
	}
	if st.Name(2) != "" || st.Name(3) != "c" {
		t.Errorf("names %q %q", st.Name(2), st.Name(3))
	}
	if id, err := st.ID("d"); id != 4 || err != nil {
		t.Errorf("a new name after the restored ones: %d, %v; want 4", id, err)
	}
	if err := st.Restore([]string{""}); err == nil {
		t.Error("restored into a table in use")
	}
	var dup sets.Table
	if err := dup.Restore([]string{"", "a", "a"}); err == nil {
		t.Error("restored a name with two ids")
	}
}
