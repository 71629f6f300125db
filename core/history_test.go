package core_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/stretchr/testify/require"
)

// syncHistory hands the monitor a snapshot with the node's records.
func (sc *sourceCtx) syncHistory(snap core.Snapshot, h core.History) {
	sc.t.Helper()
	hs, ok := sc.sink.(core.HistorySink)
	require.True(sc.t, ok, "the monitor takes history")
	require.NoError(sc.t, hs.SyncHistory(sc.ctx, snap, h))
}

func (sc *sourceCtx) report() core.Report {
	sc.t.Helper()
	r, err := sc.m.Report(sc.ctx, core.ReportQuery{})
	require.NoError(sc.t, err)
	return r
}

func peerEv(p core.PeerID, online bool, at time.Time) core.Event {
	typ := core.PeerOffline
	if online {
		typ = core.PeerOnline
	}
	return core.Event{Type: typ, Peer: p, Time: at}
}

// TestBackfill: at the first start, the node's records of the last 20
// days become the history: the channel the node opened 10 days ago has
// 10 days of lifetime, its peer's 2-hour outage 5 days ago is uptime lost
// and two flaps, nothing is unmonitored, and the report marks the span
// as backfilled. Records older than MaxHistory are not used.
func TestBackfill(t *testing.T) {
	sc := newSourceCtx(t)
	now := sc.clock.Now()
	a, b := peerN(1), peerN(2)
	out := now.Add(-5 * 24 * time.Hour)
	snap := core.Snapshot{
		Channels: []core.SnapshotChannel{
			{Point: chanN(1), Peer: a,
				OpenedAt: now.Add(-10 * 24 * time.Hour)},
			// The node's records reach back less far than this
			// channel: it counts from where they start.
			{Point: chanN(2), Peer: b,
				OpenedAt: now.Add(-40 * 24 * time.Hour)},
		},
		OnlinePeers: []core.PeerID{a},
	}
	sc.syncHistory(snap, core.History{
		From: now.Add(-60 * 24 * time.Hour),
		Events: []core.Event{
			// Older than MaxHistory: not replayed.
			peerEv(b, true, now.Add(-35*24*time.Hour)),
			peerEv(a, false, out),
			peerEv(a, true, out.Add(2*time.Hour)),
			// b left a day ago and is still away.
			peerEv(b, false, now.Add(-24*time.Hour)),
		},
	})

	r := sc.report()
	from := now.Add(-core.MaxHistory)
	require.True(t, r.MonitoringSince.Equal(from), "%v", r.MonitoringSince)
	require.Zero(t, r.UnmonitoredSeconds)
	require.Equal(t, []core.FilledReport{{Start: core.Time{Time: from},
		End: core.Time{Time: now}, Seconds: int64(core.MaxHistory /
			time.Second), Backfill: true}}, r.FilledFromNode)

	ca, _ := coretest.Channel(r, chanN(1).String())
	require.Equal(t, int64(10*24*3600), ca.LifetimeSeconds)
	require.Equal(t, int64(10*24*3600-2*3600), ca.UptimeSeconds)
	require.Equal(t, "node", ca.OpenedAtSource)
	pa, _ := coretest.Peer(r, a.String())
	// One flap when its channel opened, cooled to 0 five days later,
	// then one per event: the cooldown runs on the events' own times.
	require.Equal(t, 2, pa.FlapCount)
	require.True(t, pa.LastFlap.Equal(out.Add(2*time.Hour)))
	require.Equal(t, int64(2*3600), pa.Windows["7d"].LongestOutageSeconds)
	require.True(t, pa.Online)

	cb, _ := coretest.Channel(r, chanN(2).String())
	require.Equal(t, int64(30*24*3600), cb.LifetimeSeconds)
	require.Equal(t, int64(29*24*3600), cb.UptimeSeconds)
	pb, _ := coretest.Peer(r, b.String())
	require.False(t, pb.Online)
	require.True(t, pb.Since.Equal(now.Add(-24*time.Hour)))

	// A restart keeps all of it.
	require.NoError(t, sc.m.Stop())
	sc.startSource()
	sc.syncSnap([]core.PeerID{a}, snap.Channels...)
	r2 := sc.report()
	require.Equal(t, r.FilledFromNode, r2.FilledFromNode)
	require.True(t, r2.MonitoringSince.Equal(from))
	ca2, _ := coretest.Channel(r2, chanN(1).String())
	require.Equal(t, ca.UptimeSeconds, ca2.UptimeSeconds)
}

// TestGapFill: the monitor stops for an hour while the node runs on; at
// the restart the node's records, complete since before the stop, fill
// the gap: it is monitored, the half-hour outage in it counts, and the
// report lists the filled span. Records that begin after the gap began
// leave it unmonitored.
func TestGapFill(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from     time.Duration // records complete from, after stop
		filled   bool
		wantDown int64
	}{
		{"complete", -time.Hour, true, 1800},
		{"starts in the gap", 10 * time.Minute, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newSourceCtx(t)
			a := peerN(1)
			ch := core.SnapshotChannel{Point: chanN(1), Peer: a}
			sc.syncSnap([]core.PeerID{a}, ch)
			sc.advance(time.Hour)
			require.NoError(t, sc.m.Stop())
			stop := sc.clock.Now()
			sc.advance(time.Hour)
			sc.startSource()

			sc.syncHistory(core.Snapshot{
				Channels:    []core.SnapshotChannel{ch},
				OnlinePeers: []core.PeerID{a},
			}, core.History{
				From: stop.Add(tc.from),
				Events: []core.Event{
					peerEv(a, false, stop.Add(10*time.Minute)),
					peerEv(a, true, stop.Add(40*time.Minute)),
				},
			})
			r := sc.report()
			c, _ := coretest.Channel(r, chanN(1).String())
			p, _ := coretest.Peer(r, a.String())
			if !tc.filled {
				require.Equal(t, int64(3600), r.UnmonitoredSeconds)
				require.Empty(t, r.FilledFromNode)
				require.Equal(t, int64(3600), c.LifetimeSeconds)
				require.Equal(t, 1, p.FlapCount)
				return
			}
			require.Zero(t, r.UnmonitoredSeconds)
			require.Equal(t, []core.FilledReport{{
				Start: core.Time{Time: stop}, End: core.Time{
					Time: stop.Add(time.Hour)},
				Seconds: 3600}}, r.FilledFromNode)
			require.Equal(t, int64(7200), c.LifetimeSeconds)
			require.Equal(t, int64(7200-tc.wantDown), c.UptimeSeconds)
			require.Equal(t, 3, p.FlapCount)
			require.Equal(t, tc.wantDown,
				p.Windows["1d"].LongestOutageSeconds)
		})
	}
}

// TestSamples: pings and failed connection attempts give each window
// its median and 90th percentile and its count of failures; a sample
// seen again, or a ping within a minute of one kept, is dropped; samples
// survive a restart, and those older than MaxHistory are forgotten.
func TestSamples(t *testing.T) {
	sc := newSourceCtx(t)
	a := peerN(1)
	sc.syncSnap([]core.PeerID{a}, core.SnapshotChannel{Point: chanN(1),
		Peer: a})
	now := sc.clock.Now()
	var samples []core.PeerSample
	for i := 1; i <= 10; i++ {
		samples = append(samples, core.PeerSample{Peer: a,
			Time: now.Add(time.Duration(i) * time.Minute),
			Kind: core.SamplePing,
			RTT:  time.Duration(i) * time.Millisecond})
	}
	samples = append(samples,
		// Within a minute of a kept ping.
		core.PeerSample{Peer: a, Time: now.Add(90 * time.Second),
			Kind: core.SamplePing, RTT: time.Hour},
		core.PeerSample{Peer: a, Time: now.Add(time.Minute),
			Kind: core.SampleConnectFail},
		core.PeerSample{Peer: a, Time: now.Add(2 * time.Minute),
			Kind: core.SampleConnectFail},
		// From a clock far ahead: never in a window, never pruned.
		core.PeerSample{Peer: a, Time: now.Add(100 * 24 * time.Hour),
			Kind: core.SampleConnectFail})
	hs := sc.sink.(core.HistorySink)
	require.NoError(t, hs.AddSamples(sc.ctx, samples))
	// Read again: nothing new.
	require.NoError(t, hs.AddSamples(sc.ctx, samples))
	sc.advance(11 * time.Minute)

	check := func() {
		t.Helper()
		p, _ := coretest.Peer(sc.report(), a.String())
		w := p.Windows["1d"]
		require.Equal(t, 10, w.Pings)
		require.Equal(t, 5.0, *w.PingMedianMs)
		require.Equal(t, 9.0, *w.PingP90Ms)
		require.Equal(t, 2, w.ConnectFailures)
	}
	check()
	require.NoError(t, sc.m.Stop())
	sc.startSource()
	sc.syncSnap([]core.PeerID{a}, core.SnapshotChannel{Point: chanN(1),
		Peer: a})
	check()

	// A month later, at the hourly maintenance, they are gone, in the
	// store too.
	sc.advance(core.MaxHistory)
	sc.maint.Force <- sc.clock.Now()
	sc.maint.Force <- sc.clock.Now()
	p, _ := coretest.Peer(sc.report(), a.String())
	require.Zero(t, p.Windows["lifetime"].Pings)
	require.Nil(t, p.Windows["lifetime"].PingMedianMs)
	st, err := sc.store.Load(sc.ctx)
	require.NoError(t, err)
	require.Empty(t, st.Samples)

	require.ErrorIs(t, hs.AddSamples(sc.ctx, []core.PeerSample{{Peer: a,
		Time: now, Kind: 9}}), core.ErrBadInput)
	require.ErrorIs(t, hs.AddSamples(sc.ctx, []core.PeerSample{{Peer: a,
		Time: now, Kind: core.SamplePing, RTT: -1}}), core.ErrBadInput)
}

// TestBadHistory: a history with events out of order, or of a channel,
// is refused whole and changes nothing.
func TestBadHistory(t *testing.T) {
	sc := newSourceCtx(t)
	now := sc.clock.Now()
	a := peerN(1)
	hs := sc.sink.(core.HistorySink)
	for _, h := range []core.History{
		{From: now.Add(-time.Hour), Events: []core.Event{
			peerEv(a, true, now.Add(-time.Minute)),
			peerEv(a, false, now.Add(-time.Hour))}},
		{From: now.Add(-time.Hour), Events: []core.Event{{
			Type: core.ChannelOpened, Peer: a, Channel: chanN(1),
			Time: now}}},
	} {
		require.ErrorIs(t, hs.SyncHistory(sc.ctx, core.Snapshot{}, h),
			core.ErrBadInput)
	}
	connected, _ := sc.m.Connected()
	require.False(t, connected)
	require.Empty(t, sc.report().FilledFromNode)
}

// TestGapFillClose: a channel that closed 20 minutes into a filled gap,
// which the node still lists with the time it recorded the close, is
// closed at that time, not at the gap's end: its lifetime stops there,
// the peer's outage after it is not charged to it, and a restart keeps
// it. A close time outside the gap (or without a gap) is not used.
func TestGapFillClose(t *testing.T) {
	for _, tc := range []struct {
		name     string
		at       time.Duration // close time, after the stop
		lifetime int64
	}{
		{"in the gap", 20 * time.Minute, 3600 + 1200},
		{"after the gap", 2 * time.Hour, 7200},
		{"before the gap", -10 * time.Minute, 7200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := newSourceCtx(t)
			a := peerN(1)
			ch := core.SnapshotChannel{Point: chanN(1), Peer: a}
			sc.syncSnap([]core.PeerID{a}, ch)
			sc.advance(time.Hour)
			require.NoError(t, sc.m.Stop())
			stop := sc.clock.Now()
			sc.advance(time.Hour)
			sc.startSource()

			sc.syncHistory(core.Snapshot{
				Closed: []core.SnapshotClose{{Point: chanN(1),
					ClosedAt: stop.Add(tc.at)}},
			}, core.History{
				From: stop.Add(-time.Hour),
				Events: []core.Event{
					peerEv(a, false, stop.Add(30*time.Minute)),
				},
			})
			r := sc.report()
			c, _ := coretest.Channel(r, chanN(1).String())
			require.Equal(t, "closed", c.Status)
			require.Equal(t, tc.lifetime, c.LifetimeSeconds)
			want := tc.lifetime
			if tc.lifetime == 7200 {
				want -= 1800
			}
			require.Equal(t, want, c.UptimeSeconds)

			require.NoError(t, sc.m.Stop())
			sc.startSource()
			sc.syncSnap(nil)
			c2, _ := coretest.Channel(sc.report(), chanN(1).String())
			require.Equal(t, c, c2)
		})
	}
}

// TestSnapshotCloseValidate: a close without a time or channel point is
// refused, naming the input.
func TestSnapshotCloseValidate(t *testing.T) {
	for _, c := range []core.SnapshotClose{
		{Point: chanN(1)},
		{ClosedAt: time.Unix(1700000000, 0)},
	} {
		err := core.Snapshot{Closed: []core.SnapshotClose{c}}.Validate()
		require.ErrorIs(t, err, core.ErrBadInput)
		require.ErrorContains(t, err, "snapshot close")
	}
}

// TestBackfillFutureRecord: a record stamped after the snapshot (a node
// clock ahead of ours) is not replayed, and does not set the peer's
// state over the backfill either: the peer the node lists online with
// no other record is online throughout, not offline for 30 days.
func TestBackfillFutureRecord(t *testing.T) {
	sc := newSourceCtx(t)
	now := sc.clock.Now()
	a := peerN(1)
	sc.syncHistory(core.Snapshot{
		Channels: []core.SnapshotChannel{{Point: chanN(1), Peer: a,
			OpenedAt: now.Add(-2 * day)}},
		OnlinePeers: []core.PeerID{a},
	}, core.History{From: now.Add(-3 * day), Events: []core.Event{
		peerEv(a, true, now.Add(30*time.Minute)),
	}})
	c, _ := coretest.Channel(sc.report(), chanN(1).String())
	require.Equal(t, int64(2*day/time.Second), c.LifetimeSeconds)
	require.Equal(t, c.LifetimeSeconds, c.UptimeSeconds)
}
