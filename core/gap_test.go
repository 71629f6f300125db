package core_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// sourceCtx is a monitor fed through a manual source, so that the test
// drives Sync and NodeLost itself.
type sourceCtx struct {
	*testCtx
	sink core.Sink
}

func newSourceCtx(t *testing.T) *sourceCtx {
	tc := &testCtx{t: t, ctx: t.Context(), clock: clock.NewTestClock(t0),
		store: memory.New()}
	sc := &sourceCtx{testCtx: tc}
	sc.startSource()
	return sc
}

// startSource starts a monitor with a manual source on the store; it is
// disconnected until the first Sync.
func (sc *sourceCtx) startSource() {
	src := &manualSource{ready: make(chan core.Sink, 1)}
	sc.sync = ticker.NewForce(time.Second)
	sc.maint = ticker.NewForce(time.Hour)
	sc.m = coretest.StartMonitor(sc.t, core.Config{
		Store: sc.store, Clock: sc.clock, Source: src,
		SyncTicker: sc.sync, MaintenanceTicker: sc.maint,
	})
	sc.sink = <-src.ready
}

func (sc *sourceCtx) syncSnap(online []core.PeerID,
	chans ...core.SnapshotChannel) {

	sc.t.Helper()
	require.NoError(sc.t, sc.sink.Sync(sc.ctx, core.Snapshot{
		Channels: chans, OnlinePeers: online,
	}))
}

func (sc *sourceCtx) lost() {
	sc.t.Helper()
	require.NoError(sc.t, sc.sink.NodeLost(sc.ctx, time.Time{}))
}

// TestEventsWhileNodeLost: events applied while the node counts as lost
// update flap counts and states but add nothing to the history of the
// unmonitored time, and the store stays loadable.
func TestEventsWhileNodeLost(t *testing.T) {
	tests := []struct {
		name string

		// during applies events while the node is lost, an hour
		// into a two-hour gap; online is the state the snapshot
		// that ends the gap reports.
		during func(sc *sourceCtx, p core.PeerID)
		online bool

		flaps int
	}{
		{
			name: "offline then back online",
			during: func(sc *sourceCtx, p core.PeerID) {
				sc.offline(p)
			},
			online: true,
			flaps:  2,
		},
		{
			name: "offline and still offline",
			during: func(sc *sourceCtx, p core.PeerID) {
				sc.offline(p)
			},
			flaps: 2,
		},
		{
			name: "second channel opened",
			during: func(sc *sourceCtx, p core.PeerID) {
				sc.open(p, chanN(2))
			},
			online: true,
			flaps:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := newSourceCtx(t)
			p, a := peerN(1), chanN(1)
			sc.syncSnap([]core.PeerID{p},
				core.SnapshotChannel{Point: a, Peer: p})
			sc.advance(time.Hour)
			sc.lost()
			sc.advance(time.Hour)
			tt.during(sc, p)
			sc.advance(time.Hour)

			// Still lost: the gap is neither uptime nor
			// monitored time.
			info := sc.info(a)
			require.Equal(t, time.Hour, info.Lifetime)
			require.Equal(t, time.Hour, info.Uptime)

			var online []core.PeerID
			if tt.online {
				online = []core.PeerID{p}
			}
			chans := []core.SnapshotChannel{{Point: a, Peer: p}}
			if _, err := sc.m.ChannelInfo(sc.ctx,
				chanN(2)); err == nil {

				chans = append(chans, core.SnapshotChannel{
					Point: chanN(2), Peer: p,
				})
			}
			sc.syncSnap(online, chans...)
			sc.advance(time.Hour)
			// Flip the state twice, each spaced beyond the
			// rate limit, so that everything staged commits.
			sc.offline(p)
			sc.advance(time.Hour)
			sc.online(p)
			sc.advance(time.Hour)

			wantUp := 3 * time.Hour
			if !tt.online {
				wantUp = 2 * time.Hour
			}
			check := func() {
				t.Helper()
				info := sc.info(a)
				require.Equal(t, 4*time.Hour, info.Lifetime)
				require.Equal(t, wantUp, info.Uptime)
				require.Equal(t, 6*time.Hour, info.Age)
				require.Equal(t, tt.flaps+2, sc.flaps(p))
				w, err := sc.m.PeerWindow(sc.ctx, p, t0,
					sc.clock.Now())
				require.NoError(t, err)
				require.Equal(t, 4*time.Hour, w.Monitored)
				require.Equal(t, wantUp, w.Uptime)
			}
			check()

			// The history loads again and tells the same.
			require.NoError(t, sc.m.Stop())
			sc.startSource()
			sc.syncSnap([]core.PeerID{p}, chans...)
			check()
		})
	}
}

// TestNodeLostBeforeLastEvent: a loss reported as older than events
// already applied starts the gap after them, so that no log goes back in
// time.
func TestNodeLostBeforeLastEvent(t *testing.T) {
	sc := newSourceCtx(t)
	p, a := peerN(1), chanN(1)
	sc.syncSnap([]core.PeerID{p}, core.SnapshotChannel{Point: a, Peer: p})
	sc.advance(2 * time.Hour)
	sc.offline(p)
	sc.advance(time.Hour)
	require.NoError(t, sc.sink.NodeLost(sc.ctx, t0.Add(time.Hour)))
	sc.advance(time.Hour)
	sc.syncSnap([]core.PeerID{p}, core.SnapshotChannel{Point: a, Peer: p})
	sc.advance(time.Hour)

	check := func() {
		t.Helper()
		info := sc.info(a)
		require.Equal(t, 5*time.Hour, info.Age)
		require.Equal(t, 3*time.Hour, info.Lifetime)
		require.Equal(t, 3*time.Hour, info.Uptime)
		w, err := sc.m.PeerWindow(sc.ctx, p, t0, sc.clock.Now())
		require.NoError(t, err)
		require.Equal(t, 3*time.Hour, w.Monitored)
		require.Equal(t, 3*time.Hour, w.Uptime)
	}
	check()
	require.NoError(t, sc.m.Stop())
	sc.startSource()
	sc.syncSnap([]core.PeerID{p}, core.SnapshotChannel{Point: a, Peer: p})
	check()
}

// TestEventStampedInGap: an event stamped inside unmonitored time is
// clamped to its end, for a peer seen for the first time too.
func TestEventStampedInGap(t *testing.T) {
	tc := newTestCtx(t)
	p, q, a, b := peerN(1), peerN(2), chanN(1), chanN(2)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)
	tc.restart(2 * time.Hour)

	inGap := t0.Add(2 * time.Hour)
	for _, ev := range []core.Event{
		{Type: core.PeerOffline, Peer: p, Time: inGap},
		{Type: core.ChannelOpened, Peer: q, Channel: b, Time: inGap},
	} {
		require.NoError(t, tc.m.Apply(tc.ctx, ev))
	}
	r, c := peerN(3), chanN(3)
	require.NoError(t, tc.m.Sync(tc.ctx, core.Snapshot{
		Time: inGap,
		Channels: []core.SnapshotChannel{
			{Point: a, Peer: p}, {Point: b, Peer: q},
			{Point: c, Peer: r},
		},
		OnlinePeers: []core.PeerID{q, r},
	}))
	tc.advance(time.Hour)

	tests := []struct {
		name          string
		cp            core.ChannelPoint
		opened        time.Time
		age, life, up time.Duration
	}{
		{"known peer", a, t0, 4 * time.Hour, 2 * time.Hour, time.Hour},
		{"new peer", b, t0.Add(3 * time.Hour), time.Hour, time.Hour,
			time.Hour},
		{"new peer in a snapshot", c, t0.Add(3 * time.Hour), time.Hour,
			time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := tc.info(tt.cp)
			require.Equal(t, tt.opened, info.OpenedAt)
			require.Equal(t, tt.age, info.Age)
			require.Equal(t, tt.life, info.Lifetime)
			require.Equal(t, tt.up, info.Uptime)
		})
	}
}

// TestRestartWhileNodeLost: a monitor stopped while its node is lost
// starts its next run with the gap still open from the loss, whatever
// was applied meanwhile.
func TestRestartWhileNodeLost(t *testing.T) {
	tests := []struct {
		name   string
		during func(sc *sourceCtx)
	}{
		{name: "nothing applied", during: func(*sourceCtx) {}},
		{
			name:   "peer offline",
			during: func(sc *sourceCtx) { sc.offline(peerN(1)) },
		},
		{
			name: "untracked peer online",
			during: func(sc *sourceCtx) {
				sc.online(peerN(9))
			},
		},
		{
			name: "second channel opened and closed",
			during: func(sc *sourceCtx) {
				sc.open(peerN(1), chanN(2))
				sc.advance(time.Minute)
				sc.close(peerN(1), chanN(2))
			},
		},
		{
			name: "channel of a new peer opened and closed",
			during: func(sc *sourceCtx) {
				sc.open(peerN(2), chanN(2))
				sc.advance(time.Minute)
				sc.close(peerN(2), chanN(2))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := newSourceCtx(t)
			p, a := peerN(1), chanN(1)
			snap := core.SnapshotChannel{Point: a, Peer: p}
			sc.syncSnap([]core.PeerID{p}, snap)
			sc.advance(time.Hour)
			sc.lost()
			sc.advance(time.Hour)
			tt.during(sc)
			sc.advance(time.Hour)
			require.NoError(t, sc.m.Stop())
			sc.advance(time.Hour)
			sc.startSource()
			sc.advance(time.Hour)
			sc.syncSnap([]core.PeerID{p}, snap)
			sc.advance(time.Hour)

			info := sc.info(a)
			require.Equal(t, 2*time.Hour, info.Lifetime)
			require.Equal(t, 2*time.Hour, info.Uptime)
			rep, err := sc.m.Report(sc.ctx, core.ReportQuery{})
			require.NoError(t, err)
			// Monitored: the first hour and the last.
			total := sc.clock.Now().Sub(t0)
			require.EqualValues(t, (total-2*time.Hour)/time.Second,
				rep.UnmonitoredSeconds)
		})
	}
}

// TestRecentEventsAcrossGap: the state recorded at the end of a gap is a
// transition only if it differs from the last state known before it.
func TestRecentEventsAcrossGap(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)
	tc.offline(p)
	tc.advance(time.Hour)
	tc.online(p)
	tc.advance(time.Hour)
	tc.restart(time.Hour) // online before and after
	tc.advance(time.Hour)
	tc.offline(p)
	tc.advance(time.Hour)
	tc.online(p) // commits the offline
	tc.advance(time.Hour)

	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{Peer: &p})
	require.NoError(t, err)
	require.Len(t, rep.Peers, 1)
	type ev struct {
		at     time.Duration
		online bool
	}
	var got []ev
	for _, e := range rep.Peers[0].RecentEvents {
		got = append(got, ev{e.Time.Sub(t0), e.Online})
	}
	require.Equal(t, []ev{
		{5 * time.Hour, false},
		{2 * time.Hour, true},
		{time.Hour, false},
		{0, true},
	}, got)
}
