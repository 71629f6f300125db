package fleet_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
	"github.com/stretchr/testify/require"
)

var day0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func at(h int) time.Time {
	return day0.Add(time.Duration(h) * time.Hour)
}

func id(n byte) core.PeerID {
	var p core.PeerID
	p[0], p[1] = 0x02, n
	return p
}

func ev(h int, s core.State) core.LogEvent {
	return core.LogEvent{Time: at(h), State: s}
}

const (
	on      = core.StateOnline
	off     = core.StateOffline
	unknown = core.StateUnknown
)

// TestComputeUnionAndLinks: two of our nodes with a channel to peer P.
// Node A sees P online all day but for 14:00-15:00; node B sees it
// offline 10:00-12:00 too: those two hours were B's link, the hour both
// saw it offline was P. Peer Q only has node A. Node B's history ends at
// 20:00 (its monitor stopped): after that only A's view counts.
func TestComputeUnionAndLinks(t *testing.T) {
	a, b, p, q := id(0xa), id(0xb), id(1), id(2)
	now := at(24)
	nodes := []fleet.NodeHistory{{
		Node: b, Until: at(20),
		Peers: []fleet.PeerHistory{{Peer: p, OpenChannels: 2,
			Events: []core.LogEvent{ev(-48, on), ev(10, off),
				ev(12, on), ev(14, off), ev(15, on)}}},
	}, {
		Node: a, Until: now, Live: true,
		Peers: []fleet.PeerHistory{{Peer: p, OpenChannels: 1,
			Events: []core.LogEvent{ev(-48, on), ev(14, off),
				ev(15, on)}},
			{Peer: q, OpenChannels: 1,
				Events: []core.LogEvent{ev(-1, off), ev(5, on),
					ev(22, unknown)}}},
	}}
	rep := fleet.Compute(nodes, now)
	require.Len(t, rep.Nodes, 2)
	require.Equal(t, a, rep.Nodes[0].NodeID)
	require.True(t, rep.Nodes[0].Live)
	require.False(t, rep.Nodes[1].Live)
	require.Len(t, rep.Peers, 2)

	pr := rep.Peers[0]
	require.Equal(t, p, pr.PeerID)
	w := pr.Windows["1d"]
	require.Equal(t, int64(24*3600), w.MonitoredSeconds)
	require.Equal(t, int64(23*3600), w.UptimeSeconds)
	require.Equal(t, int64(3600), w.DownSeconds)
	require.InDelta(t, 23.0/24, *w.UptimeRatio, 1e-9)
	require.Len(t, pr.Links, 2)
	la, lb := pr.Links[0], pr.Links[1]
	require.Equal(t, a, la.NodeID)
	require.Equal(t, 1, la.OpenChannels)
	require.True(t, *la.Online)
	require.Nil(t, lb.Online, "node b no longer watches")
	require.Equal(t, fleet.LinkWindow{MonitoredSeconds: 24 * 3600,
		UptimeSeconds: 23 * 3600, UptimeRatio: la.Windows["1d"].
				UptimeRatio}, la.Windows["1d"])
	require.Equal(t, int64(20*3600), lb.Windows["1d"].MonitoredSeconds)
	require.Equal(t, int64(17*3600), lb.Windows["1d"].UptimeSeconds)
	require.Equal(t, int64(2*3600), lb.Windows["1d"].LinkDownSeconds)
	// Over 7 days: two more days of both seeing it online.
	require.Equal(t, int64(72*3600), pr.Windows["7d"].MonitoredSeconds)
	require.Equal(t, int64(3600), pr.Windows["7d"].DownSeconds)

	qr := rep.Peers[1]
	require.Equal(t, q, qr.PeerID)
	qw := qr.Windows["1d"]
	// Offline 0:00-5:00, online 5:00-22:00, then unknown.
	require.Equal(t, int64(22*3600), qw.MonitoredSeconds)
	require.Equal(t, int64(17*3600), qw.UptimeSeconds)
	require.Equal(t, int64(5*3600), qw.DownSeconds)
	require.Nil(t, qr.Links[0].Online)

	// A custom window, and the JSON's stable names.
	rep = fleet.Compute(nodes, now, core.Window{Name: "12h",
		Length: 12 * time.Hour})
	require.Equal(t, int64(12*3600),
		rep.Peers[0].Windows["12h"].MonitoredSeconds)
	b2, err := json.Marshal(rep)
	require.NoError(t, err)
	for _, f := range []string{`"generated_at"`, `"node_id"`,
		`"seen_until"`, `"link_down_seconds"`, `"down_seconds"`,
		`"uptime_ratio"`, `"open_channels"`} {
		require.Contains(t, string(b2), f)
	}
}

// TestComputeNothingKnown: a peer with no events and a node whose view
// ended before the window have null ratios and zero times.
func TestComputeNothingKnown(t *testing.T) {
	now := at(24)
	rep := fleet.Compute([]fleet.NodeHistory{{Node: id(0xa),
		Until: at(-72), Peers: []fleet.PeerHistory{{Peer: id(1),
			Events: []core.LogEvent{ev(-100, on)}},
			{Peer: id(2)}}}}, now)
	for _, pr := range rep.Peers {
		w := pr.Windows["1d"]
		require.Zero(t, w.MonitoredSeconds)
		require.Nil(t, w.UptimeRatio)
		require.Nil(t, pr.Links[0].Online)
	}
	// The week holds the 28 hours the node watched peer 1 online.
	require.Equal(t, int64(28*3600),
		rep.Peers[0].Windows["7d"].MonitoredSeconds)
	require.Empty(t, fleet.Compute(nil, now).Peers)
}
