package server

// ahead runs work ahead of its turn: each item starts on a goroutine of its
// own, and items are taken back in the order they were started. Queries
// read candidate records this way, and scans collect partitions, on a
// namespace whose reads wait (record.Namespace.ReadsWait). An item's value
// is reused once the item is taken back and the next one started, so its
// buffers are too.
type ahead[T any] struct {
	slots         []aheadSlot[T]
	head, pending int
}

type aheadSlot[T any] struct {
	v    T
	done chan struct{}
}

func newAhead[T any](n int) *ahead[T] { return &ahead[T]{slots: make([]aheadSlot[T], n)} }

// full reports whether as many items are in progress as the ring holds.
func (a *ahead[T]) full() bool { return a.pending == len(a.slots) }

// start runs work on the next item's value on a goroutine. The ring must
// not be full.
func (a *ahead[T]) start(work func(v *T)) {
	s := &a.slots[(a.head+a.pending)%len(a.slots)]
	a.pending++
	if s.done == nil {
		s.done = make(chan struct{}, 1)
	}
	go func() {
		work(&s.v)
		s.done <- struct{}{}
	}()
}

// next waits for the oldest item in progress and takes it from the ring;
// its value stays valid until the next start. There must be one.
func (a *ahead[T]) next() *T {
	s := &a.slots[a.head]
	<-s.done
	a.head = (a.head + 1) % len(a.slots)
	a.pending--
	return &s.v
}

// wait waits for every item in progress and drops them.
func (a *ahead[T]) wait() {
	for a.pending > 0 {
		a.next()
	}
}
