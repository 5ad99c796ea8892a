package ahead

import (
	"errors"
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

// TestRun takes every item back in order, and stops at take's first error
// with nothing left in progress.
func TestRun(t *testing.T) {
	r := New[int](4)
	var got []int
	err := r.Run(50, func(i int, v *int) {
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
		*v = i
	}, func(v *int) error {
		got = append(got, *v)
		return nil
	})
	if err != nil || len(got) != 50 {
		t.Fatalf("Run: %v, %d items", err, len(got))
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("item %d taken as %d", i, v)
		}
	}
	stop := errors.New("stop")
	taken := 0
	err = r.Run(50, func(i int, v *int) { *v = i }, func(v *int) error {
		if taken++; *v == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || taken != 11 || r.Pending() != 0 {
		t.Fatalf("Run stopped with %v after %d items, %d pending", err, taken, r.Pending())
	}
}
