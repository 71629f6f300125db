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

// TestProcessRestartWithGap stops the plugin on a badger store, lets time
// pass, and starts it again: the history continues (same monitoring
// start, channel and flap count, no flap for the restart) and the gap is
// unmonitored time, within what the emulator measured. A peer that went
// offline during the gap is found offline without a flap.
func TestProcessRestartWithGap(t *testing.T) {
	tests := []struct {
		name         string
		onlineAfter  bool
		wantFlapsAdd int
	}{
		{"peer stays online", true, 0},
		{"peer went offline in the gap", false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := pluginBinary(t)
			dir := lightningdtest.NewDir(t)
			a := lightningdtest.PeerID(1)
			chSpec := lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal)

			n1 := newNode(t, lightningdtest.Options{Dir: dir})
			n1.SetPeer(a, true)
			ch := n1.AddChannel(chSpec)
			n1.Start(bin, nil, false)
			n1.Disconnect(a)
			n1.Connect(a)
			r1 := n1.Report()
			c1 := channel(t, r1, ch.Point())
			p1 := peer(t, r1, a)
			require.Equal(t, 3, p1.FlapCount)

			stopping := time.Now()
			require.Zero(t, n1.Shutdown())
			exited := time.Now()
			n1.Close()
			require.DirExists(t, filepath.Join(n1.NetDir,
				"chanfitness"))

			// The gap: real time, since the process runs on the
			// system clock.
			waitFor(t, time.Minute, "gap of 1.5 s", func() bool {
				return time.Since(exited) >= 1500*time.Millisecond
			})

			n2 := newNode(t, lightningdtest.Options{Dir: dir})
			n2.SetPeer(a, tc.onlineAfter)
			n2.AddChannel(chSpec)
			launched := time.Now()
			// Without the startup grace (its own test): a peer
			// away at start is offline at once.
			n2.Start(bin, map[string]any{
				"chanfitness-startup-grace": 0}, false)
			started := time.Now()
			r2 := n2.Report()
			c2 := channel(t, r2, ch.Point())
			p2 := peer(t, r2, a)

			require.Equal(t, r1.MonitoringSince, r2.MonitoringSince)
			require.Equal(t, c1.OpenedAt, c2.OpenedAt)
			require.Equal(t, "open", c2.Status)
			require.Equal(t, p1.FlapCount+tc.wantFlapsAdd, p2.FlapCount)
			require.Equal(t, tc.onlineAfter, p2.Online)

			gapLo, _ := wholeSeconds(launched.Sub(exited))
			_, gapHi := wholeSeconds(started.Sub(stopping))
			require.GreaterOrEqual(t, gapLo, int64(1))
			added := r2.UnmonitoredSeconds - r1.UnmonitoredSeconds
			require.GreaterOrEqual(t, added, gapLo)
			require.LessOrEqual(t, added, gapHi)
			// The gap counts in the channel's age, not in its
			// lifetime (monitored time) nor its uptime.
			require.GreaterOrEqual(t,
				c2.AgeSeconds-c2.LifetimeSeconds, gapLo)
			require.LessOrEqual(t, c2.UptimeSeconds, c2.LifetimeSeconds)
			require.Zero(t, n2.Shutdown())
		})
	}
}

// TestProcessShutdown ends the plugin both ways lightningd does: the
// shutdown notification, and closing stdin (what a plugin not subscribed
// to shutdown sees). Either way the process exits promptly with status 0
// and the badger store holds everything: a new run reads it back.
func TestProcessShutdown(t *testing.T) {
	tests := []struct {
		name string
		stop func(n *lightningdtest.Node) int
	}{
		{"shutdown notification", (*lightningdtest.Node).Shutdown},
		{"stdin closed", (*lightningdtest.Node).CloseStdin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bin := pluginBinary(t)
			dir := lightningdtest.NewDir(t)
			a := lightningdtest.PeerID(1)

			n1 := newNode(t, lightningdtest.Options{Dir: dir})
			n1.SetPeer(a, true)
			ch := n1.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
			n1.Start(bin, nil, false)
			for i := 0; i < 10; i++ {
				n1.Disconnect(a)
				n1.Connect(a)
			}
			n1.Disconnect(a)
			before := peer(t, n1.Report(), a)
			require.Equal(t, 22, before.FlapCount)

			require.Zero(t, tc.stop(n1))
			require.True(t, n1.Exited())
			n1.Close()

			n2 := newNode(t, lightningdtest.Options{Dir: dir})
			n2.SetPeer(a, false)
			n2.AddChannel(*ch)
			n2.Start(bin, nil, false)
			r := n2.Report()
			after := peer(t, r, a)
			require.Equal(t, before.FlapCount, after.FlapCount)
			require.False(t, after.Online)
			require.Equal(t, before.LastFlap, after.LastFlap)
			require.Equal(t, "open", channel(t, r, ch.Point()).Status)
			require.Zero(t, n2.Shutdown())
		})
	}
}

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
		name:   "zero reconcile interval",
		values: map[string]any{"chanfitness-reconcile-interval": 0},
		want:   []string{"chanfitness-reconcile-interval", "0 seconds"},
	}, {
		name: "negative reconcile interval",
		values: map[string]any{
			"chanfitness-reconcile-interval": -5},
		want: []string{"chanfitness-reconcile-interval", "-5"},
	}, {
		name: "reconcile interval of two days",
		values: map[string]any{
			"chanfitness-reconcile-interval": 172800},
		want: []string{"chanfitness-reconcile-interval", "172800"},
	}, {
		name: "negative retention",
		values: map[string]any{
			"chanfitness-closed-retention-days": -1},
		want: []string{"chanfitness-closed-retention-days", "-1"},
	}, {
		name:   "empty datadir",
		values: map[string]any{"chanfitness-datadir": ""},
		want:   []string{"chanfitness-datadir"},
	}, {
		// Not from lightningd, which sends an int option as a
		// number: the plugin still disables itself cleanly.
		name: "reconcile interval as a string",
		values: map[string]any{
			"chanfitness-reconcile-interval": json.RawMessage(
				`"60"`)},
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

// TestProcessSpliceWhileStopped splices a channel while the plugin is not
// running: at the next start the listed funding outpoint is new, but the
// channel id still derives from the outpoint it opened with, so the
// channel keeps its point and history instead of being closed and opened
// anew.
func TestProcessSpliceWhileStopped(t *testing.T) {
	bin := pluginBinary(t)
	dir := lightningdtest.NewDir(t)
	a := lightningdtest.PeerID(1)
	chSpec := lightningdtest.NewChannel(a, 1, lightningdtest.StateNormal)

	n1 := newNode(t, lightningdtest.Options{Dir: dir})
	n1.SetPeer(a, true)
	n1.AddChannel(chSpec)
	n1.Start(bin, nil, false)
	c1 := channel(t, n1.Report(), chSpec.Point())
	require.Zero(t, n1.Shutdown())
	n1.Close()

	spliced := chSpec
	moved := lightningdtest.NewChannel(a, 99, "")
	spliced.FundingTxid = moved.FundingTxid
	spliced.FundingOutnum = moved.FundingOutnum
	spliced.ShortChannelID = moved.ShortChannelID

	n2 := newNode(t, lightningdtest.Options{Dir: dir})
	n2.SetPeer(a, true)
	n2.AddChannel(spliced)
	n2.Start(bin, nil, false)
	r := n2.Report()
	require.Len(t, r.Channels, 1)
	c2 := r.Channels[0]
	require.Equal(t, chSpec.Point(), c2.ChannelPoint)
	require.Equal(t, "open", c2.Status)
	require.Equal(t, c1.OpenedAt, c2.OpenedAt)
	n2.WaitLog("was spliced", time.Minute)
	require.Zero(t, n2.Shutdown())
}
