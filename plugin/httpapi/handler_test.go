package httpapi

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/alert"
	"github.com/chanfitness/chanfitness/core"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/require"
)

// stubMonitor answers with fixed values and records the last query.
type stubMonitor struct {
	report    core.Report
	err       error
	connected bool
	since     time.Time
	lastQuery core.ReportQuery
}

func (s *stubMonitor) Report(_ context.Context,
	q core.ReportQuery) (core.Report, error) {

	s.lastQuery = q
	return s.report, s.err
}

func (s *stubMonitor) Timeline(_ context.Context,
	q core.TimelineQuery) (core.Timeline, error) {

	return core.Timeline{Window: q.Window}, s.err
}

func (s *stubMonitor) Connected() (bool, time.Time) {
	return s.connected, s.since
}

func ratioOf(v float64) *float64 { return &v }

const (
	peerA = "02aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	peerB = "03bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	cpA   = "1111111111111111111111111111111111111111111111111111111111111111:0"
	cpB   = "2222222222222222222222222222222222222222222222222222222222222222:1"
)

// sampleReport is a small report with one open and one closed channel.
// scidA is channel A's short channel id; chanIDA the same in lnd's form.
var (
	scidA   = "812345x12x1"
	chanIDA = "893182773266481153"
)

func sampleReport() core.Report {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	return core.Report{
		GeneratedAt:        core.Time{Time: at},
		MonitoringSince:    core.Time{Time: at.Add(-48 * time.Hour)},
		UnmonitoredSeconds: 120,
		Window:             "lifetime",
		NodeConnected:      true,
		Channels: []core.ChannelReport{{
			ChannelPoint:    cpA,
			ShortChannelID:  &scidA,
			PeerID:          peerA,
			Status:          "open",
			OpenedAt:        core.Time{Time: at.Add(-24 * time.Hour)},
			AgeSeconds:      86400,
			LifetimeSeconds: 86280,
			UptimeSeconds:   43140,
			UptimeRatio:     ratioOf(0.5),
		}, {
			ChannelPoint:    cpB,
			PeerID:          peerB,
			Status:          "closed",
			AgeSeconds:      3600,
			LifetimeSeconds: 3600,
			UptimeSeconds:   3600,
			UptimeRatio:     ratioOf(1),
		}},
		Peers: []core.PeerReport{{
			PeerID:           peerA,
			Online:           true,
			OpenChannels:     1,
			FlapCount:        7,
			FlapCountDecayed: 6,
			Verdict:          core.VerdictWatch,
			Windows: map[string]core.PeerWindow{
				"1d": {MonitoredSeconds: 86280,
					UptimeSeconds: 43140, UptimeRatio: ratioOf(0.5),
					LongestOutageSeconds: 600},
				"lifetime": {},
			},
		}},
	}
}

func get(t *testing.T, h http.Handler, target string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	body, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return rec.Code, string(body)
}

func TestReportEndpoint(t *testing.T) {
	peer, err := core.ParsePeerID(peerA)
	require.NoError(t, err)
	tests := []struct {
		name      string
		target    string
		err       error
		wantCode  int
		wantQuery core.ReportQuery
		wantBody  string
	}{{
		name:      "all",
		target:    "/v1/report",
		wantCode:  200,
		wantQuery: core.ReportQuery{},
		wantBody:  `"channel_point":"` + cpA + `"`,
	}, {
		name:      "peer and window",
		target:    "/v1/report?peer=" + peerA + "&window=7d",
		wantCode:  200,
		wantQuery: core.ReportQuery{Peer: &peer, Window: "7d"},
		wantBody:  `"uptime_ratio":0.5`,
	}, {
		name:     "bad window",
		target:   "/v1/report?window=fortnight",
		wantCode: 400,
		wantBody: `window \"fortnight\"`,
	}, {
		name:     "bad peer",
		target:   "/v1/report?peer=02zz",
		wantCode: 400,
		wantBody: `peer id \"02zz\"`,
	}, {
		name:     "unknown peer",
		target:   "/v1/report?peer=" + peerA,
		err:      fmt.Errorf("peer %s: %w", peerA, core.ErrPeerNotFound),
		wantCode: 404,
		wantBody: "peer not found",
	}, {
		name:     "not started",
		target:   "/v1/report",
		err:      core.ErrNotStarted,
		wantCode: 503,
		wantBody: "monitor not started",
	}, {
		name:     "store failure",
		target:   "/v1/report",
		err:      errors.New("disk on fire"),
		wantCode: 500,
		wantBody: `{"error":"disk on fire"}`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &stubMonitor{report: sampleReport(), err: tc.err}
			code, body := get(t, NewHandler(m, ""), tc.target)
			require.Equal(t, tc.wantCode, code, body)
			require.Contains(t, body, tc.wantBody)
			if tc.wantCode == 200 {
				require.Equal(t, tc.wantQuery, m.lastQuery)
				var r core.Report
				require.NoError(t, json.Unmarshal([]byte(body), &r))
				require.Equal(t, sampleReport(), r)
			}
		})
	}
}

func TestHealthEndpoint(t *testing.T) {
	since := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		connected bool
		since     time.Time
		wantCode  int
		wantBody  string
	}{{
		name:      "connected",
		connected: true,
		since:     since,
		wantCode:  200,
		wantBody: `{"node_connected":true,` +
			`"since":"2026-11-21T09:00:00Z"}`,
	}, {
		name:     "disconnected",
		wantCode: 503,
		wantBody: `{"node_connected":false,"since":null}`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &stubMonitor{connected: tc.connected,
				since: tc.since}
			code, body := get(t, NewHandler(m, ""), "/v1/health")
			require.Equal(t, tc.wantCode, code)
			require.JSONEq(t, tc.wantBody, body)
		})
	}
}

func TestMetricsEndpoint(t *testing.T) {
	m := &stubMonitor{report: sampleReport(), connected: true}
	code, body := get(t, NewHandler(m, ""), "/metrics")
	require.Equal(t, 200, code)
	lines := make(map[string]bool)
	for _, l := range strings.Split(body, "\n") {
		lines[l] = true
	}
	lbl := func(cp, peer string) string {
		if cp == cpA {
			return `{chan_id="` + chanIDA + `",channel_point="` +
				cp + `",peer="` + peer + `",scid="` + scidA +
				`"}`
		}
		return `{channel_point="` + cp + `",peer="` + peer + `"}`
	}
	for _, want := range []string{
		"chanfitness_node_connected 1",
		"chanfitness_unmonitored_seconds 120",
		"chanfitness_monitoring_since_timestamp_seconds 1.7950824e+09",
		"chanfitness_channel_open" + lbl(cpA, peerA) + " 1",
		"chanfitness_channel_open" + lbl(cpB, peerB) + " 0",
		"chanfitness_channel_age_seconds" + lbl(cpA, peerA) + " 86400",
		"chanfitness_channel_lifetime_seconds" + lbl(cpA, peerA) +
			" 86280",
		"chanfitness_channel_uptime_seconds" + lbl(cpA, peerA) +
			" 43140",
		"chanfitness_channel_uptime_ratio" + lbl(cpA, peerA) + " 0.5",
		"chanfitness_channel_uptime_ratio" + lbl(cpB, peerB) + " 1",
		`chanfitness_peer_online{peer="` + peerA + `"} 1`,
		`chanfitness_peer_open_channels{peer="` + peerA + `"} 1`,
		`chanfitness_peer_flaps{peer="` + peerA + `"} 7`,
		`chanfitness_peer_flaps_decayed{peer="` + peerA + `"} 6`,
		`chanfitness_peer_verdict{peer="` + peerA +
			`",verdict="watch"} 1`,
		`chanfitness_peer_uptime_ratio{peer="` + peerA +
			`",window="1d"} 0.5`,
		`chanfitness_peer_longest_outage_seconds{peer="` + peerA +
			`",window="1d"} 600`,
		`chanfitness_peer_monitored_seconds{peer="` + peerA +
			`",window="lifetime"} 0`,
		"# TYPE chanfitness_peer_flaps gauge",
	} {
		require.True(t, lines[want], "missing line %q", want)
	}
	require.Contains(t, body, "\ngo_goroutines ")
	// A ratio over no monitored time is absent, not 0 or NaN.
	require.NotContains(t, body, `window="lifetime"} NaN`)
	require.NotContains(t, body, `chanfitness_peer_uptime_ratio{peer="`+
		peerA+`",window="lifetime"}`)

	// Gzipped for a scraper that accepts it (Prometheus does).
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept-Encoding", "deflate, gzip;q=1.0")
	rec := httptest.NewRecorder()
	NewHandler(m, "").ServeHTTP(rec, req)
	require.Equal(t, "gzip", rec.Header().Get("Content-Encoding"))
	zr, err := gzip.NewReader(rec.Body)
	require.NoError(t, err)
	unzipped, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Contains(t, string(unzipped),
		"\nchanfitness_unmonitored_seconds 120\n")

	// A failing report fails the scrape instead of showing zeros.
	m.err = errors.New("disk on fire")
	code, body = get(t, NewHandler(m, ""), "/metrics")
	require.Equal(t, 500, code)
	require.Contains(t, body, "disk on fire")
	require.NotContains(t, body, "chanfitness_channel_open")
}

func TestMetricsFollowPrometheusNaming(t *testing.T) {
	x := NewMetrics(&stubMonitor{report: sampleReport(),
		connected: true})
	x.alerts = func() alert.Counts {
		return alert.Counts{
			Raised:    map[string]uint64{alert.KindOffline: 2},
			Delivered: map[string]uint64{"webhook": 1},
			Failed:    map[string]uint64{"webhook": 3},
		}
	}
	fams, err := x.Gather()
	require.NoError(t, err)
	require.Len(t, fams, len(families))
	problems, err := promlint.NewWithMetricFamilies(fams).Lint()
	require.NoError(t, err)
	require.Empty(t, problems)
	for _, f := range fams {
		require.True(t, strings.HasPrefix(f.GetName(), metricPrefix),
			f.GetName())
	}
}

func TestChanIDOf(t *testing.T) {
	tests := []struct{ scid, want string }{
		{scidA, chanIDA},
		{"0x0x0", "0"},
		{"16777215x16777215x65535", "18446744073709551615"},
		{"16777216x0x0", ""},
		{"1x2", ""},
		{"1x2x65536", ""},
		{"ax1x1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, chanIDOf(tt.scid), tt.scid)
	}
}
