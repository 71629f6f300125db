package core

import (
	"context"
	"fmt"
	"time"
)

// openChannel adds a channel (lnd's addChannel).
func (m *Monitor) openChannel(ctx context.Context, p *peerState,
	cp ChannelPoint, scid string, t int64) error {

	if c, ok := m.channels[cp]; ok {
		if c.open() {
			if c.rec.ShortChannelID == "" && scid != "" {
				return m.setSCID(ctx, c, scid)
			}
			m.log.Errorf("channel %v already present (peer %v): "+
				"ignored", cp, p.id)
		} else {
			m.log.Warnf("channel %v opened again after its close "+
				"at %v: ignored", cp, nsTime(c.closedAt))
		}
		return nil
	}
	saved := p.peerVals
	if !p.tracked {
		m.track(p, t)
	}
	p.openChans++
	if p.committedLen() == p.liveStart {
		m.addEvent(p, p.state(), t)
	}
	p.lastEvent = t
	c := &channelState{
		rec: ChannelRecord{
			Point:          cp,
			Peer:           p.id,
			ShortChannelID: scid,
			OpenedAt:       nsTime(t),
		},
		openedAt: t,
	}
	if err := m.writePeer(ctx, p, saved, &c.rec); err != nil {
		return fmt.Errorf("record open of channel %v with peer %v: %w",
			cp, p.id, err)
	}
	m.channels[cp] = c
	m.log.Infof("channel %v with peer %v opened", cp, p.id)
	return nil
}

// setSCID records the short channel id of a channel first seen without
// one (it is only known once the funding transaction confirmed).
func (m *Monitor) setSCID(ctx context.Context, c *channelState,
	scid string) error {

	rec := c.rec
	rec.ShortChannelID = scid
	b := m.newBatch()
	b.Channels = append(b.Channels, rec)
	if err := m.cfg.Store.Write(ctx, b); err != nil {
		return fmt.Errorf("record short channel id %s of channel %v: "+
			"%w", scid, rec.Point, err)
	}
	c.rec = rec
	m.log.Debugf("channel %v has short channel id %s", rec.Point, scid)
	return nil
}

// closeChannel closes a channel (lnd's removeChannel), freezing its
// numbers.
func (m *Monitor) closeChannel(ctx context.Context, p *peerState,
	cp ChannelPoint, t int64) error {

	c, ok := m.channels[cp]
	if !ok || !c.open() {
		if ok {
			m.log.Debugf("channel %v closed again: ignored", cp)
		} else {
			m.log.Warnf("close of unknown channel %v (peer %v): "+
				"ignored", cp, p.id)
		}
		return nil
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
	rec.Frozen = make(map[string]WindowNumbers, len(PresetWindows))
	for _, w := range PresetWindows {
		n := m.channelWindow(c, p, w, t, max(now, t))
		rec.Frozen[w.Name] = WindowNumbers{
			Monitored: time.Duration(n.monitored),
			Uptime:    time.Duration(n.uptime),
		}
	}

	saved := p.peerVals
	p.openChans--
	if p.openChans == 0 {
		// lnd clears the live log; we keep the history and mark the
		// time from here on as unobserved.
		if p.hasStaged {
			p.pending = append(p.pending, p.staged)
			p.hasStaged = false
		}
		if p.loggedState() != StateUnknown {
			p.pending = append(p.pending, ev64{t, StateUnknown})
		}
		p.liveStart = p.committedLen()
	}
	p.lastEvent = t
	if err := m.writePeer(ctx, p, saved, &rec); err != nil {
		return fmt.Errorf("record close of channel %v with peer %v: %w",
			cp, p.id, err)
	}
	c.rec = rec
	c.closedAt = t
	m.log.Infof("channel %v with peer %v closed", cp, p.id)
	return nil
}
