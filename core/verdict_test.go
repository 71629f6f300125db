package core_test

import (
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/stretchr/testify/require"
)

// verdictOf returns a peer's verdict and reason codes from a report.
func (tc *testCtx) verdictOf(p core.PeerID) (string, []core.Reason) {
	tc.t.Helper()
	r, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(tc.t, err)
	pr, ok := coretest.Peer(r, p.String())
	require.True(tc.t, ok)
	return pr.Verdict, pr.Reasons
}

func codes(rs []core.Reason) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

// outageEvery takes p offline for d once a day for n days.
func (tc *testCtx) outageEvery(p core.PeerID, d time.Duration, n int) {
	for i := 0; i < n; i++ {
		tc.offline(p)
		tc.advance(d)
		tc.online(p)
		tc.advance(day - d)
	}
}

func TestVerdictTooNewThenOK(t *testing.T) {
	tc := newTestCtx(t)
	p := peerN(1)
	tc.online(p)
	tc.open(p, chanN(1))
	tc.advance(14*day - time.Second)
	v, rs := tc.verdictOf(p)
	require.Equal(t, core.VerdictTooNew, v)
	require.Equal(t, []string{core.ReasonTooNew}, codes(rs))
	require.InDelta(t, float64(14*86400-1), rs[0].Value, 0)
	require.InDelta(t, float64(14*86400), rs[0].Threshold, 0)

	tc.advance(time.Second)
	v, rs = tc.verdictOf(p)
	require.Equal(t, core.VerdictOK, v)
	require.NotNil(t, rs)
	require.Empty(t, rs)
}

// TestVerdictOwnDowntimeNotBlamed: a monitor down for 20 days neither
// judges the peer on that time nor makes it too_new again afterwards.
func TestVerdictOwnDowntimeNotBlamed(t *testing.T) {
	tc := newTestCtx(t)
	p := peerN(1)
	tc.online(p)
	tc.open(p, chanN(1))
	tc.advance(10 * day)
	tc.restart(20 * day)
	v, _ := tc.verdictOf(p)
	require.Equal(t, core.VerdictTooNew, v, "10 days monitored")

	tc.advance(5 * day)
	v, rs := tc.verdictOf(p)
	require.Equal(t, core.VerdictOK, v, "%v", rs)
}

func TestVerdictRules(t *testing.T) {
	tests := []struct {
		name    string
		run     func(tc *testCtx, p core.PeerID)
		verdict string
		codes   []string
	}{{
		name: "steady",
		run: func(tc *testCtx, p core.PeerID) {
			tc.outageEvery(p, 5*time.Minute, 20)
		},
		verdict: core.VerdictOK,
		codes:   []string{},
	}, {
		name: "uptime below watch",
		run: func(tc *testCtx, p core.PeerID) {
			// 2h a day: 91.7 %, over 30d and the last day.
			tc.outageEvery(p, 2*time.Hour, 20)
		},
		verdict: core.VerdictWatch,
		codes: []string{core.ReasonUptimeBelow,
			core.ReasonUptimeBelow},
	}, {
		name: "uptime below close",
		run: func(tc *testCtx, p core.PeerID) {
			// 5h a day: 79 %; the last day too, and 5h is no
			// outage above 6h.
			tc.outageEvery(p, 5*time.Hour, 20)
		},
		verdict: core.VerdictConsiderClosing,
		codes: []string{core.ReasonUptimeBelow,
			core.ReasonUptimeBelow},
	}, {
		name: "outage of 6h",
		run: func(tc *testCtx, p core.PeerID) {
			tc.advance(15 * day)
			tc.offline(p)
			tc.advance(6 * time.Hour)
			tc.online(p)
			tc.advance(10 * day)
		},
		verdict: core.VerdictWatch,
		codes:   []string{core.ReasonOutageAbove},
	}, {
		name: "outage just under 6h",
		run: func(tc *testCtx, p core.PeerID) {
			tc.advance(15 * day)
			tc.offline(p)
			tc.advance(6*time.Hour - time.Second)
			tc.online(p)
			tc.advance(10 * day)
		},
		verdict: core.VerdictOK,
		codes:   []string{},
	}, {
		name: "outage of 72h",
		run: func(tc *testCtx, p core.PeerID) {
			tc.advance(15 * day)
			tc.offline(p)
			tc.advance(72 * time.Hour)
			tc.online(p)
			tc.advance(10 * day)
		},
		verdict: core.VerdictConsiderClosing,
		codes: []string{core.ReasonUptimeBelow,
			core.ReasonOutageAbove},
	}, {
		name: "outage under way",
		run: func(tc *testCtx, p core.PeerID) {
			tc.advance(15 * day)
			tc.offline(p)
			tc.advance(49 * time.Hour)
		},
		verdict: core.VerdictConsiderClosing,
		codes: []string{core.ReasonUptimeBelow,
			core.ReasonUptimeBelow, core.ReasonOutageAbove},
	}, {
		name: "flaps",
		run: func(tc *testCtx, p core.PeerID) {
			tc.advance(15 * day)
			// 30 short drops: 60 flaps, uptime untouched.
			for i := 0; i < 30; i++ {
				tc.offline(p)
				tc.advance(10 * time.Second)
				tc.online(p)
				tc.advance(10 * time.Minute)
			}
		},
		verdict: core.VerdictWatch,
		codes:   []string{core.ReasonFlapsAbove},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc := newTestCtx(t)
			p := peerN(1)
			tc.online(p)
			tc.open(p, chanN(1))
			tt.run(tc, p)
			v, rs := tc.verdictOf(p)
			require.Equal(t, tt.codes, codes(rs), "%+v", rs)
			require.Equal(t, tt.verdict, v)
		})
	}
}

// TestVerdictOutlier: among 10 judged peers, one at 97 % while the rest
// are at 100 % is an outlier; among 9 it is not.
func TestVerdictOutlier(t *testing.T) {
	for _, n := range []int{9, 10} {
		tc := newTestCtx(t)
		for i := 1; i <= n; i++ {
			tc.online(peerN(i))
			tc.open(peerN(i), chanN(i))
		}
		bad := peerN(1)
		for i := 0; i < 20; i++ {
			tc.offline(bad)
			tc.advance(40 * time.Minute)
			tc.online(bad)
			tc.advance(day - 40*time.Minute)
		}
		v, rs := tc.verdictOf(bad)
		if n < core.DefaultOutlierMinPeers {
			require.Equal(t, core.VerdictOK, v, "%+v", rs)
			continue
		}
		require.Equal(t, core.VerdictWatch, v)
		require.Equal(t, []string{core.ReasonOutlier}, codes(rs))
		require.Less(t, rs[0].Value, rs[0].Threshold)
		v, _ = tc.verdictOf(peerN(2))
		require.Equal(t, core.VerdictOK, v)
	}
}

func TestVerdictConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  core.VerdictConfig
		ok   bool
	}{
		{"defaults", core.VerdictConfig{}, true},
		{"close above watch uptime", core.VerdictConfig{
			WatchUptime: 0.7, CloseUptime: 0.8}, false},
		{"uptime above 1", core.VerdictConfig{WatchUptime: 1.5}, false},
		{"close flaps below watch", core.VerdictConfig{
			WatchFlaps: 100, CloseFlaps: 60}, false},
		{"close outage below watch", core.VerdictConfig{
			WatchOutage: 3 * day}, false},
		{"window too short", core.VerdictConfig{
			Window: time.Minute}, false},
		{"negative min", core.VerdictConfig{
			MinMonitored: -time.Second}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			_, err = core.NewMonitor(core.Config{
				Store: tc0Store(), Verdict: tt.cfg})
			require.ErrorContains(t, err, "verdict")
		})
	}
}

func tc0Store() core.Store { return memory.New() }
