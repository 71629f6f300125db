package cln_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// TestInProcessChannelLife follows a channel through the notifications of
// every payload shape on a test clock: opened, peer offline for two hours,
// back, closed. Uptime, lifetime and status come out exact.
func TestInProcessChannelLife(t *testing.T) {
	for _, pl := range lightningdtest.Payloads {
		t.Run(pl.String(), func(t *testing.T) {
			a := lightningdtest.PeerID(1)
			p := startInProcess(t, lightningdtest.Options{Payload: pl},
				nil, false, func(n *lightningdtest.Node) {
					n.SetPeer(a, true)
				})
			ch := p.OpenChannel(a, 1)
			p.advance(time.Hour)
			p.Disconnect(a)
			p.advance(2 * time.Hour)
			p.Connect(a)
			p.advance(time.Hour)

			r := p.Report()
			c := channel(t, r, ch.Point())
			require.Equal(t, "open", c.Status)
			require.EqualValues(t, 4*3600, c.LifetimeSeconds)
			require.EqualValues(t, 2*3600, c.UptimeSeconds)
			require.NotNil(t, c.ShortChannelID)
			require.Equal(t, ch.ShortChannelID, *c.ShortChannelID)

			p.CloseChannel(ch)
			p.advance(time.Hour)
			r = p.Report()
			c = channel(t, r, ch.Point())
			require.Equal(t, "closed", c.Status)
			require.Equal(t, t0.Add(4*time.Hour), c.ClosedAt.Time)
			require.EqualValues(t, 4*3600, c.LifetimeSeconds)
			require.EqualValues(t, 2*3600, c.UptimeSeconds)

			pr := peer(t, r, a)
			require.True(t, pr.Online)
			require.Equal(t, 0, pr.OpenChannels)
			// One flap for tracking the peer, then the
			// disconnect and the connect.
			require.Equal(t, 3, pr.FlapCount)
		})
	}
}
