package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// pageNode returns a monitor of a node with 3,000 peers and 5,000
// channels after 30 days in which peer i was away i%7 times (0 to 6),
// each time for 10 minutes to 8 hours: a node whose peers are mostly
// steady, some less so.
func pageNode(b *testing.B) *core.Monitor {
	const peers, channels, days = 3000, 5000, 30
	clk := clock.NewTestClock(t0)
	m := coretest.StartMonitor(b, core.Config{Store: memory.New(),
		Clock: clk})
	ctx := context.Background()
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

	var evs []core.Event
	for i, id := range ids {
		n := i % 7
		for k := range n {
			// Spread over the days, no two outages of a peer
			// overlapping.
			day := (k*days/max(n, 1) + i%3) % days
			at := t0.Add(time.Duration(day)*24*time.Hour +
				time.Duration(i%24)*time.Hour)
			length := 10*time.Minute + time.Duration((i*13+k*7)%48)*
				10*time.Minute
			evs = append(evs,
				core.Event{Type: core.PeerOffline, Peer: id,
					Time: at},
				core.Event{Type: core.PeerOnline, Peer: id,
					Time: at.Add(length)})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		return evs[i].Time.Before(evs[j].Time)
	})
	for _, ev := range evs {
		clk.SetTime(ev.Time)
		require.NoError(b, m.Apply(ctx, ev))
	}
	clk.SetTime(t0.Add(days * 24 * time.Hour))
	return m
}

// maxPageBytes is the size the page of pageNode must stay under before
// gzip (a client may not take gzip; sent gzipped it is some tenfold
// smaller).
const maxPageBytes = 2_000_000

// BenchmarkPage3000Peers: GET / over 30 days for 3,000 peers and 5,000
// channels, gzipped as a browser asks for it (goal: under 150 ms and 2
// MB before gzip); page-bytes is its size before gzip, sent-bytes after.
func BenchmarkPage3000Peers(b *testing.B) {
	h := NewHandler(pageNode(b), "")
	req := httptest.NewRequest(http.MethodGet, "/?window=30d", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(b, http.StatusOK, rec.Code)
	raw := rec.Body.Len()
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(b, "gzip", rec.Header().Get("Content-Encoding"))
	sent := rec.Body.Len()
	if raw >= maxPageBytes {
		b.Fatalf("page of %d bytes, want under %d", raw, maxPageBytes)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /: %d", rec.Code)
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(sent), "sent-bytes")
	b.ReportMetric(float64(raw), "page-bytes")
}

// millionNode returns a monitor whose one peer has 1,000,000 committed
// events: offline two hours, online one (spaced wider than the highest
// rate limit, so that every event commits), over some 170 years.
func millionNode(b *testing.B) (*core.Monitor, string) {
	clk := clock.NewTestClock(t0)
	m := coretest.StartMonitor(b, core.Config{Store: memory.New(),
		Clock: clk})
	ctx := context.Background()
	id, err := core.ParsePeerID(lndtest.PeerKey(1))
	require.NoError(b, err)
	cp, err := core.ParseChannelPoint(lndtest.ChanPoint(1))
	require.NoError(b, err)
	require.NoError(b, m.Apply(ctx, core.Event{Type: core.ChannelOpened,
		Peer: id, Channel: cp}))
	now := t0
	for i := range 1_000_000 {
		typ, d := core.PeerOffline, 2*time.Hour
		if i%2 == 1 {
			typ, d = core.PeerOnline, time.Hour+time.Second
		}
		now = now.Add(d)
		clk.SetTime(now)
		require.NoError(b, m.Apply(ctx, core.Event{Type: typ, Peer: id,
			Time: now}))
	}
	clk.SetTime(now.Add(time.Minute))
	return m, id.String()
}

// BenchmarkTimelineMillion: GET /v1/timeline for one peer with 1,000,000
// events (goal: under 1 ms), over 30 days (about 480 exact segments) and
// over its lifetime (runs shorter than the resolution, merged).
func BenchmarkTimelineMillion(b *testing.B) {
	m, id := millionNode(b)
	h := NewHandler(m, "")
	for _, w := range []string{"30d", "lifetime"} {
		b.Run(w, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, PathTimeline+
				"?peer="+id+"&window="+w, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(b, http.StatusOK, rec.Code)
			b.SetBytes(int64(rec.Body.Len()))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET: %d", rec.Code)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// reportCPU reports the CPU time per op since start (cpu-ns/op): on a
// machine whose cores other work shares, closer to the cost than ns/op.
func reportCPU(b *testing.B, start time.Duration) {
	if used := cpuTime() - start; used > 0 {
		b.ReportMetric(float64(used)/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkPeerPageMillion: GET /peer/{id} for the peer of millionNode
// (1,000,000 events), over 30 days and over its lifetime: its timeline
// drawn from the merged segments, its newest outages, its recent
// events, without a walk over the history.
func BenchmarkPeerPageMillion(b *testing.B) {
	m, id := millionNode(b)
	h := NewHandler(m, "")
	for _, w := range []string{"30d", "lifetime"} {
		b.Run(w, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet,
				PathPeerPage+id+"?window="+w, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(b, http.StatusOK, rec.Code)
			b.SetBytes(int64(rec.Body.Len()))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET: %d", rec.Code)
				}
			}
			reportCPU(b, cpu)
		})
	}
}
