package cln_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// TestProcessAdvice: chanfitness-advice lists each peer with its
// verdict and why, as objects and as lines, takes an optional peer_id,
// and refuses any other parameter with an error naming it.
func TestProcessAdvice(t *testing.T) {
	a, b := lightningdtest.PeerID(1), lightningdtest.PeerID(2)
	n := startProcess(t, lightningdtest.Options{}, nil, false,
		func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.SetPeer(b, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
			n.AddChannel(lightningdtest.NewChannel(b, 2,
				lightningdtest.StateNormal))
		})

	var res struct {
		Advice []core.Advice `json:"advice"`
		Lines  []string      `json:"lines"`
	}
	resp := n.CLI("chanfitness-advice")
	require.Nil(t, resp.Error)
	require.NoError(t, json.Unmarshal(resp.Result, &res))
	require.Len(t, res.Advice, 2)
	for _, adv := range res.Advice {
		require.Equal(t, core.VerdictTooNew, adv.Verdict)
		require.Contains(t, adv.Why, "judged from 14d")
	}
	require.Len(t, res.Lines, 3)
	require.True(t, strings.HasPrefix(res.Lines[0], "VERDICT"))

	resp = n.CLI("chanfitness-advice", b)
	require.Nil(t, resp.Error)
	require.NoError(t, json.Unmarshal(resp.Result, &res))
	require.Len(t, res.Advice, 1)
	require.Equal(t, b, res.Advice[0].PeerID)

	for _, args := range [][]string{{"zz"}, {b, "7d"}} {
		resp = n.CLI("chanfitness-advice", args...)
		require.NotNil(t, resp.Error, "%v", args)
	}
	resp = n.CLI("chanfitness-advice", "zz")
	require.Contains(t, resp.Error.Message, `peer id "zz"`)
}
