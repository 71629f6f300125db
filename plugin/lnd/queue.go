package lndsource

import (
	"context"
	"sync"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// item is one entry of the arrival queue: an event, or the error that
// ended one of the streams.
type item struct {
	ev     core.Event
	method string
	err    error
	at     time.Time
}

// queue is an unbounded FIFO: stream readers never block and never drop.
type queue struct {
	mu     sync.Mutex
	items  []item
	signal chan struct{}
}

func newQueue() *queue {
	return &queue{signal: make(chan struct{}, 1)}
}

// push appends it and wakes the consumer.
func (q *queue) push(it item) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// len returns the number of queued items.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// pop returns the oldest item, waiting for one, unless a tick comes
// first: then tick is true. ok is false when ctx is done.
func (q *queue) pop(ctx context.Context, ticks <-chan time.Time) (it item,
	tick, ok bool) {

	for {
		// A tick goes first, so that a busy stream cannot put the
		// reconcile off; it reorders nothing (see reconcileNow).
		select {
		case <-ticks:
			return item{}, true, true
		default:
		}
		q.mu.Lock()
		if len(q.items) > 0 {
			it := q.items[0]
			q.items[0] = item{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return it, false, true
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ticks:
			return item{}, true, true
		case <-ctx.Done():
			return item{}, false, false
		}
	}
}
