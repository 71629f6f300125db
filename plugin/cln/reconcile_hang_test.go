package cln_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// callTimeout is the plugin's bound on one RPC call (see the README).
const callTimeout = 30 * time.Second

// hangCtx is a plugin on a node with a channel, two peers online and its
// network history, an hour after its start.
type hangCtx struct {
	*inProcess
	t    *testing.T
	a, b string
}

func newHangCtx(t *testing.T) *hangCtx {
	a, b := lightningdtest.PeerID(1), lightningdtest.PeerID(2)
	p := startInProcess(t, inProcessOpts{
		node: lightningdtest.Options{Payload: lightningdtest.V25_12},
		setup: func(n *lightningdtest.Node) {
			n.SetStartedAt(t0.Add(-time.Hour))
			n.SetPeer(a, true)
			n.SetPeer(b, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
			n.AddChannel(lightningdtest.NewChannel(b, 2,
				lightningdtest.StateNormal))
			record(n, a, lightningdtest.NetConnect,
				t0.Add(-time.Hour), 0)
			record(n, b, lightningdtest.NetConnect,
				t0.Add(-time.Hour), 0)
		},
	})
	p.advance(time.Hour)
	return &hangCtx{inProcess: p, t: t, a: a, b: b}
}

// hold makes the next call of method hang, forces a reconcile tick and
// returns once the call hangs.
func (c *hangCtx) hold(method string) (release func()) {
	c.t.Helper()
	reached, release := c.HoldRPC(method)
	c.t.Cleanup(release)
	c.reconcile()
	select {
	case <-reached:
	case <-time.After(time.Minute):
		require.FailNow(c.t, "no "+method+" call")
	}
	return release
}

// pings returns a peer's pings in the last day.
func (c *hangCtx) pings(id string) int {
	return peer(c.t, c.Report(), id).Windows["1d"].Pings
}

// flaps returns a peer's flap count.
func (c *hangCtx) flaps(id string) int {
	return peer(c.t, c.Report(), id).FlapCount
}

// TestInProcessReconcileCallHangs: a call of a reconcile that lightningd
// never answers does not wedge the plugin. It gives up after the call
// timeout with a log line naming the call, applies the notifications that
// came meanwhile, and the next reconcile, once lightningd answers again,
// succeeds: nothing is lost (the pings of a history read that timed out
// are read then) and nothing counted twice (no flap, no ping).
func TestInProcessReconcileCallHangs(t *testing.T) {
	for _, method := range []string{"listpeerchannels", "listpeers",
		"getinfo", "listnetworkevents"} {

		t.Run(method, func(t *testing.T) {
			c := newHangCtx(t)
			flapsA, flapsB := c.flaps(c.a), c.flaps(c.b)
			record(c.Node, c.a, lightningdtest.NetPing,
				c.clock.Now().Add(-time.Minute),
				10*time.Millisecond)

			release := c.hold(method)
			c.Disconnect(c.b)
			c.clock.SetTime(c.clock.Now().Add(callTimeout))
			l := c.WaitLog("rpc "+method+": no answer from "+
				"lightningd within 30s", time.Minute)
			require.Equal(t, "unusual", l.Level)
			require.Contains(t, l.Message, "next reconcile")

			// The disconnect that came during the call counts.
			r := c.Report()
			require.False(t, peer(t, r, c.b).Online)
			require.Equal(t, flapsB+1, c.flaps(c.b))

			// lightningd answers late, to a call given up on;
			// then it answers again.
			release()
			c.advance(time.Hour)
			c.reconcile()
			require.Equal(t, 1, c.pings(c.a))
			require.Equal(t, flapsA, c.flaps(c.a))
			require.Equal(t, flapsB+1, c.flaps(c.b))
			r = c.Report()
			require.True(t, peer(t, r, c.a).Online)
			require.False(t, peer(t, r, c.b).Online)
			for _, ch := range r.Channels {
				require.Equal(t, "open", ch.Status)
			}

			// The next reconcile has nothing new to add.
			c.advance(time.Hour)
			c.reconcile()
			require.Equal(t, 1, c.pings(c.a))
			require.Equal(t, flapsB+1, c.flaps(c.b))
			n := 0
			for _, l := range c.Logs() {
				if l.Level != "debug" && strings.Contains(
					l.Message, "no answer") {

					n++
				}
			}
			require.Equal(t, 1, n, "one call given up on")
		})
	}
}

// TestInProcessReconcileClockStepBack: the wall clock steps back an hour
// while a reconcile waits for lightningd, which then answers: the
// snapshot, stamped before events already applied, changes nothing it
// should not, the disconnect that came meanwhile counts once, and no
// time is counted twice.
func TestInProcessReconcileClockStepBack(t *testing.T) {
	c := newHangCtx(t)
	flapsB := c.flaps(c.b)
	before := c.Report()
	release := c.hold("getinfo")
	c.Disconnect(c.b)
	stepAt := c.clock.Now()
	c.clock.SetTime(stepAt.Add(-time.Hour))
	release()
	r := c.Report()
	require.False(t, peer(t, r, c.b).Online)
	require.Equal(t, flapsB+1, c.flaps(c.b))

	// Two hours on the stepped clock: one past the step.
	c.advance(2 * time.Hour)
	c.reconcile()
	r = c.Report()
	require.Equal(t, flapsB+1, c.flaps(c.b))
	for _, ch := range r.Channels {
		prev := channel(t, before, ch.ChannelPoint)
		require.Equal(t, "open", ch.Status)
		require.LessOrEqual(t, ch.UptimeSeconds, ch.LifetimeSeconds)
		require.LessOrEqual(t, ch.LifetimeSeconds,
			prev.LifetimeSeconds+3600, "an hour at most since")
		require.GreaterOrEqual(t, ch.LifetimeSeconds,
			prev.LifetimeSeconds)
	}
	for _, l := range c.Logs() {
		require.NotContains(t, l.Message, "reconcile:")
		require.NotContains(t, l.Message, "no answer")
	}
}

// TestInProcessLookupHangs: the channel lookup of a state change hangs;
// it is given up after the call timeout with a log line naming the call,
// the notifications behind it are applied, and the next reconcile opens
// the channel.
func TestInProcessLookupHangs(t *testing.T) {
	c := newHangCtx(t)
	flapsB := c.flaps(c.b)
	reached, release := c.HoldRPC("listpeerchannels")
	defer release()
	ch := c.OpenChannel(c.a, 3)
	select {
	case <-reached:
	case <-time.After(time.Minute):
		require.FailNow(t, "no lookup")
	}
	c.Disconnect(c.b)
	c.clock.SetTime(c.clock.Now().Add(callTimeout))
	l := c.WaitLog("rpc listpeerchannels: no answer from lightningd "+
		"within 30s", time.Minute)
	require.Contains(t, l.Message, "CHANNELD_NORMAL: look up channel")
	require.Contains(t, l.Message, "the next reconcile repairs it")
	r := c.Report()
	require.False(t, peer(t, r, c.b).Online)
	require.Equal(t, flapsB+1, c.flaps(c.b))
	_, ok := coretest.Channel(r, ch.Point())
	require.False(t, ok, "not open before the reconcile")

	release()
	c.reconcile()
	r = c.Report()
	got := channel(t, r, ch.Point())
	require.Equal(t, "open", got.Status)
	require.Equal(t, c.clock.Now(), got.OpenedAt.Time)
	require.Equal(t, flapsB+1, c.flaps(c.b))
}

// TestInProcessReconcileGarbage: lightningd answers a reconcile's call
// with garbage (not JSON, JSON of another shape, a reply without its
// list, a channel entry that cannot be read): the reconcile logs it
// naming the call and changes nothing (no channel counts as closed, no
// peer as offline), and the next one, answered properly, reads every
// record once.
func TestInProcessReconcileGarbage(t *testing.T) {
	tests := []struct {
		name, method, result, logged string
	}{{
		name:   "listpeerchannels not json",
		method: "listpeerchannels",
		result: "\x00\xff{{",
		logged: "reconcile: rpc listpeerchannels: read reply: ",
	}, {
		name:   "listpeerchannels wrong shape",
		method: "listpeerchannels",
		result: `{"channels":[{"peer_id":7,"state":[]}]}`,
		logged: "reconcile: rpc listpeerchannels: decode reply: ",
	}, {
		name:   "listpeerchannels without its list",
		method: "listpeerchannels",
		result: `{"peers":[]}`,
		logged: `reconcile: rpc listpeerchannels: bad input: reply ` +
			`without "channels"`,
	}, {
		name:   "listpeerchannels entry it cannot read",
		method: "listpeerchannels",
		result: `{"channels":[{"peer_id":"` + lightningdtest.PeerID(1) +
			`","channel_id":"nothex","state":"CHANNELD_NORMAL"}]}`,
		logged: `listpeerchannels: channel_id "nothex": want 64 ` +
			`hex characters, got 6`,
	}, {
		name:   "listpeers without its list",
		method: "listpeers",
		result: `{"peers":null}`,
		logged: `reconcile: rpc listpeers: bad input: reply without ` +
			`"peers"`,
	}, {
		name:   "listpeers wrong shape",
		method: "listpeers",
		result: `{"peers":"all of them"}`,
		logged: "reconcile: rpc listpeers: decode reply: ",
	}, {
		name:   "listnetworkevents not json",
		method: "listnetworkevents",
		result: `{"networkevents":[{"created_index":1,`,
		logged: "network history: rpc listnetworkevents: read reply: ",
	}, {
		name:   "listnetworkevents without its list",
		method: "listnetworkevents",
		result: `{}`,
		logged: `network history: rpc listnetworkevents: bad input: ` +
			`reply without "networkevents"`,
	}, {
		name:   "listnetworkevents wrong shape",
		method: "listnetworkevents",
		result: `{"networkevents":{"created_index":1}}`,
		logged: "network history: rpc listnetworkevents: decode " +
			"reply: ",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newHangCtx(t)
			flapsA, flapsB := c.flaps(c.a), c.flaps(c.b)
			record(c.Node, c.a, lightningdtest.NetPing,
				c.clock.Now().Add(-time.Minute),
				10*time.Millisecond)
			c.GarbleRPC(tc.method, tc.result)
			c.reconcile()
			c.WaitLog(tc.logged, time.Minute)
			r := c.Report()
			require.Len(t, r.Channels, 2)
			for _, ch := range r.Channels {
				require.Equal(t, "open", ch.Status)
			}

			c.advance(time.Hour)
			c.reconcile()
			c.advance(time.Hour)
			c.reconcile()
			require.Equal(t, 1, c.pings(c.a))
			require.Equal(t, flapsA, c.flaps(c.a))
			require.Equal(t, flapsB, c.flaps(c.b))
			r = c.Report()
			require.True(t, peer(t, r, c.b).Online)
			for _, ch := range r.Channels {
				require.Equal(t, "open", ch.Status)
			}
		})
	}
}

// TestInProcessFlapDuringReconcile: peers disconnect (and one comes
// back) while a reconcile waits for lightningd, whose listing then
// already shows it: the listing records the state without a flap, and
// the notifications, applied after the reconcile, count their flaps all
// the same (every notification is a flap, as in lnd).
func TestInProcessFlapDuringReconcile(t *testing.T) {
	c := newHangCtx(t)
	flapsA, flapsB := c.flaps(c.a), c.flaps(c.b)
	release := c.hold("listpeerchannels")
	c.Disconnect(c.a)
	c.Disconnect(c.b)
	c.Connect(c.b)
	release()
	r := c.Report()
	require.False(t, peer(t, r, c.a).Online)
	require.True(t, peer(t, r, c.b).Online)
	require.Equal(t, flapsA+1, c.flaps(c.a))
	require.Equal(t, flapsB+2, c.flaps(c.b))

	// A later reconcile has nothing to repair.
	c.advance(time.Hour)
	c.reconcile()
	require.Equal(t, flapsA+1, c.flaps(c.a))
	require.Equal(t, flapsB+2, c.flaps(c.b))
	r = c.Report()
	require.False(t, peer(t, r, c.a).Online)
	require.True(t, peer(t, r, c.b).Online)
}
