package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// t0 is the test clock's start.
var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// bigNode returns a monitor of a node with the given channels, five per
// peer, after 30 days in which every peer went offline and back once a
// day.
func bigNode(b *testing.B, channels int) *core.Monitor {
	clk := clock.NewTestClock(t0)
	m := coretest.StartMonitor(b, core.Config{Store: memory.New(),
		Clock: clk})
	ctx := context.Background()

	peers := (channels + 4) / 5
	snap := core.Snapshot{Time: t0}
	ids := make([]core.PeerID, peers)
	for i := range ids {
		id, err := core.ParsePeerID(lndtest.PeerKey(i + 1))
		require.NoError(b, err)
		ids[i] = id
		snap.OnlinePeers = append(snap.OnlinePeers, id)
	}
	for i := 0; i < channels; i++ {
		cp, err := core.ParseChannelPoint(lndtest.ChanPoint(i + 1))
		require.NoError(b, err)
		snap.Channels = append(snap.Channels, core.SnapshotChannel{
			Point: cp, Peer: ids[i%peers],
			ShortChannelID: "800000x1x0",
		})
	}
	require.NoError(b, m.Sync(ctx, snap))

	for day := 0; day < 30; day++ {
		for i, id := range ids {
			off := t0.Add(time.Duration(day)*24*time.Hour +
				time.Duration(i)*time.Second)
			require.NoError(b, m.Apply(ctx, core.Event{
				Type: core.PeerOffline, Peer: id, Time: off}))
			require.NoError(b, m.Apply(ctx, core.Event{
				Type: core.PeerOnline, Peer: id,
				Time: off.Add(10 * time.Minute)}))
		}
	}
	clk.SetTime(t0.Add(30 * 24 * time.Hour))
	return m
}

// benchEndpoint measures one GET of path for a node of 5,000 channels.
func benchEndpoint(b *testing.B, path string, gzip bool) {
	h := NewHandler(bigNode(b, 5000), "")
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(b, http.StatusOK, rec.Code)
	b.SetBytes(int64(rec.Body.Len()))

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
}

// BenchmarkReportEndpoint5000: GET /v1/report of a node with 5,000
// channels and 1,000 peers (goal: under 100 ms).
func BenchmarkReportEndpoint5000(b *testing.B) {
	benchEndpoint(b, PathReport, false)
}

// BenchmarkMetricsEndpoint5000: GET /metrics of a node with 5,000
// channels and 1,000 peers (goal: under 100 ms).
func BenchmarkMetricsEndpoint5000(b *testing.B) {
	benchEndpoint(b, PathMetrics, false)
}

// BenchmarkMetricsEndpoint5000Gzip: the same, gzipped as Prometheus asks
// for it.
func BenchmarkMetricsEndpoint5000Gzip(b *testing.B) {
	benchEndpoint(b, PathMetrics, true)
}
