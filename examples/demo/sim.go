package main

import (
	"context"
	"math/rand"
	"sort"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/clock"
)

// Peer behaviours of the simulation.
const (
	kindSteady     = "steady"
	kindFlaky      = "flaky"
	kindTor        = "tor-flapper"
	kindLongOutage = "long-outage"
	kindClosed     = "closed-channel"
	kindLastDay    = "bad-last-day"
	kindLate       = "late-open"
)

// mix is how many peers of each behaviour the node has (50 in all).
var mix = []struct {
	kind string
	n    int
}{
	{kindSteady, 33}, {kindFlaky, 8}, {kindTor, 3}, {kindLongOutage, 1},
	{kindClosed, 2}, {kindLastDay, 1}, {kindLate, 2},
}

type simPeer struct {
	id      core.PeerID
	kind    string
	channel core.ChannelPoint
	scid    string
}

// simEvent is one thing that happens on the simulated node.
type simEvent struct {
	at   time.Time
	ev   core.Event
	peer *simPeer
}

// simNode is a node whose peers connect and disconnect on a schedule
// drawn up front; phases of it feed monitors as an EventSource.
type simNode struct {
	peers   []*simPeer
	events  []simEvent
	next    int
	online  map[core.PeerID]bool
	open    map[core.ChannelPoint]*simPeer
	applied int
}

func newSimNode(seed int64, start, end time.Time) *simNode {
	rng := rand.New(rand.NewSource(seed))
	n := &simNode{
		online: make(map[core.PeerID]bool),
		open:   make(map[core.ChannelPoint]*simPeer),
	}
	days := end.Sub(start).Hours() / 24
	for _, m := range mix {
		for i := 0; i < m.n; i++ {
			p := &simPeer{kind: m.kind}
			p.id[0] = 0x02 + byte(rng.Intn(2))
			rng.Read(p.id[1:])
			rng.Read(p.channel.Txid[:])
			p.channel.Index = uint32(rng.Intn(3))
			p.scid = scid(rng, len(n.peers))
			n.peers = append(n.peers, p)
			n.schedule(rng, p, start, end, days)
		}
	}
	sort.SliceStable(n.events, func(i, j int) bool {
		return n.events[i].at.Before(n.events[j].at)
	})
	return n
}

func scid(rng *rand.Rand, i int) string {
	return core.FormatSCID(860000+uint32(rng.Intn(60000)),
		uint32(1+rng.Intn(3000)), uint16(i%2))
}

// schedule draws a peer's events over [start, end].
func (n *simNode) schedule(rng *rand.Rand, p *simPeer, start, end time.Time,
	days float64) {

	add := func(at time.Time, typ core.EventType) {
		if at.Before(start) || !at.Before(end) {
			return
		}
		n.events = append(n.events, simEvent{at: at, peer: p,
			ev: core.Event{Type: typ, Peer: p.id,
				Channel: p.channel, ShortChannelID: p.scid}})
	}
	// outage adds a disconnect at `at` lasting d.
	outage := func(at time.Time, d time.Duration) {
		add(at, core.PeerOffline)
		add(at.Add(d), core.PeerOnline)
	}
	span := end.Sub(start)
	randAt := func(from, to time.Duration) time.Time {
		return start.Add(from + time.Duration(rng.Int63n(int64(to-from))))
	}
	minutes := func(lo, hi int) time.Duration {
		return time.Duration(lo+rng.Intn(hi-lo)) * time.Minute
	}

	opened := start
	switch p.kind {
	case kindLate:
		// A week before the end: too new to judge.
		opened = end.Add(-7 * 24 * time.Hour)
		add(opened, core.ChannelOpened)
	}
	// Every peer starts online at the beginning of the simulation.
	n.online[p.id] = true
	if p.kind != kindLate {
		n.open[p.channel] = p
	}

	switch p.kind {
	case kindSteady, kindLate:
		// About one short blip a week.
		for i := 0; i < int(days/7)+1; i++ {
			outage(randAt(opened.Sub(start), span), minutes(1, 10))
		}
	case kindFlaky:
		// Several outages a day of 5 to 90 minutes.
		for i := 0; i < int(days*3); i++ {
			outage(randAt(0, span), minutes(5, 90))
		}
	case kindTor:
		// Drops every few minutes, back within seconds.
		for at := start; at.Before(end); at = at.Add(minutes(3, 12)) {
			outage(at, time.Duration(2+rng.Intn(20))*time.Second)
		}
	case kindLongOutage:
		outage(start.Add(span*2/5), 72*time.Hour)
	case kindClosed:
		outage(randAt(0, span/2), minutes(10, 60))
		add(start.Add(span*2/3), core.ChannelClosed)
	case kindLastDay:
		for i := 0; i < 2; i++ {
			outage(randAt(0, span-24*time.Hour), minutes(1, 5))
		}
		last := span - 24*time.Hour
		for i := 0; i < 12; i++ {
			outage(randAt(last, span-time.Hour), minutes(10, 40))
		}
	}
}

// simPhase replays the node's events in [from, to) into a monitor; events
// before from happen on the node unobserved.
type simPhase struct {
	node     *simNode
	clk      *clock.TestClock
	from, to time.Time
	done     chan error
}

func (n *simNode) phase(clk *clock.TestClock, from, to time.Time) *simPhase {
	return &simPhase{node: n, clk: clk, from: from, to: to,
		done: make(chan error, 1)}
}

// Run implements core.EventSource.
func (s *simPhase) Run(ctx context.Context, sink core.Sink) error {
	err := s.run(ctx, sink)
	s.done <- err
	return err
}

func (s *simPhase) run(ctx context.Context, sink core.Sink) error {
	n := s.node
	// The node carries on while no monitor watches it.
	for ; n.next < len(n.events) && n.events[n.next].at.Before(s.from); n.next++ {
		n.happen(n.events[n.next])
	}
	s.clk.SetTime(s.from)
	if err := sink.Sync(ctx, n.snapshot(s.from)); err != nil {
		return err
	}
	for ; n.next < len(n.events) && n.events[n.next].at.Before(s.to); n.next++ {
		e := n.events[n.next]
		n.happen(e)
		s.clk.SetTime(e.at)
		ev := e.ev
		ev.Time = e.at
		if err := sink.Apply(ctx, ev); err != nil {
			return err
		}
		n.applied++
	}
	s.clk.SetTime(s.to)
	return nil
}

// happen updates the node's own view.
func (n *simNode) happen(e simEvent) {
	switch e.ev.Type {
	case core.PeerOnline:
		n.online[e.peer.id] = true
	case core.PeerOffline:
		n.online[e.peer.id] = false
	case core.ChannelOpened:
		n.open[e.peer.channel] = e.peer
	case core.ChannelClosed:
		delete(n.open, e.peer.channel)
	}
}

// snapshot is what the node would list at t.
func (n *simNode) snapshot(t time.Time) core.Snapshot {
	snap := core.Snapshot{Time: t}
	for _, p := range n.peers {
		if n.online[p.id] {
			snap.OnlinePeers = append(snap.OnlinePeers, p.id)
		}
		if n.open[p.channel] == p {
			snap.Channels = append(snap.Channels, core.SnapshotChannel{
				Point: p.channel, Peer: p.id, ShortChannelID: p.scid,
			})
		}
	}
	return snap
}
