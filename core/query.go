package core

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// ChannelInfo is what the monitor knows of one channel.
type ChannelInfo struct {
	Point          ChannelPoint
	Peer           PeerID
	ShortChannelID string
	Open           bool

	// OpenedAt is when the channel opened: when the monitor saw it
	// open, or, for a channel first learned from a snapshot, the node's
	// time or an estimate (OpenedAtSource says which).
	OpenedAt       time.Time
	OpenedAtSource OpenedAtSource

	// FundingHeight is the funding transaction's block height (0:
	// unknown); AgeBlocks is the node's block height since then, -1
	// when unknown or closed.
	FundingHeight uint32
	AgeBlocks     int64

	// ClosedAt is zero while the channel is open.
	ClosedAt time.Time

	// Age is wall time since OpenedAt (until ClosedAt when closed).
	Age time.Duration

	// Lifetime is monitored time since the monitor started counting the
	// channel (seen open or first learned), never before; it equals
	// lnd's lifetime when the monitor never had a gap.
	Lifetime time.Duration

	// Uptime is the time the peer was online within Lifetime.
	Uptime time.Duration
}

// PeerWindowInfo is a peer's figures over [Start, End].
type PeerWindowInfo struct {
	Start, End    time.Time
	Monitored     time.Duration
	Uptime        time.Duration
	LongestOutage time.Duration
}

// figures are monitored time and uptime in ns.
type figures struct {
	monitored, uptime int64
}

// view returns p's log as queries see it at now.
func (p *peerState) view(now int64) view {
	return p.tl.view(p.hasStaged, p.staged, now)
}

// channelWindow returns a channel's figures over window w ending at end.
func (m *Monitor) channelWindow(c *channelState, p *peerState, w Window,
	end, now int64) figures {

	start := c.openedAt
	if w.Length > 0 {
		start = max(start, end-int64(w.Length))
	}
	end = min(end, now)
	if end <= start {
		return figures{}
	}
	on, _ := p.view(now).span(start, end)
	return figures{
		monitored: end - start - m.unmonitored(start, end, now),
		uptime:    on,
	}
}

// channelFigures returns a channel's figures for w: live while open,
// frozen at close afterwards.
func (m *Monitor) channelFigures(c *channelState, p *peerState, w Window,
	now int64) figures {

	if c.open() {
		return m.channelWindow(c, p, w, now, now)
	}
	if f, ok := c.rec.Frozen[w.Name]; ok {
		return figures{int64(f.Monitored), int64(f.Uptime)}
	}
	return m.channelWindow(c, p, w, c.closedAt, max(now, c.closedAt))
}

func (m *Monitor) channelInfo(c *channelState, now int64) ChannelInfo {
	p := m.peers[c.rec.Peer]
	f := m.channelFigures(c, p, presetWindows[len(presetWindows)-1], now)
	end := now
	if !c.open() {
		end = c.closedAt
	}
	opened := c.shownOpenedAt()
	ageBlocks := int64(-1)
	fh := c.rec.FundingHeight
	if c.open() && fh != 0 && m.blockHeight >= fh {
		ageBlocks = int64(m.blockHeight - fh)
	}
	return ChannelInfo{
		Point:          c.rec.Point,
		Peer:           c.rec.Peer,
		ShortChannelID: c.rec.ShortChannelID,
		Open:           c.open(),
		OpenedAt:       nsTime(opened),
		OpenedAtSource: c.openedAtSource(),
		FundingHeight:  fh,
		AgeBlocks:      ageBlocks,
		ClosedAt:       nsTime(c.closedAt),
		Age:            time.Duration(max(end-opened, 0)),
		Lifetime:       time.Duration(f.monitored),
		Uptime:         time.Duration(f.uptime),
	}
}

// ChannelInfo returns a channel's figures: live for an open channel,
// frozen at close for a closed one.
func (m *Monitor) ChannelInfo(ctx context.Context,
	cp ChannelPoint) (ChannelInfo, error) {

	if err := ctx.Err(); err != nil {
		return ChannelInfo{}, err
	}
	m.settleClock()
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.channels[cp]
	if !ok {
		return ChannelInfo{}, fmt.Errorf("%w: %v", ErrChannelNotFound,
			cp)
	}
	return m.channelInfo(c, m.now()), nil
}

// trackedPeer returns a tracked peer or ErrPeerNotFound.
func (m *Monitor) trackedPeer(id PeerID) (*peerState, error) {
	p, ok := m.peers[id]
	if !ok || !p.tracked {
		return nil, fmt.Errorf("%w: %v", ErrPeerNotFound, id)
	}
	return p, nil
}

// FlapCount returns lnd's flap count of a tracked peer and its last flap.
func (m *Monitor) FlapCount(ctx context.Context,
	peer PeerID) (int, *time.Time, error) {

	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, err := m.trackedPeer(peer)
	if err != nil {
		return 0, nil, err
	}
	if !p.hasLastFlap {
		return p.flapCount, nil, nil
	}
	last := nsTime(p.lastFlap)
	return p.flapCount, &last, nil
}

// PeerWindow returns a peer's monitored time, uptime and longest outage in
// [start, end]. Its cost does not grow with the length of the history.
func (m *Monitor) PeerWindow(ctx context.Context, peer PeerID, start,
	end time.Time) (PeerWindowInfo, error) {

	if end.IsZero() {
		return PeerWindowInfo{}, fmt.Errorf("%w: zero end time",
			ErrBadInput)
	}
	if end.Before(start) {
		return PeerWindowInfo{}, fmt.Errorf("%w: end time %v before "+
			"start time %v", ErrBadInput, end, start)
	}
	if err := ctx.Err(); err != nil {
		return PeerWindowInfo{}, err
	}
	m.settleClock()
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, err := m.trackedPeer(peer)
	if err != nil {
		return PeerWindowInfo{}, err
	}
	w := m.peerWindow(p, clampNs(start), clampNs(end), m.now())
	return PeerWindowInfo{
		Start:         start,
		End:           end,
		Monitored:     time.Duration(w.monitored),
		Uptime:        time.Duration(w.uptime),
		LongestOutage: time.Duration(w.outage),
	}, nil
}

// clampNs returns t in unix ns, clamped to what an int64 holds (years
// 1970 to 2262): a window may reach past either end.
func clampNs(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return 0
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

type peerFigures struct {
	monitored, uptime, outage int64
}

func (m *Monitor) peerWindow(p *peerState, start, end,
	now int64) peerFigures {

	start = max(start, p.trackedSince)
	v := p.view(now)
	on, known := v.span(start, end)
	return peerFigures{
		monitored: known,
		uptime:    on,
		outage:    v.longestOutage(start, end),
	}
}

// comparePoints orders channel points by txid bytes, then index.
func comparePoints(a, b ChannelPoint) int {
	if c := bytes.Compare(a.Txid[:], b.Txid[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.Index, b.Index)
}

// OpenChannels returns the channels the monitor holds open, ordered by
// channel point; only those of peer when peer is not nil.
func (m *Monitor) OpenChannels(ctx context.Context,
	peer *PeerID) ([]ChannelPoint, error) {

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.usable(); err != nil {
		return nil, err
	}
	var out []ChannelPoint
	for cp, c := range m.channels {
		if c.open() && (peer == nil || c.rec.Peer == *peer) {
			out = append(out, cp)
		}
	}
	slices.SortFunc(out, comparePoints)
	return out, nil
}
