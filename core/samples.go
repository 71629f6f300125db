package core

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// PingSpacing is the closest two pings of one peer are kept: a node that
// pings more often does not grow the history faster.
const PingSpacing = time.Minute

// peerSamples are the samples kept of one peer, each list in time order.
type peerSamples struct {
	pings []pingSample
	fails []int64
}

type pingSample struct {
	t   int64
	rtt time.Duration
}

// validSamples checks samples for a known kind, a peer, a representable
// time and a ping's round trip that is not negative.
func validSamples(samples []PeerSample) error {
	for i, s := range samples {
		switch {
		case s.Kind != SamplePing && s.Kind != SampleConnectFail:
			return fmt.Errorf("%w: sample %d: kind %d unknown",
				ErrBadInput, i, s.Kind)
		case s.Peer.IsZero():
			return fmt.Errorf("%w: sample %d without a peer",
				ErrBadInput, i)
		case s.Time.IsZero() || !timeInRange(s.Time):
			return fmt.Errorf("%w: sample %d: time %v out of range",
				ErrBadInput, i, s.Time)
		case s.RTT < 0:
			return fmt.Errorf("%w: sample %d: round trip %v is "+
				"negative", ErrBadInput, i, s.RTT)
		}
	}
	return nil
}

// AddSamples implements HistorySink.
func (m *Monitor) AddSamples(ctx context.Context,
	samples []PeerSample) error {

	if err := validSamples(samples); err != nil {
		return err
	}
	m.mu.Lock()
	if err := m.usable(); err != nil {
		m.mu.Unlock()
		return err
	}
	m.addSamples(samples)
	seq := m.commit()
	m.mu.Unlock()
	if err := m.await(ctx, seq); err != nil {
		return fmt.Errorf("record %d samples: %w", len(samples), err)
	}
	return nil
}

// addSamples keeps the samples that are new, not older than MaxHistory,
// not more than an hour ahead of the monitor's time (a node's clock set
// wrong) and, for a ping, not within PingSpacing of one kept. Callers
// hold mu.
func (m *Monitor) addSamples(samples []PeerSample) {
	if len(samples) == 0 {
		return
	}
	now := m.now()
	cut, ahead := now-int64(MaxHistory), now+int64(time.Hour)
	sorted := slices.Clone(samples)
	slices.SortStableFunc(sorted, func(a, b PeerSample) int {
		return a.Time.Compare(b.Time)
	})
	var kept []PeerSample
	for _, s := range sorted {
		t := timeNs(s.Time)
		if t < cut || t > ahead {
			continue
		}
		ps := m.samples[s.Peer]
		if ps == nil {
			ps = &peerSamples{}
			m.samples[s.Peer] = ps
		}
		if ps.add(s.Kind, t, s.RTT) {
			kept = append(kept, s)
		}
	}
	if len(kept) > 0 {
		c := m.chg()
		c.q.b.Samples = append(c.q.b.Samples, kept...)
	}
}

// add keeps one sample unless it is already there (or, for a ping, one
// is within PingSpacing of it), and reports whether it did.
func (ps *peerSamples) add(kind SampleKind, t int64, rtt time.Duration) bool {
	if kind == SampleConnectFail {
		i, found := slices.BinarySearch(ps.fails, t)
		if found {
			return false
		}
		ps.fails = slices.Insert(ps.fails, i, t)
		return true
	}
	i := sort.Search(len(ps.pings), func(i int) bool {
		return ps.pings[i].t >= t
	})
	near := func(j int) bool {
		if j < 0 || j >= len(ps.pings) {
			return false
		}
		d := ps.pings[j].t - t
		return max(d, -d) < int64(PingSpacing)
	}
	if near(i-1) || near(i) {
		return false
	}
	ps.pings = slices.Insert(ps.pings, i, pingSample{t, rtt})
	return true
}

// loadSamples takes the stored samples and filled spans.
func (m *Monitor) loadSamples(st *StoredState) {
	for _, s := range st.Samples {
		ps := m.samples[s.Peer]
		if ps == nil {
			ps = &peerSamples{}
			m.samples[s.Peer] = ps
		}
		t := timeNs(s.Time)
		if s.Kind == SampleConnectFail {
			i, _ := slices.BinarySearch(ps.fails, t)
			ps.fails = slices.Insert(ps.fails, i, t)
			continue
		}
		i := sort.Search(len(ps.pings), func(i int) bool {
			return ps.pings[i].t > t
		})
		ps.pings = slices.Insert(ps.pings, i, pingSample{t, s.RTT})
	}
	m.filled = slices.Clone(st.Filled)
}

// pruneSamples forgets samples older than MaxHistory, in the store too.
func (m *Monitor) pruneSamples(now int64) {
	cut := now - int64(MaxHistory)
	dropped := false
	for id, ps := range m.samples {
		i := sort.Search(len(ps.pings), func(i int) bool {
			return ps.pings[i].t >= cut
		})
		j := sort.Search(len(ps.fails), func(j int) bool {
			return ps.fails[j] >= cut
		})
		if i == 0 && j == 0 {
			continue
		}
		dropped = true
		ps.pings = slices.Delete(ps.pings, 0, i)
		ps.fails = slices.Delete(ps.fails, 0, j)
		if len(ps.pings) == 0 && len(ps.fails) == 0 {
			delete(m.samples, id)
		}
	}
	if dropped {
		m.chg().q.b.DeleteSamplesBefore = nsTime(cut)
	}
}

// sampleFigures fills a peer window's ping and failure figures over
// [start, end].
func (m *Monitor) sampleFigures(w *PeerWindow, id PeerID, start,
	end int64) {

	ps := m.samples[id]
	if ps == nil {
		return
	}
	i := sort.Search(len(ps.pings), func(i int) bool {
		return ps.pings[i].t >= start
	})
	j := sort.Search(len(ps.pings), func(j int) bool {
		return ps.pings[j].t > end
	})
	if j > i {
		rtts := make([]time.Duration, 0, j-i)
		for _, p := range ps.pings[i:j] {
			rtts = append(rtts, p.rtt)
		}
		slices.Sort(rtts)
		w.Pings = len(rtts)
		w.PingMedianMs = millis(percentile(rtts, 50))
		w.PingP90Ms = millis(percentile(rtts, 90))
	}
	a, _ := slices.BinarySearch(ps.fails, start)
	b, _ := slices.BinarySearch(ps.fails, end+1)
	w.ConnectFailures = b - a
}

// percentile returns the nearest-rank percentile q of sorted values.
func percentile(sorted []time.Duration, q int) time.Duration {
	rank := int(math.Ceil(float64(q) / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

// millis returns d in milliseconds, to the microsecond.
func millis(d time.Duration) *float64 {
	v := math.Round(float64(d)/float64(time.Microsecond)) / 1000
	return &v
}

// filledReport lists the filled spans in the report's form.
func (m *Monitor) filledReport() []FilledReport {
	out := make([]FilledReport, 0, len(m.filled))
	for _, f := range m.filled {
		out = append(out, FilledReport{
			Start:    Time{f.Start.UTC()},
			End:      Time{f.End.UTC()},
			Seconds:  seconds(f.End.Sub(f.Start)),
			Backfill: f.Backfill,
		})
	}
	return out
}

// FilledReport is a span of the report's history taken from the node's
// own records (docs/semantics.md, "History from the node's records").
type FilledReport struct {
	Start    Time  `json:"start"`
	End      Time  `json:"end"`
	Seconds  int64 `json:"seconds"`
	Backfill bool  `json:"backfill"`
}
