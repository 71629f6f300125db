package core

// Peers without channels.
//
// Anyone can connect to a public node, so the monitor must not keep every
// peer that ever connected. A peer with no channel (open, or closed and
// still retained) is untracked: the monitor holds only its last known
// state, which the peer's first channel starts from. Once such a peer is
// offline, it is remembered for Config.PeerGrace and then forgotten, so
// that memory follows the peers connected now and those that left within
// the grace period, not every peer ever seen. A forgotten peer whose
// channel opens later is one never heard of: taken as online, as lnd takes
// every new peer, until a snapshot or a notification says otherwise.

// forgetEntry is an untracked peer found offline at t.
type forgetEntry struct {
	id PeerID
	t  int64
}

// noteUntracked queues p to be forgotten when it is untracked and offline.
// Called after every state change of an untracked peer. A peer has at most
// one entry, so a stranger that flaps costs no more than one that leaves.
func (m *Monitor) noteUntracked(p *peerState) {
	if p.tracked || !p.stateKnown || p.online || p.forgetting {
		return
	}
	p.forgetting = true
	m.forget = append(m.forget, forgetEntry{id: p.id, t: p.lastEvent})
}

// forgetPeers forgets the untracked peers that have been offline, without
// a newer event, for the grace period by now. The queue is in the order
// the peers went offline, so each call looks at the expired entries only;
// a peer with a newer event goes to the back with its time.
func (m *Monitor) forgetPeers(now int64) {
	grace := int64(m.cfg.PeerGrace)
	n := 0
	for n < len(m.forget) && m.forget[n].t <= now-grace {
		e := m.forget[n]
		n++
		p, ok := m.peers[e.id]
		switch {
		case !ok:
		case p.tracked || !p.stateKnown || p.online:
			p.forgetting = false
		case p.lastEvent > e.t:
			m.forget = append(m.forget, forgetEntry{id: p.id,
				t: p.lastEvent})
		default:
			delete(m.peers, e.id)
		}
	}
	if n == 0 {
		return
	}
	// Drop the expired entries; copy the rest down once the dead head
	// outweighs them, so the queue's memory stays bounded too.
	m.forget = m.forget[n:]
	if cap(m.forget) > 64 && len(m.forget) < cap(m.forget)/4 {
		m.forget = append([]forgetEntry(nil), m.forget...)
	}
}
