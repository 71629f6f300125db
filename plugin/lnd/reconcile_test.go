package lndsource

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// syncSignal passes a source's calls on to a sink and reports each Sync
// once the sink returned.
type syncSignal struct {
	core.Sink
	synced chan error
}

func (s syncSignal) Sync(ctx context.Context, snap core.Snapshot) error {
	err := s.Sink.Sync(ctx, snap)
	s.synced <- err
	return err
}

// signalSource runs a source with its sink wrapped in a syncSignal.
type signalSource struct {
	src    *Source
	synced chan error
}

func (s signalSource) Run(ctx context.Context, sink core.Sink) error {
	return s.src.Run(ctx, syncSignal{Sink: sink, synced: s.synced})
}

// waitNows waits until clk was read n times.
func waitNows(t *testing.T, clk nowClock, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-clk.nows:
		case <-time.After(lndtest.WaitTimeout):
			require.FailNow(t, "event not read")
		}
	}
}

// drainNows forgets the readings of clk so far.
func drainNows(clk nowClock) {
	for len(clk.nows) > 0 {
		<-clk.nows
	}
}

func TestSourceReconcileRepairsMissedEvents(t *testing.T) {
	c := newTestCtx(t)
	p1, p2 := lndtest.PeerKey(1), lndtest.PeerKey(2)
	a, b := lndtest.ChanPoint(1), lndtest.ChanPoint(2)
	c.srv.OpenChannel(a, p1, scid(101, 1, 0))
	c.srv.SetOnline(p1, true)

	synced := make(chan error, 10)
	src := signalSource{src: c.newSource(), synced: synced}
	mon := coretest.StartMonitor(t, core.Config{
		Store:  memory.New(),
		Clock:  c.clock,
		Source: src,
		Logger: c.log,
	})
	ctx := context.Background()
	waitSynced := func() {
		t.Helper()
		select {
		case err := <-synced:
			require.NoError(t, err)
		case <-time.After(lndtest.WaitTimeout):
			require.FailNow(t, "no sync")
		}
	}
	waitSynced()
	c.srv.WaitSubscribed(t, 1)

	// lnd changes while it sends the streams nothing (as before it
	// registered them): p1 leaves, p2 comes and opens b.
	missed := t0.Add(time.Hour)
	c.clock.SetTime(missed)
	c.srv.SetSilent(true)
	c.srv.SetOnline(p1, false)
	c.srv.SetOnline(p2, true)
	c.srv.OpenChannel(b, p2, scid(102, 3, 1))
	c.srv.SetSilent(false)
	c.tick()
	waitSynced()

	c.clock.SetTime(t0.Add(2 * time.Hour))
	r, err := mon.Report(ctx, core.ReportQuery{})
	require.NoError(t, err)
	chA, ok := coretest.Channel(r, a)
	require.True(t, ok)
	require.Equal(t, "open", chA.Status)
	require.Equal(t, int64(2*3600), chA.LifetimeSeconds)
	require.Equal(t, int64(3600), chA.UptimeSeconds)
	chB, ok := coretest.Channel(r, b)
	require.True(t, ok, "channel opened unseen")
	require.Equal(t, "open", chB.Status)
	require.Equal(t, missed, chB.OpenedAt.Time)
	require.Equal(t, "102x3x1", *chB.ShortChannelID)
	require.Equal(t, int64(3600), chB.UptimeSeconds)

	// The state found by the reconcile counts no flap: p1 keeps the one
	// of its first notification, as p2 has the one of its channel open.
	peer1, ok := coretest.Peer(r, p1)
	require.True(t, ok)
	require.False(t, peer1.Online)
	require.Equal(t, missed, peer1.Since.Time)
	require.Equal(t, 1, peer1.FlapCount)
	peer2, ok := coretest.Peer(r, p2)
	require.True(t, ok)
	require.True(t, peer2.Online)
	require.Equal(t, 1, peer2.FlapCount)

	// The connection stayed up all along.
	connected, since := mon.Connected()
	require.True(t, connected)
	require.Equal(t, t0, since)
	require.Equal(t, 1, c.srv.Calls("SubscribeChannelEvents"))
}

func TestSourceReconcileKeepsArrivalOrder(t *testing.T) {
	c := newTestCtx(t)
	clk := nowClock{TestClock: c.clock, nows: make(chan time.Time, 100)}
	c.cfg.Clock = clk
	p1, p2, p3 := lndtest.PeerKey(1), lndtest.PeerKey(2),
		lndtest.PeerKey(3)
	c.start()
	c.next("sync")
	c.srv.WaitSubscribed(t, 1)

	// The source is busy with an event when the tick comes and when p2
	// arrives: p2 is queued before the snapshot is asked for.
	release := c.sink.holdNextApply()
	t.Cleanup(release)
	c.srv.SetOnline(p1, true)
	require.Equal(t, mustPeer(t, p1), c.next("apply").ev.Peer)
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		select {
		case c.reconcile.Force <- c.clock.Now():
		case <-time.After(lndtest.WaitTimeout):
		}
	}()
	reached, answer := c.srv.Hold("ListChannels")
	t.Cleanup(answer)
	drainNows(clk)
	c.srv.SetOnline(p2, true)
	// Read after p2 on the same stream, an ignored event shows that p2
	// is queued.
	c.srv.SendPeerEvent(&lnrpc.PeerEvent{PubKey: p2, Type: 7})
	waitNows(t, clk, 2)
	release()
	select {
	case <-reached:
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(t, "snapshot not asked for")
	}
	<-ticked

	// p3 arrives while lnd answers the snapshot: it goes after it.
	drainNows(clk)
	c.srv.SetOnline(p3, true)
	c.srv.SendPeerEvent(&lnrpc.PeerEvent{PubKey: p3, Type: 7})
	waitNows(t, clk, 2)
	answer()

	require.Equal(t, mustPeer(t, p2), c.next("apply").ev.Peer)
	require.Equal(t, []core.PeerID{mustPeer(t, p1), mustPeer(t, p2),
		mustPeer(t, p3)}, c.next("sync").snap.OnlinePeers)
	require.Equal(t, mustPeer(t, p3), c.next("apply").ev.Peer)
	c.noCall()
}

func TestSourceReconcileFailure(t *testing.T) {
	p := lndtest.PeerKey(1)
	failAt := t0.Add(time.Hour)
	tests := []struct {
		name   string
		method string
		err    error
		check  func(t *testing.T, c *testCtx)
	}{{
		name:   "retried at the next tick",
		method: "ListPeers",
		err:    status.Error(codes.Internal, "database busy"),
		check: func(t *testing.T, c *testCtx) {
			// Taken once the failed reconcile is over.
			c.tick()
			require.Len(t, c.next("sync").snap.Channels, 1)
			require.Len(t, c.log.lines("WRN", "reconcile",
				"database busy", "next tick"), 1)
			require.Equal(t, 3, c.srv.Calls("ListPeers"))

			// The connection stayed up.
			c.srv.SetOnline(p, true)
			require.Equal(t, core.PeerOnline,
				c.next("apply").ev.Type)
			require.Equal(t, 1, c.srv.Calls("SubscribeChannelEvents"))
			c.noCall()
		},
	}, {
		name:   "lnd gone",
		method: "ListChannels",
		err:    status.Error(codes.Unavailable, "connection reset"),
		check: func(t *testing.T, c *testCtx) {
			require.Equal(t, failAt, c.next("lost").at)
			c.backoff(time.Second)
			require.Len(t, c.next("sync").snap.Channels, 1)
			require.Len(t, c.log.lines("WRN", "reconcile",
				ErrUnreachable.Error(), "connection reset",
				"reconnecting in 1s"), 1)
		},
	}, {
		name:   "macaroon rejected",
		method: "ListChannels",
		err: status.Error(codes.Unknown, "verification failed: "+
			"signature mismatch after caveat verification"),
		check: func(t *testing.T, c *testCtx) {
			require.ErrorIs(t, c.runErr(), ErrBadMacaroon)
			require.ErrorIs(t, c.src.Err(), ErrBadMacaroon)
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCtx(t)
			c.srv.OpenChannel(lndtest.ChanPoint(1), p, 0)
			c.start()
			c.next("sync")
			c.srv.WaitSubscribed(t, 1)

			c.clock.SetTime(failAt)
			c.srv.FailNext(tc.method, tc.err)
			c.tick()
			tc.check(t, c)
		})
	}
}

func TestSourceReconcileVanishedChannels(t *testing.T) {
	c := newTestCtx(t)
	p1, p2, p3 := lndtest.PeerKey(1), lndtest.PeerKey(2),
		lndtest.PeerKey(3)
	a, b, d := lndtest.ChanPoint(1), lndtest.ChanPoint(2),
		lndtest.ChanPoint(3)
	c.srv.OpenChannel(a, p1, 0)
	c.srv.OpenChannel(b, p2, 0)
	c.srv.OpenChannel(d, p3, 0)
	c.start()
	c.next("sync")
	c.srv.WaitSubscribed(t, 1)
	chanA := core.SnapshotChannel{Point: mustPoint(t, a),
		Peer: mustPeer(t, p1)}
	chanB := core.SnapshotChannel{Point: mustPoint(t, b),
		Peer: mustPeer(t, p2)}
	chanD := core.SnapshotChannel{Point: mustPoint(t, d),
		Peer: mustPeer(t, p3)}

	// Unseen by the streams, a closes; b waits for its closing
	// transaction, which lnd tells no stream about.
	c.srv.SetSilent(true)
	c.srv.CloseChannel(a, lnrpc.ChannelCloseSummary_COOPERATIVE_CLOSE)
	c.srv.SetSilent(false)
	c.srv.BroadcastClose(b)

	// Without ClosedChannels no close is confirmed: all stay open.
	c.srv.FailNext("ClosedChannels", status.Error(codes.Internal,
		"database busy"))
	c.tick()
	require.ElementsMatch(t, []core.SnapshotChannel{chanA, chanB, chanD},
		c.next("sync").snap.Channels)
	require.Len(t, c.log.lines("WRN", "ClosedChannels", "database busy"),
		1)

	// a is confirmed closed; b stays open until lnd reports its close,
	// as lnd's own chanfitness keeps it until then.
	c.tick()
	require.ElementsMatch(t, []core.SnapshotChannel{chanB, chanD},
		c.next("sync").snap.Channels)
	require.Len(t, c.log.lines("INF", a, "closed without a close event",
		"COOPERATIVE_CLOSE"), 1)
	require.Empty(t, c.log.lines("WRN", b))

	c.srv.CloseChannel(b, lnrpc.ChannelCloseSummary_LOCAL_FORCE_CLOSE)
	got := c.next("apply").ev
	require.Equal(t, core.ChannelClosed, got.Type)
	require.Equal(t, chanB.Point, got.Channel)
	c.tick()
	require.Equal(t, []core.SnapshotChannel{chanD},
		c.next("sync").snap.Channels)

	// Nothing vanished at the last tick: no lookup.
	require.Equal(t, 2, c.srv.Calls("ClosedChannels"))
	require.Equal(t, 1, c.srv.Calls("SubscribeChannelEvents"))
	c.noCall()
}
