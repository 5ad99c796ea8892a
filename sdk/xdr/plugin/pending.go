package plugin

import "sync"

// pending are the messages sent on one stream that wait for an answer,
// which comes back on the stream with the message's id: the Ship stream's
// batches on the node's side, the Receive stream's on the plugin's.
type pending struct {
	sendMu sync.Mutex // one Send at a time, in the order of ids

	mu      sync.Mutex
	last    uint64
	waiting map[uint64]chan error
}

// send gives a message the next id and sends it with send, which sets the
// id in the message. It returns the id and the channel the answer comes on;
// when send fails, the message is forgotten and the error returned.
func (q *pending) send(send func(id uint64) error) (uint64, <-chan error, error) {
	done := make(chan error, 1)
	q.sendMu.Lock()
	defer q.sendMu.Unlock()
	q.mu.Lock()
	q.last++
	id := q.last
	if q.waiting == nil {
		q.waiting = map[uint64]chan error{}
	}
	q.waiting[id] = done
	q.mu.Unlock()
	if err := send(id); err != nil {
		q.forget(id)
		return id, nil, err
	}
	return id, done, nil
}

// sendAlone sends a message that waits for no answer, in turn with the
// others.
func (q *pending) sendAlone(send func() error) error {
	q.sendMu.Lock()
	defer q.sendMu.Unlock()
	return send()
}

// forget drops the message id: its answer, if one comes, is ignored.
func (q *pending) forget(id uint64) {
	q.mu.Lock()
	delete(q.waiting, id)
	q.mu.Unlock()
}

// answer hands err to the message id's sender, unless it was forgotten.
func (q *pending) answer(id uint64, err error) {
	q.mu.Lock()
	done := q.waiting[id]
	delete(q.waiting, id)
	q.mu.Unlock()
	if done != nil {
		done <- err
	}
}
