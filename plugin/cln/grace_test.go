package cln_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// TestInProcessStartupGrace restarts lightningd under a plugin with
// history: at its start the channel peer is not connected yet. The time
// until it reconnects within the grace is unmonitored and counts no flap
// and no outage; a peer still away when the grace ends is offline from
// then on, without a flap either. A dynamic start has no grace.
func TestInProcessStartupGrace(t *testing.T) {
	a := lightningdtest.PeerID(1)
	spec := lightningdtest.NewChannel(a, 1, lightningdtest.StateNormal)
	tests := []struct {
		name    string
		dynamic bool
		back    time.Duration // 0: never
		outage  int64
		online  bool
		flaps   int
		grace   int64 // seconds of the grace, unmonitored
		life    int64 // channel lifetime at the end
	}{
		{"back within the grace", false, 5 * time.Second, 0, true, 0,
			5, 20},
		{"away past the grace", false, 0, 10, false, 0, 61, 20},
		{"dynamic start: no grace", true, 5 * time.Second, 5, true,
			1, 0, 25},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			values := map[string]any{"chanfitness-store": "badger",
				"chanfitness-datadir": dir}
			p1 := startInProcess(t, inProcessOpts{values: values,
				setup: func(n *lightningdtest.Node) {
					n.SetPeer(a, true)
					n.AddChannel(spec)
				}})
			p1.advance(10 * time.Second)
			r1 := p1.Report()
			require.Zero(t, p1.Shutdown())

			// lightningd restarts an hour later; a redials.
			p2 := startInProcess(t, inProcessOpts{values: values,
				dynamic: tc.dynamic, at: t0.Add(time.Hour),
				setup: func(n *lightningdtest.Node) {
					n.SetPeer(a, false)
					n.AddChannel(spec)
				}})
			if tc.back > 0 {
				p2.advance(tc.back)
				p2.Connect(a)
				if !tc.dynamic {
					p2.WaitLog("monitoring resumes", time.Minute)
				}
			} else {
				p2.advance(61 * time.Second)
				p2.WaitLog("monitoring resumes", time.Minute)
			}
			p2.advance(10 * time.Second)
			r2 := p2.Report()

			c1, c2 := channel(t, r1, spec.Point()),
				channel(t, r2, spec.Point())
			require.Equal(t, c1.OpenedAt, c2.OpenedAt)
			require.Zero(t, c1.LifetimeSeconds-c1.UptimeSeconds)
			require.Equal(t, tc.outage,
				c2.LifetimeSeconds-c2.UptimeSeconds, "outage")
			require.Equal(t, tc.online, peer(t, r2, a).Online)
			// The hour the plugin was away, less the 10 s
			// monitored before it, and the grace.
			require.Equal(t, 3590+tc.grace,
				r2.UnmonitoredSeconds-r1.UnmonitoredSeconds)
			require.Equal(t, tc.life, c2.LifetimeSeconds)
			require.Equal(t, peer(t, r1, a).FlapCount+tc.flaps,
				peer(t, r2, a).FlapCount, "flaps")
			require.Zero(t, p2.Shutdown())
		})
	}
}

// TestInProcessStopDuringGrace stops the plugin while lightningd's start
// grace still waits for a peer: the history is kept, the time is
// unmonitored, and the next start counts no flap for it either.
func TestInProcessStopDuringGrace(t *testing.T) {
	a := lightningdtest.PeerID(1)
	spec := lightningdtest.NewChannel(a, 1, lightningdtest.StateNormal)
	dir := t.TempDir()
	values := map[string]any{"chanfitness-store": "badger",
		"chanfitness-datadir": dir}
	setup := func(online bool) func(n *lightningdtest.Node) {
		return func(n *lightningdtest.Node) {
			n.SetPeer(a, online)
			n.AddChannel(spec)
		}
	}
	p1 := startInProcess(t, inProcessOpts{values: values,
		setup: setup(true)})
	p1.advance(10 * time.Second)
	r1 := p1.Report()
	require.Zero(t, p1.Shutdown())

	// Stopped 5 s into the grace.
	p2 := startInProcess(t, inProcessOpts{values: values,
		at: t0.Add(time.Hour), setup: setup(false)})
	p2.advance(5 * time.Second)
	require.Zero(t, p2.Shutdown())

	p3 := startInProcess(t, inProcessOpts{values: values,
		at: t0.Add(2 * time.Hour), setup: setup(true)})
	p3.advance(10 * time.Second)
	r3 := p3.Report()
	c1, c3 := channel(t, r1, spec.Point()), channel(t, r3, spec.Point())
	require.Equal(t, c1.OpenedAt, c3.OpenedAt)
	require.Equal(t, int64(20), c3.LifetimeSeconds)
	require.Equal(t, int64(20), c3.UptimeSeconds)
	require.Equal(t, peer(t, r1, a).FlapCount, peer(t, r3, a).FlapCount)
	require.True(t, peer(t, r3, a).Online)
	require.Zero(t, p3.Shutdown())
}
