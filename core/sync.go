package core

import (
	"context"
	"fmt"
)

// Sync implements Sink.
func (m *Monitor) Sync(ctx context.Context, snap Snapshot) error {
	if err := snap.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.usable(); err != nil {
		return err
	}
	t := timeNs(snap.Time)
	if t == 0 {
		t = m.now()
	}
	t = max(t, m.gapEdge())
	online := make(map[PeerID]bool, len(snap.OnlinePeers))
	for _, id := range snap.OnlinePeers {
		online[id] = true
	}
	inSnap := make(map[ChannelPoint]bool, len(snap.Channels))
	for _, sc := range snap.Channels {
		inSnap[sc.Point] = true
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
		if err := m.closeGap(ctx, t, online); err != nil {
			return err
		}
	} else {
		// Connected all along: a state that differs was missed; record
		// it without counting a flap.
		for id, on := range online {
			if err := m.reconcileState(ctx, m.peers[id], on, t); err != nil {
				return err
			}
		}
		for _, p := range m.peers {
			if _, ok := online[p.id]; !ok && p.stateKnown && p.online {
				if err := m.reconcileState(ctx, p, false, t); err != nil {
					return err
				}
			}
		}
	}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for cp, c := range m.channels {
		if c.open() && !inSnap[cp] {
			p := m.peers[c.rec.Peer]
			m.log.Infof("channel %v is no longer open on the node: "+
				"closing it", cp)
			keep(m.closeChannel(ctx, p, cp, max(t, p.lastEvent)))
		}
	}
	for _, sc := range snap.Channels {
		if c, ok := m.channels[sc.Point]; ok {
			if c.open() && c.rec.ShortChannelID == "" &&
				sc.ShortChannelID != "" {

				keep(m.setSCID(ctx, c, sc.ShortChannelID))
			}
			continue
		}
		p := m.peer(sc.Peer)
		keep(m.openChannel(ctx, p, sc.Point, sc.ShortChannelID,
			max(t, p.lastEvent)))
	}
	return firstErr
}

// reconcileState records a peer state found by a snapshot, without a flap.
func (m *Monitor) reconcileState(ctx context.Context, p *peerState,
	online bool, t int64) error {

	t = max(t, p.lastEvent)
	if !p.tracked {
		if !p.stateKnown || p.online != online {
			p.setState(online, t)
			m.noteUntracked(p)
		}
		return nil
	}
	if p.stateKnown && p.online == online {
		return nil
	}
	saved := p.peerVals
	p.setState(online, t)
	p.lastEvent = t
	if p.openChans > 0 {
		m.addEvent(p, p.state(), t)
	}
	if err := m.writePeer(ctx, p, saved, nil); err != nil {
		return fmt.Errorf("record state of peer %v: %w", p.id, err)
	}
	m.log.Infof("peer %v found %s by reconciliation", p.id,
		p.state())
	return nil
}
