package core

import (
	"context"
	"fmt"
	"sort"
	"time"
)

func (m *Monitor) appendGap(s, e int64) {
	m.gapStart = append(m.gapStart, s)
	m.gapEnd = append(m.gapEnd, e)
	m.gapCum = append(m.gapCum, m.gapCum[len(m.gapCum)-1]+e-s)
}

// openGap starts unmonitored time at t, or at the newest event applied if
// that is later (the node was evidently there to report it): every live
// peer log gets its staged event committed and a StateUnknown marker.
func (m *Monitor) openGap(t int64) {
	if m.gapOpen {
		return
	}
	t = max(t, m.lastTime)
	for _, p := range m.peers {
		if !p.tracked || p.openChans == 0 {
			continue
		}
		if p.hasStaged {
			p.commitEvent(p.staged)
			p.hasStaged = false
		}
		if p.loggedState() != StateUnknown {
			p.commitEvent(ev64{t, StateUnknown})
		}
		p.lastEvent = max(p.lastEvent, t)
		m.touch(p)
	}
	m.setHeartbeat(t)
	m.gapOpen, m.openGapStart = true, t
	m.lastTime = t
	if !m.stepping {
		m.log.Infof("node lost at %v: time until it is back is "+
			"unmonitored", nsTime(t))
	}
}

// closeGap ends unmonitored time at t. online gives each peer's state at
// t (nil: keep the last known states). Live peers get their state
// committed at t without counting a flap.
func (m *Monitor) closeGap(t int64, online map[PeerID]bool) {
	if !m.gapOpen {
		return
	}
	start := m.openGapStart
	if t < start {
		t = start
	}
	newest := t
	for _, p := range m.peers {
		if online != nil {
			p.setState(online[p.id], t)
			if !p.tracked {
				m.noteUntracked(p)
			}
		}
		if !p.tracked {
			continue
		}
		// An event applied during the gap may be stamped later
		// than t; the log must not go back in time.
		p.lastEvent = max(p.lastEvent, t)
		if p.openChans > 0 {
			p.commitEvent(ev64{p.lastEvent, p.state()})
			newest = max(newest, p.lastEvent)
		}
		m.touch(p)
	}
	if t > start {
		c := m.chg()
		c.q.b.Gaps = append(c.q.b.Gaps, Gap{Start: nsTime(start),
			End: nsTime(t)})
		m.appendGap(start, t)
	}
	m.setHeartbeat(t)
	m.gapOpen = false
	m.firstStart = false
	m.connectedSince = t
	m.lastTime = max(m.lastTime, newest)
	if !m.stepping {
		m.log.Infof("node connected at %v after %v unmonitored",
			nsTime(t), time.Duration(t-start))
	}
}

// setHeartbeat moves the heartbeat to t if that is later, and adds the
// meta record to the change under way.
func (m *Monitor) setHeartbeat(t int64) {
	m.heartbeat = max(m.heartbeat, t)
	m.chg().meta = true
}

// gapEdge returns the start of the open gap, or the time the node was
// last connected.
func (m *Monitor) gapEdge() int64 {
	if m.gapOpen {
		return m.openGapStart
	}
	return m.connectedSince
}

// NodeLost implements Sink.
func (m *Monitor) NodeLost(ctx context.Context, at time.Time) error {
	if !timeInRange(at) {
		return fmt.Errorf("%w: node lost at %v: time out of range",
			ErrBadInput, at)
	}
	m.mu.Lock()
	if err := m.usable(); err != nil {
		m.mu.Unlock()
		return err
	}
	now := m.observeClock()
	t := m.stamp(at, now)
	m.openGap(t)
	seq := m.commit()
	m.mu.Unlock()
	if err := m.await(ctx, seq); err != nil {
		return fmt.Errorf("record node lost at %v: %w", nsTime(t), err)
	}
	return nil
}

// gapBefore returns the closed-gap time before t.
func (m *Monitor) gapBefore(t int64) int64 {
	j := sort.Search(len(m.gapStart), func(i int) bool {
		return m.gapStart[i] >= t
	})
	if j == 0 {
		return 0
	}
	return m.gapCum[j-1] + min(t, m.gapEnd[j-1]) - m.gapStart[j-1]
}

// unmonitored returns the unmonitored time within [s, e], counting an
// open gap as lasting until now.
func (m *Monitor) unmonitored(s, e, now int64) int64 {
	if e <= s {
		return 0
	}
	u := m.gapBefore(e) - m.gapBefore(s)
	if m.gapOpen {
		gs, ge := max(s, m.openGapStart), min(e, now)
		if ge > gs {
			u += ge - gs
		}
	}
	return u
}
