package badgerstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/stretchr/testify/require"
)

var ringT0 = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)

func ringPeer(n int) core.PeerID {
	var p core.PeerID
	p[0] = 0x02
	p[1] = byte(n)
	return p
}

// TestRecentBatchesMatchMemory writes random batches of every kind to badger and to the
// memory store, small ones (recent batches) and large ones mixed, with
// syncs, loads, clean restarts and restarts that leave recent batches
// unfolded between them, and requires both stores to hold the same.
func TestRecentBatchesMatchMemory(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testRecentBatches(t, seed)
		})
	}
}

func testRecentBatches(t *testing.T, seed uint64) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := badgerstore.Options{BackupInterval: -1}
	s, err := badgerstore.Open(dir, opts)
	require.NoError(t, err)
	mem := memory.New()
	g := batchGen{rng: rand.New(rand.NewPCG(seed, 7)),
		seq: make(map[core.PeerID]uint64)}
	same := func(step int) {
		want, err := mem.Load(ctx)
		require.NoError(t, err)
		got, err := s.Load(ctx)
		require.NoError(t, err)
		require.Equal(t, storagetest.Normalize(want),
			storagetest.Normalize(got), "step %d", step)
	}
	var b core.Batch
	for step := 0; step < 3000; step++ {
		g.next(&b)
		require.NoError(t, s.Write(ctx, &b), "step %d", step)
		require.NoError(t, mem.Write(ctx, &b), "step %d", step)
		switch r := g.rng.IntN(1000); {
		case r < 20:
			require.NoError(t, s.Sync())
		case r < 30:
			same(step)
		case r < 36:
			require.NoError(t, badgerstore.Abandon(s))
			s, err = badgerstore.Open(dir, opts)
			require.NoError(t, err, "step %d", step)
		case r < 40:
			require.NoError(t, s.Close())
			s, err = badgerstore.Open(dir, opts)
			require.NoError(t, err, "step %d", step)
		}
	}
	same(-1)
	require.NoError(t, badgerstore.Abandon(s))
	s, err = badgerstore.Open(dir, opts)
	require.NoError(t, err)
	same(-2)
	require.NoError(t, s.Close())
}

// batchGen makes random batches over a few peers and channels, so that
// records are written, deleted and written again within one fold.
type batchGen struct {
	rng *rand.Rand
	seq map[core.PeerID]uint64
	now time.Time
	cut time.Time
}

func (g *batchGen) next(b *core.Batch) {
	*b = core.Batch{}
	g.now = ringT0.Add(time.Duration(g.rng.IntN(1e6)) * time.Second)
	parts := 1 + g.rng.IntN(3)
	for range parts {
		switch r := g.rng.IntN(100); {
		case r < 55:
			g.event(b)
		case r < 67:
			b.Channels = append(b.Channels, g.channel())
		case r < 75:
			b.DeleteChannels = append(b.DeleteChannels,
				g.channel().Point)
		case r < 79:
			m := core.Meta{MonitoringSince: ringT0, Heartbeat: g.now}
			b.Meta = &m
		case r < 84:
			b.Gaps = append(b.Gaps, core.Gap{Start: g.now,
				End: g.now.Add(time.Minute)})
		case r < 90:
			g.samples(b)
		case r < 93:
			b.Filled = append(b.Filled, core.FilledSpan{
				Start: g.now, End: g.now.Add(time.Hour),
				Backfill: g.rng.IntN(2) == 0})
		case r < 97:
			g.alert(b)
		default:
			// More records than a recent batch takes.
			for range 65 {
				g.event(b)
			}
		}
	}
}

func (g *batchGen) peer() core.PeerID {
	return ringPeer(g.rng.IntN(5))
}

func (g *batchGen) event(b *core.Batch) {
	p := g.peer()
	for i := range b.Logs {
		if b.Logs[i].Peer == p {
			return
		}
	}
	n := 1 + g.rng.IntN(3)
	evs := make([]core.LogEvent, n)
	for i := range evs {
		evs[i] = core.LogEvent{Time: g.now.Add(time.Duration(i)),
			State: core.State(g.rng.IntN(3))}
	}
	b.Logs = append(b.Logs, core.PeerLog{Peer: p, Seq: g.seq[p],
		Events: evs})
	g.seq[p] += uint64(n)
	b.Peers = append(b.Peers, core.PeerRecord{Peer: p,
		TrackedSince: ringT0, Online: g.rng.IntN(2) == 0,
		StateSince: g.now, FlapCount: g.rng.IntN(1000),
		LastEvent: g.now})
}

func (g *batchGen) channel() core.ChannelRecord {
	var cp core.ChannelPoint
	cp.Txid[0] = byte(g.rng.IntN(6))
	c := core.ChannelRecord{Point: cp, Peer: g.peer(),
		ShortChannelID: fmt.Sprintf("%dx1x0", g.rng.IntN(1000)),
		OpenedAt:       g.now}
	if g.rng.IntN(3) == 0 {
		c.ClosedAt = g.now.Add(time.Hour)
		c.Frozen = map[string]core.WindowNumbers{
			"lifetime": {Monitored: time.Hour, Uptime: time.Minute}}
	}
	return c
}

func (g *batchGen) samples(b *core.Batch) {
	for range 1 + g.rng.IntN(3) {
		b.Samples = append(b.Samples, core.PeerSample{Peer: g.peer(),
			Time: g.now.Add(-time.Duration(g.rng.IntN(1e5)) *
				time.Second),
			Kind: core.SamplePing, RTT: time.Millisecond})
	}
	if g.rng.IntN(4) == 0 {
		// The cut moves forward only, as the monitor's does: a store
		// may either delete or hide what a cut left behind.
		cut := g.now.Add(-time.Duration(g.rng.IntN(1e5)) * time.Second)
		if cut.After(g.cut) {
			g.cut = cut
		}
		b.DeleteSamplesBefore = g.cut
	}
}

func (g *batchGen) alert(b *core.Batch) {
	k := fmt.Sprintf("offline/%d", g.rng.IntN(4))
	if g.rng.IntN(3) == 0 {
		b.DeleteAlerts = append(b.DeleteAlerts, k)
		return
	}
	b.Alerts = append(b.Alerts, core.AlertRecord{Key: k,
		Body: []byte(`{}`), CreatedAt: g.now, Pending: []string{"x"}})
}
