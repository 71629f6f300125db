package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Writes. A call that changes the monitor updates memory under mu and
// collects what it changed in m.chg; commit turns that into one batch and
// queues it. The queue is written in order, outside mu, by whichever
// caller holds the writer's token, so queries never wait for the disk.
// When a write fails the batch stays at the head of the queue, with every
// batch after it, and is tried again at each sync tick: memory keeps the
// events, and the store gets them once it accepts writes again.

// queued is a batch waiting for the store, with the memory its log events
// live in.
type queued struct {
	b    Batch
	meta Meta
	logs []LogEvent
	seq  uint64

	// staged holds the staged events the peer records point to, so
	// that a record costs no allocation of its own.
	staged []LogEvent
}

// addPeer adds p's record to q.
func (q *queued) addPeer(p *peerState) {
	var staged *LogEvent
	if p.hasStaged {
		q.staged = append(q.staged, LogEvent{
			Time: nsTime(p.staged.t), State: p.staged.s,
		})
		staged = &q.staged[len(q.staged)-1]
	}
	q.b.Peers = append(q.b.Peers, p.recordWith(staged))
}

// reset empties q for reuse.
func (q *queued) reset() {
	q.b.Reset()
	q.logs = q.logs[:0]
	q.staged = q.staged[:0]
}

// change collects what the call under way changed. Callers hold mu.
type change struct {
	q     *queued
	peers []*peerState
	meta  bool
}

// writer is the queue of batches not yet written.
type writer struct {
	// token is held by the one goroutine writing the queue.
	token chan struct{}

	mu      sync.Mutex
	queue   []*queued // queue[head:] are waiting, oldest first
	head    int
	free    []*queued
	next    uint64 // seq of the newest batch queued
	written uint64 // seq of the newest batch written
	err     error  // why the head of the queue is unwritten, or nil

	// held is set while the queue is full (see held.go); failing is
	// err != nil, read without mu.
	held    bool
	failing atomic.Bool
}

// pending returns the number of batches waiting. Callers hold w.mu.
func (w *writer) pending() int {
	return len(w.queue) - w.head
}

// pop drops the oldest waiting batch, reusing the queue's memory: from
// its start once it is empty, moving the rest down once the dead head
// outweighs it. Callers hold w.mu.
func (w *writer) pop() {
	w.queue[w.head] = nil
	w.head++
	switch {
	case w.head == len(w.queue):
		w.queue, w.head = w.queue[:0], 0
	case w.head > 64 && 2*w.head > len(w.queue):
		n := copy(w.queue, w.queue[w.head:])
		clear(w.queue[n:])
		w.queue, w.head = w.queue[:n], 0
	}
}

// StoreStatus says whether the store takes the monitor's writes.
type StoreStatus struct {
	// Writing is false while writes fail.
	Writing bool

	// Err is the last write error while writes fail, else nil.
	Err error

	// PendingBatches counts the batches kept in memory, waiting to be
	// written.
	PendingBatches int

	// QueueFull is set while the queue of waiting batches is full:
	// changes are kept in the monitor's state only, and written from it
	// once the store writes again.
	QueueFull bool
}

// StoreStatus returns the state of the monitor's writes to its store.
func (m *Monitor) StoreStatus() StoreStatus {
	w := &m.w
	w.mu.Lock()
	defer w.mu.Unlock()
	return StoreStatus{
		Writing:        w.err == nil,
		Err:            w.err,
		PendingBatches: w.pending(),
		QueueFull:      w.held,
	}
}

// chg returns the change under way, starting one if none is. Callers
// hold mu.
func (m *Monitor) chg() *change {
	c := &m.change
	if c.q == nil {
		c.q = m.newQueued()
	}
	return c
}

// touch adds p's record and new log events to the change under way.
func (m *Monitor) touch(p *peerState) {
	c := m.chg()
	if !p.touched {
		p.touched = true
		c.peers = append(c.peers, p)
	}
}

// touchEvent is touch for a peer that an event was applied to: the
// monitor was running at its time.
func (m *Monitor) touchEvent(p *peerState) {
	m.touch(p)
	m.lastTime = max(m.lastTime, p.lastEvent)
}

// addChannel adds a channel record to the change under way.
func (m *Monitor) addChannel(rec ChannelRecord) {
	c := m.chg()
	c.q.b.Channels = append(c.q.b.Channels, rec)
}

// commit ends the change under way: the touched peers' records and new
// log events join its batch, and the batch is queued. It returns the batch's
// sequence number, 0 when there was nothing to write, heldSeq when the
// change is kept in memory only (see held.go). Callers hold mu.
func (m *Monitor) commit() uint64 {
	m.release()
	c := &m.change
	q := c.q
	if q == nil {
		return 0
	}
	if m.hold() {
		return m.commitHeld()
	}
	for _, p := range c.peers {
		m.addPeerToBatch(q, p)
		p.touched = false
	}
	if !m.gapOpen && m.lastTime > m.heartbeat && !q.b.Empty() {
		// The heartbeat rides along: after a crash, unmonitored time
		// starts no earlier than the newest event written while
		// connected, however long ago the last tick was.
		m.heartbeat = m.lastTime
		c.meta = true
	}
	if c.meta {
		q.meta = Meta{
			MonitoringSince: nsTime(m.monitoringSince),
			Heartbeat:       nsTime(m.heartbeat),
		}
		q.b.Meta = &q.meta
	}
	c.q, c.peers, c.meta = nil, c.peers[:0], false
	return m.enqueue(q)
}

// addPeerToBatch adds p's record and its log events not yet queued to q.
func (m *Monitor) addPeerToBatch(q *queued, p *peerState) {
	b := &q.b
	q.addPeer(p)
	n := p.tl.len()
	if n == p.queued {
		return
	}
	start := len(q.logs)
	for i := p.queued; i < n; i++ {
		q.logs = append(q.logs, LogEvent{
			Time: nsTime(p.tl.times[i]), State: p.tl.states[i],
		})
	}
	b.Logs = append(b.Logs, PeerLog{
		Peer:   p.id,
		Seq:    uint64(p.queued),
		Events: q.logs[start:len(q.logs):len(q.logs)],
	})
	p.queued = n
}

// await returns once batch seq is written. While writes fail it returns
// at once with an error wrapping ErrNotWritten: the batch stays queued
// and is written by a later sync tick. Callers do not hold mu.
func (m *Monitor) await(ctx context.Context, seq uint64) error {
	if seq == heldSeq {
		return m.heldError()
	}
	w := &m.w
	for {
		w.mu.Lock()
		written, err := w.written >= seq, w.err
		w.mu.Unlock()
		switch {
		case written:
			return nil
		case err != nil:
			return fmt.Errorf("%w: %w", ErrNotWritten, err)
		}
		select {
		case w.token <- struct{}{}:
		default:
			select {
			case w.token <- struct{}{}:
			case <-ctx.Done():
				return fmt.Errorf("%w: %w", ErrNotWritten,
					ctx.Err())
			}
		}
		m.drain(false)
		<-w.token
	}
}

// drain writes queued batches in order until the queue is empty or a
// write fails. While writes fail it only tries when retry is set (the
// sync tick). The caller holds the writer's token.
func (m *Monitor) drain(retry bool) {
	w := &m.w
	// A write is short and must not fail because a caller gave up
	// waiting: it is the monitor's, not the caller's.
	ctx := context.Background()
	w.mu.Lock()
	for w.pending() > 0 && (w.err == nil || retry) {
		q := w.queue[w.head]
		w.mu.Unlock()
		err := m.cfg.Store.Write(ctx, &q.b)
		w.mu.Lock()
		if err != nil {
			if w.err == nil {
				m.log.Errorf("store write failed: %v; events are "+
					"kept in memory and written when the "+
					"store accepts writes again", err)
			}
			w.err = err
			w.failing.Store(true)
			break
		}
		if w.err != nil {
			m.log.Infof("store accepts writes again; writing %d "+
				"kept batches", w.pending())
			w.err = nil
			w.failing.Store(false)
		}
		w.pop()
		w.written = q.seq
		q.reset()
		w.reuse(q)
	}
	w.mu.Unlock()
}

// flush writes every queued batch, retrying a failed one, and returns
// the error that stopped it, if any.
func (m *Monitor) flush() error {
	w := &m.w
	w.token <- struct{}{}
	m.drain(true)
	<-w.token
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending() > 0 && w.err != nil {
		held := ""
		if w.held {
			held = " (the queue is full: changes after it are " +
				"in memory only)"
		}
		return fmt.Errorf("%d batches %w%s: %w", w.pending(),
			ErrNotWritten, held, w.err)
	}
	return nil
}
