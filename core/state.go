package core

// ev64 is a log event in the monitor's internal time form.
type ev64 struct {
	t int64
	s State
}

// peerState is what the monitor holds of one peer.
type peerState struct {
	id           PeerID
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

	// tl is the committed log (nil until the peer is tracked); its
	// first queued events are in batches for the store, the rest join
	// the batch of the change under way.
	tl     *timeline
	queued int

	// touched is set while the change under way includes the peer.
	touched bool

	// forgetting is set while the peer has an entry in the monitor's
	// queue of peers to forget (see peers.go).
	forgetting bool
}

// commitEvent appends e to the committed log.
func (p *peerState) commitEvent(e ev64) {
	p.tl.append(e.t, e.s)
}

// loggedState returns the state of the newest committed event
// (StateUnknown when the log is empty).
func (p *peerState) loggedState() State {
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

// recordWith is p's record with staged as its staged event (nil when
// p has none).
func (p *peerState) recordWith(staged *LogEvent) PeerRecord {
	r := PeerRecord{
		Peer:         p.id,
		TrackedSince: nsTime(p.trackedSince),
		Online:       p.online,
		StateSince:   nsTime(p.stateSince),
		FlapCount:    p.flapCount,
		Staged:       staged,
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

// shownOpenedAt is the open time a report shows: the node's (or an
// estimate) for a channel the monitor did not see open.
func (c *channelState) shownOpenedAt() int64 {
	if t := timeNs(c.rec.NodeOpenedAt); t != 0 {
		return t
	}
	return c.openedAt
}

// openedAtSource is where shownOpenedAt comes from.
func (c *channelState) openedAtSource() OpenedAtSource {
	if c.rec.NodeOpenedAt.IsZero() {
		return OpenedAtSeen
	}
	return c.rec.OpenedAtSource
}
