// Package fleet is the view of several of our nodes at once: each peer
// as seen from every node of ours that has a channel with it. A peer
// offline from all our nodes at the same time was down; offline from one
// node only while another saw it online, the link between that node and
// the peer was. Per window it reports the peer's own availability (the
// union of our views) and each link's.
//
// It computes from the nodes' stored histories (see NodeHistory), read
// by the PostgreSQL store, and knows no database.
package fleet

import (
	"bytes"
	"slices"
	"sort"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// Windows are the windows the fleet view carries, in display order.
var Windows = []core.Window{
	{Name: "1d", Length: 24 * time.Hour},
	{Name: "7d", Length: 7 * 24 * time.Hour},
	{Name: "30d", Length: 30 * 24 * time.Hour},
}

// NodeHistory is what the view needs of one node's stored history.
type NodeHistory struct {
	Node core.PeerID

	// Until is how far the node's view reaches: now while its monitor
	// runs, else its last heartbeat. Past it the node saw nothing.
	Until time.Time

	// Live says whether the node's monitor runs now.
	Live bool

	// Peers are the node's peers with a channel record (open, or
	// closed and retained).
	Peers []PeerHistory
}

// PeerHistory is one node's view of a peer.
type PeerHistory struct {
	Peer core.PeerID

	// OpenChannels counts the node's open channels with the peer.
	OpenChannels int

	// Events are the peer's log events in time order, from the last
	// one before the widest window on, with the staged event (the
	// newest state, not yet committed) last. The state at a time is
	// that of the last event at or before it, unknown before the first.
	Events []core.LogEvent
}

// Report is the fleet view.
type Report struct {
	GeneratedAt core.Time    `json:"generated_at"`
	Nodes       []NodeReport `json:"nodes"`
	Peers       []PeerReport `json:"peers"`
}

// NodeReport is one of our nodes.
type NodeReport struct {
	NodeID core.PeerID `json:"node_id"`

	// Live says whether its monitor runs now; SeenUntil is how far its
	// history reaches.
	Live      bool      `json:"live"`
	SeenUntil core.Time `json:"seen_until"`
	Peers     int       `json:"peers"`
}

// PeerReport is one peer: its own availability, then each link.
type PeerReport struct {
	PeerID core.PeerID `json:"peer_id"`

	// Windows hold the peer's availability seen from all our nodes
	// together: up while any node saw it online, down while every node
	// that knew its state saw it offline.
	Windows map[string]PeerWindow `json:"windows"`

	Links []LinkReport `json:"links"`
}

// PeerWindow is a peer's availability over a window, as the union of
// our nodes' views.
type PeerWindow struct {
	// MonitoredSeconds is the time at least one node knew its state.
	MonitoredSeconds int64 `json:"monitored_seconds"`

	// UptimeSeconds is the time at least one node saw it online.
	UptimeSeconds int64 `json:"uptime_seconds"`

	// UptimeRatio is uptime over monitored time, null when nothing
	// was monitored.
	UptimeRatio *float64 `json:"uptime_ratio"`

	// DownSeconds is the time every node that knew its state saw it
	// offline: the peer itself was down.
	DownSeconds int64 `json:"down_seconds"`
}

// LinkReport is the link between one of our nodes and the peer.
type LinkReport struct {
	NodeID       core.PeerID `json:"node_id"`
	OpenChannels int         `json:"open_channels"`

	// Online is the state the node last saw, null when unknown.
	Online *bool `json:"online"`

	Windows map[string]LinkWindow `json:"windows"`
}

// LinkWindow is one link over a window.
type LinkWindow struct {
	MonitoredSeconds int64    `json:"monitored_seconds"`
	UptimeSeconds    int64    `json:"uptime_seconds"`
	UptimeRatio      *float64 `json:"uptime_ratio"`

	// LinkDownSeconds is the time this node saw the peer offline while
	// another of our nodes saw it online: the link, not the peer, was
	// down.
	LinkDownSeconds int64 `json:"link_down_seconds"`
}

// view is one node's view of a peer, ready for the sweep.
type view struct {
	node   int
	until  int64
	times  []int64
	states []core.State
}

// stateAt returns the view's state at t (the state of the last event at
// or before t), using and advancing the cursor i.
func (v *view) stateAt(t int64, i *int) core.State {
	if t >= v.until {
		return core.StateUnknown
	}
	for *i+1 < len(v.times) && v.times[*i+1] <= t {
		*i++
	}
	if *i >= len(v.times) || v.times[*i] > t {
		return core.StateUnknown
	}
	return v.states[*i]
}

// Compute builds the fleet view at now over Windows and any extra ones.
// Nodes and peers come ordered by id; a peer's links by node id.
func Compute(nodes []NodeHistory, now time.Time,
	extra ...core.Window) Report {

	windows := append(slices.Clone(Windows), extra...)
	nowNs := now.UnixNano()
	nodes = slices.Clone(nodes)
	sort.Slice(nodes, func(i, j int) bool {
		return bytes.Compare(nodes[i].Node[:], nodes[j].Node[:]) < 0
	})
	rep := Report{GeneratedAt: core.Time{Time: now.UTC()}}
	type link struct {
		node int
		ph   *PeerHistory
	}
	byPeer := make(map[core.PeerID][]link)
	for i := range nodes {
		n := &nodes[i]
		rep.Nodes = append(rep.Nodes, NodeReport{NodeID: n.Node,
			Live: n.Live, SeenUntil: core.Time{Time: n.Until.UTC()},
			Peers: len(n.Peers)})
		for j := range n.Peers {
			ph := &n.Peers[j]
			byPeer[ph.Peer] = append(byPeer[ph.Peer], link{i, ph})
		}
	}
	ids := make([]core.PeerID, 0, len(byPeer))
	for id := range byPeer {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		return bytes.Compare(ids[i][:], ids[j][:]) < 0
	})

	for _, id := range ids {
		links := byPeer[id]
		views := make([]view, len(links))
		pr := PeerReport{PeerID: id,
			Windows: make(map[string]PeerWindow, len(windows))}
		for k, l := range links {
			v := &views[k]
			v.node = l.node
			v.until = min(nodes[l.node].Until.UnixNano(), nowNs)
			v.times = make([]int64, len(l.ph.Events))
			v.states = make([]core.State, len(l.ph.Events))
			for e, ev := range l.ph.Events {
				v.times[e] = ev.Time.UnixNano()
				v.states[e] = ev.State
			}
			lr := LinkReport{NodeID: nodes[l.node].Node,
				OpenChannels: l.ph.OpenChannels,
				Windows: make(map[string]LinkWindow,
					len(windows))}
			if n := len(v.states); n > 0 &&
				v.states[n-1] != core.StateUnknown &&
				v.until >= nowNs {

				on := v.states[n-1] == core.StateOnline
				lr.Online = &on
			}
			pr.Links = append(pr.Links, lr)
		}
		for _, w := range windows {
			start := nowNs - int64(w.Length)
			if w.Length == 0 {
				start = earliest(views)
			}
			pw, lws := sweep(views, start, nowNs)
			pr.Windows[w.Name] = pw
			for k := range pr.Links {
				pr.Links[k].Windows[w.Name] = lws[k]
			}
		}
		rep.Peers = append(rep.Peers, pr)
	}
	return rep
}

func earliest(views []view) int64 {
	var t int64
	first := true
	for _, v := range views {
		if len(v.times) > 0 && (first || v.times[0] < t) {
			t, first = v.times[0], false
		}
	}
	return t
}

// sweep adds up the views over [start, end].
func sweep(views []view, start, end int64) (PeerWindow, []LinkWindow) {
	lws := make([]LinkWindow, len(views))
	var pw PeerWindow
	if end <= start {
		return pw, lws
	}
	// Every instant at which some view may change state.
	size := 2
	for _, v := range views {
		size += len(v.times) + 1
	}
	cuts := make([]int64, 0, size)
	cuts = append(cuts, start, end)
	for _, v := range views {
		if v.until > start && v.until < end {
			cuts = append(cuts, v.until)
		}
		lo := sort.Search(len(v.times), func(i int) bool {
			return v.times[i] > start
		})
		for _, t := range v.times[lo:] {
			if t >= end {
				break
			}
			cuts = append(cuts, t)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)

	cursor := make([]int, len(views))
	states := make([]core.State, len(views))
	for c := 0; c+1 < len(cuts); c++ {
		t, d := cuts[c], cuts[c+1]-cuts[c]
		known, up := false, false
		for k := range views {
			states[k] = views[k].stateAt(t, &cursor[k])
			switch states[k] {
			case core.StateOnline:
				known, up = true, true
			case core.StateOffline:
				known = true
			}
		}
		if !known {
			continue
		}
		pw.MonitoredSeconds += d
		if up {
			pw.UptimeSeconds += d
		} else {
			pw.DownSeconds += d
		}
		for k, s := range states {
			switch s {
			case core.StateOnline:
				lws[k].MonitoredSeconds += d
				lws[k].UptimeSeconds += d
			case core.StateOffline:
				lws[k].MonitoredSeconds += d
				if up {
					lws[k].LinkDownSeconds += d
				}
			}
		}
	}
	// The sums are in nanoseconds until here.
	pw.UptimeRatio = ratio(pw.UptimeSeconds, pw.MonitoredSeconds)
	pw.MonitoredSeconds /= int64(time.Second)
	pw.UptimeSeconds /= int64(time.Second)
	pw.DownSeconds /= int64(time.Second)
	for k := range lws {
		l := &lws[k]
		l.UptimeRatio = ratio(l.UptimeSeconds, l.MonitoredSeconds)
		l.MonitoredSeconds /= int64(time.Second)
		l.UptimeSeconds /= int64(time.Second)
		l.LinkDownSeconds /= int64(time.Second)
	}
	return pw, lws
}

func ratio(up, monitored int64) *float64 {
	if monitored <= 0 {
		return nil
	}
	r := float64(up) / float64(monitored)
	return &r
}
