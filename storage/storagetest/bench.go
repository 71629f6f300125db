package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// BenchmarkWrite writes what the monitor writes per event: one peer record
// and one log event, for 100 peers in turn, reusing the batch. With
// syncEvery > 0 the store is synced that often, as the monitor's one-second
// timer would at that rate. It reports events/s.
func BenchmarkWrite(b *testing.B, s core.Store, syncEvery int) {
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
		if syncEvery > 0 && i%syncEvery == syncEvery-1 {
			if err := s.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
