package equivalence

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
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
	st, err := badgerstore.Open(dir, badgerstore.Options{
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
		src := coretest.NewAttached()
		m, err := core.NewMonitor(core.Config{
			Store:             st,
			Clock:             clk,
			Source:            src,
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
		if err := src.Synced(); err != nil {
			_ = m.Stop()
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

// checkSeed runs one generated sequence and fails with report's text on a
// difference.
func checkSeed(ctx context.Context, t *testing.T, storeName string,
	seed uint64, newFit NewFitness) {

	t.Helper()
	msg, err := report(ctx, storeName, seed, newFit)
	require.NoError(t, err, "seed %d", seed)
	if msg != "" {
		t.Fatal(msg)
	}
}

// report runs the sequence of seed and, on a difference, shrinks it and
// returns a description with the shortest sequence found ("" when there
// is no difference).
func report(ctx context.Context, storeName string, seed uint64,
	newFit NewFitness) (string, error) {

	steps := Generate(rand.New(rand.NewPCG(seed, 0)), genConfig(seed))
	mm, err := Run(ctx, steps, newFit)
	if err != nil || mm == nil {
		return "", err
	}

	fails := func(s []Step) bool {
		m, err := Run(ctx, s, newFit)
		return err == nil && m != nil
	}
	short := Shrink(steps[:mm.Step+1], fails)
	last, err := Run(ctx, short, newFit)
	switch {
	case err != nil:
		return "", err
	case last == nil:
		// Shrink only keeps failing sequences; a difference that
		// comes and goes is reported unshrunk.
		last, short = mm, steps[:mm.Step+1]
	}

	return fmt.Sprintf("core (%s store) differs from lnd %s, seed %d "+
		"(%d steps, shrunk to %d):\n%v\n\nsteps:\n%s\nrerun: go test "+
		"./plugin/lnd/equivalence -run 'TestEquivalence/%s' "+
		"-equivalence.seed %d", storeName, LNDVersion, seed,
		len(steps), len(short), last, FormatSteps(short), storeName,
		seed), nil
}

// skewed is a core.Monitor whose uptimes of an hour or more are a
// nanosecond long.
type skewed struct {
	*core.Monitor
}

func (s skewed) ChannelInfo(ctx context.Context, cp core.ChannelPoint) (
	core.ChannelInfo, error) {

	info, err := s.Monitor.ChannelInfo(ctx, cp)
	if info.Uptime >= time.Hour {
		info.Uptime += time.Nanosecond
	}
	return info, err
}

// TestReport checks the failure report end to end on a monitor that is
// off by a nanosecond.
func TestReport(t *testing.T) {
	ctx := context.Background()
	newFit := monitorFitness(t, stores[0])
	skewedFit := func(clk clock.Clock) (Fitness, func() error, error) {
		f, stop, err := newFit(clk)
		if err != nil {
			return nil, nil, err
		}
		return skewed{f.(*core.Monitor)}, stop, nil
	}

	msg, err := report(ctx, "memory", 1, newFit)
	require.NoError(t, err)
	require.Empty(t, msg)

	msg, err = report(ctx, "memory", 1, skewedFit)
	require.NoError(t, err)
	require.Contains(t, msg, "core (memory store) differs from lnd "+
		LNDVersion+", seed 1 (")
	require.Contains(t, msg, "shrunk to 2)")
	require.Regexp(t, `after step 2: open channel p\d+/c\d+ uptime: `+
		`lnd \S+s, ours \S+s\n`, msg)
	require.Contains(t, msg, "-equivalence.seed 1")

	// The shortest sequence: a peer's first open, then an hour or more.
	require.Regexp(t, `steps:\n    1  open p\d+/c\d+\n    2  `+
		`advance \S+\n\n`, msg)
}
