// Package ahead runs work ahead of its turn and takes the results back in
// order: the node's queries read candidate records this way and its scans
// collect partitions, and the device backend's scans read records, where
// each piece of work waits on a device or a plugin process.
package ahead

// Ring runs each item on a goroutine of its own as it is started, and
// gives the items back in the order they were started. An item's value is
// reused once the item is taken back and the next one started, so its
// buffers are too. A Ring is used by one goroutine.
type Ring[T any] struct {
	slots         []slot[T]
	head, pending int
}

type slot[T any] struct {
	v    T
	done chan struct{}
}

// New returns a ring for at most n items in progress.
func New[T any](n int) *Ring[T] { return &Ring[T]{slots: make([]slot[T], n)} }

// Full reports whether as many items are in progress as the ring holds.
func (r *Ring[T]) Full() bool { return r.pending == len(r.slots) }

// Pending is the number of items in progress.
func (r *Ring[T]) Pending() int { return r.pending }

// Start runs work on the next item's value on a goroutine. The ring must
// not be full.
func (r *Ring[T]) Start(work func(v *T)) {
	s := &r.slots[(r.head+r.pending)%len(r.slots)]
	r.pending++
	if s.done == nil {
		s.done = make(chan struct{}, 1)
	}
	go func() {
		work(&s.v)
		s.done <- struct{}{}
	}()
}

// Next waits for the oldest item in progress and takes it from the ring;
// its value stays valid until the next Start. There must be one.
func (r *Ring[T]) Next() *T {
	s := &r.slots[r.head]
	<-s.done
	r.head = (r.head + 1) % len(r.slots)
	r.pending--
	return &s.v
}

// Wait waits for every item in progress and drops them.
func (r *Ring[T]) Wait() {
	for r.pending > 0 {
		r.Next()
	}
}

// Run starts work(i, v) for each i in [0, n), as many at once as the ring
// holds, and takes the items back in order with take, stopping at take's
// first error. Every item started has ended when it returns.
func (r *Ring[T]) Run(n int, work func(i int, v *T), take func(v *T) error) error {
	defer r.Wait()
	for i := range n {
		if r.Full() {
			if err := take(r.Next()); err != nil {
				return err
			}
		}
		r.Start(func(v *T) { work(i, v) })
	}
	for r.Pending() > 0 {
		if err := take(r.Next()); err != nil {
			return err
		}
	}
	return nil
}

// Values calls fn with each slot's value, for a caller that resets the
// buffers they hold before the ring is reused. No item may be in progress.
func (r *Ring[T]) Values(fn func(v *T)) {
	for i := range r.slots {
		fn(&r.slots[i].v)
	}
}
