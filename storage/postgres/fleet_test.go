package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
	"github.com/chanfitness/chanfitness/storage"
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

// TestFleetReaderDamagedChunks: the fleet view picks a log's chunks by
// the last time their rows say; a row whose time was damaged (it no
// longer names the chunk's last event) or a chunk missing among those
// read fails the view loudly, naming the table, the peer and the node,
// rather than showing an outage or uptime nobody saw.
func TestFleetReaderDamagedChunks(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	s := open(t, dsn, 1)
	p := node(9)
	// Events at seconds 0 to 79: chunks at events 0, 32 (32 events
	// each) and 64 (16).
	for i := 0; i < 80; i++ {
		b := event(p, uint64(i), i)
		if i == 0 {
			b.Channels = []core.ChannelRecord{{Peer: p,
				OpenedAt: b.Logs[0].Events[0].Time}}
		}
		require.NoError(t, s.Write(ctx, b))
	}
	r, err := postgres.NewFleetReader(dsn, 0)
	require.NoError(t, err)
	defer r.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	now := sec(100)
	for _, from := range []int{20, 70} {
		nodes, err := r.Read(ctx, sec(from), now)
		require.NoError(t, err)
		require.Len(t, nodes, 1)
		require.Len(t, nodes[0].Peers, 1)
		// From the event before since on, then the staged one.
		evs := nodes[0].Peers[0].Events
		require.Len(t, evs, 80-from+2)
		for i, ev := range evs[:len(evs)-1] {
			require.True(t, sec(from-1+i).Equal(ev.Time))
		}
	}

	for _, c := range []struct {
		from         int
		damage, undo string
		want         string
	}{{
		// A chunk of the past said to end in the window.
		from: 70,
		damage: `UPDATE chanfitness_logs SET last_s = last_s + 3600
			WHERE seq = 0`,
		undo: `UPDATE chanfitness_logs SET last_s = last_s - 3600
			WHERE seq = 0`,
		want: "its last event is at second",
	}, {
		// A chunk of the window said to end before it.
		from: 20,
		damage: `UPDATE chanfitness_logs SET last_s = last_s - 3600
			WHERE seq = 32`,
		undo: `UPDATE chanfitness_logs SET last_s = last_s + 3600
			WHERE seq = 32`,
		want: "its last event is at second",
	}, {
		from:   20,
		damage: `DELETE FROM chanfitness_logs WHERE seq = 32`,
		want:   "events 32 to 63 are missing",
	}} {
		pgtest.Exec(t, dsn, c.damage)
		_, err := r.Read(ctx, sec(c.from), now)
		require.ErrorIs(t, err, storage.ErrCorrupt, c.damage)
		require.ErrorContains(t, err, "chanfitness_logs")
		require.ErrorContains(t, err, p.String())
		require.ErrorContains(t, err, node(1).String())
		require.ErrorContains(t, err, c.want)
		if c.undo != "" {
			pgtest.Exec(t, dsn, c.undo)
			_, err = r.Read(ctx, sec(c.from), now)
			require.NoError(t, err)
		}
	}
}
