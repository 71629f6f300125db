package equivalence

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGenerate(t *testing.T) {
	kinds := make(map[Kind]int)
	var (
		zero, subSecond, boundary, idle int
		dupOpens, unknownCloses         int
		maxFlaps                        int
	)
	for seed := uint64(1); seed <= 20; seed++ {
		cfg := GenConfig{Peers: 4, Steps: 300}
		if seed%2 == 0 {
			cfg.StormFlaps = 250
		}
		steps := Generate(rand.New(rand.NewPCG(seed, 0)), cfg)
		require.NoError(t, Valid(steps), "seed %d", seed)
		require.GreaterOrEqual(t, len(steps),
			cfg.Steps+2*cfg.StormFlaps, "seed %d", seed)

		m := NewModel()
		for _, s := range steps {
			kinds[s.Kind]++
			switch {
			case s.Kind == Open && m.Chans[ChanRef{s.Peer,
				s.Chan}] == ChanOpen:
				dupOpens++
			case s.Kind == Close && m.Chans[ChanRef{s.Peer,
				s.Chan}] == 0:
				unknownCloses++
			}
			require.NoError(t, m.Apply(s))
			if s.Kind != Advance {
				continue
			}
			switch {
			case s.D == 0:
				zero++
			case s.D < time.Second:
				subSecond++
			case slices.Contains(rateBoundaries, s.D):
				boundary++
			case s.D > 8*time.Hour:
				idle++
			}
		}
		most := 0
		for _, n := range m.Flaps {
			most = max(most, n)
		}
		require.GreaterOrEqual(t, most, cfg.StormFlaps,
			"seed %d: storm flaps", seed)
		maxFlaps = max(maxFlaps, most)
	}
	for k := Advance; k <= Close; k++ {
		require.Positive(t, kinds[k], "steps of kind %d", k)
	}
	require.Positive(t, zero, "zero advances")
	require.Positive(t, subSecond, "sub-second advances")
	require.Positive(t, boundary, "advances exactly on a boundary")
	require.Positive(t, idle, "advances over the cooldown period")
	require.Positive(t, dupOpens, "duplicate opens")
	require.Positive(t, unknownCloses, "closes of unknown channels")
	require.GreaterOrEqual(t, maxFlaps, 200, "flaps of one peer")
}

func TestGenerateDeterministic(t *testing.T) {
	cfg := GenConfig{Peers: 3, Steps: 200, StormFlaps: 50}
	a := Generate(rand.New(rand.NewPCG(7, 0)), cfg)
	b := Generate(rand.New(rand.NewPCG(7, 0)), cfg)
	require.Equal(t, a, b)
}

func TestValid(t *testing.T) {
	tests := []struct {
		name  string
		steps []Step
		bad   bool
	}{
		{name: "empty"},
		{name: "first open of a peer never heard of",
			steps: []Step{open(0, 0)}},
		{name: "first open after online",
			steps: []Step{off(0), on(0), open(0, 0)}},
		{name: "first open after offline",
			steps: []Step{on(0), off(0), open(0, 0)}, bad: true},
		{name: "second open after offline",
			steps: []Step{open(0, 0), off(0), open(0, 1)}},
		{name: "reopen after close",
			steps: []Step{open(0, 0), closeCh(0, 0), open(0, 0)},
			bad:   true},
		{name: "open after close of a never opened channel",
			steps: []Step{closeCh(0, 0), open(0, 0)}, bad: true},
		{name: "duplicate open and double close",
			steps: []Step{open(0, 0), open(0, 0), closeCh(0, 0),
				closeCh(0, 0)}},
		{name: "negative advance",
			steps: []Step{adv(-time.Second)}, bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Valid(tc.steps)
			if tc.bad {
				require.ErrorIs(t, err, ErrInvalidSequence)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestStepString(t *testing.T) {
	tests := []struct {
		step Step
		want string
	}{
		{adv(1500 * time.Millisecond), "advance 1.5s"},
		{on(2), "online p2"},
		{off(0), "offline p0"},
		{open(1, 3), "open p1/c3"},
		{closeCh(4, 0), "close p4/c0"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, tc.step.String())
		})
	}
	require.Equal(t, "    1  online p0\n    2  open p0/c1\n",
		FormatSteps([]Step{on(0), open(0, 1)}))
}

func TestIDs(t *testing.T) {
	seen := make(map[string]bool)
	for p := 0; p < 5; p++ {
		id := PeerID(p)
		require.Contains(t, []byte{2, 3}, id[0])
		require.Equal(t, id, PeerID(p), "stable")
		for c := 0; c < 5; c++ {
			cp := ChannelPoint(p, c)
			require.False(t, seen[cp.String()], "unique")
			seen[cp.String()] = true
		}
	}
}
