package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
	"github.com/chanfitness/chanfitness/storage/postgres"
	"github.com/chanfitness/chanfitness/storage/postgres/pgtest"
	"github.com/stretchr/testify/require"
)

// TestFleetReader: two nodes' histories in one database, read back for
// the fleet view. Node 1 runs (holds its lock): seen until now. Node 2
// stopped: seen until its heartbeat. Peer P's outage seen by node 2 only
// is its link's; the one both saw is P's.
func TestFleetReader(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	p := node(50)
	write := func(s *postgres.Store, hb time.Time, open bool,
		evs ...core.LogEvent) {

		var cp core.ChannelPoint
		cp.Txid[0] = s.Node()[32]
		ch := core.ChannelRecord{Point: cp, Peer: p, OpenedAt: t0}
		if !open {
			ch.ClosedAt = h(30)
		}
		last := evs[len(evs)-1]
		require.NoError(t, s.Write(ctx, &core.Batch{
			Meta: &core.Meta{MonitoringSince: t0, Heartbeat: hb},
			Peers: []core.PeerRecord{{Peer: p, Staged: &last,
				LastEvent: last.Time}},
			Logs: []core.PeerLog{{Peer: p,
				Events: evs[:len(evs)-1]}},
			Channels: []core.ChannelRecord{ch},
		}))
	}
	on, off := core.StateOnline, core.StateOffline
	a := open(t, dsn, 1)
	write(a, h(40), true, core.LogEvent{Time: h(0), State: on},
		core.LogEvent{Time: h(44), State: off},
		core.LogEvent{Time: h(45), State: on})
	b := open(t, dsn, 2)
	write(b, h(46), false, core.LogEvent{Time: h(0), State: on},
		core.LogEvent{Time: h(30), State: off},
		core.LogEvent{Time: h(32), State: on},
		core.LogEvent{Time: h(44), State: off},
		core.LogEvent{Time: h(45), State: on})
	require.NoError(t, b.Close())

	r, err := postgres.NewFleetReader(dsn, 0)
	require.NoError(t, err)
	defer r.Close()
	now := h(48)
	nodes, err := r.Read(ctx, now.Add(-24*time.Hour), now)
	require.NoError(t, err)
	require.Len(t, nodes, 2)
	require.True(t, nodes[0].Live)
	require.Equal(t, now, nodes[0].Until)
	require.False(t, nodes[1].Live)
	require.True(t, nodes[1].Until.Equal(h(46)))
	require.Len(t, nodes[0].Peers, 1)
	require.Equal(t, 1, nodes[0].Peers[0].OpenChannels)
	require.Equal(t, 0, nodes[1].Peers[0].OpenChannels)
	// Node 1's log from before the window on: h(0), then h(44) and the
	// staged h(45).
	require.Len(t, nodes[0].Peers[0].Events, 3)

	rep := fleet.Compute(nodes, now)
	require.Len(t, rep.Peers, 1)
	w := rep.Peers[0].Windows["1d"]
	require.Equal(t, int64(24*3600), w.MonitoredSeconds)
	require.Equal(t, int64(3600), w.DownSeconds)
	lb := rep.Peers[0].Links[1]
	require.Equal(t, node(2), lb.NodeID)
	require.Equal(t, int64(2*3600), lb.Windows["1d"].LinkDownSeconds)
	require.Equal(t, int64(22*3600), lb.Windows["1d"].MonitoredSeconds)

	// The password stays out of a failed read's error.
	bad, err := postgres.NewFleetReader(strings.Replace(dsn, "/t",
		"/nosuch", 1), 0)
	require.NoError(t, err)
	_, err = bad.Read(ctx, t0, now)
	require.Error(t, err)
	require.NotContains(t, err.Error(), pgtest.Password)
}
