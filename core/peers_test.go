package core_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/stretchr/testify/require"
)

// TestChannellessPeerForgotten: a peer without channels is held while it
// is connected and for the grace period after it left, then forgotten; a
// channel opened within the grace period starts from its known state.
func TestChannellessPeerForgotten(t *testing.T) {
	other := peerN(99)
	tests := []struct {
		name string

		// run drives peer p; the test then applies an event of
		// another peer (which sweeps the expired peers).
		run func(tc *testCtx, p core.PeerID)

		// known says whether p is still held afterwards, and up
		// what uptime its new channel has in its first hour.
		known bool
		up    time.Duration
	}{{
		name: "left within the grace period",
		run: func(tc *testCtx, p core.PeerID) {
			tc.online(p)
			tc.offline(p)
			tc.advance(core.DefaultPeerGrace - time.Second)
		},
		known: true,
	}, {
		name: "left longer ago than the grace period",
		up:   time.Hour,
		run: func(tc *testCtx, p core.PeerID) {
			tc.online(p)
			tc.offline(p)
			tc.advance(core.DefaultPeerGrace)
		},
	}, {
		name: "connected for a day",
		run: func(tc *testCtx, p core.PeerID) {
			tc.online(p)
			tc.advance(24 * time.Hour)
		},
		known: true,
		up:    time.Hour,
	}, {
		name: "came back and left again",
		run: func(tc *testCtx, p core.PeerID) {
			tc.online(p)
			tc.offline(p)
			tc.advance(core.DefaultPeerGrace / 2)
			tc.online(p)
			tc.offline(p)
			tc.advance(core.DefaultPeerGrace - time.Second)
		},
		known: true,
	}, {
		name: "found offline by a snapshot",
		up:   time.Hour,
		run: func(tc *testCtx, p core.PeerID) {
			require.NoError(t, tc.m.Sync(tc.ctx, core.Snapshot{
				OnlinePeers: []core.PeerID{p},
			}))
			tc.advance(time.Hour)
			require.NoError(t, tc.m.Sync(tc.ctx, core.Snapshot{}))
			tc.advance(core.DefaultPeerGrace)
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := newTestCtx(t)
			p, a := peerN(1), chanN(1)
			tt.run(tc, p)
			tc.online(other)
			want := 1
			if tt.known {
				want = 2
			}
			require.Equal(t, want, tc.m.KnownPeers())

			// A channel opens: from the known state, or,
			// forgotten, from online as for a new peer.
			tc.open(p, a)
			tc.advance(time.Hour)
			info := tc.info(a)
			require.Equal(t, time.Hour, info.Lifetime)
			require.Equal(t, tt.up, info.Uptime)
		})
	}
}

// TestChannellessPeersBounded: a stream of distinct peers connecting and
// leaving without channels leaves only those within the grace period.
func TestChannellessPeersBounded(t *testing.T) {
	tc := newTestCtx(t)
	const n = 10_000
	step := time.Second
	for i := 0; i < n; i++ {
		p := peerN(1000 + i)
		tc.online(p)
		tc.advance(step)
		tc.offline(p)
	}
	grace := int(core.DefaultPeerGrace / step)
	require.LessOrEqual(t, tc.m.KnownPeers(), grace+1)

	// A restart forgets them all: nothing was stored for them.
	tc.restart(time.Minute)
	require.Zero(t, tc.m.KnownPeers())
}

// TestFlappingStrangerOneEntry: a peer without channels that flaps
// thousands of times holds one entry in the queue of peers to forget, and
// is forgotten a grace period after its last flap.
func TestFlappingStrangerOneEntry(t *testing.T) {
	tc := newTestCtx(t)
	p := peerN(1)
	for i := 0; i < 10_000; i++ {
		tc.online(p)
		tc.offline(p)
		tc.advance(time.Millisecond)
	}
	require.Equal(t, 1, tc.m.ForgetQueue())
	tc.advance(core.DefaultPeerGrace - time.Second)
	tc.online(peerN(2))
	require.Equal(t, 2, tc.m.KnownPeers())
	tc.advance(time.Second)
	tc.online(peerN(2))
	require.Equal(t, 1, tc.m.KnownPeers())
	require.Zero(t, tc.m.ForgetQueue())
}

// BenchmarkChannellessPeers: 1,000,000 distinct peers connect and leave
// without opening a channel, one per 100 ms. Heap growth is reported per
// peer after a GC; it is bounded by the peers within the grace period.
func BenchmarkChannellessPeers(b *testing.B) {
	const n = 1_000_000
	for i := 0; i < b.N; i++ {
		m, clk := benchMonitor(b, memory.New())
		ctx := b.Context()
		before := heapBytes()
		now := t0
		for j := 0; j < n; j++ {
			var p core.PeerID
			p[0] = 0x03
			p[1], p[2], p[3] = byte(j), byte(j>>8), byte(j>>16)
			now = now.Add(50 * time.Millisecond)
			if err := m.Apply(ctx, core.Event{Type: core.PeerOnline,
				Peer: p, Time: now}); err != nil {
				b.Fatal(err)
			}
			now = now.Add(50 * time.Millisecond)
			clk.SetTime(now)
			if err := m.Apply(ctx, core.Event{Type: core.PeerOffline,
				Peer: p, Time: now}); err != nil {
				b.Fatal(err)
			}
		}
		after := heapBytes()
		b.ReportMetric((float64(after)-float64(before))/n, "B/peer")
		b.ReportMetric(float64(m.KnownPeers()), "peers-held")
		runtime.KeepAlive(m)
	}
}
