package core

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// MaxHistory is how far back history from the node's own records may
// reach: the 30 days Core Lightning keeps them (docs/semantics.md,
// "History from the node's records").
const MaxHistory = 30 * 24 * time.Hour

// History is what the node recorded of its peers' connections, complete
// from From on: the node ran throughout and recorded every connect and
// disconnect of every peer.
type History struct {
	// From is when the records start to be complete.
	From time.Time

	// Events are PeerOnline and PeerOffline events stamped by the node,
	// in time order. Events of other types are refused.
	Events []Event

	// Samples are pings and failed connection attempts the node
	// recorded, in any order.
	Samples []PeerSample
}

// Validate checks that the history is well formed.
func (h History) Validate() error {
	if !timeInRange(h.From) {
		return fmt.Errorf("%w: history from %v: time out of range",
			ErrBadInput, h.From)
	}
	for i, ev := range h.Events {
		if err := ev.Validate(); err != nil {
			return fmt.Errorf("history event %d: %w", i, err)
		}
		if ev.Type != PeerOnline && ev.Type != PeerOffline {
			return fmt.Errorf("%w: history event %d: %v is not a "+
				"peer event", ErrBadInput, i, ev.Type)
		}
		if i > 0 && ev.Time.Before(h.Events[i-1].Time) {
			return fmt.Errorf("%w: history event %d at %v: before "+
				"the one ahead of it", ErrBadInput, i, ev.Time)
		}
	}
	return validSamples(h.Samples)
}

// HistorySink is a Sink that also takes the node's own records of its
// peers' connections. *Monitor implements it; a source that has such
// records asks its Sink for it.
type HistorySink interface {
	Sink

	// SyncHistory is Sync after time the monitor did not watch, with
	// the node's records of it. At the monitor's first start it
	// backfills: the history from h.From (at most MaxHistory back) to
	// the snapshot counts as monitored, as if the monitor had watched
	// it. After a restart, when h is complete from before the
	// unmonitored gap began, the gap is filled the same way. Otherwise
	// it is Sync. The samples are kept in every case.
	SyncHistory(ctx context.Context, snap Snapshot, h History) error

	// AddSamples keeps pings and failed connection attempts for the
	// report. A sample no newer than the newest one kept is dropped
	// (the node's records are read again from their start).
	AddSamples(ctx context.Context, samples []PeerSample) error
}

var _ HistorySink = (*Monitor)(nil)

// SyncHistory implements HistorySink.
func (m *Monitor) SyncHistory(ctx context.Context, snap Snapshot,
	h History) error {

	if err := snap.Validate(); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	if err := m.usable(); err != nil {
		m.mu.Unlock()
		return err
	}
	now := m.observeClock()
	t := max(m.stamp(snap.Time, now), m.gapEdge())
	if snap.BlockHeight != 0 {
		m.blockHeight = snap.BlockHeight
	}
	if a, backfill, ok := m.fillable(timeNs(h.From), t); ok {
		m.replay(snap, h.Events, a, t, backfill)
	}
	m.syncPeers(snap, t)
	m.syncChannels(snap, t)
	m.addSamples(h.Samples)
	seq := m.commit()
	m.mu.Unlock()
	if err := m.await(ctx, seq); err != nil {
		return fmt.Errorf("record node history up to %v: %w",
			nsTime(t), err)
	}
	return nil
}

// fillable says which span, ending at t, the node's records complete
// from `from` can fill: the whole history back to from (at most
// MaxHistory) at the first start, else the open gap, when the records
// reach back to its start.
func (m *Monitor) fillable(from, t int64) (a int64, backfill, ok bool) {
	if !m.gapOpen || m.stepping {
		return 0, false, false
	}
	if m.firstStart {
		a = max(from, t-int64(MaxHistory))
		return a, true, a < m.openGapStart
	}
	return m.openGapStart, false, from <= m.openGapStart &&
		m.openGapStart < t
}

// replayStep is an event of the replay: a peer event of the node's
// records, or the open of a channel the snapshot lists.
type replayStep struct {
	t     int64
	ev    *Event
	sc    *SnapshotChannel
	close *SnapshotClose
}

// rank orders steps at the same instant: opens, events, closes.
func (s replayStep) rank() int {
	switch {
	case s.sc != nil:
		return 0
	case s.ev != nil:
		return 1
	}
	return 2
}

// replay records the node's events from a to t as if the monitor had
// watched them (flaps, rate limit and cooldown at their own times), and
// marks the span filled. Channels of the snapshot the monitor does not
// hold open at their node's open time (not before a). Callers hold mu.
func (m *Monitor) replay(snap Snapshot, events []Event, a, t int64,
	backfill bool) {

	m.initialStates(snap, events, a, t, backfill)
	if backfill {
		m.monitoringSince = a
	} else {
		// The span's "unknown" marks are followed, at the same
		// instant, by the state the peer was in.
		for _, p := range m.peers {
			if p.tracked && p.openChans > 0 {
				p.commitEvent(ev64{a, p.state()})
				p.lastEvent = max(p.lastEvent, a)
				m.touch(p)
			}
		}
	}
	m.gapOpen = false
	m.firstStart = false
	m.connectedSince = a
	m.lastTime = max(m.lastTime, a)

	var steps []replayStep
	for i := range events {
		et := timeNs(events[i].Time)
		if et > a && et <= t {
			steps = append(steps, replayStep{t: et, ev: &events[i]})
		}
	}
	for i := range snap.Channels {
		sc := &snap.Channels[i]
		if _, ok := m.channels[sc.Point]; ok {
			continue
		}
		at := t
		if ot := timeNs(sc.OpenedAt); ot != 0 {
			at = min(max(ot, a), t)
		}
		steps = append(steps, replayStep{t: at, sc: sc})
	}
	steps = append(steps, m.closeSteps(snap, a, t)...)
	slices.SortStableFunc(steps, func(x, y replayStep) int {
		if x.t != y.t {
			return cmpInt64(x.t, y.t)
		}
		return cmpInt64(int64(x.rank()), int64(y.rank()))
	})
	for _, s := range steps {
		if s.close != nil {
			m.replayClose(s.close.Point, s.t)
			continue
		}
		if s.sc != nil {
			p := m.peer(s.sc.Peer)
			m.openChannel(p, s.sc.Point, s.sc.ShortChannelID,
				max(s.t, p.lastEvent), s.sc)
			continue
		}
		p := m.peer(s.ev.Peer)
		m.peerEvent(p, s.ev.Type == PeerOnline, max(s.t, p.lastEvent))
	}
	m.lastTime = max(m.lastTime, t)
	m.setHeartbeat(t)
	f := FilledSpan{Start: nsTime(a), End: nsTime(t), Backfill: backfill}
	m.filled = append(m.filled, f)
	c := m.chg()
	c.q.b.Filled = append(c.q.b.Filled, f)
	kind := "gap filled"
	if backfill {
		kind = "history backfilled"
	}
	m.log.Infof("%s from the node's records: %v to %v (%d events)",
		kind, nsTime(a), nsTime(t), len(steps))
}

// closeSteps are the closes the node recorded within (a, t] of channels
// the monitor holds open. Callers hold mu.
func (m *Monitor) closeSteps(snap Snapshot, a, t int64) []replayStep {
	var steps []replayStep
	for i := range snap.Closed {
		sc := &snap.Closed[i]
		c, ok := m.channels[sc.Point]
		ct := timeNs(sc.ClosedAt)
		if ok && c.open() && ct > a && ct <= t {
			steps = append(steps, replayStep{t: ct, close: sc})
		}
	}
	return steps
}

// replayClose closes a channel at the node's time of its close, during a
// replay. Callers hold mu.
func (m *Monitor) replayClose(cp ChannelPoint, t int64) {
	c, ok := m.channels[cp]
	if !ok || !c.open() {
		return
	}
	p := m.peers[c.rec.Peer]
	m.log.Infof("channel %v closed at %v, by the node's records",
		cp, nsTime(t))
	m.closeChannel(p, cp, max(t, p.lastEvent))
}

// initialStates sets each peer's state at a from the node's records: the
// state of its last event before a, else the opposite of its first event
// after a and no later than t (a backfill only: the monitor knows nothing
// earlier; a later one is not replayed), else what the monitor knew, else
// the snapshot's.
func (m *Monitor) initialStates(snap Snapshot, events []Event, a, t int64,
	backfill bool) {

	before := make(map[PeerID]bool)
	after := make(map[PeerID]bool)
	for _, ev := range events {
		on := ev.Type == PeerOnline
		et := timeNs(ev.Time)
		if et <= a {
			before[ev.Peer] = on
		} else if _, ok := after[ev.Peer]; !ok && et <= t {
			after[ev.Peer] = !on
		}
	}
	online := make(map[PeerID]bool)
	for _, id := range snap.OnlinePeers {
		online[id] = true
	}
	set := func(id PeerID, on bool) {
		p := m.peer(id)
		p.setState(on, a)
		p.lastEvent = max(p.lastEvent, a)
	}
	for id, on := range before {
		set(id, on)
	}
	if !backfill {
		return
	}
	for id, on := range after {
		if _, ok := before[id]; !ok {
			set(id, on)
		}
	}
	for _, sc := range snap.Channels {
		_, b := before[sc.Peer]
		_, f := after[sc.Peer]
		if !b && !f {
			set(sc.Peer, online[sc.Peer])
		}
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Filled returns the spans filled from the node's records, oldest first.
func (m *Monitor) Filled() []FilledSpan {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.filled)
}
