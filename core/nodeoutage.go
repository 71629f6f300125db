package core

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"time"
)

// Node outages: when our own node loses its connection (its internet
// link, Tor), every peer goes offline at once. A span in which more than
// half of the channel peers, and at least NodeOutageMinPeers of them, are
// offline at once is taken for such an outage: the verdicts do not count
// it against the peers, and the alerts raise no offline alert during it
// (docs/verdicts.md, "Our own outages"). The spans are found in the
// peers' histories, so they are the same after a restart and in a
// history filled from the node's records.

// NodeOutageMinPeers is the fewest channel peers among which most being
// offline at once is taken for an outage of our own node.
const NodeOutageMinPeers = 4

// NodeOutageGone is how long a peer is offline before it no longer
// counts among the channel peers of a node outage: a peer long gone
// (a zombie channel) would make any other peer's drop look like ours.
// A node outage longer than this ends when its peers stop counting.
const NodeOutageGone = 48 * time.Hour

// NodeOutage is a span in which most channel peers were offline at once.
type NodeOutage struct {
	Start Time `json:"start"`

	// End is when at most half were offline again, or the report's
	// time while Ongoing.
	End     Time  `json:"end"`
	Seconds int64 `json:"seconds"`

	// PeersOffline is the most channel peers offline at once in the
	// span; Peers the channel peers counted at that moment (monitored,
	// and not offline for NodeOutageGone).
	PeersOffline int  `json:"peers_offline"`
	Peers        int  `json:"peers"`
	Ongoing      bool `json:"ongoing"`
}

// nodeSpan is a node outage in the monitor's time.
type nodeSpan struct {
	s, e    int64
	off, n  int
	ongoing bool
}

// isNodeOutage says whether off of n monitored channel peers offline is
// an outage of our own node.
func isNodeOutage(off, n int) bool {
	return n >= NodeOutageMinPeers && 2*off > n
}

// spanFrom returns the start of the time the verdicts look at.
func (m *Monitor) spanFrom(now int64) int64 {
	return now - int64(max(m.verdict.Window, recentWindow))
}

// nodeOutages returns the node outages within [from, now], oldest
// first, one cut at from starting there. A peer counts at a time when
// its state then is known (it had a channel and was monitored) and it
// has not been offline for NodeOutageGone.
func (m *Monitor) nodeOutages(from, now int64) []nodeSpan {
	type change struct {
		t          int64
		known, off int8
	}
	// Room for every event in the window, so that the list is not
	// copied as it grows.
	room := 0
	for _, p := range m.peers {
		if p.tracked && p.tl != nil {
			tl := p.tl
			room += 2 + tl.len() - sort.Search(tl.len(),
				func(j int) bool { return tl.times[j] > from })
		}
	}
	chs := make([]change, 0, room)
	known, off := 0, 0
	weigh := func(s State) (int8, int8) {
		switch s {
		case StateOnline:
			return 1, 0
		case StateOffline:
			return 1, 1
		}
		return 0, 0
	}
	gone := int64(NodeOutageGone)
	for _, p := range m.peers {
		if !p.tracked || p.tl == nil {
			continue
		}
		// The state at a time is that of the last event at or
		// before it (the staged one the newest); an offline peer
		// stops counting once it has been offline NodeOutageGone.
		v := p.view(now)
		state, since, _ := v.runAt(from)
		k, o := weigh(state)
		expire := int64(math.MaxInt64)
		if state == StateOffline {
			expire = since + gone
			if expire <= from {
				k, o, expire = 0, 0, math.MaxInt64
			}
		}
		known += int(k)
		off += int(o)
		set := func(t int64, nk, no int8) {
			if nk != k || no != o {
				chs = append(chs, change{t, nk - k, no - o})
				k, o = nk, no
			}
		}
		step := func(t int64, s State) {
			if expire <= t {
				set(expire, 0, 0)
				expire = math.MaxInt64
			}
			if s == state {
				return
			}
			state = s
			nk, no := weigh(s)
			set(t, nk, no)
			expire = math.MaxInt64
			if s == StateOffline {
				expire = t + gone
			}
		}
		tl := p.tl
		n := tl.len()
		i := sort.Search(n, func(j int) bool {
			return tl.times[j] > from
		})
		if p.hasStaged && p.staged.t <= from {
			i = n
		}
		for ; i < n && tl.times[i] <= now; i++ {
			step(tl.times[i], tl.states[i])
		}
		if p.hasStaged && p.staged.t > from && p.staged.t <= now {
			step(p.staged.t, p.staged.s)
		}
		if expire <= now {
			set(expire, 0, 0)
		}
	}
	slices.SortFunc(chs, func(a, b change) int {
		return cmp.Compare(a.t, b.t)
	})

	var out []nodeSpan
	var cur *nodeSpan
	note := func(t int64) {
		in := isNodeOutage(off, known)
		switch {
		case in && cur == nil:
			out = append(out, nodeSpan{s: t})
			cur = &out[len(out)-1]
		case !in && cur != nil:
			cur.e = t
			cur = nil
		}
		if cur != nil && off > cur.off {
			cur.off, cur.n = off, known
		}
	}
	note(from)
	for i := 0; i < len(chs); {
		t := chs[i].t
		for ; i < len(chs) && chs[i].t == t; i++ {
			known += int(chs[i].known)
			off += int(chs[i].off)
		}
		note(t)
	}
	if cur != nil {
		cur.e, cur.ongoing = now, true
	}
	return out
}

// nodeOutageReport is spans in the report's form.
func nodeOutageReport(spans []nodeSpan) []NodeOutage {
	out := make([]NodeOutage, 0, len(spans))
	for _, sp := range spans {
		out = append(out, NodeOutage{
			Start:        Time{nsTime(sp.s)},
			End:          Time{nsTime(sp.e)},
			Seconds:      seconds(time.Duration(sp.e - sp.s)),
			PeersOffline: sp.off,
			Peers:        sp.n,
			Ongoing:      sp.ongoing,
		})
	}
	return out
}

// overlaps says whether any span overlaps [start, end].
func overlaps(spans []nodeSpan, start, end int64) bool {
	for _, sp := range spans {
		if sp.s < end && sp.e > start {
			return true
		}
	}
	return false
}

// ownWindow returns p's figures over [start, now] with the node outages
// taken out: their online and monitored time, and the outages cut at
// their edges as at unmonitored time.
func (m *Monitor) ownWindow(p *peerState, start, now int64,
	spans []nodeSpan) peerFigures {

	start = max(start, p.trackedSince)
	f := m.peerWindow(p, start, now, now)
	if !overlaps(spans, start, now) {
		return f
	}
	v := p.view(now)
	prev := start
	var longest int64
	for _, sp := range spans {
		a, b := max(sp.s, start), min(sp.e, now)
		if b <= a {
			continue
		}
		on, known := v.span(a, b)
		f.uptime -= on
		f.monitored -= known
		longest = max(longest, v.longestOutage(prev, a))
		prev = b
	}
	f.outage = max(longest, v.longestOutage(prev, now))
	return f
}

// forgivenFlaps returns how many of p's flaps, cooled to now, the node
// outages account for: the drop and the return of each of p's outages
// that overlaps one (its flips through the span included, as each
// bounds an outage inside it).
//
// Each flip is cooled as lnd cools the count (coolFor), over the idle
// times between the flips of p's history after it. That history is
// rate limited, so its idle times are at least lnd's: each flip is
// cooled at least as much as lnd's count cooled it, and no more is
// forgiven than the outages added.
func forgivenFlaps(p *peerState, now int64, spans []nodeSpan) int {
	if p.tl == nil || len(spans) == 0 {
		return 0
	}
	next := now
	if p.hasLastFlap {
		next = p.lastFlap
	}
	w := coolFor(now - next)
	var sum float64

	// Walk the flips newest first, cooling as we go back. A return
	// waits for its drop to know whether their outage overlaps a
	// span; a drop with no return after it is an outage until now.
	k := len(spans) - 1
	back, backW := now, 0.0
	first := spans[0].s
	flip := func(t int64, s State) bool {
		w *= coolFor(next - t)
		next = t
		if s == StateOnline {
			if t < first {
				return false
			}
			back, backW = t, w
			return true
		}
		for k >= 0 && spans[k].s > back {
			k--
		}
		if k >= 0 && spans[k].e >= t {
			sum += w + backW
		}
		back, backW = t, 0
		return t >= first
	}
	tl := p.tl
	n := tl.len()
	if p.hasStaged && p.staged.s != StateUnknown &&
		tl.lastKnown != StateUnknown && p.staged.s != tl.lastKnown {

		if !flip(p.staged.t, p.staged.s) {
			return int(sum)
		}
	}
	for i := n - 1; i > 0; i-- {
		if tl.cumFlips[i] > tl.cumFlips[i-1] &&
			!flip(tl.times[i], tl.states[i]) {

			break
		}
	}
	return int(sum)
}

// coolFor is what is left of a flap count after idle ns without a flap,
// as cooled computes it.
func coolFor(idle int64) float64 {
	if idle < int64(CooldownPeriod) {
		return 1
	}
	return math.Pow(CooldownFactor, float64(idle)/float64(CooldownPeriod))
}
