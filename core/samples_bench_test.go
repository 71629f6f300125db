package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/stretchr/testify/require"
)

// BenchmarkReportPings50: a report of 50 peers that each have 30 days of
// pings at the most the monitor keeps (one a minute, 43,200 a peer,
// 2.16 million in all): the ping figures of the four windows of every
// peer. Goal: < 1 s.
func BenchmarkReportPings50(b *testing.B) {
	m, clk := benchMonitor(b, memory.New())
	ctx := context.Background()
	const peers = 50
	start := t0
	for i := 0; i < peers; i++ {
		require.NoError(b, m.Apply(ctx, core.Event{
			Type: core.ChannelOpened, Peer: peerN(i + 1),
			Channel: chanN(i + 1)}))
	}
	clk.SetTime(start.Add(core.MaxHistory))
	for i := 0; i < peers; i++ {
		p := peerN(i + 1)
		samples := make([]core.PeerSample, 0, 43200)
		for j := 0; j < 43200; j++ {
			samples = append(samples, core.PeerSample{Peer: p,
				Time: start.Add(time.Duration(j) * time.Minute),
				Kind: core.SamplePing,
				RTT:  time.Duration(j%500) * time.Millisecond})
		}
		require.NoError(b, m.AddSamples(ctx, samples))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := m.Report(ctx, core.ReportQuery{PeersOnly: true})
		require.NoError(b, err)
		require.Len(b, r.Peers, peers)
		require.Equal(b, 1440, r.Peers[0].Windows["1d"].Pings)
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N),
		"ms/report")
}
