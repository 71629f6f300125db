package cln_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// TestReconcileOff: chanfitness-reconcile-interval=0 means no reconcile
// ticker at all, as --reconcileinterval=0 on lnd; the plugin still
// bootstraps from the node and follows its notifications.
func TestReconcileOff(t *testing.T) {
	a := lightningdtest.PeerID(1)
	p := startInProcess(t, inProcessOpts{
		values: map[string]any{"chanfitness-reconcile-interval": "0"},
		setup: func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		},
		config: func(c *cln.Config) {
			c.NewTicker = func(d time.Duration) ticker.Ticker {
				t.Errorf("reconcile ticker of %v made", d)
				return ticker.NewForce(d)
			}
		},
	})
	p.advance(time.Hour)
	p.Disconnect(a)
	p.advance(time.Hour)
	r := p.Report()
	require.Len(t, r.Channels, 1)
	require.EqualValues(t, 2*3600, r.Channels[0].LifetimeSeconds)
	require.EqualValues(t, 3600, r.Channels[0].UptimeSeconds)
}
