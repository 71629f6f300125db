package equivalence

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// Shorthands for hand-written sequences.
func adv(d time.Duration) Step { return Step{Kind: Advance, D: d} }
func on(p int) Step            { return Step{Kind: Online, Peer: p} }
func off(p int) Step           { return Step{Kind: Offline, Peer: p} }
func open(p, c int) Step       { return Step{Kind: Open, Peer: p, Chan: c} }
func closeCh(p, c int) Step    { return Step{Kind: Close, Peer: p, Chan: c} }

// replayLND applies steps to a fresh LND without checking them.
func replayLND(t *testing.T, steps []Step) *LND {
	t.Helper()
	clk := clock.NewTestClock(Start)
	l, err := NewLND(clk)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Stop()) })
	for _, s := range steps {
		if s.Kind == Advance {
			clk.SetTime(clk.Now().Add(s.D))
			continue
		}
		require.NoError(t, l.Apply(s.Event()), "step %v", s)
	}
	return l
}

// TestLNDDriver checks that the driver feeds lnd synchronously: every
// figure depends on lnd having processed each event before the clock
// moved on.
func TestLNDDriver(t *testing.T) {
	type chanWant struct {
		ref              ChanRef
		lifetime, uptime time.Duration
		notFound         bool
	}
	type peerWant struct {
		peer     int
		flaps    int
		lastFlap time.Duration // since Start; negative: none
	}
	tests := []struct {
		name  string
		steps []Step
		chans []chanWant
		peers []peerWant
	}{{
		name: "online hour then offline hour",
		steps: []Step{on(0), open(0, 0), adv(time.Hour), off(0),
			adv(time.Hour)},
		chans: []chanWant{{ref: ChanRef{0, 0}, lifetime: 2 * time.Hour,
			uptime: time.Hour}},
		// Creating the peer monitor counts one flap; the first online
		// came before the peer was tracked and does not count.
		peers: []peerWant{{peer: 0, flaps: 2, lastFlap: time.Hour}},
	}, {
		name: "offline shorter than the spacing is lost",
		steps: []Step{on(0), open(0, 0), adv(10 * time.Minute), off(0),
			adv(500 * time.Millisecond), on(0), adv(time.Hour)},
		chans: []chanWant{{ref: ChanRef{0, 0},
			lifetime: time.Hour + 10*time.Minute +
				500*time.Millisecond,
			uptime: time.Hour + 10*time.Minute +
				500*time.Millisecond}},
		peers: []peerWant{{peer: 0, flaps: 3,
			lastFlap: 10*time.Minute + 500*time.Millisecond}},
	}, {
		name: "repeated offline keeps the earliest time",
		steps: []Step{on(0), open(0, 0), adv(time.Hour), off(0),
			adv(time.Hour), off(0), adv(time.Hour)},
		chans: []chanWant{{ref: ChanRef{0, 0}, lifetime: 3 * time.Hour,
			uptime: time.Hour}},
		peers: []peerWant{{peer: 0, flaps: 3,
			lastFlap: 2 * time.Hour}},
	}, {
		name: "duplicate open changes nothing",
		steps: []Step{on(0), open(0, 0), adv(time.Hour), open(0, 0),
			adv(time.Hour)},
		chans: []chanWant{{ref: ChanRef{0, 0}, lifetime: 2 * time.Hour,
			uptime: 2 * time.Hour}},
		peers: []peerWant{{peer: 0, flaps: 1, lastFlap: 0}},
	}, {
		name: "cooldown over 24 h idle",
		steps: append(append([]Step{on(0), open(0, 0)},
			flips(0, 9, 2*time.Second)...),
			adv(24*time.Hour), on(0)),
		// 10 flaps, then floor(10 * 0.95^3) = 8, plus one.
		peers: []peerWant{{peer: 0, flaps: 9,
			lastFlap: 24*time.Hour + 18*time.Second}},
	}, {
		name: "last close clears the log, flaps still count",
		steps: []Step{on(0), open(0, 0), adv(time.Hour), off(0),
			adv(time.Hour), closeCh(0, 0), on(0), adv(time.Hour),
			open(0, 1), adv(time.Hour)},
		chans: []chanWant{
			{ref: ChanRef{0, 0}, notFound: true},
			{ref: ChanRef{0, 1}, lifetime: time.Hour,
				uptime: time.Hour},
		},
		peers: []peerWant{{peer: 0, flaps: 3,
			lastFlap: 2 * time.Hour}},
	}, {
		name: "untracked peer is seeded online (lnd quirk)",
		steps: []Step{off(0), open(0, 0), adv(time.Hour), closeCh(1,
			0)},
		chans: []chanWant{{ref: ChanRef{0, 0}, lifetime: time.Hour,
			uptime: time.Hour}},
		peers: []peerWant{
			{peer: 0, flaps: 1, lastFlap: 0},
			{peer: 1, flaps: 0, lastFlap: -1},
		},
	}}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := replayLND(t, tc.steps)
			for _, c := range tc.chans {
				life, up, err := l.ChannelInfo(
					PeerID(c.ref.Peer),
					ChannelPoint(c.ref.Peer, c.ref.Chan))
				if c.notFound {
					require.ErrorIs(t, err,
						core.ErrChannelNotFound)
					continue
				}
				require.NoError(t, err)
				require.Equal(t, c.lifetime, life, "lifetime")
				require.Equal(t, c.uptime, up, "uptime")
			}
			for _, p := range tc.peers {
				n, last, err := l.FlapCount(PeerID(p.peer))
				require.NoError(t, err)
				require.Equal(t, p.flaps, n, "flap count")
				if p.lastFlap < 0 {
					require.Nil(t, last)
					continue
				}
				require.NotNil(t, last)
				require.Equal(t, Start.Add(p.lastFlap), *last)
			}
		})
	}
}

// flips returns n notifications of peer p, alternating offline and online,
// each followed by an advance of d.
func flips(p, n int, d time.Duration) []Step {
	var s []Step
	for i := 0; i < n; i++ {
		if i%2 == 0 {
			s = append(s, off(p))
		} else {
			s = append(s, on(p))
		}
		s = append(s, adv(d))
	}
	return s
}

func TestLNDErrors(t *testing.T) {
	l, err := NewLND(clock.NewTestClock(Start))
	require.NoError(t, err)
	require.NoError(t, l.Apply(on(0).Event()))
	require.NoError(t, l.Apply(open(0, 0).Event()))

	_, _, err = l.ChannelInfo(PeerID(1), ChannelPoint(1, 0))
	require.ErrorIs(t, err, core.ErrPeerNotFound)

	_, _, err = l.ChannelInfo(PeerID(0), ChannelPoint(0, 1))
	require.ErrorIs(t, err, core.ErrChannelNotFound)

	ev := on(0).Event()
	ev.Time = Start
	require.ErrorIs(t, l.Apply(ev), ErrEventTime)

	require.ErrorIs(t, l.Apply(core.Event{Type: core.PeerOnline}),
		core.ErrBadInput)

	require.NoError(t, l.Stop())
	require.ErrorIs(t, l.Apply(on(0).Event()), ErrLNDStopped)
	require.Error(t, l.Stop(), "lnd refuses a second stop")
}
