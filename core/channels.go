package core

import (
	"time"
)

// openChannel adds a channel (lnd's addChannel). sc is the node's listing
// of a channel first learned from a snapshot, nil for one seen open.
func (m *Monitor) openChannel(p *peerState, cp ChannelPoint, scid string,
	t int64, sc *SnapshotChannel) {

	if c, ok := m.channels[cp]; ok {
		if c.open() {
			if c.rec.ShortChannelID == "" && scid != "" {
				m.setSCID(c, scid)
				return
			}
			m.log.Errorf("channel %v already present (peer %v): "+
				"ignored", cp, p.id)
		} else {
			m.log.Warnf("channel %v opened again after its close "+
				"at %v: ignored", cp, nsTime(c.closedAt))
		}
		return
	}
	if !p.tracked {
		m.track(p, t)
	}
	p.openChans++
	if p.tl.len() == p.liveStart {
		m.addEvent(p, p.state(), t)
	}
	p.lastEvent = t
	c := &channelState{
		rec: ChannelRecord{
			Point:          cp,
			Peer:           p.id,
			ShortChannelID: scid,
			OpenedAt:       nsTime(t),
			OpenedAtSource: OpenedAtSeen,
		},
		openedAt: t,
	}
	if sc != nil {
		learnOpenInfo(&c.rec, sc, true)
	}
	m.touchEvent(p)
	m.addChannel(c.rec)
	m.channels[cp] = c
	m.log.Infof("channel %v with peer %v opened", cp, p.id)
}

// learnOpenInfo takes what a snapshot says of when a channel opened into
// rec, and reports whether rec changed. A channel new to the monitor takes
// the snapshot's time; a known one only trades an estimate for the node's
// time. A time the monitor saw is never replaced.
func learnOpenInfo(rec *ChannelRecord, sc *SnapshotChannel, isNew bool) bool {
	changed := false
	if rec.FundingHeight == 0 && sc.FundingHeight != 0 {
		rec.FundingHeight = sc.FundingHeight
		changed = true
	}
	if sc.OpenedAt.IsZero() {
		return changed
	}
	src := sc.OpenedAtSource
	if src != OpenedAtEstimated {
		src = OpenedAtNode
	}
	better := rec.OpenedAtSource == OpenedAtEstimated &&
		src == OpenedAtNode
	if !isNew && !better {
		return changed
	}
	rec.NodeOpenedAt = sc.OpenedAt.UTC()
	rec.OpenedAtSource = src
	return true
}

// setSCID records the short channel id of a channel first seen without
// one (it is only known once the funding transaction confirmed).
func (m *Monitor) setSCID(c *channelState, scid string) {
	c.rec.ShortChannelID = scid
	m.addChannel(c.rec)
	m.log.Debugf("channel %v has short channel id %s", c.rec.Point, scid)
}

// closeChannel closes a channel (lnd's removeChannel), freezing its
// numbers.
func (m *Monitor) closeChannel(p *peerState, cp ChannelPoint, t int64) {
	c, ok := m.channels[cp]
	if !ok || !c.open() {
		if ok {
			m.log.Debugf("channel %v closed again: ignored", cp)
		} else {
			m.log.Warnf("close of unknown channel %v (peer %v): "+
				"ignored", cp, p.id)
		}
		return
	}
	if c.rec.Peer != p.id {
		m.log.Warnf("close of channel %v names peer %v, but its peer "+
			"is %v", cp, p.id, c.rec.Peer)
		p = m.peers[c.rec.Peer]
		t = max(t, p.lastEvent)
	}
	now := m.now()
	rec := c.rec
	rec.ClosedAt = nsTime(t)
	rec.Frozen = make(map[string]WindowNumbers, len(presetWindows))
	for _, w := range presetWindows {
		n := m.channelWindow(c, p, w, t, max(now, t))
		rec.Frozen[w.Name] = WindowNumbers{
			Monitored: time.Duration(n.monitored),
			Uptime:    time.Duration(n.uptime),
		}
	}

	p.openChans--
	if p.openChans == 0 {
		// lnd clears the live log; we keep the history and mark the
		// time from here on as unobserved.
		if p.hasStaged {
			p.commitEvent(p.staged)
			p.hasStaged = false
		}
		if p.loggedState() != StateUnknown {
			p.commitEvent(ev64{t, StateUnknown})
		}
		p.liveStart = p.tl.len()
	}
	p.lastEvent = t
	c.rec = rec
	c.closedAt = t
	m.touchEvent(p)
	m.addChannel(rec)
	m.log.Infof("channel %v with peer %v closed", cp, p.id)
}
