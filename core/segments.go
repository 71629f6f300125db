package core

import (
	"context"
	"math"
	"sort"
	"time"
)

// Timeline segments: each peer's history over a window as runs of one
// state, for drawing (README.md, "The timeline page"). The runs come from
// the timeline's prefix sums, each found by binary search, so their cost
// grows with the number of segments returned, not with the history.

// Segment states.
const (
	SegmentOnline      = "online"
	SegmentOffline     = "offline"
	SegmentUnmonitored = "unmonitored"

	// SegmentUnstable is a stretch of runs each shorter than the
	// timeline's resolution, merged; its Flaps counts the changes
	// between online and offline in it.
	SegmentUnstable = "unstable"
)

// MaxTimelineSegments is the most segments a peer's timeline holds for
// any window.
const MaxTimelineSegments = 1000

// TimelineQuery selects the timelines Monitor.Timeline returns.
type TimelineQuery struct {
	// Peer limits the answer to one peer when set; otherwise every peer
	// a report lists is included.
	Peer *PeerID

	// Window is the window to cover (see ParseWindow); empty means
	// "lifetime", from the start of monitoring.
	Window string

	// MaxSegments bounds each peer's segments; zero, or more than
	// MaxTimelineSegments, means MaxTimelineSegments. The resolution
	// is the window divided by half of it.
	MaxSegments int

	// Outages is how many of each peer's newest outages in the window
	// to list (0: none).
	Outages int
}

// Timeline is the answer of Monitor.Timeline.
type Timeline struct {
	GeneratedAt Time   `json:"generated_at"`
	Window      string `json:"window"`
	Start       Time   `json:"start"`
	End         Time   `json:"end"`

	// Resolution is the length under which runs merge into unstable
	// segments.
	Resolution        time.Duration  `json:"-"`
	ResolutionSeconds float64        `json:"resolution_seconds"`
	Peers             []PeerTimeline `json:"peers"`
}

// PeerTimeline is one peer's segments over a Timeline's window. Time in
// the window that a segment does not cover is time in which the peer had
// no channel.
type PeerTimeline struct {
	PeerID   string        `json:"peer_id"`
	Segments []Segment     `json:"segments"`
	Channels []ChannelMark `json:"channels"`

	// OutageCount counts the outages that overlap the window; Outages
	// lists the newest of them, newest first, when the query asked.
	OutageCount int      `json:"outage_count"`
	Outages     []Outage `json:"outages,omitempty"`
}

// Segment is a run of one state in [Start, End).
type Segment struct {
	Start Time   `json:"start"`
	End   Time   `json:"end"`
	State string `json:"state"`
	Flaps int    `json:"flaps,omitempty"`
}

// ChannelMark is when one of the peer's channels opened and closed
// (ClosedAt zero while open).
type ChannelMark struct {
	ChannelPoint string `json:"channel_point"`
	OpenedAt     Time   `json:"opened_at"`
	ClosedAt     Time   `json:"closed_at"`
}

// Outage is one maximal offline run; Ongoing says it has not ended (End
// is then the time of the query).
type Outage struct {
	Start   Time `json:"start"`
	End     Time `json:"end"`
	Ongoing bool `json:"ongoing"`
}

// Timeline returns the segments of q's peers over q's window.
func (m *Monitor) Timeline(ctx context.Context,
	q TimelineQuery) (Timeline, error) {

	w, err := ParseWindow(q.Window)
	if err != nil {
		return Timeline{}, err
	}
	maxSeg := q.MaxSegments
	if maxSeg <= 0 || maxSeg > MaxTimelineSegments {
		maxSeg = MaxTimelineSegments
	}
	maxSeg = max(maxSeg, 2)

	m.settleClock()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.usable(); err != nil {
		return Timeline{}, err
	}
	if q.Peer != nil {
		if _, err := m.trackedPeer(*q.Peer); err != nil {
			return Timeline{}, err
		}
	}
	now := m.now()
	start := m.monitoringSince
	if w.Length > 0 {
		start = max(now-int64(w.Length), 0)
	}
	res := max((now-start)/int64(maxSeg/2), 1)
	tl := Timeline{
		GeneratedAt:       Time{nsTime(now)},
		Window:            w.Name,
		Start:             Time{nsTime(start)},
		End:               Time{nsTime(now)},
		Resolution:        time.Duration(res),
		ResolutionSeconds: time.Duration(res).Seconds(),
		Peers:             []PeerTimeline{},
	}
	chans, peers := m.reportSubjects(q.Peer)
	byPeer := make(map[PeerID][]*channelState, len(peers))
	for _, c := range chans {
		byPeer[c.rec.Peer] = append(byPeer[c.rec.Peer], c)
	}
	for i, p := range peers {
		if i%ctxEvery == 0 && ctx.Err() != nil {
			return Timeline{}, ctx.Err()
		}
		pt := PeerTimeline{
			PeerID:   p.id.String(),
			Segments: m.peerSegments(p, start, now, res, now),
			Channels: []ChannelMark{},
		}
		for _, c := range byPeer[p.id] {
			pt.Channels = append(pt.Channels, ChannelMark{
				ChannelPoint: c.rec.Point.String(),
				OpenedAt:     Time{nsTime(c.shownOpenedAt())},
				ClosedAt:     Time{nsTime(c.closedAt)},
			})
		}
		pt.OutageCount, pt.Outages = p.view(now).outages(start, now,
			q.Outages)
		tl.Peers = append(tl.Peers, pt)
	}
	return tl, nil
}

// segBuilder collects segments in unix ns, merging neighbours of one
// state.
type segBuilder struct {
	segs []Segment
	ends []int64 // each segment's end in ns, for merging
}

func (b *segBuilder) add(s, e int64, state string, flaps int) {
	if e <= s {
		return
	}
	n := len(b.segs)
	if n > 0 && b.ends[n-1] == s && b.segs[n-1].State == state {
		b.segs[n-1].End = Time{nsTime(e)}
		b.segs[n-1].Flaps += flaps
		b.ends[n-1] = e
		return
	}
	b.segs = append(b.segs, Segment{Start: Time{nsTime(s)},
		End: Time{nsTime(e)}, State: state, Flaps: flaps})
	b.ends = append(b.ends, e)
}

// segmentState names a logged state as a segment state.
func segmentState(s State) string {
	switch s {
	case StateOnline:
		return SegmentOnline
	case StateOffline:
		return SegmentOffline
	}
	return SegmentUnmonitored
}

// peerSegments returns p's segments in [start, end) at resolution res.
// A run of at least res is a segment of its state, and so is a shorter
// run between two such runs; other short runs merge into an unstable
// segment that ends where a run of at least res starts. Each segment but
// the last is at least res long or followed by one that is, so there are
// at most about 2*(end-start)/res of them.
func (m *Monitor) peerSegments(p *peerState, start, end, res,
	now int64) []Segment {

	v := p.view(now)
	var b segBuilder
	t := max(start, p.trackedSince)
	for t < end {
		s, _, e := v.runAt(t)
		if e <= t || e > end {
			e = end
		}
		if e-t >= res || e == end {
			if s == StateUnknown {
				m.unmonitoredSegments(&b, t, e, res, now)
			} else {
				b.add(t, e, segmentState(s), 0)
			}
			t = e
			continue
		}
		// A short run between long ones keeps its state.
		if _, rs, re := v.runAt(e); re-rs >= res || re >= end {
			if s == StateUnknown {
				m.unmonitoredSegments(&b, t, e, res, now)
			} else {
				b.add(t, e, segmentState(s), 0)
			}
			t = e
			continue
		}
		// Runs shorter than res from t on: probe every res for a
		// long run, and stop at its start.
		stop := end
		for u := t + res; u < end; u += res {
			_, rs, re := v.runAt(u)
			if re-rs >= res || re >= end {
				stop = max(rs, t+1)
				break
			}
		}
		b.add(t, stop, SegmentUnstable, v.flipsBefore(stop)-
			v.flipsBefore(t))
		t = stop
	}
	if b.segs == nil {
		return []Segment{}
	}
	return b.segs
}

// unmonitoredSegments adds the monitor's unmonitored time within [s, e),
// a run in which the peer's state is unknown, as unmonitored segments;
// the rest of the run (the peer had no channel) gets none. Pieces less
// than res apart are drawn as one.
func (m *Monitor) unmonitoredSegments(b *segBuilder, s, e, res,
	now int64) {

	ps, pe := int64(-1), int64(-1)
	flush := func() {
		if ps >= 0 {
			b.add(ps, pe, SegmentUnmonitored, 0)
		}
	}
	piece := func(gs, ge int64) {
		gs, ge = max(gs, s), min(ge, e)
		if ge <= gs {
			return
		}
		if ps >= 0 && gs-pe < res {
			pe = ge
			return
		}
		flush()
		ps, pe = gs, ge
	}
	j := sort.Search(len(m.gapEnd), func(i int) bool {
		return m.gapEnd[i] > s
	})
	for ; j < len(m.gapStart) && m.gapStart[j] < e; j++ {
		piece(m.gapStart[j], m.gapEnd[j])
	}
	if m.gapOpen {
		piece(m.openGapStart, now)
	}
	flush()
}

// gauge returns, for state s, a non-decreasing function of the event index
// that stays constant exactly while the time between events is spent in s:
// the time not in s from the first event to event j.
func (tl *timeline) gauge(s State) func(int) int64 {
	switch s {
	case StateOnline:
		return func(j int) int64 { return tl.times[j] - tl.cumOn[j] }
	case StateOffline:
		return func(j int) int64 {
			return tl.times[j] - tl.cumKnown[j] + tl.cumOn[j]
		}
	}
	return func(j int) int64 { return tl.cumKnown[j] }
}

// runAt returns the state at t (before now) and the start and end of the
// run of that state around it, the end clipped to now. Before the first
// event the state is unknown from the start of time. Runs of zero length
// are not seen.
func (v *view) runAt(t int64) (s State, start, end int64) {
	tl := v.tl
	n := 0
	if tl != nil {
		n = tl.len()
	}
	if v.staged && t >= v.stagedT {
		s, start = v.stagedS, v.stagedT
		if n > 0 && tl.states[n-1] == s {
			_, start, _ = v.committedRun(n - 1)
		}
		return s, start, v.now
	}
	i := v.lastAtOrBefore(t)
	if i < 0 {
		end = v.now
		switch {
		case n > 0:
			end = tl.times[0]
		case v.staged:
			end = v.stagedT
		}
		return StateUnknown, math.MinInt64, min(end, v.now)
	}
	return v.committedRun(i)
}

// committedRun returns the state of committed event i and the run of it
// that i's time lies in.
func (v *view) committedRun(i int) (s State, start, end int64) {
	tl := v.tl
	n := tl.len()
	s = tl.states[i]
	g := tl.gauge(s)
	gi := g(i)
	start = tl.times[searchDown(0, i+1, func(j int) bool {
		return g(j) >= gi
	})]
	if i == 0 && s == StateUnknown {
		start = math.MinInt64
	}
	j := searchUp(i+1, n, func(j int) bool { return g(j) > gi })
	switch {
	case j < n:
		end = tl.times[j-1]
	case tl.states[n-1] != s:
		end = tl.times[n-1]
	case v.staged && v.stagedS != s:
		end = v.stagedT
	default:
		end = v.now
	}
	return s, start, min(end, v.now)
}

// lastAtOrBefore returns the index of the last committed event at or
// before t (-1: none), searching forward from v.cur when t is not before
// it, as the probes of peerSegments are.
func (v *view) lastAtOrBefore(t int64) int {
	tl := v.tl
	n := tl.len()
	after := func(j int) bool { return tl.times[j] > t }
	var i int
	if v.cur < n && tl.times[v.cur] <= t {
		i = searchUp(v.cur, n, after) - 1
	} else {
		i = sort.Search(n, after) - 1
	}
	v.cur = max(i, 0)
	return i
}

// searchUp is sort.Search over [lo, hi) for an answer likely close to
// lo: it looks at lo+1, lo+3, lo+7, ... before searching the last step,
// so that its cost grows with the log of the distance, in memory near lo.
func searchUp(lo, hi int, f func(int) bool) int {
	for d := 1; ; d *= 2 {
		j := lo + d
		if j >= hi {
			break
		}
		if f(j) {
			hi = j + 1
			break
		}
		lo = j + 1
	}
	return lo + sort.Search(hi-lo, func(k int) bool { return f(lo + k) })
}

// searchDown is sort.Search over [lo, hi) for an answer likely close to
// hi, looking down from it as searchUp looks up.
func searchDown(lo, hi int, f func(int) bool) int {
	for d := 1; ; d *= 2 {
		j := hi - 1 - d
		if j < lo {
			break
		}
		if !f(j) {
			lo = j + 1
			break
		}
		hi = j + 1
	}
	return lo + sort.Search(hi-lo, func(k int) bool { return f(lo + k) })
}

// flipsBefore counts the flips (changes between online and offline) of
// the events before t.
func (v view) flipsBefore(t int64) int {
	tl := v.tl
	if tl == nil {
		return 0
	}
	i := sort.Search(tl.len(), func(j int) bool {
		return tl.times[j] >= t
	}) - 1
	f := 0
	if i >= 0 {
		f = int(tl.cumFlips[i])
	}
	if v.staged && v.stagedT < t && v.stagedS != StateUnknown &&
		tl.lastKnown != StateUnknown && v.stagedS != tl.lastKnown {

		f++
	}
	return f
}

// outages counts the outages overlapping [start, end) and lists the
// newest limit of them, newest first.
func (v view) outages(start, end int64, limit int) (int, []Outage) {
	tl := v.tl
	if tl == nil || !v.hasEvents {
		return 0, nil
	}
	var out []Outage
	count := 0
	add := func(s, e int64, ongoing bool) {
		count++
		if len(out) < limit {
			out = append(out, Outage{Start: Time{nsTime(s)},
				End: Time{nsTime(e)}, Ongoing: ongoing})
		}
	}
	// The outage still open among committed events, possibly ended by
	// the staged event, or one the staged event starts.
	switch {
	case tl.runStart >= 0:
		s := tl.times[tl.runStart]
		if v.staged && v.stagedS != StateOffline {
			if v.stagedT > start && s < end {
				add(s, v.stagedT, false)
			}
		} else if v.now > start && s < end {
			add(s, v.now, true)
		}
	case v.staged && v.stagedS == StateOffline:
		if v.now > start && v.stagedT < end {
			add(v.stagedT, v.now, true)
		}
	}
	ends := len(tl.outEnd)
	lo := sort.Search(ends, func(k int) bool {
		return tl.times[tl.outEnd[k]] > start
	})
	hi := sort.Search(ends, func(k int) bool {
		return tl.times[tl.outStart[k]] >= end
	})
	count += max(hi-lo, 0)
	for k := hi - 1; k >= lo && len(out) < limit; k-- {
		out = append(out, Outage{
			Start: Time{nsTime(tl.times[tl.outStart[k]])},
			End:   Time{nsTime(tl.times[tl.outEnd[k]])},
		})
	}
	return count, out
}
