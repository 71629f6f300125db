package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// testCtx is a monitor on a test clock, forced tickers and a store.
type testCtx struct {
	t     *testing.T
	ctx   context.Context
	clock *clock.TestClock
	store core.Store
	m     *core.Monitor
	sync  *ticker.Force
	maint *ticker.Force

	// maxPending is the monitor's MaxPendingBatches (0: the default).
	maxPending int
}

func newTestCtx(t *testing.T) *testCtx {
	tc := &testCtx{
		t:     t,
		ctx:   context.Background(),
		clock: clock.NewTestClock(t0),
		store: memory.New(),
	}
	tc.start()
	return tc
}

func (tc *testCtx) start() {
	tc.startWith(nil)
}

// startWith starts the monitor with src as its source (nil: none).
func (tc *testCtx) startWith(src core.EventSource) {
	tc.sync = ticker.NewForce(time.Second)
	tc.maint = ticker.NewForce(time.Hour)
	tc.m = coretest.StartMonitor(tc.t, core.Config{
		Store:             tc.store,
		Clock:             tc.clock,
		Source:            src,
		SyncTicker:        tc.sync,
		MaintenanceTicker: tc.maint,
		MaxPendingBatches: tc.maxPending,
	})
}

// restart stops the monitor, lets gap pass, and starts a new one on the
// same store.
func (tc *testCtx) restart(gap time.Duration) {
	require.NoError(tc.t, tc.m.Stop())
	tc.advance(gap)
	tc.start()
}

func (tc *testCtx) advance(d time.Duration) {
	tc.clock.SetTime(tc.clock.Now().Add(d))
}

func (tc *testCtx) apply(typ core.EventType, p core.PeerID,
	cp core.ChannelPoint) {

	tc.t.Helper()
	require.NoError(tc.t, tc.m.Apply(tc.ctx, core.Event{
		Type: typ, Peer: p, Channel: cp,
	}))
}

func (tc *testCtx) online(p core.PeerID)  { tc.apply(core.PeerOnline, p, core.ChannelPoint{}) }
func (tc *testCtx) offline(p core.PeerID) { tc.apply(core.PeerOffline, p, core.ChannelPoint{}) }

func (tc *testCtx) open(p core.PeerID, cp core.ChannelPoint) {
	tc.apply(core.ChannelOpened, p, cp)
}

func (tc *testCtx) close(p core.PeerID, cp core.ChannelPoint) {
	tc.apply(core.ChannelClosed, p, cp)
}

func (tc *testCtx) info(cp core.ChannelPoint) core.ChannelInfo {
	tc.t.Helper()
	info, err := tc.m.ChannelInfo(tc.ctx, cp)
	require.NoError(tc.t, err)
	return info
}

func (tc *testCtx) flaps(p core.PeerID) int {
	tc.t.Helper()
	n, _, err := tc.m.FlapCount(tc.ctx, p)
	require.NoError(tc.t, err)
	return n
}

func peerN(n int) core.PeerID {
	var p core.PeerID
	p[0] = 0x02
	p[32] = byte(n)
	p[31] = byte(n >> 8)
	return p
}

func chanN(n int) core.ChannelPoint {
	var cp core.ChannelPoint
	cp.Txid[0] = byte(n)
	cp.Txid[1] = byte(n >> 8)
	cp.Txid[31] = 0xaa
	cp.Index = uint32(n % 3)
	return cp
}

// TestPeerLogLifeCycle follows a peer from untracked to tracked, through
// its last channel closing and a new channel.
func TestPeerLogLifeCycle(t *testing.T) {
	tc := newTestCtx(t)
	p, a, b := peerN(1), chanN(1), chanN(2)

	// Untracked: notifications only update the state.
	tc.online(p)
	tc.offline(p)
	tc.online(p)
	_, _, err := tc.m.FlapCount(tc.ctx, p)
	require.ErrorIs(t, err, core.ErrPeerNotFound)
	_, err = tc.m.ChannelInfo(tc.ctx, a)
	require.ErrorIs(t, err, core.ErrChannelNotFound)

	// First channel: the monitor is created with one flap.
	tc.advance(time.Minute)
	tc.open(p, a)
	require.Equal(t, 1, tc.flaps(p))

	tc.advance(time.Hour)
	tc.offline(p)
	tc.advance(time.Hour)
	tc.online(p)
	tc.advance(time.Hour)
	info := tc.info(a)
	require.Equal(t, 3*time.Hour, info.Lifetime)
	require.Equal(t, 2*time.Hour, info.Uptime)
	require.Equal(t, 3, tc.flaps(p))

	// Last channel closes: numbers frozen, flap count kept.
	tc.close(p, a)
	tc.advance(time.Hour)
	info = tc.info(a)
	require.False(t, info.Open)
	require.Equal(t, 3*time.Hour, info.Lifetime)
	require.Equal(t, 2*time.Hour, info.Uptime)
	require.Equal(t, 3*time.Hour, info.Age)

	// Flaps without channels still count, but are not logged.
	tc.offline(p)
	tc.advance(time.Hour)
	require.Equal(t, 4, tc.flaps(p))

	// New channel: seeded with the current (offline) state, no flap.
	tc.open(p, b)
	require.Equal(t, 4, tc.flaps(p))
	tc.advance(time.Hour)
	info = tc.info(b)
	require.Equal(t, time.Hour, info.Lifetime)
	require.Equal(t, time.Duration(0), info.Uptime)
	tc.online(p)
	tc.advance(time.Hour)
	info = tc.info(b)
	require.Equal(t, 2*time.Hour, info.Lifetime)
	require.Equal(t, time.Hour, info.Uptime)
}

// TestRateLimitStaging checks that transitions closer than the tier's
// spacing are lost while the current state never is.
func TestRateLimitStaging(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a) // staged: online at 0

	// Offline and back within one second: the offline replaces the
	// staged online, then the online replaces it again.
	tc.advance(500 * time.Millisecond)
	tc.offline(p)
	tc.advance(400 * time.Millisecond)
	tc.online(p)
	tc.advance(time.Hour)
	info := tc.info(a)
	// Committed: nothing; staged: online at 0.9 s. Time before the
	// staged event is not uptime, as in lnd.
	require.Equal(t, time.Hour+900*time.Millisecond, info.Lifetime)
	require.Equal(t, time.Hour, info.Uptime)

	// Spaced beyond the limit, every transition is committed.
	tc.offline(p)
	tc.advance(10 * time.Second)
	tc.online(p)
	tc.advance(10 * time.Second)
	info = tc.info(a)
	require.Equal(t, time.Hour+10*time.Second, info.Uptime)

	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{Peer: &p})
	require.NoError(t, err)
	require.Len(t, rep.Peers, 1)
	// Committed so far: online@0.9s, offline@1h0.9s (the last online is
	// staged).
	require.Len(t, rep.Peers[0].RecentEvents, 2)
	require.False(t, rep.Peers[0].RecentEvents[0].Online)
}

// TestRateLimitTiers drives a peer past 200 flaps: spacing becomes 5 s.
func TestRateLimitTiers(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	for i := 0; i < 200; i++ {
		tc.advance(2 * time.Second)
		if i%2 == 0 {
			tc.offline(p)
		} else {
			tc.online(p)
		}
	}
	require.Equal(t, 201, tc.flaps(p))
	base := tc.info(a).Uptime

	// Tier 1: a 3 s offline blip is no longer committed.
	tc.advance(time.Minute)
	tc.offline(p)
	tc.advance(3 * time.Second)
	tc.online(p)
	tc.advance(time.Minute)
	require.Equal(t, base+2*time.Minute+3*time.Second, tc.info(a).Uptime)
}

// TestCooldownOnFlap checks that the count cools when a flap arrives.
func TestCooldownOnFlap(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	for i := 0; i < 9; i++ {
		tc.advance(time.Minute)
		if i%2 == 0 {
			tc.offline(p)
		} else {
			tc.online(p)
		}
	}
	require.Equal(t, 10, tc.flaps(p))
	tc.advance(24 * time.Hour)

	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.Equal(t, 10, rep.Peers[0].FlapCount)
	require.Equal(t, 8, rep.Peers[0].FlapCountDecayed)

	tc.online(p) // 10 -> 8 -> 9
	require.Equal(t, 9, tc.flaps(p))
	_, last, err := tc.m.FlapCount(tc.ctx, p)
	require.NoError(t, err)
	require.True(t, last.Equal(tc.clock.Now()))
}

// TestDuplicatesAndUnknowns: duplicate opens, closes of unknown channels
// and repeated closes are harmless.
func TestDuplicatesAndUnknowns(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)
	tc.open(p, a)
	require.Equal(t, 1, tc.flaps(p))
	require.Equal(t, time.Hour, tc.info(a).Lifetime)

	tc.close(peerN(2), chanN(9))
	tc.close(p, chanN(9))
	tc.close(p, a)
	tc.advance(time.Hour)
	tc.close(p, a)
	info := tc.info(a)
	require.Equal(t, t0.Add(time.Hour), info.ClosedAt)
	require.Equal(t, time.Hour, info.Lifetime)
}

// TestBadEvents: malformed events are refused with a clear error.
func TestBadEvents(t *testing.T) {
	tc := newTestCtx(t)
	tests := []struct {
		name string
		ev   core.Event
		want string
	}{
		{"no type", core.Event{Peer: peerN(1)}, "event type 0"},
		{"no peer", core.Event{Type: core.PeerOnline}, "without a peer"},
		{
			"no channel",
			core.Event{Type: core.ChannelOpened, Peer: peerN(1)},
			"without a channel point",
		},
		{
			"time before 1970",
			core.Event{Type: core.PeerOnline, Peer: peerN(1),
				Time: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
			"time 0001-01-01 00:00:00.000000001 +0000 UTC out of " +
				"range",
		},
		{
			"time after 2262",
			core.Event{Type: core.PeerOffline, Peer: peerN(1),
				Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
			"time 3000-01-01 00:00:00 +0000 UTC out of range",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tc.m.Apply(tc.ctx, tt.ev)
			require.ErrorIs(t, err, core.ErrBadInput)
			require.ErrorContains(t, err, tt.want)
		})
	}
	// Nothing of them was applied.
	_, _, err := tc.m.FlapCount(tc.ctx, peerN(1))
	require.ErrorIs(t, err, core.ErrPeerNotFound)
	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.Empty(t, rep.Channels)
}

// TestTimesOutOfRange: a loss stamped outside the years 1970 to 2262 is
// refused; a peer window may reach past them.
func TestTimesOutOfRange(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)

	ancient := time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{ancient, far} {
		err := tc.m.NodeLost(tc.ctx, at)
		require.ErrorIs(t, err, core.ErrBadInput)
		require.ErrorContains(t, err, at.String())
	}
	ok, _ := tc.m.Connected()
	require.True(t, ok)

	w, err := tc.m.PeerWindow(tc.ctx, p, ancient, far)
	require.NoError(t, err)
	require.Equal(t, time.Hour, w.Monitored)
	require.Equal(t, time.Hour, w.Uptime)
}

// TestBadSnapshot: a malformed snapshot is refused whole with an error
// that names what is wrong, and changes nothing.
func TestBadSnapshot(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	good := core.SnapshotChannel{Point: a, Peer: p}
	tests := []struct {
		name string
		snap core.Snapshot
		want string
	}{
		{
			"channel without a peer",
			core.Snapshot{Channels: []core.SnapshotChannel{
				good, {Point: chanN(2)},
			}},
			"snapshot channel " + chanN(2).String() +
				" without a peer",
		},
		{
			"channel without a point",
			core.Snapshot{Channels: []core.SnapshotChannel{
				good, {Peer: peerN(2)},
			}},
			"snapshot channel of peer " + peerN(2).String() +
				" without a channel point",
		},
		{
			"zero online peer",
			core.Snapshot{
				Channels:    []core.SnapshotChannel{good},
				OnlinePeers: []core.PeerID{{}},
			},
			"snapshot lists a zero online peer",
		},
		{
			"time out of range",
			core.Snapshot{
				Time:     time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
				Channels: []core.SnapshotChannel{good},
			},
			"snapshot time 0001-01-01 00:00:00.000000001 +0000 " +
				"UTC out of range",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tc.m.Sync(tc.ctx, tt.snap)
			require.ErrorIs(t, err, core.ErrBadInput)
			require.ErrorContains(t, err, tt.want)
		})
	}
	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.Len(t, rep.Channels, 1)
	require.Equal(t, "open", rep.Channels[0].Status)
	require.Len(t, rep.Peers, 1)
	require.True(t, rep.Peers[0].Online)
}

// TestClamp: an event older than the peer's last is clamped, not
// reordered.
func TestClamp(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)
	tc.online(p)
	// Stamped before the last event: applied at the last event's time.
	require.NoError(t, tc.m.Apply(tc.ctx, core.Event{
		Type: core.PeerOffline, Peer: p, Time: t0.Add(-time.Hour),
	}))
	tc.advance(time.Hour)
	info := tc.info(a)
	require.Equal(t, time.Hour, info.Uptime)
	require.Equal(t, 2*time.Hour, info.Lifetime)
}

// TestRestartKeepsFlapsAndHistory: a restart adds no flap and continues
// the history; the gap is unmonitored.
func TestRestartKeepsFlapsAndHistory(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)
	tc.offline(p)
	tc.advance(time.Hour)
	tc.online(p)
	tc.advance(time.Hour)
	require.Equal(t, 3, tc.flaps(p))

	tc.restart(2 * time.Hour)
	require.Equal(t, 3, tc.flaps(p))
	tc.advance(time.Hour)
	info := tc.info(a)
	require.Equal(t, 6*time.Hour, info.Age)
	require.Equal(t, 4*time.Hour, info.Lifetime)
	require.Equal(t, 3*time.Hour, info.Uptime)

	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.EqualValues(t, 2*3600, rep.UnmonitoredSeconds)
	require.EqualValues(t, 4*3600, rep.Channels[0].LifetimeSeconds)
	require.EqualValues(t, 6*3600, rep.Channels[0].AgeSeconds)
	require.EqualValues(t, 0.75, *rep.Channels[0].UptimeRatio)
	require.EqualValues(t, 4*3600,
		rep.Peers[0].Windows[core.Window1d].MonitoredSeconds)
	require.EqualValues(t, 3600,
		rep.Peers[0].Windows[core.Window1d].LongestOutageSeconds)
}

// TestRestartState: a startup snapshot that differs from the stored
// state is recorded at restart time without a flap.
func TestRestartState(t *testing.T) {
	tc := newTestCtx(t)
	p, a := peerN(1), chanN(1)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)
	require.NoError(t, tc.m.Stop())
	tc.advance(time.Hour)

	// A monitor with a source stays disconnected until the first Sync.
	src := &manualSource{ready: make(chan core.Sink, 1)}
	m := coretest.StartMonitor(t, core.Config{
		Store: tc.store, Clock: tc.clock, Source: src,
	})
	sink := <-src.ready
	ok, _ := m.Connected()
	require.False(t, ok)

	tc.advance(time.Hour)
	require.NoError(t, sink.Sync(tc.ctx, core.Snapshot{
		Channels: []core.SnapshotChannel{{Point: a, Peer: p}},
	}))
	ok, since := m.Connected()
	require.True(t, ok)
	require.Equal(t, t0.Add(3*time.Hour), since)
	n, _, err := m.FlapCount(tc.ctx, p)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	tc.advance(time.Hour)
	info, err := m.ChannelInfo(tc.ctx, a)
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, info.Lifetime)
	require.Equal(t, time.Hour, info.Uptime)
	require.Equal(t, 4*time.Hour, info.Age)

	// Node lost for an hour, then back with the channel gone.
	require.NoError(t, sink.NodeLost(tc.ctx, time.Time{}))
	tc.advance(time.Hour)
	require.NoError(t, sink.Sync(tc.ctx, core.Snapshot{
		OnlinePeers: []core.PeerID{p},
	}))
	info, err = m.ChannelInfo(tc.ctx, a)
	require.NoError(t, err)
	require.False(t, info.Open)
	// Monitored: 1 h before the restart, 1 h after it; the two gaps
	// count only in the age.
	require.Equal(t, 2*time.Hour, info.Lifetime)
	require.Equal(t, 5*time.Hour, info.Age)
}

type manualSource struct {
	ready chan core.Sink
}

func (s *manualSource) Run(ctx context.Context, sink core.Sink) error {
	s.ready <- sink
	<-ctx.Done()
	return ctx.Err()
}

// TestRetention: closed channels are pruned after the retention period.
func TestRetention(t *testing.T) {
	tc := newTestCtx(t)
	p := peerN(1)
	tc.online(p)
	tc.open(p, chanN(1))
	tc.open(p, chanN(2))
	tc.advance(time.Hour)
	tc.close(p, chanN(1))
	tc.advance(core.DefaultClosedRetention + time.Hour)
	tc.maint.Force <- time.Now()
	// The tick is handled asynchronously; Stop waits for it.
	require.NoError(t, tc.m.Stop())
	tc.start()
	_, err := tc.m.ChannelInfo(tc.ctx, chanN(1))
	require.ErrorIs(t, err, core.ErrChannelNotFound)
	_, err = tc.m.ChannelInfo(tc.ctx, chanN(2))
	require.NoError(t, err)
}

// TestReportShape: every field of the README's report is present.
func TestReportShape(t *testing.T) {
	tc := newTestCtx(t)
	p := peerN(1)
	tc.online(p)
	require.NoError(t, tc.m.Apply(tc.ctx, core.Event{
		Type: core.ChannelOpened, Peer: p, Channel: chanN(1),
		ShortChannelID: "812345x12x1",
	}))
	tc.advance(time.Hour)
	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{Window: "12h"})
	require.NoError(t, err)
	raw, err := json.Marshal(rep)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	for _, k := range []string{"generated_at", "monitoring_since",
		"unmonitored_seconds", "filled_from_node", "node_outages",
		"channels", "peers"} {
		require.Contains(t, doc, k)
	}
	ch := doc["channels"].([]any)[0].(map[string]any)
	for _, k := range []string{"channel_point", "short_channel_id",
		"peer_id", "status", "opened_at", "closed_at", "age_seconds",
		"lifetime_seconds", "uptime_seconds", "uptime_ratio",
		"windows"} {
		require.Contains(t, ch, k)
	}
	require.Nil(t, ch["closed_at"])
	require.Equal(t, "812345x12x1", ch["short_channel_id"])
	require.Equal(t, "2026-03-01T00:00:00Z", ch["opened_at"])
	wins := ch["windows"].(map[string]any)
	for _, k := range []string{"1d", "7d", "30d", "lifetime", "12h"} {
		w := wins[k].(map[string]any)
		require.Contains(t, w, "monitored_seconds", k)
		require.Contains(t, w, "uptime_seconds", k)
		require.Contains(t, w, "uptime_ratio", k)
	}
	pr := doc["peers"].([]any)[0].(map[string]any)
	for _, k := range []string{"peer_id", "online", "since",
		"open_channels", "flap_count", "flap_count_decayed",
		"last_flap", "windows", "recent_events"} {
		require.Contains(t, pr, k)
	}
	pw := pr["windows"].(map[string]any)["30d"].(map[string]any)
	require.Contains(t, pw, "longest_outage_seconds")

	_, err = tc.m.Report(tc.ctx, core.ReportQuery{Window: "5x"})
	require.ErrorIs(t, err, core.ErrBadInput)
	require.ErrorContains(t, err, `"5x"`)
	other := peerN(7)
	_, err = tc.m.Report(tc.ctx, core.ReportQuery{Peer: &other})
	require.ErrorIs(t, err, core.ErrPeerNotFound)
}

// TestParse covers the identifier parsers.
func TestParse(t *testing.T) {
	txid := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	cp, err := core.ParseChannelPoint(txid + ":1")
	require.NoError(t, err)
	require.Equal(t, txid+":1", cp.String())
	require.Equal(t, byte(0x55), cp.Txid[0]) // internal order
	pk := "02" + txid

	tests := []struct {
		name, in, want string
		parse          func(string) error
	}{
		{"peer ok", pk, "", peerParse},
		{"peer short", "02ab", "want 66 hex", peerParse},
		{"peer not hex", "zz" + txid, "not hex", peerParse},
		{"peer prefix", "05" + txid, "02 or 03", peerParse},
		{"chan ok", txid + ":0", "", chanParse},
		{"chan no index", txid, `missing ":<index>"`, chanParse},
		{"chan bad index", txid + ":x", `index "x"`, chanParse},
		{"chan short txid", "abc:1", "64 hex", chanParse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.parse(tt.in)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, core.ErrBadInput)
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, err, fmt.Sprintf("%q", tt.in))
		})
	}
}

func peerParse(s string) error { _, err := core.ParsePeerID(s); return err }
func chanParse(s string) error { _, err := core.ParseChannelPoint(s); return err }

func TestSCID(t *testing.T) {
	require.Equal(t, "812345x12x1", core.FormatSCID(812345, 12, 1))
}

// TestFirstSyncOfflinePeer: a channel whose peer is offline in the first
// snapshot starts offline (and its monitor counts one flap).
func TestFirstSyncOfflinePeer(t *testing.T) {
	clk := clock.NewTestClock(t0)
	src := &manualSource{ready: make(chan core.Sink, 1)}
	m := coretest.StartMonitor(t, core.Config{
		Store: memory.New(), Clock: clk, Source: src,
	})
	ctx := context.Background()
	sink := <-src.ready
	p, q, a, b := peerN(1), peerN(2), chanN(1), chanN(2)
	require.NoError(t, sink.Sync(ctx, core.Snapshot{
		Channels: []core.SnapshotChannel{
			{Point: a, Peer: p}, {Point: b, Peer: q},
		},
		OnlinePeers: []core.PeerID{q},
	}))
	clk.SetTime(t0.Add(time.Hour))
	rep, err := m.Report(ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.Len(t, rep.Peers, 2)
	for _, pr := range rep.Peers {
		require.Equal(t, pr.PeerID == q.String(), pr.Online, pr.PeerID)
		require.Equal(t, 1, pr.FlapCount)
	}
	infoA, err := m.ChannelInfo(ctx, a)
	require.NoError(t, err)
	require.Equal(t, time.Duration(0), infoA.Uptime)
	require.Equal(t, time.Hour, infoA.Lifetime)
	infoB, err := m.ChannelInfo(ctx, b)
	require.NoError(t, err)
	require.Equal(t, time.Hour, infoB.Uptime)
}

// TestReconcileWhileConnected: a Sync without a gap records a state that
// differs without a flap, and opens and closes channels.
func TestReconcileWhileConnected(t *testing.T) {
	tc := newTestCtx(t)
	p, a, b := peerN(1), chanN(1), chanN(2)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)
	// The disconnect was missed; the node lists b instead of a.
	require.NoError(t, tc.m.Sync(tc.ctx, core.Snapshot{
		Channels: []core.SnapshotChannel{{Point: b, Peer: p}},
	}))
	require.Equal(t, 1, tc.flaps(p))
	tc.advance(time.Hour)
	infoA := tc.info(a)
	require.False(t, infoA.Open)
	require.Equal(t, time.Hour, infoA.Uptime)
	infoB := tc.info(b)
	require.True(t, infoB.Open)
	require.Equal(t, time.Duration(0), infoB.Uptime)
	require.Equal(t, time.Hour, infoB.Lifetime)
}

// TestPartialSnapshotClosesNothing: a snapshot whose listing the source
// could not read whole opens what it lists and closes nothing it leaves
// out; a whole one then closes it.
func TestPartialSnapshotClosesNothing(t *testing.T) {
	tc := newTestCtx(t)
	p, a, b := peerN(1), chanN(1), chanN(2)
	tc.online(p)
	tc.open(p, a)
	tc.advance(time.Hour)
	require.NoError(t, tc.m.Sync(tc.ctx, core.Snapshot{
		Channels:    []core.SnapshotChannel{{Point: b, Peer: p}},
		OnlinePeers: []core.PeerID{p},
		Partial:     true,
	}))
	require.True(t, tc.info(a).Open)
	require.True(t, tc.info(b).Open)
	tc.restart(time.Minute)
	require.True(t, tc.info(a).Open)

	require.NoError(t, tc.m.Sync(tc.ctx, core.Snapshot{
		Channels:    []core.SnapshotChannel{{Point: b, Peer: p}},
		OnlinePeers: []core.PeerID{p},
	}))
	require.False(t, tc.info(a).Open)
	require.True(t, tc.info(b).Open)
}

// TestShortChannelIDLater: a channel first seen without a short channel
// id gets it from a later open event or snapshot, and keeps it across a
// restart; a known id is never replaced.
func TestShortChannelIDLater(t *testing.T) {
	tc := newTestCtx(t)
	p, a, b := peerN(1), chanN(1), chanN(2)
	tc.online(p)
	tc.open(p, a)
	tc.open(p, b)
	require.NoError(t, tc.m.Apply(tc.ctx, core.Event{
		Type: core.ChannelOpened, Peer: p, Channel: a,
		ShortChannelID: "800000x1x0",
	}))
	require.NoError(t, tc.m.Sync(tc.ctx, core.Snapshot{
		Channels: []core.SnapshotChannel{
			{Point: a, Peer: p, ShortChannelID: "900000x9x9"},
			{Point: b, Peer: p, ShortChannelID: "800000x2x1"},
		},
		OnlinePeers: []core.PeerID{p},
	}))
	require.Equal(t, 1, tc.flaps(p))
	tc.restart(time.Minute)
	require.Equal(t, "800000x1x0", tc.info(a).ShortChannelID)
	require.Equal(t, "800000x2x1", tc.info(b).ShortChannelID)
}

func TestOpenChannelsAndLookups(t *testing.T) {
	tc := newTestCtx(t)
	p, q := peerN(1), peerN(2)
	tc.online(p)
	tc.online(q)
	tc.open(p, chanN(2))
	tc.open(p, chanN(1))
	tc.open(q, chanN(3))
	tc.close(p, chanN(2))

	all, err := tc.m.OpenChannels(tc.ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []core.ChannelPoint{chanN(1), chanN(3)}, all)
	ofP, err := tc.m.OpenChannels(tc.ctx, &p)
	require.NoError(t, err)
	require.Equal(t, []core.ChannelPoint{chanN(1)}, ofP)

	rep, err := tc.m.Report(tc.ctx, core.ReportQuery{})
	require.NoError(t, err)
	c, ok := coretest.Channel(rep, chanN(2).String())
	require.True(t, ok)
	require.Equal(t, "closed", c.Status)
	_, ok = coretest.Channel(rep, chanN(9).String())
	require.False(t, ok)
	pr, ok := coretest.Peer(rep, q.String())
	require.True(t, ok)
	require.Equal(t, 1, pr.OpenChannels)
	_, ok = coretest.Peer(rep, peerN(9).String())
	require.False(t, ok)
}

// TestSyncUntrackedStates: a snapshot sets the state of peers without
// channels, which a channel opened within the grace period then starts
// from.
func TestSyncUntrackedStates(t *testing.T) {
	tc := newTestCtx(t)
	p, q, a, b := peerN(1), peerN(2), chanN(1), chanN(2)
	tc.online(q) // will be missing from the snapshot: offline
	require.NoError(t, tc.m.Sync(tc.ctx, core.Snapshot{
		OnlinePeers: []core.PeerID{p},
	}))
	tc.advance(core.DefaultPeerGrace - time.Second)
	tc.open(p, a)
	tc.open(q, b)
	tc.advance(time.Hour)
	require.Equal(t, time.Hour, tc.info(a).Uptime)
	require.Equal(t, time.Duration(0), tc.info(b).Uptime)
}
