package core_test

import (
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// TestAdviceOrder: worst verdict first, lowest uptime first within one,
// and a peer to act on that is offline now is said to be.
func TestAdviceOrder(t *testing.T) {
	up := func(r float64) map[string]core.PeerWindow {
		return map[string]core.PeerWindow{
			core.Window30d: {UptimeRatio: &r}}
	}
	r := core.Report{Peers: []core.PeerReport{
		{PeerID: "a", Verdict: core.VerdictOK, Online: true,
			Windows: up(0.99)},
		{PeerID: "b", Verdict: core.VerdictWatch, Online: true,
			Windows: up(0.93), Reasons: []core.Reason{{Text: "x"}}},
		{PeerID: "c", Verdict: core.VerdictConsiderClosing,
			Windows: up(0.5), Reasons: []core.Reason{{Text: "y"},
				{Text: "z"}}},
		{PeerID: "d", Verdict: core.VerdictTooNew, Online: true},
		{PeerID: "e", Verdict: core.VerdictWatch, Online: true,
			Windows: up(0.90)},
	}}
	adv := core.AdviceOf(r)
	var ids []string
	for _, a := range adv {
		ids = append(ids, a.PeerID)
	}
	require.Equal(t, []string{"c", "e", "b", "d", "a"}, ids)
	require.Equal(t, "y; z; offline now (since 0001-01-01 00:00): "+
		"wait until it is back before closing", adv[0].Why)
	require.Equal(t, "x", adv[2].Why)
	require.Empty(t, adv[4].Why)
}
