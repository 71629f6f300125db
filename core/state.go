package core

import ()

// ev64 is a log event in the monitor's internal time form.
type ev64 struct {
	t int64
	s State
}

// peerVals are a peer's scalar fields, copied before a change so that a
// failed store write can be rolled back.
type peerVals struct {
	tracked      bool
	trackedSince int64
	online       bool
	stateKnown   bool
	stateSince   int64
	flapCount    int
	lastFlap     int64
	hasLastFlap  bool
	staged       ev64
	hasStaged    bool
	lastEvent    int64
	liveStart    int
	openChans    int
}

type peerState struct {
	id PeerID
	peerVals

	// tl is the committed log (nil until the peer is tracked); pending
	// holds events committed by the change under way, appended to tl
	// once the store has them.
	tl      *timeline
	pending []ev64
}

func (p *peerState) committedLen() int {
	n := len(p.pending)
	if p.tl != nil {
		n += p.tl.len()
	}
	return n
}

// loggedState returns the state of the newest committed or pending event
// (StateUnknown when the log is empty).
func (p *peerState) loggedState() State {
	if n := len(p.pending); n > 0 {
		return p.pending[n-1].s
	}
	if p.tl == nil {
		return StateUnknown
	}
	_, s, _ := p.tl.last()
	return s
}

func (p *peerState) state() State {
	if p.online {
		return StateOnline
	}
	return StateOffline
}

// setState records the connection state, keeping the earliest time of a
// run of repeats.
func (p *peerState) setState(online bool, t int64) {
	if !p.stateKnown || p.online != online {
		p.stateSince = t
	}
	p.online = online
	p.stateKnown = true
}

func (p *peerState) stagedRecord() *LogEvent {
	if !p.hasStaged {
		return nil
	}
	return &LogEvent{Time: nsTime(p.staged.t), State: p.staged.s}
}

func (p *peerState) record() PeerRecord {
	r := PeerRecord{
		Peer:         p.id,
		TrackedSince: nsTime(p.trackedSince),
		Online:       p.online,
		StateSince:   nsTime(p.stateSince),
		FlapCount:    p.flapCount,
		Staged:       p.stagedRecord(),
		LastEvent:    nsTime(p.lastEvent),
	}
	if p.hasLastFlap {
		r.LastFlap = nsTime(p.lastFlap)
	}
	return r
}

type channelState struct {
	rec      ChannelRecord
	openedAt int64
	closedAt int64 // 0 while open
}

func (c *channelState) open() bool {
	return c.closedAt == 0
}

// flushPending moves p's pending events into its timeline.
func (p *peerState) flushPending() {
	for _, e := range p.pending {
		p.tl.append(e.t, e.s)
	}
	p.pending = p.pending[:0]
}
