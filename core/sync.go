package core

import (
	"context"
	"fmt"
)

// Sync implements Sink. Everything the snapshot changes is written as one
// batch.
func (m *Monitor) Sync(ctx context.Context, snap Snapshot) error {
	if err := snap.Validate(); err != nil {
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
	m.syncPeers(snap, t)
	m.syncChannels(snap, t)
	seq := m.commit()
	m.mu.Unlock()
	if err := m.await(ctx, seq); err != nil {
		return fmt.Errorf("record node state at %v: %w", nsTime(t), err)
	}
	return nil
}

// syncPeers ends an open gap with the snapshot's peer states, or records
// the states that differ from what the monitor holds.
func (m *Monitor) syncPeers(snap Snapshot, t int64) {
	online := make(map[PeerID]bool, len(snap.OnlinePeers))
	for _, id := range snap.OnlinePeers {
		online[id] = true
	}
	for _, sc := range snap.Channels {
		if _, ok := online[sc.Peer]; !ok {
			online[sc.Peer] = false
		}
	}
	// Every peer the snapshot names gets its state recorded, including
	// peers seen for the first time.
	for id := range online {
		m.peer(id)
	}
	if m.gapOpen {
		m.closeGap(t, online)
		return
	}
	// Connected all along: a state that differs was missed; record it
	// without counting a flap.
	for id, on := range online {
		m.reconcileState(m.peers[id], on, t)
	}
	for _, p := range m.peers {
		if _, ok := online[p.id]; !ok && p.stateKnown && p.online {
			m.reconcileState(p, false, t)
		}
	}
}

// syncChannels closes the channels the node no longer lists (unless the
// listing is partial) and opens those it lists that the monitor does not
// know.
func (m *Monitor) syncChannels(snap Snapshot, t int64) {
	inSnap := make(map[ChannelPoint]bool, len(snap.Channels))
	for _, sc := range snap.Channels {
		inSnap[sc.Point] = true
	}
	for cp, c := range m.channels {
		if c.open() && !inSnap[cp] && !snap.Partial {
			p := m.peers[c.rec.Peer]
			m.log.Infof("channel %v is no longer open on the node: "+
				"closing it", cp)
			m.closeChannel(p, cp, max(t, p.lastEvent))
		}
	}
	for i := range snap.Channels {
		sc := &snap.Channels[i]
		c, ok := m.channels[sc.Point]
		if !ok {
			p := m.peer(sc.Peer)
			m.openChannel(p, sc.Point, sc.ShortChannelID,
				max(t, p.lastEvent), sc)
			continue
		}
		if !c.open() {
			continue
		}
		changed := learnOpenInfo(&c.rec, sc, false)
		if c.rec.ShortChannelID == "" && sc.ShortChannelID != "" {
			c.rec.ShortChannelID = sc.ShortChannelID
			changed = true
		}
		if changed {
			m.addChannel(c.rec)
		}
	}
}

// reconcileState records a peer state found by a snapshot, without a flap.
func (m *Monitor) reconcileState(p *peerState, online bool, t int64) {
	t = max(t, p.lastEvent)
	if !p.tracked {
		if !p.stateKnown || p.online != online {
			p.setState(online, t)
			m.noteUntracked(p)
		}
		return
	}
	if p.stateKnown && p.online == online {
		return
	}
	p.setState(online, t)
	p.lastEvent = t
	if p.openChans > 0 {
		m.addEvent(p, p.state(), t)
	}
	m.touchEvent(p)
	m.log.Infof("peer %v found %s by reconciliation", p.id,
		p.state())
}
