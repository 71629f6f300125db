package core

import (
	"fmt"
)

// load rebuilds the in-memory state from what the store returned.
func (m *Monitor) load(st *StoredState) error {
	m.monitoringSince = timeNs(st.Meta.MonitoringSince)
	m.heartbeat = timeNs(st.Meta.Heartbeat)
	m.lastTime = m.heartbeat
	if err := m.loadGaps(st); err != nil {
		return err
	}
	m.loadPeers(st)
	if err := m.loadLogs(st); err != nil {
		return err
	}
	if err := m.loadChannels(st); err != nil {
		return err
	}
	m.loadSamples(st)
	for _, a := range st.Alerts {
		m.alerts[a.Key] = cloneAlert(a)
	}
	for _, p := range m.peers {
		p.queued = p.tl.len()
		if p.openChans == 0 {
			p.liveStart = p.tl.len()
		}
	}
	return nil
}

// loadGaps rebuilds the monitoring gaps, which must come in order.
func (m *Monitor) loadGaps(st *StoredState) error {
	for _, g := range st.Gaps {
		s, e := timeNs(g.Start), timeNs(g.End)
		if e < s || (len(m.gapEnd) > 0 && s < m.gapEnd[len(m.gapEnd)-1]) {
			return fmt.Errorf("load store: gap %v..%v out of order",
				g.Start, g.End)
		}
		m.appendGap(s, e)
	}
	return nil
}

// loadPeers rebuilds the tracked peers from their records.
func (m *Monitor) loadPeers(st *StoredState) {
	for _, r := range st.Peers {
		p := &peerState{id: r.Peer, tl: newTimeline()}
		p.tracked = true
		p.trackedSince = timeNs(r.TrackedSince)
		p.online = r.Online
		p.stateKnown = true
		p.stateSince = timeNs(r.StateSince)
		p.flapCount = r.FlapCount
		if !r.LastFlap.IsZero() {
			p.lastFlap, p.hasLastFlap = r.LastFlap.UnixNano(), true
		}
		if r.Staged != nil {
			p.staged = ev64{timeNs(r.Staged.Time), r.Staged.State}
			p.hasStaged = true
		}
		p.lastEvent = timeNs(r.LastEvent)
		if p.hasStaged {
			m.lastTime = max(m.lastTime, p.staged.t)
		}
		m.peers[r.Peer] = p
	}
}

// loadLogs replays each peer's event log onto its timeline; a log must
// belong to a loaded peer, continue its timeline and never go back in time.
func (m *Monitor) loadLogs(st *StoredState) error {
	for _, l := range st.Logs {
		p, ok := m.peers[l.Peer]
		if !ok {
			return fmt.Errorf("load store: log of peer %v without a "+
				"peer record", l.Peer)
		}
		if uint64(p.tl.len()) != l.Seq {
			return fmt.Errorf("load store: log of peer %v starts at "+
				"%d, want %d", l.Peer, l.Seq, p.tl.len())
		}
		p.tl.reserve(len(l.Events))
		for _, e := range l.Events {
			t := timeNs(e.Time)
			if last, _, ok := p.tl.last(); ok && t < last {
				return fmt.Errorf("load store: log of peer %v "+
					"goes back in time at %v", l.Peer, e.Time)
			}
			p.tl.append(t, e.State)
		}
		if last, _, ok := p.tl.last(); ok {
			m.lastTime = max(m.lastTime, last)
		}
	}
	return nil
}

// loadChannels rebuilds the channels, each of a loaded peer.
func (m *Monitor) loadChannels(st *StoredState) error {
	for _, r := range st.Channels {
		p, ok := m.peers[r.Peer]
		if !ok {
			return fmt.Errorf("load store: channel %v of untracked "+
				"peer %v", r.Point, r.Peer)
		}
		c := &channelState{
			rec:      r,
			openedAt: timeNs(r.OpenedAt),
			closedAt: timeNs(r.ClosedAt),
		}
		if c.open() {
			p.openChans++
		}
		m.channels[r.Point] = c
	}
	return nil
}
