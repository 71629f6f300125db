package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// loadedStore is a store whose Load returns a given state.
type loadedStore struct {
	core.Store
	st *core.StoredState
}

// Load implements core.Store.
func (s loadedStore) Load(context.Context) (*core.StoredState, error) {
	return s.st, nil
}

// TestLoadRefusesInconsistentState: a stored state that does not hold
// together (gaps out of order, a log without its peer, a log that skips
// events or goes back in time, a channel of an unknown peer) stops the
// monitor's start with an error naming what is wrong.
func TestLoadRefusesInconsistentState(t *testing.T) {
	p := peerN(1)
	peer := core.PeerRecord{Peer: p, TrackedSince: t0, StateSince: t0}
	ev := func(d time.Duration) core.LogEvent {
		return core.LogEvent{Time: t0.Add(d), State: core.StateOnline}
	}
	tests := []struct {
		name string
		st   core.StoredState
		want string
	}{{
		name: "gap ends before it starts",
		st: core.StoredState{Gaps: []core.Gap{
			{Start: t0.Add(time.Hour), End: t0},
		}},
		want: "out of order",
	}, {
		name: "gaps out of order",
		st: core.StoredState{Gaps: []core.Gap{
			{Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)},
			{Start: t0, End: t0.Add(time.Minute)},
		}},
		want: "out of order",
	}, {
		name: "log without a peer",
		st: core.StoredState{Logs: []core.PeerLog{
			{Peer: p, Events: []core.LogEvent{ev(0)}},
		}},
		want: "without a peer record",
	}, {
		name: "log that does not start at zero",
		st: core.StoredState{
			Peers: []core.PeerRecord{peer},
			Logs: []core.PeerLog{
				{Peer: p, Seq: 3, Events: []core.LogEvent{ev(0)}},
			},
		},
		want: "starts at 3, want 0",
	}, {
		name: "log back in time",
		st: core.StoredState{
			Peers: []core.PeerRecord{peer},
			Logs: []core.PeerLog{{Peer: p, Events: []core.LogEvent{
				ev(time.Hour), ev(0),
			}}},
		},
		want: "goes back in time",
	}, {
		name: "channel of an unknown peer",
		st: core.StoredState{Channels: []core.ChannelRecord{
			{Point: chanN(1), Peer: p, OpenedAt: t0},
		}},
		want: "of untracked peer",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.st
			m, err := core.NewMonitor(core.Config{
				Store:  loadedStore{Store: memory.New(), st: &st},
				Clock:  clock.NewTestClock(t0.Add(24 * time.Hour)),
				Source: coretest.NewAttached(),
			})
			require.NoError(t, err)
			err = m.Start(context.Background())
			require.ErrorContains(t, err, "load store")
			require.ErrorContains(t, err, tt.want)
			require.NoError(t, m.Stop())
		})
	}
}
