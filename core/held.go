package core

import (
	"fmt"
	"math"
)

// The bound of the write queue. While the store's writes fail, each
// change waits in the queue as a batch (about one an event). Once
// Config.MaxPendingBatches wait, the queue is full and the monitor stops
// queueing what it can write again from its own state: the peers' and
// channels' records, the log events and the meta record. Only gaps,
// deleted channels and alerts still join the queue. Once a write
// succeeds again, release queues, after what is waiting, the records of
// every peer and channel and every log event not yet queued, in batches
// a store accepts, and the queue is bounded again. Nothing is lost
// while the process runs, and memory grows no more than the monitor's
// state does.

// heldSeq is what commit returns for a change kept in the monitor's state
// only: it is written by release, not by a batch of its own.
const heldSeq = math.MaxUint64

// Bounds of one batch that release queues, well within what any store
// takes in one write.
const (
	releaseRecords = 10_000
	releaseEvents  = 100_000
)

// maxFree bounds the queued batches kept for reuse once written.
const maxFree = 64

// hold reports whether the change under way is to be kept in the
// monitor's state only: the queue is full, or was and the store has not
// written since. Callers hold mu.
func (m *Monitor) hold() bool {
	w := &m.w
	if m.held || !w.failing.Load() {
		return m.held
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil && w.pending() >= m.cfg.MaxPendingBatches {
		m.held, w.held = true, true
		m.log.Errorf("store write queue full (%d batches): until the "+
			"store writes again, changes are kept in memory only "+
			"and written from it then; a stop before that loses "+
			"them", w.pending())
	}
	return m.held
}

// commitHeld ends the change under way while the queue is full: what
// release writes from the monitor's state is dropped from its batch, and
// the rest is queued. Callers hold mu.
func (m *Monitor) commitHeld() uint64 {
	c := &m.change
	q := c.q
	for _, p := range c.peers {
		p.touched = false
	}
	q.b.Channels = q.b.Channels[:0]
	c.q, c.peers, c.meta = nil, c.peers[:0], false
	if m.enqueue(q) == 0 {
		// The change is in memory all the same.
		m.subs.notify()
	}
	return heldSeq
}

// release queues what the monitor kept in its state while the queue was
// full, once the store writes again: every tracked peer's record and log
// events not yet queued, every channel's record, and the meta record. It
// reports whether it queued anything. Callers hold mu.
func (m *Monitor) release() bool {
	if !m.held {
		return false
	}
	w := &m.w
	w.mu.Lock()
	release := w.err == nil
	if release {
		m.held, w.held = false, false
	}
	w.mu.Unlock()
	if !release {
		return false
	}
	m.log.Infof("store writes again: writing the state kept in memory " +
		"while its queue was full")
	r := releaser{m: m, q: m.newQueued()}
	for _, p := range m.peers {
		if p.tracked {
			r.peer(p)
		}
	}
	for _, c := range m.channels {
		r.q.b.Channels = append(r.q.b.Channels, c.rec)
		r.count(1, 0)
	}
	if !m.gapOpen && m.lastTime > m.heartbeat {
		m.heartbeat = m.lastTime
	}
	r.q.meta = Meta{
		MonitoringSince: nsTime(m.monitoringSince),
		Heartbeat:       nsTime(m.heartbeat),
	}
	r.q.b.Meta = &r.q.meta
	m.enqueue(r.q)
	return true
}

// flushAll is flush, and then, once writes succeed again, release and
// flush of what a full queue kept in memory. Callers do not hold mu.
func (m *Monitor) flushAll() error {
	if err := m.flush(); err != nil {
		return err
	}
	m.mu.Lock()
	released := m.release()
	m.mu.Unlock()
	if !released {
		return nil
	}
	return m.flush()
}

// releaser fills batches for release, queueing each when it is full.
type releaser struct {
	m       *Monitor
	q       *queued
	records int
	events  int
}

// count adds records and events to the batch, and queues it when full.
func (r *releaser) count(records, events int) {
	r.records += records
	r.events += events
	if r.records >= releaseRecords || r.events >= releaseEvents {
		r.m.enqueue(r.q)
		r.q = r.m.newQueued()
		r.records, r.events = 0, 0
	}
}

// peer adds p's record and its log events not yet queued, in runs that
// keep each batch within its bounds.
func (r *releaser) peer(p *peerState) {
	r.q.addPeer(p)
	r.count(1, 0)
	for n := p.tl.len(); p.queued < n; {
		k := min(n-p.queued, releaseEvents-r.events)
		q := r.q
		start := len(q.logs)
		for i := p.queued; i < p.queued+k; i++ {
			q.logs = append(q.logs, LogEvent{
				Time: nsTime(p.tl.times[i]), State: p.tl.states[i],
			})
		}
		q.b.Logs = append(q.b.Logs, PeerLog{
			Peer:   p.id,
			Seq:    uint64(p.queued),
			Events: q.logs[start:len(q.logs):len(q.logs)],
		})
		p.queued += k
		r.count(1, k)
	}
}

// newQueued returns an empty batch to fill.
func (m *Monitor) newQueued() *queued {
	w := &m.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.free); n > 0 {
		q := w.free[n-1]
		w.free = w.free[:n-1]
		return q
	}
	return &queued{}
}

// enqueue queues q, or keeps it for reuse when it is empty, and returns
// its sequence number (0 when empty).
func (m *Monitor) enqueue(q *queued) uint64 {
	w := &m.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if q.b.Empty() {
		q.reset()
		w.reuse(q)
		return 0
	}
	w.next++
	q.seq = w.next
	w.queue = append(w.queue, q)
	m.subs.notify()
	return q.seq
}

// reuse keeps a written or empty batch for reuse, up to maxFree. Callers
// hold w.mu.
func (w *writer) reuse(q *queued) {
	if len(w.free) < maxFree {
		w.free = append(w.free, q)
	}
}

// heldError is the error of a call whose change is kept in the monitor's
// state only.
func (m *Monitor) heldError() error {
	w := &m.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		return fmt.Errorf("%w: the store's write queue was full",
			ErrNotWritten)
	}
	return fmt.Errorf("%w: the store's write queue is full (%d "+
		"batches): %w", ErrNotWritten, w.pending(), w.err)
}
