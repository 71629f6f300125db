package equivalence

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// lndFitness serves the Fitness interface from a second lnd instance, so
// that the comparison can be checked against a subject known to agree
// (and, with skew, one known to differ).
type lndFitness struct {
	l       *LND
	peerOf  map[core.ChannelPoint]core.PeerID
	tracked map[core.PeerID]bool

	// skew, when set, is added to every uptime of at least an hour.
	skew time.Duration
}

func newLNDFitness(skew time.Duration) NewFitness {
	return func(clk clock.Clock) (Fitness, func() error, error) {
		l, err := NewLND(clk)
		if err != nil {
			return nil, nil, err
		}
		return &lndFitness{
			l:       l,
			peerOf:  make(map[core.ChannelPoint]core.PeerID),
			tracked: make(map[core.PeerID]bool),
			skew:    skew,
		}, l.Stop, nil
	}
}

func (f *lndFitness) Apply(_ context.Context, ev core.Event) error {
	if ev.Type == core.ChannelOpened {
		f.peerOf[ev.Channel] = ev.Peer
		f.tracked[ev.Peer] = true
	}
	return f.l.Apply(ev)
}

func (f *lndFitness) ChannelInfo(_ context.Context, cp core.ChannelPoint) (
	core.ChannelInfo, error) {

	peer, ok := f.peerOf[cp]
	if !ok {
		return core.ChannelInfo{}, core.ErrChannelNotFound
	}
	life, up, err := f.l.ChannelInfo(peer, cp)
	if err != nil {
		return core.ChannelInfo{}, err
	}
	if up >= time.Hour {
		up += f.skew
	}
	return core.ChannelInfo{Point: cp, Peer: peer, Open: true,
		Lifetime: life, Uptime: up}, nil
}

func (f *lndFitness) FlapCount(_ context.Context, peer core.PeerID) (int,
	*time.Time, error) {

	if !f.tracked[peer] {
		return 0, nil, fmt.Errorf("peer %v: %w", peer,
			core.ErrPeerNotFound)
	}
	return f.l.FlapCount(peer)
}

// TestRunAgrees runs generated sequences against a second lnd: the
// comparison must find no difference.
func TestRunAgrees(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 3; seed++ {
		steps := Generate(rand.New(rand.NewPCG(seed, 0)), GenConfig{
			Peers: 3, Steps: 150, StormFlaps: 60})
		mm, err := Run(ctx, steps, newLNDFitness(0))
		require.NoError(t, err)
		require.Nil(t, mm, "seed %d", seed)
	}
}

// TestRunFindsAndShrinks checks that a subject that is off by a
// nanosecond fails, and that the failing sequence shrinks to one from
// which no step can be removed.
func TestRunFindsAndShrinks(t *testing.T) {
	ctx := context.Background()
	newFit := newLNDFitness(time.Nanosecond)
	fails := func(s []Step) bool {
		mm, err := Run(ctx, s, newFit)
		require.NoError(t, err)
		return mm != nil
	}

	steps := Generate(rand.New(rand.NewPCG(1, 0)), GenConfig{Peers: 3,
		Steps: 200})
	mm, err := Run(ctx, steps, newFit)
	require.NoError(t, err)
	require.NotNil(t, mm)
	require.Contains(t, mm.What, "uptime")

	short := Shrink(steps[:mm.Step+1], fails)
	require.NoError(t, Valid(short))
	require.True(t, fails(short))
	require.LessOrEqual(t, len(short), 4, "shrunk:\n%s",
		FormatSteps(short))
	for i := range short {
		cand := append(append([]Step(nil), short[:i]...),
			short[i+1:]...)
		if Valid(cand) == nil {
			require.False(t, fails(cand), "step %d removable", i+1)
		}
	}
}

func TestShrink(t *testing.T) {
	// Fails when p1 goes offline while its channel c0 is open.
	fails := func(s []Step) bool {
		m := NewModel()
		for _, st := range s {
			_ = m.Apply(st)
			if st.Kind == Offline && st.Peer == 1 &&
				m.Chans[ChanRef{1, 0}] == ChanOpen {

				return true
			}
		}
		return false
	}
	steps := []Step{on(0), off(1), adv(time.Second), on(1), open(0, 0),
		open(1, 0), adv(time.Minute), on(1), off(0), off(1), on(1),
		off(1)}
	require.True(t, fails(steps))

	// A peer never heard of may open its first channel.
	require.Equal(t, []Step{open(1, 0), off(1)}, Shrink(steps, fails))

	// Also demand that p1 was notified offline before its open: the
	// open then needs an online before it, and no deletion may produce
	// an invalid sequence.
	failsAfterOffline := func(s []Step) bool {
		for _, st := range s {
			switch {
			case st.Peer != 1:
			case st.Kind == Offline:
				return fails(s)
			case st.Kind == Open:
				return false
			}
		}
		return false
	}
	steps = append([]Step{off(1), adv(time.Second)}, steps...)
	require.True(t, failsAfterOffline(steps))
	require.Equal(t, []Step{off(1), on(1), open(1, 0), off(1)},
		Shrink(steps, failsAfterOffline))
}
