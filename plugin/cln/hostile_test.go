package cln_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// TestProcessHostileRequests sends the plugin chanfitness requests its
// decoder refuses: params nested deeper than encoding/json allows, and a
// request over the 16 MiB message limit. Each gets an error reply naming
// the cause (lightning-cli would otherwise wait for ever), the plugin
// keeps running and keeps counting, and nothing it writes breaks the
// protocol.
func TestProcessHostileRequests(t *testing.T) {
	a := lightningdtest.PeerID(1)
	n := startProcess(t, lightningdtest.Options{}, nil, false,
		func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		})

	flaps := peer(t, n.Report(), a).FlapCount

	deep := lightningdtest.RawParams(strings.Repeat("[", 10001) +
		strings.Repeat("]", 10001))
	r := n.Call("chanfitness", deep)
	require.NotNil(t, r.Error)
	require.Equal(t, -32600, r.Error.Code)
	require.Contains(t, r.Error.Message, "exceeded max depth")

	huge := lightningdtest.RawParams(`["` +
		strings.Repeat("0", 17<<20) + `"]`)
	r = n.Call("chanfitness", huge)
	require.NotNil(t, r.Error)
	require.Equal(t, -32600, r.Error.Code)
	require.Contains(t, r.Error.Message, "bytes skipped: over the 16 "+
		"MiB limit")
	require.Less(t, len(r.Error.Message), 400)
	n.WaitLog("bytes skipped", time.Minute)

	// Still monitoring.
	n.Disconnect(a)
	rep := n.Report()
	require.Len(t, rep.Channels, 1)
	require.False(t, peer(t, rep, a).Online)
	require.Equal(t, flaps+1, peer(t, rep, a).FlapCount)
	require.Empty(t, n.Violations())
	require.Zero(t, n.Shutdown())
}
