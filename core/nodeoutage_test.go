package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/stretchr/testify/require"
)

// nodeCtx is a monitor with n channel peers, all online, monitored 20
// days; adv moves its clock.
type nodeCtx struct {
	*testCtx
	n   int
	adv func(time.Duration)
}

func newNodeCtx(t *testing.T, n int) *nodeCtx {
	tc := newTestCtx(t)
	nc := &nodeCtx{testCtx: tc, n: n, adv: tc.advance}
	nc.openAll()
	return nc
}

func (nc *nodeCtx) openAll() {
	for i := 1; i <= nc.n; i++ {
		nc.online(peerN(i))
		nc.open(peerN(i), chanN(i))
	}
	nc.adv(20 * day)
}

// set applies online or offline to peers from..to at once.
func (nc *nodeCtx) set(online bool, from, to int) {
	for i := from; i <= to; i++ {
		if online {
			nc.online(peerN(i))
		} else {
			nc.offline(peerN(i))
		}
	}
}

func (nc *nodeCtx) report() core.Report {
	nc.t.Helper()
	r, err := nc.m.Report(nc.ctx, core.ReportQuery{})
	require.NoError(nc.t, err)
	checkReport(nc.t, r)
	return r
}

// verdicts returns each peer's verdict by number, and the reasons of
// those not ok.
func (nc *nodeCtx) verdicts(r core.Report) (map[int]string,
	map[int][]core.Reason) {

	nc.t.Helper()
	vs := make(map[int]string)
	why := make(map[int][]core.Reason)
	for i := 1; i <= nc.n; i++ {
		pr, ok := coretest.Peer(r, peerN(i).String())
		require.True(nc.t, ok)
		vs[i] = pr.Verdict
		if pr.Verdict != core.VerdictOK {
			why[i] = pr.Reasons
		}
	}
	return vs, why
}

// allOK checks that every peer is ok.
func (nc *nodeCtx) allOK(r core.Report) {
	nc.t.Helper()
	vs, why := nc.verdicts(r)
	for i := 1; i <= nc.n; i++ {
		require.Equal(nc.t, core.VerdictOK, vs[i], "peer %d: %+v", i,
			why[i])
	}
}

func reasonOf(rs []core.Reason, code, window string) (core.Reason, bool) {
	for _, r := range rs {
		if r.Code == code && r.Window == window {
			return r, true
		}
	}
	return core.Reason{}, false
}

// TestNodeOutageNotBlamed: our own node offline 6 hours takes every one
// of 10 steady peers offline at once; none is blamed for it, the report
// lists the outage, and the report's own figures still count it.
func TestNodeOutageNotBlamed(t *testing.T) {
	nc := newNodeCtx(t, 10)
	start := nc.clock.Now()
	nc.set(false, 1, 10)
	nc.adv(6 * time.Hour)
	nc.set(true, 1, 10)
	end := nc.clock.Now()
	nc.adv(2 * time.Hour)
	r := nc.report()
	nc.allOK(r)
	require.Equal(t, []core.NodeOutage{{
		Start: core.Time{Time: start}, End: core.Time{Time: end},
		Seconds: 6 * 3600, PeersOffline: 10, Peers: 10,
	}}, r.NodeOutages)

	// The figures follow lnd and count the outage.
	pr, _ := coretest.Peer(r, peerN(1).String())
	w := pr.Windows["1d"]
	require.EqualValues(t, 86400, w.MonitoredSeconds)
	require.EqualValues(t, 18*3600, w.UptimeSeconds)
	require.EqualValues(t, 6*3600, w.LongestOutageSeconds)

	// A report for one peer judges it the same way.
	one := peerN(3)
	r1, err := nc.m.Report(nc.ctx, core.ReportQuery{Peer: &one})
	require.NoError(t, err)
	require.Equal(t, core.VerdictOK, r1.Peers[0].Verdict)
	require.Equal(t, r.NodeOutages, r1.NodeOutages)
}

// TestNodeOutageBadPeerJudged: a peer away 7 hours before our own
// outage and an hour after it is blamed for those 8 hours: its longest
// outage is the 7 hours before (the outage cuts it, as unmonitored time
// does), and its last day's uptime is 10 of the 18 hours left.
func TestNodeOutageBadPeerJudged(t *testing.T) {
	nc := newNodeCtx(t, 10)
	nc.offline(peerN(1))
	nc.adv(7 * time.Hour)
	nc.set(false, 2, 10)
	nc.adv(6 * time.Hour)
	nc.set(true, 2, 10)
	nc.adv(time.Hour)
	nc.online(peerN(1))
	nc.adv(time.Hour)
	r := nc.report()
	require.Len(t, r.NodeOutages, 1)
	require.EqualValues(t, 6*3600, r.NodeOutages[0].Seconds)
	vs, why := nc.verdicts(r)
	for i := 2; i <= 10; i++ {
		require.Equal(t, core.VerdictOK, vs[i], "peer %d: %+v", i,
			why[i])
	}
	require.Equal(t, core.VerdictWatch, vs[1])
	out, ok := reasonOf(why[1], core.ReasonOutageAbove, "30d")
	require.True(t, ok, "%+v", why[1])
	require.InDelta(t, 7*3600, out.Value, 0)
	up, ok := reasonOf(why[1], core.ReasonUptimeBelow, "1d")
	require.True(t, ok, "%+v", why[1])
	require.InDelta(t, 10.0/18, up.Value, 1e-6)
}

// TestNodeOutageTooFewPeers: with 3 channel peers, all offline 6 hours
// is no outage of ours: each is judged on it as before.
func TestNodeOutageTooFewPeers(t *testing.T) {
	nc := newNodeCtx(t, 3)
	nc.set(false, 1, 3)
	nc.adv(6 * time.Hour)
	nc.set(true, 1, 3)
	nc.adv(2 * time.Hour)
	r := nc.report()
	require.Empty(t, r.NodeOutages)
	require.NotNil(t, r.NodeOutages)
	vs, why := nc.verdicts(r)
	for i := 1; i <= 3; i++ {
		require.Equal(t, core.VerdictWatch, vs[i])
		_, ok := reasonOf(why[i], core.ReasonOutageAbove, "30d")
		require.True(t, ok, "%+v", why[i])
		_, ok = reasonOf(why[i], core.ReasonUptimeBelow, "1d")
		require.True(t, ok, "%+v", why[i])
	}
}

// TestNodeOutageFourPeers: of exactly 4 peers, 3 offline at once is an
// outage of ours; 2, half and not more, is not.
func TestNodeOutageFourPeers(t *testing.T) {
	t.Run("three of four", func(t *testing.T) {
		nc := newNodeCtx(t, 4)
		nc.set(false, 1, 3)
		nc.adv(6 * time.Hour)
		nc.set(true, 1, 3)
		nc.adv(2 * time.Hour)
		r := nc.report()
		require.Len(t, r.NodeOutages, 1)
		require.Equal(t, 3, r.NodeOutages[0].PeersOffline)
		require.Equal(t, 4, r.NodeOutages[0].Peers)
		nc.allOK(r)
	})
	t.Run("two of four", func(t *testing.T) {
		nc := newNodeCtx(t, 4)
		nc.set(false, 1, 2)
		nc.adv(6 * time.Hour)
		nc.set(true, 1, 2)
		nc.adv(2 * time.Hour)
		r := nc.report()
		require.Empty(t, r.NodeOutages)
		vs, _ := nc.verdicts(r)
		require.Equal(t, map[int]string{1: core.VerdictWatch,
			2: core.VerdictWatch, 3: core.VerdictOK,
			4: core.VerdictOK}, vs)
	})
}

// TestNodeOutageNow: a report at the instant most peers drop finds the
// outage under way, and one at the instant they are back finds it over,
// as the peers' own states then say.
func TestNodeOutageNow(t *testing.T) {
	nc := newNodeCtx(t, 4)
	nc.set(false, 1, 3)
	r := nc.report()
	require.Len(t, r.NodeOutages, 1)
	require.True(t, r.NodeOutages[0].Ongoing)
	require.Zero(t, r.NodeOutages[0].Seconds)
	nc.adv(time.Hour)
	nc.set(true, 1, 2)
	r = nc.report()
	require.Len(t, r.NodeOutages, 1)
	require.False(t, r.NodeOutages[0].Ongoing)
	require.EqualValues(t, 3600, r.NodeOutages[0].Seconds)
}

// TestNodeOutageGonePeers: 4 of 8 peers gone for days (zombie
// channels) do not make another peer's drop ours: once they have been
// offline 2 days they no longer count, and the peer that drops 7 hours
// is judged on it.
func TestNodeOutageGonePeers(t *testing.T) {
	nc := newNodeCtx(t, 8)
	nc.set(false, 1, 4)
	nc.adv(3 * day)
	nc.offline(peerN(5))
	nc.adv(7 * time.Hour)
	nc.online(peerN(5))
	nc.adv(time.Hour)
	r := nc.report()
	require.Empty(t, r.NodeOutages)
	vs, why := nc.verdicts(r)
	require.Equal(t, core.VerdictWatch, vs[5])
	out, ok := reasonOf(why[5], core.ReasonOutageAbove, "30d")
	require.True(t, ok, "%+v", why[5])
	require.InDelta(t, 7*3600, out.Value, 0)

	// Back for a moment, a gone peer counts again: with it and two
	// others offline, 3 of the 5 counted are.
	nc.online(peerN(1))
	nc.adv(time.Minute)
	nc.set(false, 5, 6)
	nc.offline(peerN(1))
	r = nc.report()
	require.Len(t, r.NodeOutages, 1)
	require.True(t, r.NodeOutages[0].Ongoing)
	require.Equal(t, 3, r.NodeOutages[0].PeersOffline)
	require.Equal(t, 5, r.NodeOutages[0].Peers)
}

// TestNodeOutageLong: our own outage of 3 days is ours for its first 2
// days; then its peers, offline that long, stop counting and are
// blamed for the rest.
func TestNodeOutageLong(t *testing.T) {
	nc := newNodeCtx(t, 10)
	nc.set(false, 1, 10)
	nc.adv(3 * day)
	nc.set(true, 1, 10)
	nc.adv(time.Hour)
	r := nc.report()
	require.Len(t, r.NodeOutages, 1)
	require.EqualValues(t, 48*3600, r.NodeOutages[0].Seconds)
	vs, why := nc.verdicts(r)
	out, ok := reasonOf(why[1], core.ReasonOutageAbove, "30d")
	require.True(t, ok, "%+v", why[1])
	require.InDelta(t, 24*3600, out.Value, 0)
	require.Equal(t, core.VerdictWatch, vs[1], "%+v", why[1])
}

// TestNodeOutageRestart: a restart of the monitor in the middle of our
// own outage: the outage is found on both sides of the monitor's
// downtime, in the stored history, and still blames no peer.
func TestNodeOutageRestart(t *testing.T) {
	nc := newNodeCtx(t, 10)
	nc.set(false, 1, 10)
	nc.adv(3 * time.Hour)
	nc.restart(time.Hour)
	nc.adv(2 * time.Hour)
	r := nc.report()
	require.Len(t, r.NodeOutages, 2)
	require.True(t, r.NodeOutages[1].Ongoing)
	nc.set(true, 1, 10)
	nc.adv(2 * time.Hour)
	r = nc.report()
	require.Len(t, r.NodeOutages, 2)
	require.EqualValues(t, 3*3600, r.NodeOutages[0].Seconds)
	require.EqualValues(t, 2*3600, r.NodeOutages[1].Seconds)
	require.False(t, r.NodeOutages[1].Ongoing)
	nc.allOK(r)

	// And so after another restart.
	nc.restart(time.Minute)
	r2 := nc.report()
	require.Equal(t, r.NodeOutages, r2.NodeOutages)
	nc.allOK(r2)
}

// TestNodeOutageClockStep: the clock stepping during our own outage,
// a day forward (unmonitored) or an hour back (the monitor's time waits
// for the clock): the outage on both sides of the step is ours, and no
// peer is blamed.
func TestNodeOutageClockStep(t *testing.T) {
	for _, step := range []time.Duration{day, -time.Hour} {
		t.Run(step.String(), func(t *testing.T) {
			cc := newClockCtx(t)
			nc := &nodeCtx{testCtx: cc.testCtx, n: 10,
				adv: cc.clk.Advance}
			nc.openAll()
			nc.set(false, 1, 10)
			nc.adv(3 * time.Hour)
			cc.clk.Step(step)
			nc.adv(3 * time.Hour)
			nc.set(true, 1, 10)
			nc.adv(2 * time.Hour)
			r := nc.report()
			require.Equal(t, 1, r.ClockSteps)
			var total int64
			for _, o := range r.NodeOutages {
				total += o.Seconds
			}
			require.EqualValues(t, 6*3600, total, "%+v",
				r.NodeOutages)
			nc.allOK(r)
		})
	}
}

// TestNodeOutageBackfill: our own outage in the node's records that a
// first start fills the history from is found as one the monitor saw.
func TestNodeOutageBackfill(t *testing.T) {
	sc := newSourceCtx(t)
	now := sc.clock.Now()
	snap := core.Snapshot{OnlinePeers: []core.PeerID{}}
	var downs, ups []core.Event
	out := now.Add(-10 * time.Hour)
	for i := 1; i <= 5; i++ {
		p := peerN(i)
		snap.Channels = append(snap.Channels, core.SnapshotChannel{
			Point: chanN(i), Peer: p,
			OpenedAt: now.Add(-25 * day)})
		snap.OnlinePeers = append(snap.OnlinePeers, p)
		downs = append(downs, peerEv(p, false, out))
		ups = append(ups, peerEv(p, true, out.Add(6*time.Hour)))
	}
	sc.syncHistory(snap, core.History{From: now.Add(-25 * day),
		Events: append(downs, ups...)})
	r := sc.report()
	require.Equal(t, []core.NodeOutage{{
		Start:   core.Time{Time: out},
		End:     core.Time{Time: out.Add(6 * time.Hour)},
		Seconds: 6 * 3600, PeersOffline: 5, Peers: 5,
	}}, r.NodeOutages)
	for _, p := range r.Peers {
		require.Equal(t, core.VerdictOK, p.Verdict, "%+v", p.Reasons)
	}
}

// TestNodeOutageFlapping: a peer that flaps through our own outage,
// back and away again 40 times while the others stay offline, is not
// blamed for those flaps; its flap count is still lnd's.
func TestNodeOutageFlapping(t *testing.T) {
	nc := newNodeCtx(t, 10)
	nc.set(false, 1, 10)
	for i := 0; i < 40; i++ {
		nc.adv(4 * time.Minute)
		nc.online(peerN(1))
		nc.adv(time.Minute)
		nc.offline(peerN(1))
	}
	nc.adv(2 * time.Hour)
	nc.set(true, 1, 10)
	nc.adv(2 * time.Hour)
	r := nc.report()
	require.Len(t, r.NodeOutages, 1)
	pr, _ := coretest.Peer(r, peerN(1).String())
	require.Greater(t, pr.FlapCountDecayed, 80)
	nc.allOK(r)

	// Its own 60 flaps after the outage count; the outage's 82 are
	// forgiven whole, as no 8 idle hours came after them for lnd's
	// count to cool them.
	for i := 0; i < 30; i++ {
		nc.adv(4 * time.Minute)
		nc.offline(peerN(1))
		nc.adv(time.Minute)
		nc.online(peerN(1))
	}
	r = nc.report()
	vs, why := nc.verdicts(r)
	require.Equal(t, core.VerdictWatch, vs[1])
	f, ok := reasonOf(why[1], core.ReasonFlapsAbove, core.WindowLifetime)
	require.True(t, ok, "%+v", why[1])
	require.InDelta(t, 60, f.Value, 0, f.Text)
}

// TestNodeOutageFlappingFourPeers: of 4 peers, 3 offline 6 hours and
// one of them back for a minute every 10: each moment back leaves half
// offline and breaks the outage in pieces. The flapper's flaps are all
// forgiven; the minutes between pieces count against the two others,
// which stay ok.
func TestNodeOutageFlappingFourPeers(t *testing.T) {
	nc := newNodeCtx(t, 4)
	nc.set(false, 1, 3)
	for i := 0; i < 36; i++ {
		nc.adv(9 * time.Minute)
		nc.online(peerN(1))
		nc.adv(time.Minute)
		nc.offline(peerN(1))
	}
	nc.set(true, 1, 3)
	nc.adv(2 * time.Hour)
	r := nc.report()
	require.Len(t, r.NodeOutages, 36)
	nc.allOK(r)
	pr, _ := coretest.Peer(r, peerN(1).String())
	require.GreaterOrEqual(t, pr.FlapCountDecayed, 74)
	pr, _ = coretest.Peer(r, peerN(2).String())
	require.EqualValues(t, 6*3600, pr.Windows["1d"].LongestOutageSeconds)
}

// TestNodeOutageFlakyLink: our own link lost for 10 minutes every 3
// hours for 5 days: 80 flaps for every peer, none of them blamed.
func TestNodeOutageFlakyLink(t *testing.T) {
	nc := newNodeCtx(t, 6)
	for i := 0; i < 40; i++ {
		nc.set(false, 1, 6)
		nc.adv(10 * time.Minute)
		nc.set(true, 1, 6)
		nc.adv(3*time.Hour - 10*time.Minute)
	}
	r := nc.report()
	require.Len(t, r.NodeOutages, 40)
	pr, _ := coretest.Peer(r, peerN(1).String())
	require.Equal(t, 80, pr.FlapCountDecayed)
	nc.allOK(r)
}

// BenchmarkReportNodeOutages: a full report for 3,000 channel peers
// after 30 days in which our own node lost its link for 10 minutes
// every 6 hours (117 node outages in the window): every peer's verdict
// figures and flaps leave them out.
func BenchmarkReportNodeOutages(b *testing.B) {
	m, clk := benchMonitor(b, memory.New())
	ctx := context.Background()
	const peers = 3000
	apply := func(typ core.EventType, i int, now time.Time) {
		require.NoError(b, m.Apply(ctx, core.Event{Type: typ,
			Peer: peerN(i), Channel: chanN(i), Time: now}))
	}
	for i := 0; i < peers; i++ {
		apply(core.PeerOnline, i, t0)
		apply(core.ChannelOpened, i, t0)
	}
	now := t0
	for k := 0; k < 4*30; k++ {
		now = now.Add(6 * time.Hour)
		clk.SetTime(now)
		for i := 0; i < peers; i++ {
			apply(core.PeerOffline, i, now)
		}
		now = now.Add(10 * time.Minute)
		clk.SetTime(now)
		for i := 0; i < peers; i++ {
			apply(core.PeerOnline, i, now)
		}
	}
	clk.SetTime(now.Add(time.Hour))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := m.Report(ctx, core.ReportQuery{PeersOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.NodeOutages) < 4*29 || r.Peers[0].Verdict !=
			core.VerdictOK {

			b.Fatalf("%d node outages, verdict %s",
				len(r.NodeOutages), r.Peers[0].Verdict)
		}
	}
}
