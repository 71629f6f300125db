package core

import (
	"context"
	"fmt"
)

func (m *Monitor) writeMeta(ctx context.Context) error {
	b := m.newBatch()
	b.Meta = &Meta{
		MonitoringSince: nsTime(m.monitoringSince),
		Heartbeat:       nsTime(m.heartbeat),
	}
	if err := m.cfg.Store.Write(ctx, b); err != nil {
		return fmt.Errorf("write heartbeat: %w", err)
	}
	return nil
}

// newBatch returns the monitor's reusable batch, emptied.
func (m *Monitor) newBatch() *Batch {
	m.batch.Reset()
	m.logBuf = m.logBuf[:0]
	return &m.batch
}

// addPeerToBatch adds p's record and pending log events to b.
func (m *Monitor) addPeerToBatch(b *Batch, p *peerState) {
	b.Peers = append(b.Peers, p.record())
	if len(p.pending) == 0 {
		return
	}
	start := len(m.logBuf)
	for _, e := range p.pending {
		m.logBuf = append(m.logBuf, LogEvent{
			Time: nsTime(e.t), State: e.s,
		})
	}
	b.Logs = append(b.Logs, PeerLog{
		Peer:   p.id,
		Seq:    uint64(p.tl.len()),
		Events: m.logBuf[start:len(m.logBuf):len(m.logBuf)],
	})
}

// writePeers writes b, which holds the touched peers, with a heartbeat at
// t. On success the peers' pending events join their logs; on failure the
// peers get their saved values back.
func (m *Monitor) writePeers(ctx context.Context, b *Batch, t int64,
	touched []*peerState, saved map[*peerState]peerVals) error {

	prev := m.heartbeat
	m.heartbeat = max(m.heartbeat, t)
	b.Meta = &Meta{
		MonitoringSince: nsTime(m.monitoringSince),
		Heartbeat:       nsTime(m.heartbeat),
	}
	if err := m.cfg.Store.Write(ctx, b); err != nil {
		m.heartbeat = prev
		for _, p := range touched {
			p.peerVals = saved[p]
			p.pending = p.pending[:0]
		}
		return err
	}
	for _, p := range touched {
		p.flushPending()
	}
	return nil
}

// writePeer writes p (and ch, if not nil) and commits p's pending events
// to its timeline, or rolls p back to saved on failure.
func (m *Monitor) writePeer(ctx context.Context, p *peerState,
	saved peerVals, ch *ChannelRecord) error {

	b := m.newBatch()
	m.addPeerToBatch(b, p)
	if ch != nil {
		b.Channels = append(b.Channels, *ch)
	}
	if err := m.cfg.Store.Write(ctx, b); err != nil {
		p.peerVals = saved
		p.pending = p.pending[:0]
		return err
	}
	p.flushPending()
	m.lastTime = max(m.lastTime, p.lastEvent)
	return nil
}
