package core_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

func benchMonitor(b *testing.B, st core.Store) (*core.Monitor,
	*clock.TestClock) {

	clk := clock.NewTestClock(t0)
	return coretest.StartMonitor(b, core.Config{Store: st, Clock: clk}),
		clk
}

// historyMonitor returns a monitor whose peer 1 has n committed events.
func historyMonitor(b *testing.B, n int) (*core.Monitor, *clock.TestClock) {
	m, clk := benchMonitor(b, memory.New())
	ctx := context.Background()
	p := peerN(1)
	require.NoError(b, m.Apply(ctx, core.Event{Type: core.PeerOnline,
		Peer: p}))
	require.NoError(b, m.Apply(ctx, core.Event{Type: core.ChannelOpened,
		Peer: p, Channel: chanN(1)}))
	// Spaced wider than the highest rate limit, every event commits.
	now := t0
	for i := 0; i < n; i++ {
		now = now.Add(time.Hour + time.Second)
		clk.SetTime(now)
		typ := core.PeerOffline
		if i%2 == 1 {
			typ = core.PeerOnline
		}
		require.NoError(b, m.Apply(ctx, core.Event{Type: typ, Peer: p,
			Time: now}))
	}
	clk.SetTime(now.Add(time.Minute))
	return m, clk
}

// BenchmarkQueryHistory1M: ChannelInfo and a 30 d window query for a peer
// with 1,000,000 committed events.
func BenchmarkQueryHistory1M(b *testing.B) {
	m, clk := historyMonitor(b, 1_000_000)
	ctx := context.Background()
	p, cp := peerN(1), chanN(1)
	b.Run("ChannelInfo", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := m.ChannelInfo(ctx, cp); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PeerWindow30d", func(b *testing.B) {
		end := clk.Now()
		start := end.Add(-30 * 24 * time.Hour)
		b.ReportAllocs()
		var w core.PeerWindowInfo
		for i := 0; i < b.N; i++ {
			var err error
			w, err = m.PeerWindow(ctx, p, start, end)
			if err != nil {
				b.Fatal(err)
			}
		}
		if w.LongestOutage == 0 || w.Uptime == 0 {
			b.Fatalf("implausible window %+v", w)
		}
	})
}

// BenchmarkApplyMemory: ingest on the memory store, one event per Apply,
// a realistic mix of many peers with flaps spread out.
func BenchmarkApplyMemory(b *testing.B) {
	m, clk := benchMonitor(b, memory.New())
	benchApply(b, m, clk)
}

// benchApply applies events stamped with the clock's time, as a source
// does: the monitor stamps no event after its clock's now.
func benchApply(b *testing.B, m *core.Monitor, clk *clock.TestClock) {
	ctx := context.Background()
	const peers = 1000
	for i := 0; i < peers; i++ {
		require.NoError(b, m.Apply(ctx, core.Event{
			Type: core.PeerOnline, Peer: peerN(i)}))
		require.NoError(b, m.Apply(ctx, core.Event{
			Type: core.ChannelOpened, Peer: peerN(i),
			Channel: chanN(i)}))
	}
	ids := make([]core.PeerID, peers)
	for i := range ids {
		ids[i] = peerN(i)
	}
	now := t0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(10 * time.Millisecond)
		clk.SetTime(now)
		typ := core.PeerOffline
		if (i/peers)%2 == 1 {
			typ = core.PeerOnline
		}
		err := m.Apply(ctx, core.Event{Type: typ, Peer: ids[i%peers],
			Time: now})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReport5000: a full report for 5,000 channels and 3,000 peers,
// each with a few days of history.
func BenchmarkReport5000(b *testing.B) {
	m, clk := benchMonitor(b, memory.New())
	ctx := context.Background()
	const peers, chans = 3000, 5000
	for i := 0; i < peers; i++ {
		require.NoError(b, m.Apply(ctx, core.Event{
			Type: core.PeerOnline, Peer: peerN(i)}))
	}
	for i := 0; i < chans; i++ {
		require.NoError(b, m.Apply(ctx, core.Event{
			Type: core.ChannelOpened, Peer: peerN(i % peers),
			Channel: chanN(i)}))
	}
	now := t0
	for d := 0; d < 40; d++ {
		for i := 0; i < peers; i += 7 {
			now = now.Add(time.Second)
			for _, typ := range []core.EventType{core.PeerOffline,
				core.PeerOnline} {
				now = now.Add(10 * time.Minute)
				clk.SetTime(now)
				require.NoError(b, m.Apply(ctx, core.Event{
					Type: typ, Peer: peerN(i), Time: now}))
			}
		}
	}
	clk.SetTime(now.Add(time.Hour))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := m.Report(ctx, core.ReportQuery{})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Channels) != chans || len(r.Peers) != peers {
			b.Fatalf("report has %d channels, %d peers",
				len(r.Channels), len(r.Peers))
		}
	}
}

// BenchmarkFlapStorm: one peer flapping 1,000,000 times as fast as
// possible. Rate limiting keeps the committed log, and so memory, bounded.
func BenchmarkFlapStorm(b *testing.B) {
	for i := 0; i < b.N; i++ {
		m, clk := benchMonitor(b, memory.New())
		ctx := context.Background()
		p := peerN(1)
		require.NoError(b, m.Apply(ctx, core.Event{
			Type: core.PeerOnline, Peer: p}))
		require.NoError(b, m.Apply(ctx, core.Event{
			Type: core.ChannelOpened, Peer: p, Channel: chanN(1)}))
		before := heapBytes()
		now := t0
		for j := 0; j < 1_000_000; j++ {
			now = now.Add(time.Millisecond)
			clk.SetTime(now)
			typ := core.PeerOffline
			if j%2 == 1 {
				typ = core.PeerOnline
			}
			if err := m.Apply(ctx, core.Event{Type: typ, Peer: p,
				Time: now}); err != nil {
				b.Fatal(err)
			}
		}
		clk.SetTime(now)
		after := heapBytes()
		b.ReportMetric(float64(after)-float64(before), "heap-growth-B")
		n, _, err := m.FlapCount(ctx, p)
		require.NoError(b, err)
		require.Equal(b, 1_000_001, n)
		runtime.KeepAlive(m)
	}
}

func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
