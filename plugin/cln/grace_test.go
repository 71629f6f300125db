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
	}{
		{"back within the grace", false, 5 * time.Second, 0, true, 0},
		{"away past the grace", false, 0, 10, false, 0},
		{"dynamic start: no grace", true, 5 * time.Second, 5, true,
			1},
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
			require.Equal(t, peer(t, r1, a).FlapCount+tc.flaps,
				peer(t, r2, a).FlapCount, "flaps")
			require.Zero(t, p2.Shutdown())
		})
	}
}
