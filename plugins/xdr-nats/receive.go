package xdrnats

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/skiffdb/skiff/sdk/xdr"
)

// Receive tuning; see doc.go.
const (
	// batchMax and batchWait bound a batch: what arrived within batchWait
	// of its first change, whole messages up to batchMax changes.
	batchMax  = 1024
	batchWait = 2 * time.Millisecond
	// prefetch is how many messages the client asks the server for ahead
	// of apply.
	prefetch = 512
	// retryMin and retryMax bound the wait between attempts after a
	// failure: of NATS, or of apply (then it is also the Nak delay).
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
)

// errApply ends a session after apply failed.
var errApply = errors.New("apply failed")

// Receive runs sessions until ctx ends or Close: each makes sure the
// stream and the consumer exist, checks for a gap, and then pulls batches
// and applies them. A failed session (NATS unreachable, the consumer
// lost, a missed heartbeat, apply failed) is followed by a wait that
// doubles from retryMin to retryMax, reset by a batch applied.
//
// The changes passed to apply are the transport's own: apply may keep
// them and their slices.
func (t *transport) Receive(ctx context.Context, apply func([]xdr.Change) error) error {
	if !t.startReceive() {
		return ErrClosed
	}
	defer t.receivers.Done()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-t.done:
			cancel(ErrClosed)
		case <-ctx.Done():
		}
	}()

	r := &receiver{t: t, apply: apply, nakd: make(map[uint64]struct{})}
	failures := 0
	for {
		retry := backoff(failures+1, retryMin, retryMax)
		progress, err := t.session(ctx, r, retry)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if progress {
			failures = 0
			retry = retryMin
		}
		failures++
		switch {
		case errors.Is(err, errApply):
			// The changes were Nak'd with delay retry: wait a little longer,
			// so that their redelivery comes before later changes.
			retry += max(retry/2, 50*time.Millisecond)
		case failures == 1:
			t.log.Warn("xdr: receive failed; retrying", "err", err, "in", retry)
		default:
			t.log.Debug("xdr: receive failed; retrying", "err", err, "in", retry)
		}
		if err := sleep(ctx, retry); err != nil {
			return context.Cause(ctx)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// session consumes until an error or the end of ctx. progress reports
// whether it applied a batch. When apply fails, the changes the client
// holds are Nak'd with nakDelay; when ctx ends, without delay.
func (t *transport) session(ctx context.Context, r *receiver, nakDelay time.Duration) (progress bool, err error) {
	stream, cons, err := t.ensure(ctx)
	if err != nil {
		t.errors.Add(1)
		return false, err
	}
	// A consumer left behind by retention has its first unacknowledged
	// change below the stream's first; once it pulls, the server moves
	// it up, so look before.
	info := cons.CachedInfo()
	t.checkGap(info.AckFloor.Stream, stream.CachedInfo().State.FirstSeq)
	t.pending.Store(info.NumPending)

	it, err := cons.Messages(jetstream.PullMaxMessages(prefetch))
	if err != nil {
		t.errors.Add(1)
		return false, fmt.Errorf("consume %s on %s: %w", t.durable, t.stream, err)
	}
	defer it.Stop()
	r.it, r.lastSeq = it, info.Delivered.Stream
	for {
		if err := r.next(ctx); err != nil {
			if ctx.Err() != nil {
				// Closing: hand back what this session holds, so that the
				// next one has it at once rather than after ackWait.
				r.nakAll(0)
				return progress, ctx.Err()
			}
			t.errors.Add(1)
			return progress, fmt.Errorf("consume %s on %s: %w", t.durable, t.stream, err)
		}
		if err := r.deliver(); err != nil {
			t.errors.Add(1)
			r.nakAll(nakDelay)
			return progress, err
		}
		progress = true
	}
}

// receiver is a Receive call's state; each session sets it and lastSeq.
type receiver struct {
	t     *transport
	apply func([]xdr.Change) error
	it    jetstream.MessagesContext
	// lastSeq is the stream sequence of the last change delivered to
	// this consumer for the first time: the next one delivered for the
	// first time must follow it, or changes were lost.
	lastSeq uint64
	// nakd holds the stream sequences of the changes Nak'd after apply
	// failed, until they come back. A change after them that comes first
	// suggests they expired meanwhile (the server then drops them without
	// a trace); lastCheck rate-limits looking.
	nakd      map[uint64]struct{}
	lastCheck time.Time
	batch     []received   // the batch, in stream order for apply
	n         int          // the batch's changes
	changes   []xdr.Change // the batch's changes, for apply
}

type received struct {
	seq uint64
	msg jetstream.Msg
	cs  []xdr.Change
}

// next fills a batch: it waits for one message, then takes what arrives
// within batchWait, up to batchMax. The node's own changes are acked at
// once; a message that does not decode is terminated (never redelivered)
// and counted.
func (r *receiver) next(ctx context.Context) error {
	clear(r.batch)
	r.batch, r.n = r.batch[:0], 0
	for len(r.batch) == 0 {
		m, err := r.it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return err
		}
		r.take(m)
	}
	bctx, cancel := context.WithTimeout(ctx, batchWait)
	defer cancel()
	for r.n < batchMax {
		m, err := r.it.Next(jetstream.NextContext(bctx))
		if err != nil {
			if bctx.Err() != nil {
				return nil
			}
			return err
		}
		r.take(m)
	}
	return nil
}

// take adds m to the batch, or acks it if it is the node's own change, or
// terminates it if it does not decode.
func (r *receiver) take(m jetstream.Msg) {
	t := r.t
	var seq uint64
	if meta, err := m.Metadata(); err == nil {
		seq = meta.Sequence.Stream
		t.pending.Store(meta.NumPending)
		delete(r.nakd, seq)
		if meta.NumDelivered == 1 {
			if r.lastSeq != 0 && seq > r.lastSeq+1 {
				t.setGap(r.lastSeq+1, seq-1)
			}
			r.lastSeq = max(r.lastSeq, seq)
			if len(r.nakd) > 0 {
				r.checkNakd()
			}
		}
	}
	cs, err := decodeMessage(nil, m.Data())
	if err != nil {
		t.errors.Add(1)
		t.log.Error("xdr: dropping a message that is not a change", "subject", m.Subject(), "err", err)
		if err := m.Term(); err != nil {
			t.errors.Add(1)
		}
		return
	}
	// A message's changes share their origin.
	if len(cs) == 0 || cs[0].Origin == t.cfg.Node {
		if err := m.Ack(); err != nil {
			t.errors.Add(1)
		}
		return
	}
	r.batch = append(r.batch, received{seq, m, cs})
	r.n += len(cs)
}

// checkNakd sets Gap if changes Nak'd and not yet redelivered are below
// the stream's first sequence, at most once a second.
func (r *receiver) checkNakd() {
	if time.Since(r.lastCheck) < time.Second {
		return
	}
	r.lastCheck = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), infoTimeout)
	defer cancel()
	stream, err := r.t.js.Stream(ctx, r.t.stream)
	if err != nil {
		return
	}
	first := stream.CachedInfo().State.FirstSeq
	lost := uint64(0)
	for seq := range r.nakd {
		if seq < first {
			delete(r.nakd, seq)
			if lost == 0 || seq < lost {
				lost = seq
			}
		}
	}
	if lost != 0 {
		r.t.setGap(lost, first-1)
	}
}

// deliver applies the batch and acks it.
func (r *receiver) deliver() error {
	// A redelivery can come after changes that follow it.
	if !slices.IsSortedFunc(r.batch, bySeq) {
		slices.SortStableFunc(r.batch, bySeq)
	}
	clear(r.changes)
	r.changes = r.changes[:0]
	for i := range r.batch {
		r.changes = append(r.changes, r.batch[i].cs...)
	}
	if err := r.apply(r.changes); err != nil {
		r.t.log.Warn("xdr: apply failed; the batch will be redelivered", "changes", len(r.changes), "err", err)
		return fmt.Errorf("%w: %w", errApply, err)
	}
	for i := range r.batch {
		if err := r.batch[i].msg.Ack(); err != nil {
			r.t.errors.Add(1)
		}
	}
	r.t.received.Add(uint64(len(r.changes)))
	return nil
}

func bySeq(a, b received) int { return cmp.Compare(a.seq, b.seq) }

// nakAll asks for the batch, and then for every message the client
// already holds, to be redelivered after delay (at once for 0), in
// order: the iterator is drained so that nothing later is applied before
// them. With a delay, it remembers them in nakd.
func (r *receiver) nakAll(delay time.Duration) {
	nak := func(m jetstream.Msg, seq uint64) {
		var err error
		if delay > 0 {
			err = m.NakWithDelay(delay)
			if seq != 0 {
				r.nakd[seq] = struct{}{}
			}
		} else {
			err = m.Nak()
		}
		if err != nil {
			r.t.errors.Add(1)
		}
	}
	for _, b := range r.batch {
		nak(b.msg, b.seq)
	}
	r.it.Drain()
	for {
		m, err := r.it.Next(jetstream.NextMaxWait(100 * time.Millisecond))
		if err != nil {
			return
		}
		var seq uint64
		if meta, err := m.Metadata(); err == nil {
			seq = meta.Sequence.Stream
		}
		nak(m, seq)
	}
}
