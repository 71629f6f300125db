package badger_test

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/badger"
	"github.com/stretchr/testify/require"
)

// BenchmarkWrite writes what the monitor writes per event: one peer record
// and one log event, for 100 peers in turn, reusing the batch. It calls
// Sync every 100,000 writes, as the monitor's one-second timer would at
// that rate.
func BenchmarkWrite(b *testing.B) {
	s, err := badger.Open(b.TempDir(), badger.Options{})
	require.NoError(b, err)
	defer func() { require.NoError(b, s.Close()) }()
	ctx := context.Background()

	const peers = 100
	var ids [peers]core.PeerID
	var seq [peers]uint64
	for i := range ids {
		ids[i][0] = 0x02
		ids[i][1] = byte(i)
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch core.Batch
	var staged core.LogEvent
	var evs []core.LogEvent

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := i % peers
		now := start.Add(time.Duration(i) * time.Second)
		batch.Reset()
		staged = core.LogEvent{Time: now, State: core.State(i & 1)}
		evs = append(evs[:0], staged)
		batch.Peers = append(batch.Peers, core.PeerRecord{
			Peer:       ids[p],
			Online:     i&1 == 1,
			StateSince: now,
			FlapCount:  i / peers,
			LastFlap:   now,
			Staged:     &staged,
			LastEvent:  now,
		})
		batch.Logs = append(batch.Logs, core.PeerLog{
			Peer:   ids[p],
			Seq:    seq[p],
			Events: evs,
		})
		if err := s.Write(ctx, &batch); err != nil {
			b.Fatal(err)
		}
		seq[p]++
		if i%100_000 == 99_999 {
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	require.NoError(b, s.Sync())
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
