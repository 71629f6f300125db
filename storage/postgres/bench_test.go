package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/fleet"
	"github.com/chanfitness/chanfitness/storage/postgres"
	"github.com/chanfitness/chanfitness/storage/postgres/pgtest"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/stretchr/testify/require"
)

// BenchmarkWrite writes one event per commit, what the monitor writes
// per event (one peer record and one log event), syncing every 100,000
// writes. It reports events/s.
func BenchmarkWrite(b *testing.B) {
	dsn := pgtest.Shared(b).NewDatabase(b)
	s, err := postgres.Open(context.Background(),
		postgres.Options{DSN: dsn, Node: node(1)})
	require.NoError(b, err)
	defer s.Close()
	storagetest.BenchmarkWrite(b, s, 100_000)
}

// BenchmarkWriteBatch writes batches of 1,000 events (10 peers, 100
// each) per commit. It reports events/s.
func BenchmarkWriteBatch(b *testing.B) {
	dsn := pgtest.Shared(b).NewDatabase(b)
	s, err := postgres.Open(context.Background(),
		postgres.Options{DSN: dsn, Node: node(1)})
	require.NoError(b, err)
	defer s.Close()
	const peers, each = 10, 100
	evs := make([]core.LogEvent, each)
	var batch core.Batch
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batch.Reset()
		for p := 0; p < peers; p++ {
			for j := range evs {
				evs[j] = core.LogEvent{Time: t0.Add(time.Duration(
					i*each+j) * time.Second),
					State: core.State(j & 1)}
			}
			batch.Logs = append(batch.Logs, core.PeerLog{
				Peer: fixturePeer(p), Seq: uint64(i * each),
				Events: evs})
		}
		require.NoError(b, s.Write(ctx, &batch))
	}
	require.NoError(b, s.Sync())
	b.StopTimer()
	b.ReportMetric(float64(b.N*peers*each)/b.Elapsed().Seconds(),
		"events/s")
}

func fixturePeer(i int) core.PeerID {
	var p core.PeerID
	p[0], p[1], p[2] = 0x02, byte(i>>8), byte(i)
	return p
}

// yearOfNode is a node's year: 3,000 peers with about 2,000,000 log
// events between them (200 to 1,133 each, every 47 s... spread over the
// year), 5,000 channels (half closed, with frozen numbers) and a gap a
// day, as the badger store's load benchmark has it.
func yearOfNode(start time.Time, peers, channels int,
	events func(i int) int) *core.StoredState {

	st := &core.StoredState{Meta: core.Meta{MonitoringSince: start,
		Heartbeat: start.Add(365 * 24 * time.Hour)}}
	for d := 0; d < 365; d++ {
		day := start.Add(time.Duration(d) * 24 * time.Hour)
		st.Gaps = append(st.Gaps, core.Gap{Start: day,
			End: day.Add(time.Minute)})
	}
	for i := 0; i < peers; i++ {
		id := fixturePeer(i)
		n := events(i)
		step := 365 * 24 * time.Hour / time.Duration(n+1)
		evs := make([]core.LogEvent, n)
		for j := range evs {
			evs[j] = core.LogEvent{Time: start.Add(
				time.Duration(j+1) * step), State: core.State(j & 1)}
		}
		st.Peers = append(st.Peers, core.PeerRecord{Peer: id,
			TrackedSince: start, StateSince: start, LastFlap: start,
			LastEvent: evs[n-1].Time, FlapCount: n})
		st.Logs = append(st.Logs, core.PeerLog{Peer: id, Events: evs})
	}
	for c := 0; c < channels; c++ {
		ch := core.ChannelRecord{Peer: fixturePeer(c % peers),
			ShortChannelID: "800000x1x1", OpenedAt: start}
		ch.Point.Txid[0], ch.Point.Txid[1] = byte(c>>8), byte(c)
		if c%2 == 1 && channels > peers {
			ch.ClosedAt = start.Add(time.Hour)
			ch.Frozen = map[string]core.WindowNumbers{
				"1d": {}, "7d": {}, "30d": {},
				"lifetime": {Monitored: time.Hour}}
		}
		st.Channels = append(st.Channels, ch)
	}
	return st
}

var (
	loadOnce sync.Once
	loadDSN  string
)

// BenchmarkRestart opens the store of a node's year (5,000 channels,
// 3,000 peers, about 2,000,000 events) and loads it, as a monitor's
// start does.
func BenchmarkRestart(b *testing.B) {
	ctx := context.Background()
	loadOnce.Do(func() {
		loadDSN = pgtest.Shared(b).NewDatabase(b)
		s, err := postgres.Open(ctx, postgres.Options{DSN: loadDSN,
			Node: node(1), Timeout: time.Minute})
		require.NoError(b, err)
		st := yearOfNode(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
			3000, 5000, func(i int) int { return 200 + (i*7919)%934 })
		_, err = s.Import(ctx, st, time.Time{})
		require.NoError(b, err)
		require.NoError(b, s.Close())
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := postgres.Open(ctx, postgres.Options{DSN: loadDSN,
			Node: node(1), Timeout: time.Minute})
		require.NoError(b, err)
		st, err := s.Load(ctx)
		require.NoError(b, err)
		require.Len(b, st.Channels, 5000)
		require.NoError(b, s.Close())
	}
}

// BenchmarkFleet computes the fleet view of 3 nodes with 2,000 channels
// each (to 2,000 peers, a third of them shared by all three nodes), over
// a year of history, through the fleet reader's query: with a state
// change a day per peer and node (730,000 events a year in all; 180,000
// in the 30-day window), and with four a day.
func BenchmarkFleet(b *testing.B) {
	for _, perDay := range []int{1, 4} {
		b.Run(fmt.Sprintf("changes=%d/day", perDay), func(b *testing.B) {
			benchFleet(b, perDay)
		})
	}
}

func benchFleet(b *testing.B, perDay int) {
	ctx := context.Background()
	dsn := pgtest.Shared(b).NewDatabase(b)
	start := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	for n := byte(1); n <= 3; n++ {
		s, err := postgres.Open(ctx, postgres.Options{DSN: dsn,
			Node: node(n), Timeout: time.Minute})
		require.NoError(b, err)
		st := yearOfNode(start, 2000, 2000,
			func(int) int { return perDay * 365 })
		// Peers 0 to 666 are shared; the others are the node's own.
		for i := range st.Peers {
			if i >= 667 {
				id := st.Peers[i].Peer
				id[3] = n
				st.Peers[i].Peer = id
				st.Logs[i].Peer = id
				st.Channels[i].Peer = id
			}
		}
		_, err = s.Import(ctx, st, time.Time{})
		require.NoError(b, err)
		require.NoError(b, s.Close())
	}
	r, err := postgres.NewFleetReader(dsn, time.Minute)
	require.NoError(b, err)
	defer r.Close()
	now := start.Add(365 * 24 * time.Hour)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := r.View(ctx, now)
		require.NoError(b, err)
		require.Len(b, rep.Nodes, 3)
		require.Len(b, rep.Peers, 667+3*1333)
		_ = rep.Peers[0].Windows[fleet.Windows[0].Name]
	}
}
