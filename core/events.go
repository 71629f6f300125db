package core

import (
	"context"
	"fmt"
	"time"
)

// peer returns the state of id, creating an untracked one.
func (m *Monitor) peer(id PeerID) *peerState {
	p, ok := m.peers[id]
	if !ok {
		p = &peerState{id: id}
		m.peers[id] = p
	}
	return p
}

// eventTime resolves an event's time (see stamp); a time before the
// peer's last event is clamped to it. No event lands in or before
// unmonitored time either: the floor is the start of the open gap, or the
// end of the last one.
func (m *Monitor) eventTime(p *peerState, t time.Time, now int64) int64 {
	return max(m.stamp(t, now), p.lastEvent, m.gapEdge())
}

// Apply applies one event. When it returns nil, the in-memory state and
// the store reflect the event. An error wrapping ErrNotWritten means the
// event is applied in memory and kept for the store, which will get it,
// in order, once it accepts writes again.
func (m *Monitor) Apply(ctx context.Context, ev Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	if err := m.usable(); err != nil {
		m.mu.Unlock()
		return err
	}
	now := m.observeClock()
	m.forgetPeers(now)
	p := m.peer(ev.Peer)
	t := m.eventTime(p, ev.Time, now)
	switch ev.Type {
	case PeerOnline, PeerOffline:
		m.peerEvent(p, ev.Type == PeerOnline, t)
	case ChannelOpened:
		m.openChannel(p, ev.Channel, ev.ShortChannelID, t, nil)
	default:
		m.closeChannel(p, ev.Channel, t)
	}
	seq := m.commit()
	m.mu.Unlock()
	if err := m.await(ctx, seq); err != nil {
		return fmt.Errorf("record %s: %w", describe(ev), err)
	}
	return nil
}

// describe names an event in an error.
func describe(ev Event) string {
	switch ev.Type {
	case PeerOnline:
		return "online of peer " + ev.Peer.String()
	case PeerOffline:
		return "offline of peer " + ev.Peer.String()
	case ChannelOpened:
		return "open of channel " + ev.Channel.String() +
			" with peer " + ev.Peer.String()
	}
	return "close of channel " + ev.Channel.String() + " with peer " +
		ev.Peer.String()
}

// peerEvent applies an online or offline notification.
func (m *Monitor) peerEvent(p *peerState, online bool, t int64) {
	if !p.tracked {
		p.setState(online, t)
		p.lastEvent = t
		m.noteUntracked(p)
		return
	}
	m.flap(p, online, t)
	p.lastEvent = t
	m.touchEvent(p)
	if m.cfg.Logger != nil {
		// Guarded: formatting costs more than the rest of Apply.
		m.log.Debugf("peer %v %v (flap count %d)", p.id, p.state(),
			p.flapCount)
	}
}

// flap is lnd's onlineEvent: cool the count down, count the flap, and log
// the state if the peer has channels.
func (m *Monitor) flap(p *peerState, online bool, t int64) {
	if p.hasLastFlap {
		p.flapCount = cooled(t, p.flapCount, p.lastFlap)
	}
	p.flapCount++
	p.lastFlap, p.hasLastFlap = t, true
	p.setState(online, t)
	if p.openChans == 0 {
		return
	}
	m.addEvent(p, p.state(), t)
}

// addEvent is lnd's staging rule: the newest event is staged; the staged
// one is committed when the new one comes more than the rate limit after
// it. While the node is lost nothing is logged: that time is unmonitored,
// and the end of the gap records the state the peer is in by then.
func (m *Monitor) addEvent(p *peerState, s State, t int64) {
	if m.gapOpen {
		return
	}
	if !p.hasStaged {
		p.staged, p.hasStaged = ev64{t, s}, true
		return
	}
	if p.staged.t+int64(rateLimit(p.flapCount)) < t {
		p.commitEvent(p.staged)
	}
	p.staged = ev64{t, s}
}

// track makes p a tracked peer at t: lnd creates its monitor and applies
// one state notification, which counts as a flap.
func (m *Monitor) track(p *peerState, t int64) {
	p.tracked = true
	p.trackedSince = t
	if p.tl == nil {
		p.tl = newTimeline()
	}
	p.liveStart = p.tl.len()
	if !p.stateKnown {
		// A channel just opened with a peer we never heard of: it
		// must have been connected to open it.
		p.setState(true, t)
	}
	m.flap(p, p.online, t)
}
