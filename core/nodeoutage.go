package core

import (
	"math"
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

// NodeOutage is a span in which most channel peers were offline at once.
type NodeOutage struct {
	Start Time `json:"start"`

	// End is when at most half were offline again, or the report's
	// time while Ongoing.
	End     Time  `json:"end"`
	Seconds int64 `json:"seconds"`

	// PeersOffline is the most channel peers offline at once in the
	// span; Peers the channel peers monitored at that moment.
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
// its state then is known: it had a channel and was monitored.
func (m *Monitor) nodeOutages(from, now int64) []nodeSpan {
	type change struct {
		t          int64
		known, off int
	}
	var chs []change
	known, off := 0, 0
	weigh := func(s State) (int, int) {
		switch s {
		case StateOnline:
			return 1, 0
		case StateOffline:
			return 1, 1
		}
		return 0, 0
	}
	for _, p := range m.peers {
		if !p.tracked || p.tl == nil {
			continue
		}
		v := p.view(now)
		if !v.hasEvents {
			continue
		}
		s, _, e := v.runAt(from)
		k, o := weigh(s)
		known += k
		off += o
		for e > from && e < now {
			ns, _, ne := v.runAt(e)
			nk, no := weigh(ns)
			if nk != k || no != o {
				chs = append(chs, change{e, nk - k, no - o})
			}
			k, o = nk, no
			if ne <= e {
				break
			}
			e = ne
		}
	}
	sort.Slice(chs, func(i, j int) bool { return chs[i].t < chs[j].t })

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
			known += chs[i].known
			off += chs[i].off
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
// outages account for: the flips of p's state from the start of the
// outage p was in when a span began (or the span's start) to the end of
// the one it was in when the span ended (or the span's end). Each is
// cooled as if no flap came after it, which cools it at least as much
// as lnd's count does, so that no more is forgiven than the outages
// added.
func forgivenFlaps(p *peerState, now int64, spans []nodeSpan) int {
	if p.tl == nil || len(spans) == 0 {
		return 0
	}
	v := p.view(now)
	var sum float64
	done := int64(math.MinInt64)
	for _, sp := range spans {
		a, b := sp.s, sp.e
		if s, rs, _ := v.runAt(a); s == StateOffline {
			a = rs
		}
		if b < now {
			if s, _, re := v.runAt(b); s == StateOffline {
				b = re
			}
		}
		a = max(a, done+1)
		if b < a {
			continue
		}
		done = b
		n := v.flipsBefore(b+1) - v.flipsBefore(a)
		if n <= 0 {
			continue
		}
		w := 1.0
		if idle := now - a; idle >= int64(CooldownPeriod) {
			w = math.Pow(CooldownFactor,
				float64(idle)/float64(CooldownPeriod))
		}
		sum += float64(n) * w
	}
	return int(sum)
}
