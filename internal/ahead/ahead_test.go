package ahead

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestOrder starts items that finish in random order and takes them back
// in the order they started, reusing each slot's value.
func TestOrder(t *testing.T) {
	type item struct{ n, runs int }
	r := New[item](4)
	next := 0
	for i := range 100 {
		if r.Full() {
			if got := r.Next(); got.n != next {
				t.Fatalf("took %d, want %d", got.n, next)
			}
			next++
		}
		delay := time.Duration(rand.IntN(200)) * time.Microsecond
		r.Start(func(v *item) {
			time.Sleep(delay)
			v.n = i
			v.runs++
		})
		if r.Pending() > 4 {
			t.Fatalf("%d in progress in a ring of 4", r.Pending())
		}
	}
	for r.Pending() > 0 {
		if got := r.Next(); got.n != next {
			t.Fatalf("took %d, want %d", got.n, next)
		}
		next++
	}
	runs := 0
	r.Values(func(v *item) { runs += v.runs })
	if next != 100 || runs != 100 {
		t.Fatalf("took %d items, slots ran %d", next, runs)
	}
}

// TestWait drops the items in progress once they end.
func TestWait(t *testing.T) {
	r := New[int](3)
	ended := make(chan int, 3)
	for i := range 3 {
		r.Start(func(v *int) {
			time.Sleep(time.Millisecond)
			ended <- i
		})
	}
	r.Wait()
	if r.Pending() != 0 || len(ended) != 3 {
		t.Fatalf("after Wait: %d pending, %d ended", r.Pending(), len(ended))
	}
}
