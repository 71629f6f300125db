package cln

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRewriteManifest(t *testing.T) {
	in := `{"options":[{"name":"chanfitness-store","type":"string",` +
		`"default":"badger","description":"d"}],"rpcmethods":[{"name":` +
		`"chanfitness","description":"d","usage":"[peer_id] [window]"}],` +
		`"dynamic":true,"featurebits":{}}`
	out, err := rewriteManifest(json.RawMessage(in))
	require.NoError(t, err)
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &m))
	require.JSONEq(t, `["connect","disconnect","channel_opened",`+
		`"channel_state_changed","shutdown"]`, string(m["subscriptions"]))
	require.Equal(t, "true", string(m["nonnumericids"]))
	require.Equal(t, "true", string(m["dynamic"]))
	require.NotContains(t, m, "featurebits")
	var src map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(in), &src))
	require.JSONEq(t, string(src["options"]), string(m["options"]))
	require.JSONEq(t, string(src["rpcmethods"]), string(m["rpcmethods"]))

	// Set feature bits and existing subscriptions are kept or replaced.
	out, err = rewriteManifest(json.RawMessage(`{"options":[],` +
		`"featurebits":{"node":"0200"},"subscriptions":["warning"]}`))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(out, &m))
	require.JSONEq(t, `{"node":"0200"}`, string(m["featurebits"]))
	require.NotContains(t, string(m["subscriptions"]), "warning")

	_, err = rewriteManifest(json.RawMessage(`[1]`))
	require.ErrorContains(t, err, "not an object")
}

func TestIsTopic(t *testing.T) {
	for _, topic := range subscriptions {
		require.True(t, isTopic(topic))
	}
	for _, other := range []string{"init", "log", "warning", ""} {
		require.False(t, isTopic(other))
	}
}
