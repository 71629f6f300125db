package cln_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/chanfitness/chanfitness/plugin/internal/advice"
	"github.com/stretchr/testify/require"
)

// raceEnv keeps a race-enabled plugin from sleeping a second at exit.
var raceEnv = []string{"GORACE=atexit_sleep_ms=0"}

// newNode returns an emulated node for the plugin binary.
func newNode(t testing.TB, opts lightningdtest.Options) *lightningdtest.Node {
	t.Helper()
	opts.Env = append(opts.Env, raceEnv...)
	return lightningdtest.New(t, opts)
}

// startProcess launches the plugin binary under a new emulated node with
// a memory store unless values say otherwise.
func startProcess(t testing.TB, opts lightningdtest.Options,
	values map[string]any, dynamic bool,
	setup func(n *lightningdtest.Node)) *lightningdtest.Node {

	t.Helper()
	bin := pluginBinary(t)
	n := newNode(t, opts)
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
	n := newNode(t, lightningdtest.Options{})
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
		{"chanfitness-postgres-dsn", "string", `""`},
		{"chanfitness-reconcile-interval", "string", `"1m"`},
		{"chanfitness-closed-retention", "string", `"90d"`},
		{"chanfitness-closed-retention-days", "string", `""`},
		{"chanfitness-startup-grace", "string", `"1m"`},
		{"chanfitness-sync-interval", "string", `"1m"`},
		{"chanfitness-listen", "string", `""`},
		{"chanfitness-listen-insecure", "string", `"false"`},
		{"chanfitness-tls-certpath", "string", `""`},
		{"chanfitness-tls-keypath", "string", `""`},
		{"chanfitness-tls-extradomain", "string", `""`},
		{"chanfitness-tls-extraip", "string", `""`},
		{"chanfitness-auth-tokenpath", "string", `""`},
	}
	for _, o := range advice.Options() {
		tests = append(tests, struct{ name, typ, def string }{
			"chanfitness-" + o.Name, "string", `"` + o.Default + `"`})
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

// waitFor polls cond until it holds; it fails the test after timeout.
// The plugin process runs on the system clock, so tests that measure an
// outage or a gap let real time pass and wait for the plugin to show it.
func waitFor(t testing.TB, timeout time.Duration, what string,
	cond func() bool) {

	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		<-tick.C
	}
}

// wholeSeconds returns the whole seconds in d, rounded down and up.
func wholeSeconds(d time.Duration) (lo, hi int64) {
	lo = int64(d / time.Second)
	hi = lo
	if d%time.Second != 0 {
		hi++
	}
	return lo, hi
}

// TestProcessPayloadVersions runs a channel's life through the plugin
// binary with the notification shapes of each CLN version: the channel
// opens at CHANNELD_NORMAL, flaps are counted, and it closes at
// CLOSINGD_COMPLETE (and stays closed through ONCHAIN and CLOSED).
func TestProcessPayloadVersions(t *testing.T) {
	for _, pl := range lightningdtest.Payloads {
		t.Run(pl.String(), func(t *testing.T) {
			a := lightningdtest.PeerID(1)
			n := startProcess(t, lightningdtest.Options{Payload: pl},
				nil, false, func(n *lightningdtest.Node) {
					n.SetPeer(a, true)
				})
			ch := n.OpenChannel(a, 7)
			n.Disconnect(a)
			n.Connect(a)

			r := n.Report()
			c := channel(t, r, ch.Point())
			require.Equal(t, "open", c.Status)
			require.Equal(t, a, c.PeerID)
			require.NotNil(t, c.ShortChannelID)
			require.Equal(t, ch.ShortChannelID, *c.ShortChannelID)
			pr := peer(t, r, a)
			require.True(t, pr.Online)
			require.Equal(t, 3, pr.FlapCount)
			require.Equal(t, 1, pr.OpenChannels)

			n.CloseChannel(ch)
			r = n.Report()
			c = channel(t, r, ch.Point())
			require.Equal(t, "closed", c.Status)
			require.False(t, c.ClosedAt.IsZero())
			require.Equal(t, 0, peer(t, r, a).OpenChannels)
			if pl == lightningdtest.V25_12 {
				// CLOSED moved it to listclosedchannels; a
				// reconcile must not reopen it.
				require.True(t, ch.Closed)
			}
			for _, l := range n.Logs() {
				require.NotContains(t, []string{"unusual",
					"warn", "error", "broken"}, l.Level,
					l.Message)
			}
			require.Zero(t, n.Shutdown())
		})
	}
}

// TestProcessOfflineWhileOpen opens a channel, takes its peer offline for
// a while, brings it back and closes the channel. The plugin stamps
// notifications on arrival, so the report's outage must lie within what
// the emulator measured around the disconnect and the connect.
func TestProcessOfflineWhileOpen(t *testing.T) {
	a := lightningdtest.PeerID(1)
	var ch *lightningdtest.Channel
	n := startProcess(t, lightningdtest.Options{}, nil, false,
		func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			ch = n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		})

	beforeDown := time.Now()
	n.Disconnect(a)
	waitFor(t, time.Minute, "peer offline in report", func() bool {
		return !peer(t, n.Report(), a).Online
	})
	// The disconnect was stamped before this point.
	down := time.Now()
	waitFor(t, time.Minute, "outage of 2 s in report", func() bool {
		c := channel(t, n.Report(), ch.Point())
		return c.LifetimeSeconds-c.UptimeSeconds >= 2
	})
	// The connect is stamped after this point.
	beforeUp := time.Now()
	n.Connect(a)
	waitFor(t, time.Minute, "peer online in report", func() bool {
		return peer(t, n.Report(), a).Online
	})
	up := time.Now()

	n.CloseChannel(ch)
	r := n.Report()
	c := channel(t, r, ch.Point())
	require.Equal(t, "closed", c.Status)

	lo, _ := wholeSeconds(beforeUp.Sub(down))
	_, hi := wholeSeconds(up.Sub(beforeDown))
	outage := c.LifetimeSeconds - c.UptimeSeconds
	require.GreaterOrEqual(t, outage, lo, "outage shorter than measured")
	require.LessOrEqual(t, outage, hi, "outage longer than measured")
	require.Less(t, c.UptimeSeconds, c.LifetimeSeconds)
	require.NotNil(t, c.UptimeRatio)
	require.Less(t, *c.UptimeRatio, 1.0)

	pr := peer(t, r, a)
	require.True(t, pr.Online)
	require.Equal(t, 3, pr.FlapCount)
	require.GreaterOrEqual(t, pr.Windows["1d"].LongestOutageSeconds, lo)

	// A closed channel's numbers are frozen: wait until the clock has
	// moved a second past the close and look again.
	closedAt := c.ClosedAt.Time
	waitFor(t, time.Minute, "a second after the close", func() bool {
		return n.Report().GeneratedAt.After(closedAt.Add(time.Second))
	})
	again := channel(t, n.Report(), ch.Point())
	require.Equal(t, c.LifetimeSeconds, again.LifetimeSeconds)
	require.Equal(t, c.UptimeSeconds, again.UptimeSeconds)
	require.Zero(t, n.Shutdown())
}

// TestProcessFlapStorm sends 2,000 alternating disconnect and connect
// notifications in one write, as fast as the pipe takes them. Every one
// is a flap, none is lost or reordered: the flap count is exact and the
// final state is the last one sent.
func TestProcessFlapStorm(t *testing.T) {
	const flaps = 2000
	tests := []struct {
		name   string
		flaps  int
		online bool
	}{
		{"ends online", flaps, true},
		{"ends offline", flaps + 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := lightningdtest.PeerID(1)
			n := startProcess(t, lightningdtest.Options{}, nil, false,
				func(n *lightningdtest.Node) {
					n.SetPeer(a, true)
					n.AddChannel(lightningdtest.NewChannel(a, 1,
						lightningdtest.StateNormal))
				})
			pl := n.Payload()
			var buf bytes.Buffer
			for i := 0; i < tc.flaps; i++ {
				if i%2 == 0 {
					buf.Write(lightningdtest.NotificationFrame(
						"disconnect", pl.DisconnectParams(a)))
				} else {
					buf.Write(lightningdtest.NotificationFrame(
						"connect", pl.ConnectParams(a, "in")))
				}
			}
			require.NoError(t, n.SendRaw(buf.Bytes()))

			pr := peer(t, n.Report(), a)
			// One flap for tracking the peer at bootstrap.
			require.Equal(t, tc.flaps+1, pr.FlapCount)
			require.Equal(t, tc.online, pr.Online)
			require.Zero(t, n.Shutdown())
		})
	}
}
