package equivalence

import (
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

var (
	seedFlag = flag.Uint64("equivalence.seed", 0, "run only this seed "+
		"of TestEquivalence")
	seedsFlag = flag.Int("equivalence.seeds", 0, "number of seeds "+
		"TestEquivalence runs per store (0: the default)")
)

// store is a store kind the equivalence test runs core with.
type store struct {
	name string

	// seeds is how many seeds run (full run, -short run), from first
	// on; each store gets its own seeds, so that together they cover
	// more sequences.
	first        uint64
	seeds, short int

	open func(t *testing.T) (core.Store, func() error)
}

// openBadger opens a badger store in a fresh directory that closing it
// removes (shrinking replays many runs, so t.TempDir would pile them up).
func openBadger(t *testing.T) (core.Store, func() error) {
	dir, err := os.MkdirTemp("", "chanfitness-equivalence-")
	require.NoError(t, err)
	st, err := badger.Open(dir, badger.Options{
		GCTicker: ticker.NewForce(time.Hour),
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		require.NoError(t, err)
	}
	return st, func() error {
		err := st.Close()
		if rerr := os.RemoveAll(dir); err == nil {
			err = rerr
		}
		return err
	}
}

var stores = []store{{
	name:  "memory",
	first: 1,
	seeds: 60,
	short: 12,
	open: func(*testing.T) (core.Store, func() error) {
		st := memory.New()
		return st, st.Close
	},
}, {
	name:  "badger",
	first: 1001,
	seeds: 30,
	short: 6,
	open:  openBadger,
}}

// monitorFitness starts a core.Monitor on a store from s.
func monitorFitness(t *testing.T, s store) NewFitness {
	return func(clk clock.Clock) (Fitness, func() error, error) {
		st, closeStore := s.open(t)
		m, err := core.NewMonitor(core.Config{
			Store:             st,
			Clock:             clk,
			SyncTicker:        ticker.NewForce(time.Second),
			MaintenanceTicker: ticker.NewForce(time.Hour),
		})
		if err != nil {
			_ = closeStore()
			return nil, nil, err
		}
		if err := m.Start(context.Background()); err != nil {
			_ = closeStore()
			return nil, nil, err
		}
		stop := func() error {
			err := m.Stop()
			if cerr := closeStore(); err == nil {
				err = cerr
			}
			return err
		}
		return m, stop, nil
	}
}

// genConfig varies the sequence shape with the seed: 2 to 6 peers, 150 to
// 399 steps, and in every other seed a storm of 200 to 599 flaps of one
// peer, enough to cross rate-limit tiers.
func genConfig(seed uint64) GenConfig {
	rng := rand.New(rand.NewPCG(seed, 1))
	cfg := GenConfig{
		Peers: 2 + rng.IntN(5),
		Steps: 150 + rng.IntN(250),
	}
	if seed%2 == 0 {
		cfg.StormFlaps = 200 + rng.IntN(400)
	}
	return cfg
}

// TestEquivalence replays random sequences through lnd's chanfitness and
// core.Monitor and compares every open channel's lifetime and uptime and
// every peer's flap count and last flap after every step. A difference
// fails with the seed and the shortest sequence found that shows it.
func TestEquivalence(t *testing.T) {
	ctx := context.Background()
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			seeds := make([]uint64, 0, s.seeds)
			switch n := s.seeds; {
			case *seedFlag != 0:
				seeds = append(seeds, *seedFlag)
			case *seedsFlag > 0:
				n = *seedsFlag
				fallthrough
			default:
				if testing.Short() && *seedsFlag == 0 {
					n = s.short
				}
				for i := range uint64(n) {
					seeds = append(seeds, s.first+i)
				}
			}

			newFit := monitorFitness(t, s)
			for _, seed := range seeds {
				checkSeed(ctx, t, s.name, seed, newFit)
			}
		})
	}
}

// checkSeed runs one generated sequence and, on a difference, shrinks it
// and fails with a report.
func checkSeed(ctx context.Context, t *testing.T, storeName string,
	seed uint64, newFit NewFitness) {

	t.Helper()
	steps := Generate(rand.New(rand.NewPCG(seed, 0)), genConfig(seed))
	mm, err := Run(ctx, steps, newFit)
	require.NoError(t, err, "seed %d", seed)
	if mm == nil {
		return
	}

	fails := func(s []Step) bool {
		m, err := Run(ctx, s, newFit)
		return err == nil && m != nil
	}
	short := Shrink(steps[:mm.Step+1], fails)
	last, err := Run(ctx, short, newFit)
	require.NoError(t, err)
	require.NotNil(t, last)

	t.Fatalf("core (%s store) differs from lnd %s, seed %d (%d steps, "+
		"shrunk to %d):\n%v\n\nsteps:\n%s\nrerun: go test "+
		"./plugin/lnd/equivalence -run 'TestEquivalence/%s' "+
		"-equivalence.seed %d", storeName, LNDVersion, seed,
		len(steps), len(short), last, FormatSteps(short), storeName,
		seed)
}
