package memory

import (
	"errors"
	"strconv"
	"testing"

	"github.com/skiffdb/skiff/sdk/storage"
)

func TestSetTable(t *testing.T) {
	var st setTable
	st.init()
	if id, _ := st.id(""); id != 0 || st.name(0) != "" {
		t.Fatalf(`the empty set has id %d and name %q, want 0 and ""`, id, st.name(0))
	}
	buf := []byte("users")
	id, err := st.id(string(buf))
	if err != nil || id == 0 {
		t.Fatalf("id(users) = %d, %v", id, err)
	}
	buf[0] = 'X'
	if again, _ := st.id("users"); again != id || st.name(id) != "users" {
		t.Fatalf("users: id %d then %d, name %q", id, again, st.name(id))
	}
	for i := 2; i <= maxSets; i++ {
		if _, err := st.id("set" + strconv.Itoa(i)); err != nil {
			t.Fatalf("set %d of %d: %v", i, maxSets, err)
		}
	}
	if _, err := st.id("one-too-many"); !errors.Is(err, storage.ErrOutOfSpace) {
		t.Fatalf("set %d: err = %v, want ErrOutOfSpace", maxSets+1, err)
	}
}
