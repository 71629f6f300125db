package cln_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// TestInProcessOpenedAtFromNode starts the plugin into a node whose
// channel reached CHANNELD_NORMAL two minutes before: the report's
// opened_at is the node's time of that move, not the plugin's start. A
// channel without that history counts from the plugin's start.
func TestInProcessOpenedAtFromNode(t *testing.T) {
	a := lightningdtest.PeerID(1)
	b := lightningdtest.PeerID(2)
	normal := t0.Add(-2 * time.Minute)
	withHistory := lightningdtest.NewChannel(a, 1,
		lightningdtest.StateNormal)
	withHistory.AddHistory(normal.Add(-time.Minute), "OPENINGD",
		"CHANNELD_AWAITING_LOCKIN")
	withHistory.AddHistory(normal, "CHANNELD_AWAITING_LOCKIN",
		"CHANNELD_NORMAL")
	without := lightningdtest.NewChannel(b, 2, lightningdtest.StateNormal)
	for _, dynamic := range []bool{true, false} {
		p := startInProcess(t, inProcessOpts{dynamic: dynamic,
			setup: func(n *lightningdtest.Node) {
				n.SetPeer(a, true)
				n.SetPeer(b, true)
				n.AddChannel(withHistory)
				n.AddChannel(without)
			}})
		r := p.Report()
		require.Equal(t, normal, channel(t, r,
			withHistory.Point()).OpenedAt.Time)
		require.Equal(t, t0, channel(t, r, without.Point()).OpenedAt.Time)
		require.Zero(t, p.Shutdown())
	}
}
