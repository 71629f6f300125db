package storagetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

func testTimesRoundTrip(t *testing.T, h *harness) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	tests := []struct {
		name string
		t    time.Time
	}{
		{"utc", time.Date(2023, 1, 2, 3, 4, 5, 6, time.UTC)},
		{"local", time.Date(2023, 1, 2, 3, 4, 5, 999999999,
			time.Local)},
		{"zone", time.Date(2023, 7, 2, 3, 4, 5, 1, ny)},
		{"monotonic", time.Now()},
		{"before 1970", time.Date(1969, 12, 31, 23, 59, 59,
			500000000, time.UTC)},
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{"far future", time.Date(2400, 2, 29, 0, 0, 0, 1, time.UTC)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			requireTimeRoundTrip(t, h, byte(i), tc.t)
		})
	}
	h.t = t

	requireZeroTimesStayZero(t, h)
}

// requireTimeRoundTrip writes tm into every time field of a batch for
// peer n and requires that Load returns times equal to it.
func requireTimeRoundTrip(t *testing.T, h *harness, n byte, tm time.Time) {
	p := peerID(n)
	meta := core.Meta{MonitoringSince: tm, Heartbeat: tm}
	rec := core.PeerRecord{Peer: p, TrackedSince: tm,
		StateSince: tm, LastFlap: tm, LastEvent: tm,
		Staged: &core.LogEvent{Time: tm}}
	h.write(&core.Batch{
		Meta:  &meta,
		Gaps:  []core.Gap{{Start: tm, End: tm}},
		Peers: []core.PeerRecord{rec},
		Logs: []core.PeerLog{{Peer: p,
			Events: []core.LogEvent{{Time: tm}}}},
		Channels: []core.ChannelRecord{{
			Point:    chanPoint(n, 0),
			Peer:     p,
			OpenedAt: tm,
			ClosedAt: tm,
		}},
	})
	st := h.load()
	eq := func(what string, got time.Time) {
		require.Truef(t, got.Equal(tm), "%s: got %v, "+
			"want %v", what, got, tm)
	}
	eq("meta since", st.Meta.MonitoringSince)
	eq("heartbeat", st.Meta.Heartbeat)
	eq("gap start", st.Gaps[len(st.Gaps)-1].Start)
	eq("gap end", st.Gaps[len(st.Gaps)-1].End)
	pr := findPeer(t, st, p)
	eq("tracked since", pr.TrackedSince)
	eq("state since", pr.StateSince)
	eq("last flap", pr.LastFlap)
	eq("last event", pr.LastEvent)
	eq("staged", pr.Staged.Time)
	for _, l := range st.Logs {
		if l.Peer == p {
			eq("log", l.Events[0].Time)
		}
	}
	for _, c := range st.Channels {
		if c.Point == chanPoint(n, 0) {
			eq("opened", c.OpenedAt)
			eq("closed", c.ClosedAt)
		}
	}
}

// requireZeroTimesStayZero requires that zero times load as zero.
func requireZeroTimesStayZero(t *testing.T, h *harness) {
	p := peerID(200)
	h.write(&core.Batch{
		Meta:  &core.Meta{},
		Peers: []core.PeerRecord{{Peer: p}},
		Channels: []core.ChannelRecord{{Point: chanPoint(200, 0),
			Peer: p}},
	})
	st := h.load()
	require.True(t, st.Meta.MonitoringSince.IsZero())
	require.True(t, st.Meta.Heartbeat.IsZero())
	pr := findPeer(t, st, p)
	require.Equal(t, core.PeerRecord{Peer: p}, normalizePeer(pr))
	for _, c := range st.Channels {
		if c.Point == chanPoint(200, 0) {
			require.True(t, c.OpenedAt.IsZero())
			require.True(t, c.ClosedAt.IsZero())
			require.Nil(t, c.Frozen)
		}
	}
}

func findPeer(t *testing.T, st *core.StoredState,
	p core.PeerID) core.PeerRecord {

	t.Helper()
	for _, r := range st.Peers {
		if r.Peer == p {
			return r
		}
	}
	require.FailNow(t, fmt.Sprintf("peer %v not loaded", p))
	return core.PeerRecord{}
}

func normalizePeer(p core.PeerRecord) core.PeerRecord {
	st := Normalize(&core.StoredState{Peers: []core.PeerRecord{p}})
	return st.Peers[0]
}

// requireNoZeroField fails when a field of the struct v is its zero
// value: the record then does not exercise every field, and a field added
// to core's records later would go unchecked.
func requireNoZeroField(t *testing.T, v any) {
	t.Helper()
	rv := reflect.ValueOf(v)
	for i := 0; i < rv.NumField(); i++ {
		require.Falsef(t, rv.Field(i).IsZero(), "%s.%s is not set: "+
			"give it a value here and make sure the stores keep it",
			rv.Type().Name(), rv.Type().Field(i).Name)
	}
}

// testEveryField writes records with every field set and compares the
// whole records loaded back.
func testEveryField(t *testing.T, h *harness) {
	meta := core.Meta{MonitoringSince: at(1), Heartbeat: at(2)}
	gap := core.Gap{Start: at(3), End: at(4)}
	peer := fullPeer(5)
	staged := core.LogEvent{Time: at(4), State: core.StateUnknown}
	peer.Staged = &staged
	ev := core.LogEvent{Time: at(6), State: core.StateOnline}
	log := core.PeerLog{Peer: peer.Peer, Seq: 1,
		Events: []core.LogEvent{ev}}
	ch := core.ChannelRecord{
		Point:          chanPoint(5, 2),
		Peer:           peer.Peer,
		ShortChannelID: "800000x1x2",
		OpenedAt:       at(7),
		NodeOpenedAt:   at(-7),
		OpenedAtSource: core.OpenedAtEstimated,
		FundingHeight:  800_000,
		ClosedAt:       at(8),
		Frozen: map[string]core.WindowNumbers{"1d": {
			Monitored: time.Hour, Uptime: time.Minute}},
	}
	alert := fullAlert("offline/5")
	sample := core.PeerSample{Peer: peer.Peer, Time: at(9),
		Kind: core.SamplePing, RTT: 1234567 * time.Nanosecond}
	filled := core.FilledSpan{Start: at(-9), End: at(1), Backfill: true}
	for _, v := range []any{meta, gap, peer, *peer.Staged, ev, log, ch,
		ch.Frozen["1d"], sample, filled, alert} {

		requireNoZeroField(t, v)
	}

	first := core.LogEvent{Time: at(5), State: core.StateOffline}
	h.write(&core.Batch{
		Meta:  &meta,
		Gaps:  []core.Gap{gap},
		Peers: []core.PeerRecord{peer},
		Logs: []core.PeerLog{{Peer: peer.Peer,
			Events: []core.LogEvent{first}}, log},
		Channels: []core.ChannelRecord{ch},
		Alerts:   []core.AlertRecord{alert},
		Samples:  []core.PeerSample{sample},
		Filled:   []core.FilledSpan{filled},
	})
	h.check(&core.StoredState{
		Meta:     meta,
		Gaps:     []core.Gap{gap},
		Peers:    []core.PeerRecord{peer},
		Logs:     []core.PeerLog{{Peer: peer.Peer, Events: []core.LogEvent{first, ev}}},
		Channels: []core.ChannelRecord{ch},
		Alerts:   []core.AlertRecord{alert},
		Samples:  []core.PeerSample{sample},
		Filled:   []core.FilledSpan{filled},
	})
}
