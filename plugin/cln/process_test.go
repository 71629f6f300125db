package cln_test

import (
	"testing"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// startProcess launches the plugin binary under a new emulated node with
// a memory store unless values say otherwise.
func startProcess(t testing.TB, opts lightningdtest.Options,
	values map[string]any, dynamic bool,
	setup func(n *lightningdtest.Node)) *lightningdtest.Node {

	t.Helper()
	bin := pluginBinary(t)
	n := lightningdtest.New(t, opts)
	if setup != nil {
		setup(n)
	}
	if values == nil {
		values = map[string]any{}
	}
	if _, ok := values["chanfitness-store"]; !ok {
		values["chanfitness-store"] = "memory"
	}
	n.Start(bin, values, dynamic)
	return n
}

// TestProcessManifest checks the manifest lightningd gets: the options
// with their types and defaults, the method with a usage string, all
// five subscriptions, string ids and dynamic loading.
func TestProcessManifest(t *testing.T) {
	n := lightningdtest.New(t, lightningdtest.Options{})
	n.Launch(pluginBinary(t))
	m := n.Manifest

	for _, topic := range []string{"connect", "disconnect",
		"channel_opened", "channel_state_changed", "shutdown"} {

		require.True(t, m.Subscribed(topic), topic)
	}
	require.Len(t, m.Subscriptions, 5)
	require.True(t, m.NonNumericIDs)
	require.True(t, m.Dynamic)

	meth, ok := m.Method("chanfitness")
	require.True(t, ok)
	require.Equal(t, "[peer_id] [window]", meth.Usage)
	require.NotEmpty(t, meth.Description)

	tests := []struct {
		name, typ, def string
	}{
		{"chanfitness-datadir", "string", `"chanfitness"`},
		{"chanfitness-store", "string", `"badger"`},
		{"chanfitness-reconcile-interval", "int", `60`},
		{"chanfitness-closed-retention-days", "int", `90`},
	}
	require.Len(t, m.Options, len(tests))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := m.Option(tc.name)
			require.True(t, ok)
			require.Equal(t, tc.typ, o.Type)
			require.JSONEq(t, tc.def, string(o.Default))
			require.NotEmpty(t, o.Description)
		})
	}
	require.Zero(t, n.CloseStdin())
}

// TestProcessDynamicStart starts the plugin on a running node whose peers
// are connected and whose channels are open, as `lightning-cli plugin
// start` does: init bootstraps from RPC.
func TestProcessDynamicStart(t *testing.T) {
	a, b := lightningdtest.PeerID(1), lightningdtest.PeerID(2)
	var chA, chB *lightningdtest.Channel
	n := startProcess(t, lightningdtest.Options{}, nil, true,
		func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.SetPeer(b, false)
			chA = n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
			chB = n.AddChannel(lightningdtest.NewChannel(b, 2,
				lightningdtest.StateNormal))
		})
	require.GreaterOrEqual(t, n.RPCCalls("getinfo"), 1)
	require.GreaterOrEqual(t, n.RPCCalls("listpeerchannels"), 1)
	require.GreaterOrEqual(t, n.RPCCalls("listpeers"), 1)

	r := n.Report()
	require.Len(t, r.Channels, 2)
	require.Equal(t, "open", channel(t, r, chA.Point()).Status)
	require.Equal(t, "open", channel(t, r, chB.Point()).Status)
	require.True(t, peer(t, r, a).Online)
	require.False(t, peer(t, r, b).Online)
	require.Zero(t, n.Shutdown())
}
