package core

import (
	"context"
	"sort"
	"time"
)

// Report builds the report of q (README.md, "The report").
func (m *Monitor) Report(ctx context.Context, q ReportQuery) (Report, error) {
	head, err := ParseWindow(q.Window)
	if err != nil {
		return Report{}, err
	}
	windows := reportWindows(head)
	store := m.storeReport()

	m.settleClock()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.usable(); err != nil {
		return Report{}, err
	}
	if q.Peer != nil {
		if _, err := m.trackedPeer(*q.Peer); err != nil {
			return Report{}, err
		}
	}
	now := m.now()
	r := Report{
		GeneratedAt:     Time{nsTime(now)},
		MonitoringSince: Time{nsTime(m.monitoringSince)},
		UnmonitoredSeconds: seconds(time.Duration(
			m.unmonitored(m.monitoringSince, now, now))),
		Window:        head.Name,
		NodeConnected: !m.gapOpen,
		Store:         store,
		Channels:      []ChannelReport{},
		Peers:         []PeerReport{},
	}
	r.ClockSteps, r.LastClockStep = m.clockReport()
	r.FilledFromNode = m.filledReport()
	spans := m.nodeOutages(m.spanFrom(now), now)
	r.NodeOutages = nodeOutageReport(spans)
	chans, peers := m.reportSubjects(q.Peer)
	if q.PeersOnly {
		chans = nil
	}
	for i, c := range chans {
		if i%ctxEvery == 0 && ctx.Err() != nil {
			return Report{}, ctx.Err()
		}
		r.Channels = append(r.Channels, m.channelReport(c, windows,
			now))
	}
	figs := make([]verdictFigures, len(peers))
	for i, p := range peers {
		if i%ctxEvery == 0 && ctx.Err() != nil {
			return Report{}, ctx.Err()
		}
		pr := m.peerReport(p, windows, now)
		f, ok := m.figuresFromReport(&pr)
		if !ok || overlaps(spans, m.spanFrom(now), now) {
			f = m.figuresOf(p, now, spans)
		}
		figs[i] = f
		r.Peers = append(r.Peers, pr)
	}
	m.addVerdicts(&r, peers, figs, spans, q.Peer == nil, now)
	return r, nil
}

// addVerdicts judges the report's peers. The outlier rule compares each
// with every peer: those listed when the report covers all, else all
// the monitor holds.
func (m *Monitor) addVerdicts(r *Report, peers []*peerState,
	figs []verdictFigures, spans []nodeSpan, all bool, now int64) {

	popFigs := figs
	if !all {
		popFigs = m.allFigures(now, spans)
	}
	pop := m.verdictPopulation(popFigs)
	for i, p := range peers {
		r.Peers[i].Verdict, r.Peers[i].Reasons = m.judge(figs[i],
			cooledFlaps(p, now), forgivenFlaps(p, now, spans), pop)
	}
}

// ctxEvery is how many channels or peers a report builds between looks at
// its ctx.
const ctxEvery = 64

// storeReport is StoreStatus in the report's form.
func (m *Monitor) storeReport() StoreReport {
	st := m.StoreStatus()
	r := StoreReport{Writing: st.Writing, PendingBatches: st.PendingBatches,
		QueueFull: st.QueueFull}
	if st.Err != nil {
		s := st.Err.Error()
		r.Error = &s
	}
	return r
}

// reportWindows returns the presets, and head after them when it is not
// one of them.
func reportWindows(head Window) []Window {
	for _, w := range presetWindows {
		if w.Name == head.Name {
			return presetWindows[:]
		}
	}
	return append(append([]Window(nil), presetWindows[:]...), head)
}

// reportSubjects returns the channels a report lists (open first, then by
// open time and channel point) and the peers (those with open channels or
// a listed channel, by id); only those of peer when it is not nil.
func (m *Monitor) reportSubjects(peer *PeerID) ([]*channelState,
	[]*peerState) {

	chans := make([]*channelState, 0, len(m.channels))
	listed := make(map[PeerID]bool)
	for _, c := range m.channels {
		if peer != nil && c.rec.Peer != *peer {
			continue
		}
		chans = append(chans, c)
		listed[c.rec.Peer] = true
	}
	sort.Slice(chans, func(i, j int) bool {
		a, b := chans[i], chans[j]
		if a.open() != b.open() {
			return a.open()
		}
		if a.openedAt != b.openedAt {
			return a.openedAt < b.openedAt
		}
		return comparePoints(a.rec.Point, b.rec.Point) < 0
	})

	peers := make([]*peerState, 0, len(listed))
	for _, p := range m.peers {
		if !p.tracked || (peer != nil && p.id != *peer) {
			continue
		}
		if p.openChans > 0 || listed[p.id] {
			peers = append(peers, p)
		}
	}
	sort.Slice(peers, func(i, j int) bool {
		a, b := peers[i].id, peers[j].id
		return string(a[:]) < string(b[:])
	})
	return chans, peers
}

func (m *Monitor) channelReport(c *channelState, windows []Window,
	now int64) ChannelReport {

	p := m.peers[c.rec.Peer]
	info := m.channelInfo(c, now)
	cr := ChannelReport{
		ChannelPoint:    c.rec.Point.String(),
		PeerID:          c.rec.Peer.String(),
		Status:          "open",
		OpenedAt:        Time{info.OpenedAt},
		OpenedAtSource:  info.OpenedAtSource.String(),
		ClosedAt:        Time{info.ClosedAt},
		AgeSeconds:      seconds(info.Age),
		LifetimeSeconds: seconds(info.Lifetime),
		UptimeSeconds:   seconds(info.Uptime),
		UptimeRatio:     ratio(info.Uptime, info.Lifetime),
		Windows:         make(map[string]ChannelWindow, len(windows)),
	}
	if c.rec.ShortChannelID != "" {
		scid := c.rec.ShortChannelID
		cr.ShortChannelID = &scid
	}
	if info.AgeBlocks >= 0 {
		cr.AgeBlocks = &info.AgeBlocks
	}
	if !c.open() {
		cr.Status = "closed"
	}
	for _, w := range windows {
		f := figures{int64(info.Lifetime), int64(info.Uptime)}
		if w.Name != WindowLifetime {
			f = m.channelFigures(c, p, w, now)
		}
		cr.Windows[w.Name] = ChannelWindow{
			MonitoredSeconds: seconds(time.Duration(f.monitored)),
			UptimeSeconds:    seconds(time.Duration(f.uptime)),
			UptimeRatio: ratio(time.Duration(f.uptime),
				time.Duration(f.monitored)),
		}
	}
	return cr
}

func (m *Monitor) peerReport(p *peerState, windows []Window,
	now int64) PeerReport {

	pr := PeerReport{
		PeerID:       p.id.String(),
		Online:       p.online,
		Since:        Time{nsTime(p.stateSince)},
		OpenChannels: p.openChans,
		FlapCount:    p.flapCount,
		Windows:      make(map[string]PeerWindow, len(windows)),
		RecentEvents: m.recentEvents(p),
	}
	if p.hasLastFlap {
		pr.LastFlap = Time{nsTime(p.lastFlap)}
		pr.FlapCountDecayed = cooled(now, p.flapCount, p.lastFlap)
	}
	for _, w := range windows {
		start := p.trackedSince
		if w.Length > 0 {
			start = max(start, now-int64(w.Length))
		}
		f := m.peerWindow(p, start, now, now)
		pw := PeerWindow{
			MonitoredSeconds: seconds(time.Duration(f.monitored)),
			UptimeSeconds:    seconds(time.Duration(f.uptime)),
			UptimeRatio: ratio(time.Duration(f.uptime),
				time.Duration(f.monitored)),
			LongestOutageSeconds: seconds(time.Duration(f.outage)),
		}
		m.sampleFigures(&pw, p.id, start, now)
		pr.Windows[w.Name] = pw
	}
	return pr
}

// recentEvents lists a peer's most recent committed transitions, newest
// first. A state is a transition when it differs from the last state known
// before it: repeats are not, and neither is the same state recorded
// again after unobserved time.
func (m *Monitor) recentEvents(p *peerState) []RecentEvent {
	out := []RecentEvent{}
	tl := p.tl
	limit := m.cfg.RecentEvents
	// Bound the scan: long runs of repeats are not transitions.
	floor := max(tl.len()-64*limit, 0)
	for i := tl.len() - 1; i >= floor && len(out) < limit; i-- {
		s := tl.states[i]
		if s == StateUnknown {
			continue
		}
		j := i - 1
		for j >= 0 && tl.states[j] == StateUnknown {
			j--
		}
		if j >= 0 && tl.states[j] == s {
			continue
		}
		out = append(out, RecentEvent{
			Time:   Time{nsTime(tl.times[i])},
			Online: s == StateOnline,
		})
	}
	return out
}
