package cln_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

const day = 24 * time.Hour

// record adds an entry to the node's network history.
func record(n *lightningdtest.Node, id, typ string, at time.Time,
	rtt time.Duration) {

	e := lightningdtest.NetworkEvent{PeerID: id, Type: typ,
		Timestamp: at.Unix()}
	if typ == lightningdtest.NetPing {
		ns := uint64(rtt)
		e.DurationNsec = &ns
	}
	n.RecordNetworkEvent(e)
}

// TestInProcessBackfill starts the plugin for the first time into a node
// that has run for 10 days: the history starts when lightningd started,
// from its records (those of before its start are not used), the
// channels count from when they opened or from then, outages and pings
// are in the report, and the span is marked as backfilled.
func TestInProcessBackfill(t *testing.T) {
	a, b := lightningdtest.PeerID(1), lightningdtest.PeerID(2)
	started := t0.Add(-10 * day)
	ca := lightningdtest.NewChannel(a, 1, lightningdtest.StateNormal)
	ca.AddHistory(t0.Add(-8*day), "CHANNELD_AWAITING_LOCKIN",
		"CHANNELD_NORMAL")
	cb := lightningdtest.NewChannel(b, 2, lightningdtest.StateNormal)
	cb.AddHistory(t0.Add(-20*day), "CHANNELD_AWAITING_LOCKIN",
		"CHANNELD_NORMAL")
	p := startInProcess(t, inProcessOpts{dynamic: true,
		node: lightningdtest.Options{Payload: lightningdtest.V25_12},
		setup: func(n *lightningdtest.Node) {
			n.SetStartedAt(started)
			n.SetPeer(a, true)
			n.SetPeer(b, false)
			n.AddChannel(ca)
			n.AddChannel(cb)
			// A run of lightningd before this one.
			record(n, a, lightningdtest.NetConnect,
				started.Add(-time.Hour), 0)
			record(n, a, lightningdtest.NetConnect,
				started.Add(time.Minute), 0)
			record(n, b, lightningdtest.NetConnect,
				started.Add(time.Minute), 0)
			record(n, a, lightningdtest.NetDisconnect,
				t0.Add(-3*day), 0)
			record(n, a, lightningdtest.NetConnect,
				t0.Add(-3*day+time.Hour), 0)
			record(n, b, lightningdtest.NetDisconnect,
				t0.Add(-day), 0)
			for i := 1; i <= 3; i++ {
				record(n, a, lightningdtest.NetPing,
					t0.Add(-time.Duration(i)*time.Hour),
					time.Duration(i)*10*time.Millisecond)
			}
			record(n, b, lightningdtest.NetConnectFail,
				t0.Add(-12*time.Hour), 0)
			record(n, b, lightningdtest.NetConnectFail,
				t0.Add(-11*time.Hour), 0)
		}})
	r := p.Report()
	from := started
	require.Equal(t, from, r.MonitoringSince.Time)
	require.Zero(t, r.UnmonitoredSeconds)
	require.Len(t, r.FilledFromNode, 1)
	require.Equal(t, core.FilledReport{Start: core.Time{Time: from},
		End: core.Time{Time: t0}, Seconds: int64(10 * day / time.Second),
		Backfill: true}, r.FilledFromNode[0])

	c := channel(t, r, ca.Point())
	require.Equal(t, t0.Add(-8*day), c.OpenedAt.Time)
	require.Equal(t, int64(8*day/time.Second), c.LifetimeSeconds)
	require.Equal(t, int64((8*day-time.Hour)/time.Second), c.UptimeSeconds)
	pa := peer(t, r, a)
	require.Equal(t, 3, pa.Windows["1d"].Pings)
	require.Equal(t, 20.0, *pa.Windows["1d"].PingMedianMs)
	require.Equal(t, 30.0, *pa.Windows["1d"].PingP90Ms)
	require.Equal(t, int64(3600), pa.Windows["7d"].LongestOutageSeconds)

	c = channel(t, r, cb.Point())
	require.Equal(t, int64(10*day/time.Second), c.LifetimeSeconds)
	// b was offline until it connected a minute after lightningd
	// started, and again for the last day.
	require.Equal(t, int64((9*day-time.Minute)/time.Second),
		c.UptimeSeconds)
	pb := peer(t, r, b)
	require.False(t, pb.Online)
	require.Equal(t, 2, pb.Windows["1d"].ConnectFailures)
	require.Nil(t, pb.Windows["1d"].PingMedianMs)
	require.Zero(t, p.Shutdown())
}

// TestInProcessGapFill stops the plugin for an hour while lightningd
// runs on and the peer drops for 20 minutes: at the next start the
// node's records fill the hour, which is monitored, with the outage and
// its flaps. A node that restarted in the hour, or one without the
// records (older than v25.12), leaves it unmonitored as before.
func TestInProcessGapFill(t *testing.T) {
	a := lightningdtest.PeerID(1)
	spec := lightningdtest.NewChannel(a, 1, lightningdtest.StateNormal)
	for _, tc := range []struct {
		name    string
		started time.Time // lightningd's start, at the second run
		old     bool      // a node without network history
		filled  bool
	}{
		{"ran throughout", t0.Add(-time.Hour), false, true},
		{"restarted in the gap", t0.Add(30 * time.Minute), false, false},
		{"no network history", t0.Add(-time.Hour), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := map[string]any{"chanfitness-store": "badger",
				"chanfitness-datadir": t.TempDir()}
			p1 := startInProcess(t, inProcessOpts{values: values,
				dynamic: true,
				setup: func(n *lightningdtest.Node) {
					n.SetPeer(a, true)
					n.AddChannel(spec)
				}})
			p1.advance(10 * time.Second)
			r1 := p1.Report()
			require.Zero(t, p1.Shutdown())
			stop := t0.Add(10 * time.Second)

			p2 := startInProcess(t, inProcessOpts{values: values,
				dynamic: true, at: stop.Add(time.Hour),
				node: lightningdtest.Options{
					Payload: lightningdtest.V25_12},
				setup: func(n *lightningdtest.Node) {
					if !tc.old {
						n.SetStartedAt(tc.started)
					}
					n.SetNoNetworkEvents(tc.old)
					n.SetPeer(a, true)
					n.AddChannel(spec)
					record(n, a, lightningdtest.NetDisconnect,
						stop.Add(35*time.Minute), 0)
					record(n, a, lightningdtest.NetConnect,
						stop.Add(55*time.Minute), 0)
				}})
			r2 := p2.Report()
			c := channel(t, r2, spec.Point())
			pa := peer(t, r2, a)
			if !tc.filled {
				require.Equal(t, int64(3600), r2.UnmonitoredSeconds)
				require.Empty(t, r2.FilledFromNode)
				require.Equal(t, int64(10), c.LifetimeSeconds)
				require.Equal(t, peer(t, r1, a).FlapCount,
					pa.FlapCount)
				require.Zero(t, p2.Shutdown())
				return
			}
			require.Zero(t, r2.UnmonitoredSeconds)
			require.Equal(t, []core.FilledReport{{
				Start:   core.Time{Time: stop},
				End:     core.Time{Time: stop.Add(time.Hour)},
				Seconds: 3600}}, r2.FilledFromNode)
			require.Equal(t, int64(3610), c.LifetimeSeconds)
			require.Equal(t, int64(3610-1200), c.UptimeSeconds)
			require.Equal(t, peer(t, r1, a).FlapCount+2, pa.FlapCount)
			require.True(t, pa.Online)
			require.Zero(t, p2.Shutdown())
		})
	}
}

// TestInProcessHistoryUnusable: a node whose records hold an event the
// monitor cannot take (a time past 2262) is not used for the history:
// the plugin starts as on a node without records, says why at warning
// level, and reports normally.
func TestInProcessHistoryUnusable(t *testing.T) {
	a := lightningdtest.PeerID(1)
	spec := lightningdtest.NewChannel(a, 1, lightningdtest.StateNormal)
	p := startInProcess(t, inProcessOpts{dynamic: true,
		node: lightningdtest.Options{Payload: lightningdtest.V25_12},
		setup: func(n *lightningdtest.Node) {
			n.SetStartedAt(t0.Add(-day))
			n.SetPeer(a, true)
			n.AddChannel(spec)
			n.RecordNetworkEvent(lightningdtest.NetworkEvent{
				PeerID: a, Type: lightningdtest.NetConnect,
				Timestamp: 1 << 40})
		}})
	r := p.Report()
	require.Empty(t, r.FilledFromNode)
	require.Equal(t, t0, r.MonitoringSince.Time)
	require.Equal(t, "open", channel(t, r, spec.Point()).Status)
	l := p.WaitLog("not used", time.Minute)
	require.Equal(t, "unusual", l.Level)
	require.Contains(t, l.Message, "network history")
	require.Zero(t, p.Shutdown())
}

// TestInProcessGapFillClose: the channel closed 20 minutes into an hour
// the plugin did not run while lightningd ran throughout; lightningd
// still lists it (ONCHAIN) with the time it left CHANNELD_NORMAL. The
// filled gap closes it at that time, not at the gap's end, so its peer's
// outage after the close is not charged to it. A close time ahead of
// the plugin's clock (a node clock set wrong) is not used.
func TestInProcessGapFillClose(t *testing.T) {
	a := lightningdtest.PeerID(1)
	stop := t0.Add(10 * time.Second)
	for _, tc := range []struct {
		name     string
		closed   time.Time
		lifetime int64
	}{
		{"node's time", stop.Add(20 * time.Minute), 10 + 1200},
		{"ahead of ours", stop.Add(2 * time.Hour), 3610},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := map[string]any{"chanfitness-store": "badger",
				"chanfitness-datadir": t.TempDir()}
			spec := lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal)
			p1 := startInProcess(t, inProcessOpts{values: values,
				dynamic: true,
				setup: func(n *lightningdtest.Node) {
					n.SetPeer(a, true)
					n.AddChannel(spec)
				}})
			p1.advance(10 * time.Second)
			require.Zero(t, p1.Shutdown())

			gone := lightningdtest.NewChannel(a, 1,
				lightningdtest.StateOnchain)
			gone.AddHistory(tc.closed, lightningdtest.StateNormal,
				lightningdtest.StateSpendSeen)
			gone.AddHistory(tc.closed.Add(time.Second),
				lightningdtest.StateSpendSeen,
				lightningdtest.StateOnchain)
			p2 := startInProcess(t, inProcessOpts{values: values,
				dynamic: true, at: stop.Add(time.Hour),
				node: lightningdtest.Options{
					Payload: lightningdtest.V25_12},
				setup: func(n *lightningdtest.Node) {
					n.SetStartedAt(t0.Add(-time.Hour))
					n.SetPeer(a, false)
					n.AddChannel(gone)
					record(n, a, lightningdtest.NetDisconnect,
						stop.Add(30*time.Minute), 0)
				}})
			r := p2.Report()
			require.Zero(t, r.UnmonitoredSeconds)
			require.Len(t, r.FilledFromNode, 1)
			c := channel(t, r, spec.Point())
			require.Equal(t, "closed", c.Status)
			require.Equal(t, tc.lifetime, c.LifetimeSeconds)
			if tc.lifetime == 3610 {
				require.Equal(t, int64(3610-1800), c.UptimeSeconds)
			} else {
				require.Equal(t, tc.lifetime, c.UptimeSeconds)
				require.Equal(t, tc.closed, c.ClosedAt.Time)
			}
			require.Zero(t, p2.Shutdown())
		})
	}
}

// TestInProcessHistoryBadStart: a getlog created_at of 1970 (a node that
// lost its clock) or a day ahead of ours would claim the records
// complete over time lightningd did not record (a 1970 start backfilled
// 30 days of uptime nobody saw): the history is not used, with the
// reason at unusual level.
func TestInProcessHistoryBadStart(t *testing.T) {
	a := lightningdtest.PeerID(1)
	for _, started := range []time.Time{time.Unix(0, 0),
		t0.Add(day)} {

		t.Run(started.Format(time.DateOnly), func(t *testing.T) {
			p := startInProcess(t, inProcessOpts{dynamic: true,
				node: lightningdtest.Options{
					Payload: lightningdtest.V25_12},
				setup: func(n *lightningdtest.Node) {
					n.SetStartedAt(started)
					n.SetPeer(a, true)
					n.AddChannel(lightningdtest.NewChannel(a,
						1, lightningdtest.StateNormal))
				}})
			r := p.Report()
			require.Empty(t, r.FilledFromNode)
			require.Equal(t, t0, r.MonitoringSince.Time)
			l := p.WaitLog("cannot be right", time.Minute)
			require.Equal(t, "unusual", l.Level)
			require.Zero(t, p.Shutdown())
		})
	}
}
