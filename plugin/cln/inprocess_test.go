package cln_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

// TestInProcessChannelLife follows a channel through the notifications of
// every payload shape on a test clock: opened, peer offline for two hours,
// back, closed. Uptime, lifetime and status come out exact.
func TestInProcessChannelLife(t *testing.T) {
	for _, pl := range lightningdtest.Payloads {
		t.Run(pl.String(), func(t *testing.T) {
			a := lightningdtest.PeerID(1)
			p := startInProcess(t, inProcessOpts{
				node: lightningdtest.Options{Payload: pl},
				setup: func(n *lightningdtest.Node) {
					n.SetPeer(a, true)
				},
			})
			ch := p.OpenChannel(a, 1)
			p.advance(time.Hour)
			p.Disconnect(a)
			p.advance(2 * time.Hour)
			p.Connect(a)
			p.advance(time.Hour)

			r := p.Report()
			c := channel(t, r, ch.Point())
			require.Equal(t, "open", c.Status)
			require.EqualValues(t, 4*3600, c.LifetimeSeconds)
			require.EqualValues(t, 2*3600, c.UptimeSeconds)
			require.NotNil(t, c.ShortChannelID)
			require.Equal(t, ch.ShortChannelID, *c.ShortChannelID)

			p.CloseChannel(ch)
			p.advance(time.Hour)
			r = p.Report()
			c = channel(t, r, ch.Point())
			require.Equal(t, "closed", c.Status)
			require.Equal(t, t0.Add(4*time.Hour), c.ClosedAt.Time)
			require.EqualValues(t, 4*3600, c.LifetimeSeconds)
			require.EqualValues(t, 2*3600, c.UptimeSeconds)

			pr := peer(t, r, a)
			require.True(t, pr.Online)
			require.Equal(t, 0, pr.OpenChannels)
			// One flap for tracking the peer, then the
			// disconnect and the connect.
			require.Equal(t, 3, pr.FlapCount)
		})
	}
}

// TestInProcessReconcile loses notifications and checks that a reconcile
// tick repairs the monitor from listpeerchannels and listpeers: states
// from CHANNELD_NORMAL up to the first closed one count as open, the
// pending ones do not, and a missed peer state is recorded without a
// flap.
func TestInProcessReconcile(t *testing.T) {
	a := lightningdtest.PeerID(1)
	tests := []struct {
		name string

		// change alters the node without notifications, given the
		// channel that was open at start.
		change func(n *lightningdtest.Node, ch *lightningdtest.Channel)

		// open lists the channel points expected open afterwards,
		// closed those expected closed.
		open, closed pointsOf
		online       bool
	}{{
		name: "missed disconnect",
		change: func(n *lightningdtest.Node, _ *lightningdtest.Channel) {
			n.SetPeer(a, false)
		},
		open:   points(0),
		online: false,
	}, {
		name: "missed open",
		change: func(n *lightningdtest.Node, _ *lightningdtest.Channel) {
			n.AddChannel(lightningdtest.NewChannel(a, 2,
				lightningdtest.StateNormal))
		},
		open:   points(0, 2),
		online: true,
	}, {
		name: "missed close",
		change: func(n *lightningdtest.Node, ch *lightningdtest.Channel) {
			n.SetState(ch, lightningdtest.StateOnchain, true)
		},
		closed: points(0),
		online: true,
	}, {
		name: "channel forgotten",
		change: func(n *lightningdtest.Node, ch *lightningdtest.Channel) {
			n.SetState(ch, lightningdtest.StateClosed, true)
		},
		closed: points(0),
		online: true,
	}, {
		name: "funding not locked in yet",
		change: func(n *lightningdtest.Node, _ *lightningdtest.Channel) {
			n.AddChannel(lightningdtest.NewChannel(a, 3,
				lightningdtest.StateAwaitingLockin))
			n.AddChannel(lightningdtest.NewChannel(a, 4,
				"DUALOPEND_AWAITING_LOCKIN"))
		},
		open:   points(0),
		online: true,
	}, {
		name: "close under negotiation stays open",
		change: func(n *lightningdtest.Node, ch *lightningdtest.Channel) {
			n.SetState(ch, lightningdtest.StateSigExchange, true)
		},
		open:   points(0),
		online: true,
	}, {
		name: "splice in progress stays open",
		change: func(n *lightningdtest.Node, ch *lightningdtest.Channel) {
			n.SetState(ch, lightningdtest.StateAwaitingSplice, true)
		},
		open:   points(0),
		online: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ch *lightningdtest.Channel
			p := startInProcess(t, inProcessOpts{
				setup: func(n *lightningdtest.Node) {
					n.SetPeer(a, true)
					ch = n.AddChannel(lightningdtest.NewChannel(
						a, 0, lightningdtest.StateNormal))
				},
			})
			p.advance(time.Hour)
			tc.change(p.Node, ch)
			p.reconcile()
			p.advance(time.Hour)

			r := p.Report()
			var open, closed []string
			for _, c := range r.Channels {
				if c.Status == "open" {
					open = append(open, c.ChannelPoint)
				} else {
					closed = append(closed, c.ChannelPoint)
					require.Equal(t, t0.Add(time.Hour),
						c.ClosedAt.Time)
				}
			}
			want := func(f pointsOf) []string {
				if f == nil {
					return nil
				}
				return f(ch)
			}
			require.ElementsMatch(t, want(tc.open), open)
			require.ElementsMatch(t, want(tc.closed), closed)

			pr := peer(t, r, a)
			require.Equal(t, tc.online, pr.Online)
			require.Equal(t, 1, pr.FlapCount,
				"a reconcile never counts a flap")
			if !tc.online {
				require.Equal(t, t0.Add(time.Hour), pr.Since.Time)
			}
		})
	}
}

// pointsOf lists channel points, given the channel open at start.
type pointsOf func(*lightningdtest.Channel) []string

// points returns a function listing the points of the channels of peer 1
// with the given seeds (0 is the channel open at start).
func points(seeds ...int) pointsOf {
	return func(*lightningdtest.Channel) []string {
		var out []string
		for _, s := range seeds {
			c := lightningdtest.NewChannel(lightningdtest.PeerID(1), s,
				"")
			out = append(out, c.Point())
		}
		return out
	}
}

// TestInProcessSplice splices an open channel: the funding outpoint
// changes, the channel id does not, and the channel keeps its point and
// its history, through the notifications and through a reconcile.
func TestInProcessSplice(t *testing.T) {
	a := lightningdtest.PeerID(1)
	p := startInProcess(t, inProcessOpts{
		setup: func(n *lightningdtest.Node) { n.SetPeer(a, true) },
	})
	ch := p.OpenChannel(a, 1)
	original := ch.Point()
	p.advance(time.Hour)
	p.Splice(ch, 99)
	require.NotEqual(t, original, ch.Point())
	p.advance(time.Hour)
	p.reconcile()
	p.advance(time.Hour)

	r := p.Report()
	require.Len(t, r.Channels, 1)
	c := r.Channels[0]
	require.Equal(t, original, c.ChannelPoint)
	require.Equal(t, "open", c.Status)
	require.EqualValues(t, 3*3600, c.LifetimeSeconds)
	require.EqualValues(t, 3*3600, c.UptimeSeconds)
}

// TestInProcessLookupFailure makes the channel lookup fail when a
// channel reaches CHANNELD_NORMAL: the plugin logs it, goes on, and the
// next reconcile opens the channel.
func TestInProcessLookupFailure(t *testing.T) {
	a := lightningdtest.PeerID(1)
	p := startInProcess(t, inProcessOpts{
		setup: func(n *lightningdtest.Node) { n.SetPeer(a, true) },
	})
	p.FailRPC("listpeerchannels", true)
	ch := p.OpenChannel(a, 1)
	p.WaitLog("the next reconcile repairs it", time.Minute)
	require.Empty(t, p.Report().Channels)

	p.advance(time.Hour)
	p.FailRPC("listpeerchannels", false)
	p.reconcile()
	r := p.Report()
	c := channel(t, r, ch.Point())
	require.Equal(t, "open", c.Status)
	require.Equal(t, t0.Add(time.Hour), c.OpenedAt.Time)
}

// TestInProcessBootstrapFailure disables the plugin at init when the
// node's RPC does not answer, with a reason naming the socket.
func TestInProcessBootstrapFailure(t *testing.T) {
	for _, method := range []string{"getinfo", "listpeerchannels",
		"listpeers"} {

		t.Run(method, func(t *testing.T) {
			startInProcess(t, inProcessOpts{
				setup: func(n *lightningdtest.Node) {
					n.FailRPC(method, true)
				},
				disabled: "rpc " + method,
			})
		})
	}
}

// TestInProcessShortChannelIDAtLockin starts the plugin while a channel
// awaits lockin and has no short channel id yet. CHANNELD_NORMAL then
// arrives with the id: the channel opens under it.
func TestInProcessShortChannelIDAtLockin(t *testing.T) {
	a := lightningdtest.PeerID(1)
	spec := lightningdtest.NewChannel(a, 1,
		lightningdtest.StateAwaitingLockin)
	scid := spec.ShortChannelID
	spec.ShortChannelID = ""
	var ch *lightningdtest.Channel
	p := startInProcess(t, inProcessOpts{
		setup: func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			ch = n.AddChannel(spec)
		},
	})
	require.Empty(t, p.Report().Channels)

	p.SetShortChannelID(ch, scid)
	p.SetState(ch, lightningdtest.StateNormal, false)
	c := channel(t, p.Report(), ch.Point())
	require.Equal(t, "open", c.Status)
	require.NotNil(t, c.ShortChannelID)
	require.Equal(t, scid, *c.ShortChannelID)
}

// TestInProcessClosedBeforeLockin closes channels that never reached
// CHANNELD_NORMAL. CLN's close command (or the peer's shutdown) takes a
// channel awaiting lockin straight to CHANNELD_SHUTTING_DOWN; such a
// channel was never usable and stays out of the report, whether the
// plugin hears of the close by notification or only by reconcile.
func TestInProcessClosedBeforeLockin(t *testing.T) {
	a := lightningdtest.PeerID(1)
	lockin := func(n *lightningdtest.Node) *lightningdtest.Channel {
		return n.AddChannel(lightningdtest.NewChannel(a, 1,
			lightningdtest.StateAwaitingLockin))
	}
	type closer func(p *inProcess, ch *lightningdtest.Channel)
	tests := []struct {
		name string

		// atStart lists the channel awaiting lockin at bootstrap;
		// otherwise it is funded (and notified) after init.
		atStart bool
		close   closer
	}{{
		name:    "close notified",
		atStart: true,
		close: func(p *inProcess, ch *lightningdtest.Channel) {
			p.CloseChannel(ch)
		},
	}, {
		name: "funded and closed while running",
		close: func(p *inProcess, ch *lightningdtest.Channel) {
			p.SetState(ch, lightningdtest.StateAwaitingLockin,
				false)
			p.CloseChannel(ch)
		},
	}, {
		name:    "reconcile during the close",
		atStart: true,
		close: func(p *inProcess, ch *lightningdtest.Channel) {
			p.SetState(ch, lightningdtest.StateShuttingDown, false)
			p.reconcile()
			p.SetState(ch, lightningdtest.StateSigExchange, false)
			p.reconcile()
		},
	}, {
		name:    "close missed, seen by reconcile",
		atStart: true,
		close: func(p *inProcess, ch *lightningdtest.Channel) {
			p.SetState(ch, lightningdtest.StateShuttingDown, true)
			p.reconcile()
		},
	}}
	run := func(t *testing.T, pl lightningdtest.Payload, atStart bool,
		shut closer) {

		var ch *lightningdtest.Channel
		p := startInProcess(t, inProcessOpts{
			node: lightningdtest.Options{Payload: pl},
			setup: func(n *lightningdtest.Node) {
				n.SetPeer(a, true)
				if atStart {
					ch = lockin(n)
				}
			},
		})
		if ch == nil {
			ch = p.AddChannel(lightningdtest.NewChannel(a, 1, ""))
		}
		p.advance(time.Hour)
		shut(p, ch)
		p.advance(time.Hour)
		p.reconcile()
		require.Empty(t, p.Report().Channels)
	}
	for _, tc := range tests {
		for _, pl := range lightningdtest.Payloads {
			t.Run(tc.name+"/"+pl.String(), func(t *testing.T) {
				run(t, pl, tc.atStart, tc.close)
			})
		}
	}
}
