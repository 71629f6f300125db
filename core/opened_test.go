package core_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

func (sc *sourceCtx) syncAt(height uint32, online []core.PeerID,
	chans ...core.SnapshotChannel) {

	sc.t.Helper()
	require.NoError(sc.t, sc.sink.Sync(sc.ctx, core.Snapshot{
		BlockHeight: height, Channels: chans, OnlinePeers: online,
	}))
}

func (sc *sourceCtx) channel(cp core.ChannelPoint) core.ChannelReport {
	sc.t.Helper()
	rep, err := sc.m.Report(sc.ctx, core.ReportQuery{})
	require.NoError(sc.t, err)
	var out []core.ChannelReport
	for _, c := range rep.Channels {
		if c.ChannelPoint == cp.String() {
			out = append(out, c)
		}
	}
	require.Len(sc.t, out, 1, "channel %v in the report", cp)
	return out[0]
}

// TestChannelOlderThanMonitor: a channel first learned from a snapshot
// shows the node's open time and age, in seconds and blocks; its lifetime
// and uptime count monitored time only. A restart keeps all of it.
func TestChannelOlderThanMonitor(t *testing.T) {
	sc := newSourceCtx(t)
	p, a, b := peerN(1), chanN(1), chanN(2)
	opened := t0.Add(-30 * 24 * time.Hour)
	sc.syncAt(800144, []core.PeerID{p},
		core.SnapshotChannel{Point: a, Peer: p, OpenedAt: opened,
			OpenedAtSource: core.OpenedAtNode, FundingHeight: 800000})
	sc.advance(time.Hour)
	sc.open(p, b)
	sc.advance(time.Hour)

	c := sc.channel(a)
	require.Equal(t, opened, c.OpenedAt.Time)
	require.Equal(t, "node", c.OpenedAtSource)
	require.EqualValues(t, (30*24+2)*3600, c.AgeSeconds)
	require.NotNil(t, c.AgeBlocks)
	require.EqualValues(t, 144, *c.AgeBlocks)
	require.EqualValues(t, 2*3600, c.LifetimeSeconds)
	require.EqualValues(t, 2*3600, c.UptimeSeconds)
	require.EqualValues(t, 2*3600,
		c.Windows[core.Window30d].MonitoredSeconds)

	// Seen open: the monitor's time, no funding height.
	c = sc.channel(b)
	require.Equal(t, t0.Add(time.Hour), c.OpenedAt.Time)
	require.Equal(t, "seen", c.OpenedAtSource)
	require.Nil(t, c.AgeBlocks)
	require.EqualValues(t, 3600, c.AgeSeconds)

	// A later snapshot with a node time for the seen channel and a
	// funding height: the time stays the one seen, the height is
	// learned.
	sc.syncAt(800150, []core.PeerID{p},
		core.SnapshotChannel{Point: a, Peer: p, OpenedAt: opened,
			FundingHeight: 800000},
		core.SnapshotChannel{Point: b, Peer: p,
			OpenedAt:      t0.Add(time.Hour - time.Minute),
			FundingHeight: 800140})
	c = sc.channel(b)
	require.Equal(t, t0.Add(time.Hour), c.OpenedAt.Time)
	require.Equal(t, "seen", c.OpenedAtSource)
	require.EqualValues(t, 10, *c.AgeBlocks)

	require.NoError(t, sc.m.Stop())
	sc.startSource()
	sc.syncAt(0, []core.PeerID{p},
		core.SnapshotChannel{Point: a, Peer: p},
		core.SnapshotChannel{Point: b, Peer: p})
	c = sc.channel(a)
	require.Equal(t, opened, c.OpenedAt.Time)
	require.Equal(t, "node", c.OpenedAtSource)
	require.EqualValues(t, 2*3600, c.LifetimeSeconds)
	// The block height is the node's, learned again from its next
	// snapshot; until then the age in blocks is unknown.
	require.Nil(t, c.AgeBlocks)
	info, err := sc.m.ChannelInfo(sc.ctx, a)
	require.NoError(t, err)
	require.EqualValues(t, 800000, info.FundingHeight)
}

// TestEstimatedOpenTimeCorrected: an estimated open time is replaced by
// the node's once a snapshot gives it, in the same channel (not a second
// one), with lifetime untouched; a later estimate changes nothing.
func TestEstimatedOpenTimeCorrected(t *testing.T) {
	sc := newSourceCtx(t)
	p, a := peerN(1), chanN(1)
	est := t0.Add(-48 * time.Hour)
	sc.syncSnap([]core.PeerID{p}, core.SnapshotChannel{Point: a, Peer: p,
		OpenedAt: est, OpenedAtSource: core.OpenedAtEstimated})
	sc.advance(time.Hour)
	c := sc.channel(a)
	require.Equal(t, est, c.OpenedAt.Time)
	require.Equal(t, "estimated", c.OpenedAtSource)

	exact := t0.Add(-47*time.Hour - 13*time.Minute)
	sc.syncSnap([]core.PeerID{p}, core.SnapshotChannel{Point: a, Peer: p,
		OpenedAt: exact, OpenedAtSource: core.OpenedAtNode})
	sc.advance(time.Hour)
	c = sc.channel(a)
	require.Equal(t, exact, c.OpenedAt.Time)
	require.Equal(t, "node", c.OpenedAtSource)
	require.EqualValues(t, 2*3600, c.LifetimeSeconds)
	require.EqualValues(t, int64(sc.clock.Now().Sub(exact)/time.Second),
		c.AgeSeconds)

	sc.syncSnap([]core.PeerID{p}, core.SnapshotChannel{Point: a, Peer: p,
		OpenedAt: est, OpenedAtSource: core.OpenedAtEstimated})
	require.NoError(t, sc.m.Stop())
	sc.startSource()
	sc.syncSnap([]core.PeerID{p}, core.SnapshotChannel{Point: a, Peer: p})
	c = sc.channel(a)
	require.Equal(t, exact, c.OpenedAt.Time)
	require.Equal(t, "node", c.OpenedAtSource)
}

// TestSnapshotOpenTimeOutOfRange: a snapshot with an open time an int64
// of nanoseconds cannot hold is refused, naming the channel.
func TestSnapshotOpenTimeOutOfRange(t *testing.T) {
	sc := newSourceCtx(t)
	p, a := peerN(1), chanN(1)
	err := sc.sink.Sync(sc.ctx, core.Snapshot{Channels: []core.SnapshotChannel{
		{Point: a, Peer: p, OpenedAt: time.Date(1500, 1, 1, 0, 0, 0, 0,
			time.UTC)}}})
	require.ErrorIs(t, err, core.ErrBadInput)
	require.ErrorContains(t, err, a.String())
}
