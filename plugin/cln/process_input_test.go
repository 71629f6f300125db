package cln_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// TestProcessBadOptions gives the plugin option values it cannot use: it
// disables itself at init with a reason that names the option and the
// value, instead of crashing.
func TestProcessBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		values map[string]any
		setup  func(t *testing.T, n *lightningdtest.Node) string
		want   []string
	}{{
		name:   "unknown store",
		values: map[string]any{"chanfitness-store": "sqlite"},
		want:   []string{"chanfitness-store", `"sqlite"`},
	}, {
		name: "fractional reconcile interval",
		values: map[string]any{
			"chanfitness-reconcile-interval": "1.5m"},
		want: []string{"chanfitness-reconcile-interval", "1.5m"},
	}, {
		name: "negative reconcile interval",
		values: map[string]any{
			"chanfitness-reconcile-interval": "-5"},
		want: []string{"chanfitness-reconcile-interval", "-5"},
	}, {
		name: "reconcile interval of two days",
		values: map[string]any{
			"chanfitness-reconcile-interval": "172800"},
		want: []string{"chanfitness-reconcile-interval", "2d"},
	}, {
		name: "negative retention",
		values: map[string]any{
			"chanfitness-closed-retention-days": "-1"},
		want: []string{"chanfitness-closed-retention-days", "-1"},
	}, {
		name: "negative startup grace",
		values: map[string]any{
			"chanfitness-startup-grace": "-5s"},
		want: []string{"chanfitness-startup-grace", "-5s"},
	}, {
		name: "both retention options",
		values: map[string]any{
			"chanfitness-closed-retention-days": "30",
			"chanfitness-closed-retention":      "60d"},
		want: []string{"chanfitness-closed-retention-days",
			"chanfitness-closed-retention and"},
	}, {
		name:   "empty datadir",
		values: map[string]any{"chanfitness-datadir": ""},
		want:   []string{"chanfitness-datadir"},
	}, {
		// Not from lightningd, which sends a string option as a
		// string: the plugin still disables itself cleanly.
		name: "reconcile interval as a number",
		values: map[string]any{
			"chanfitness-reconcile-interval": json.RawMessage(
				`60`)},
		want: []string{"chanfitness-reconcile-interval"},
	}, {
		name: "datadir is a file",
		setup: func(t *testing.T, n *lightningdtest.Node) string {
			p := filepath.Join(n.NetDir, "taken")
			require.NoError(t, os.WriteFile(p, []byte("x"), 0o600))
			return p
		},
		values: map[string]any{"chanfitness-datadir": "taken"},
		want:   []string{"chanfitness-datadir", "taken"},
	}, {
		name: "store in use by another plugin",
		setup: func(t *testing.T, n *lightningdtest.Node) string {
			other := startProcess(t, lightningdtest.Options{},
				map[string]any{"chanfitness-store": "badger"},
				false, nil)
			return filepath.Join(other.NetDir, "chanfitness")
		},
		want: []string{"chanfitness-datadir"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := pluginBinary(t)
			n := newNode(t, lightningdtest.Options{})
			values := map[string]any{"chanfitness-store": "badger"}
			for k, v := range tc.values {
				values[k] = v
			}
			want := tc.want
			if tc.setup != nil {
				p := tc.setup(t, n)
				if _, ok := tc.values["chanfitness-datadir"]; !ok {
					values["chanfitness-datadir"] = p
				}
				want = append(want, p)
			}
			n.Launch(bin)
			reason := n.Init(values, false)
			require.NotEmpty(t, reason, "plugin did not disable itself")
			for _, w := range want {
				require.Contains(t, reason, w)
			}
			n.Wait(time.Minute)
			require.Empty(t, n.Violations())
			require.NotContains(t, n.Stderr(), "panic")
		})
	}
}

// TestProcessBadArguments calls the method with bad arguments the way
// lightning-cli sends them: each gets a JSON-RPC error naming the
// parameter and the value, and the plugin goes on answering.
func TestProcessBadArguments(t *testing.T) {
	a := lightningdtest.PeerID(1)
	n := startProcess(t, lightningdtest.Options{}, nil, false,
		func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		})
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"short peer id", []string{"zz"}, -32602,
			[]string{"peer_id", `"zz"`}},
		{"peer id not hex", []string{"02" + strings.Repeat("g", 64)},
			-32602, []string{"peer_id", "gggg"}},
		{"peer id as a number", []string{"123"}, -32602,
			[]string{"peer_id", "123"}},
		{"bad window", []string{a, "3x"}, -32602,
			[]string{"window", `"3x"`}},
		{"negative window", []string{a, "-1h"}, -32602,
			[]string{"window", `"-1h"`}},
		{"window as a number", []string{a, "30"}, -32602,
			[]string{"window", "30"}},
		{"window as a fraction", []string{a, "1.5"}, -32602,
			[]string{"window 1.5", "want a string"}},
		{"key=value after a positional", []string{a, "window=7d"},
			-32602, []string{"window", `"window=7d"`}},
		{"too many", []string{a, "7d", "x"}, -32602,
			[]string{"too many", "3"}},
		{"unknown keyword", []string{"-k", "peer=" + a}, -32602,
			[]string{"unknown parameter", `"peer"`}},
		{"bad keyword window", []string{"window=forever"}, -32602,
			[]string{"window", `"forever"`}},
		{"keyword window as a number", []string{"-k", "window=30"},
			-32602, []string{"window 30", "want a string"}},
		{"keyword peer as an object", []string{"-k", `peer_id={"a":1}`},
			-32602, []string{`peer_id {"a":1}`}},
		{"object peer id", []string{"{}"}, -32602,
			[]string{"peer_id", "{}"}},
		{"untracked peer", []string{lightningdtest.PeerID(9)}, -1,
			[]string{lightningdtest.PeerID(9), "not found"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := n.CLI("chanfitness", tc.args...)
			require.NotNil(t, r.Error, "no error for %v", tc.args)
			require.Equal(t, tc.code, r.Error.Code)
			for _, w := range tc.want {
				require.Contains(t, r.Error.Message, w)
			}
		})
	}

	good := []struct {
		name string
		args []string
	}{
		{"no arguments", nil},
		{"peer", []string{a}},
		{"peer and window", []string{a, "7d"}},
		{"null peer and window", []string{"null", "12h"}},
		{"keywords", []string{"-k", "peer_id=" + a, "window=30d"}},
		{"key=value", []string{"window=lifetime"}},
	}
	for _, tc := range good {
		t.Run(tc.name, func(t *testing.T) {
			r := n.Report(tc.args...)
			require.Len(t, r.Channels, 1)
			require.Equal(t, a, r.Peers[0].PeerID)
		})
	}
	require.Equal(t, "7d", n.Report(a, "7d").Window)
	require.Equal(t, "12h", n.Report("null", "12h").Window)
	require.Equal(t, "lifetime", n.Report().Window)
	require.Zero(t, n.Shutdown())
}

// TestProcessMalformedNotifications sends notifications that cannot be
// used: truncated JSON, garbage, wrong member types, bad and unknown peer
// ids, unknown channels. Each is logged as unusual; the plugin stays up,
// nothing is recorded from them, and later notifications still count.
func TestProcessMalformedNotifications(t *testing.T) {
	a := lightningdtest.PeerID(1)
	stranger := lightningdtest.PeerID(50)
	var ch *lightningdtest.Channel
	n := startProcess(t, lightningdtest.Options{}, nil, false,
		func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			ch = n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		})
	before := n.Report()

	frame := lightningdtest.NotificationFrame
	unknownChan := lightningdtest.NewChannel(stranger, 9, "")
	bad := [][]byte{
		[]byte(`{"jsonrpc":"2.0","method":"disconnect","params":` +
			`{"disconnect":{"id":"` + a[:20] + "\n\n"),
		[]byte("hello\n\n"),
		[]byte("[1,2,3]\n\n"),
		[]byte(`{"jsonrpc":"2.0","params":{}}` + "\n\n"),
		frame("disconnect", map[string]any{
			"disconnect": map[string]any{"id": 123}}),
		frame("disconnect", "not an object"),
		frame("disconnect", map[string]any{"disconnect": "x"}),
		frame("disconnect", map[string]any{
			"disconnect": map[string]any{"id": a[:10]}}),
		frame("disconnect", map[string]any{}),
		frame("connect", map[string]any{
			"connect": map[string]any{"id": "04" + a[2:]}}),
		frame("channel_state_changed", map[string]any{
			"channel_state_changed": map[string]any{
				"peer_id": a, "channel_id": 5,
				"new_state": "ONCHAIN"}}),
		frame("channel_state_changed", map[string]any{
			"channel_state_changed": map[string]any{
				"peer_id": a, "channel_id": ch.ChannelID}}),
		frame("channel_state_changed", map[string]any{
			"channel_state_changed": map[string]any{
				"peer_id": a, "channel_id": "abc",
				"new_state": "ONCHAIN"}}),
		frame("channel_state_changed",
			n.Payload().StateChangedParams(lightningdtest.StateChange{
				Peer: stranger, ChannelID: unknownChan.ChannelID,
				OldState: "CHANNELD_AWAITING_LOCKIN",
				NewState: "CHANNELD_NORMAL"})),
		frame("channel_opened", map[string]any{
			"channel_opened": map[string]any{"id": false}}),
	}
	for _, b := range bad {
		require.NoError(t, n.SendRaw(b))
	}
	// Unknown but well-formed peers are not errors: they are not
	// tracked and their flaps do not count.
	n.Disconnect(stranger)
	n.Connect(stranger)

	after := n.Report()
	require.Equal(t, before.Channels, after.Channels)
	require.Len(t, after.Peers, 1)
	require.Equal(t, peer(t, before, a).FlapCount,
		peer(t, after, a).FlapCount)
	require.True(t, peer(t, after, a).Online)

	unusual := 0
	for _, l := range n.Logs() {
		if l.Level == "unusual" {
			unusual++
		}
	}
	require.Equal(t, len(bad), unusual, "one unusual log line each")

	n.Disconnect(a)
	r := n.Report()
	require.False(t, peer(t, r, a).Online)
	require.Equal(t, peer(t, before, a).FlapCount+1,
		peer(t, r, a).FlapCount)
	require.Zero(t, n.Shutdown())
}

// TestProcessIDsEchoed calls the method with request ids that need
// escaping in JSON: the replies carry them back byte for byte (the
// emulator, like lightningd, rejects a reply to an id it did not send).
func TestProcessIDsEchoed(t *testing.T) {
	n := startProcess(t, lightningdtest.Options{}, nil, false, nil)
	ids := []string{
		"cli:chanfitness#4321/cln:chanfitness#17",
		`pyln:chanfitness#1/"quoted"\back\/slash`,
		"unicode:ü✓/cln:chanfitness#3",
		"</script>&amp;",
		"",
		"99",
	}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			r := n.CallWithID(id, "chanfitness", []any{})
			require.Nil(t, r.Error)
			r = n.CallWithID(id+"-bad", "chanfitness", []any{"x"})
			require.NotNil(t, r.Error)
		})
	}
	require.Empty(t, n.Violations())
	require.Zero(t, n.Shutdown())
}
