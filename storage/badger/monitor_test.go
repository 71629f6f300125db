package badgerstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

var monitorT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// crashSpacing is the time between the crash writer's events.
const crashSpacing = time.Hour + time.Second

func monitorPeer(n int) core.PeerID {
	var p core.PeerID
	p[0] = 0x03
	p[31], p[32] = byte(n>>8), byte(n)
	return p
}

func monitorChan(n int) core.ChannelPoint {
	var cp core.ChannelPoint
	cp.Txid[30], cp.Txid[31] = byte(n>>8), byte(n)
	cp.Txid[0] = 0x77
	return cp
}

// newMonitor starts a monitor on st with a test clock and forced tickers.
func newMonitor(tb testing.TB, st core.Store,
	clk clock.Clock) *core.Monitor {

	tb.Helper()
	return coretest.StartMonitor(tb, core.Config{Store: st, Clock: clk})
}

// runMonitorWriter applies events to a monitor on badger as fast as it
// can and prints the number of events applied after each Apply returns.
// Events are spaced wider than the highest rate limit, so every one of
// them is committed to the log.
func runMonitorWriter(dir string) error {
	st, err := badgerstore.Open(dir, badgerstore.Options{})
	if err != nil {
		return err
	}
	clk := clock.NewTestClock(monitorT0)
	src := coretest.NewAttached()
	m, err := core.NewMonitor(core.Config{Store: st, Clock: clk,
		Source: src})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		return err
	}
	if err := src.Synced(); err != nil {
		return err
	}
	p := monitorPeer(1)
	if err := m.Apply(ctx, core.Event{Type: core.ChannelOpened, Peer: p,
		Channel: monitorChan(1)}); err != nil {
		return err
	}
	now := monitorT0
	for i := 0; ; i++ {
		now = now.Add(crashSpacing)
		clk.SetTime(now)
		typ := core.PeerOffline
		if i%2 == 1 {
			typ = core.PeerOnline
		}
		if err := m.Apply(ctx, core.Event{Type: typ, Peer: p,
			Time: now}); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(os.Stdout, "%d\n", i+1); err != nil {
			return err
		}
	}
}

// TestMonitorCrash kills a process with SIGKILL while its monitor applies
// events on badger, then starts a monitor on the store: every event whose
// Apply had returned is there.
func TestMonitorCrash(t *testing.T) {
	dir := t.TempDir()
	cmd, _, lines, stderr := helper(t, "monitor", dir)
	reported := 0
	deadline := time.After(helperDeadline)
	for reported < 20_000 {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "writer stopped after %d: %s",
				reported, stderr.String())
			_, err := fmt.Sscan(line, &reported)
			require.NoError(t, err, "writer said %q", line)
		case <-deadline:
			require.FailNow(t, "writer too slow", "%d events",
				reported)
		}
	}
	require.NoError(t, cmd.Process.Kill())
	for line := range lines {
		_, err := fmt.Sscan(line, &reported)
		require.NoError(t, err, "writer said %q", line)
	}
	_ = cmd.Wait()

	st := openStore(t, dir, badgerstore.Options{})
	last := monitorT0.Add(time.Duration(reported) * crashSpacing)
	// Later than any event the writer may have applied unreported.
	clk := clock.NewTestClock(last.Add(10 * time.Hour))
	m := newMonitor(t, st, clk)
	defer m.Stop()

	// One flap when the channel was added, one per applied event, and
	// perhaps one more applied but not yet reported.
	n, lastFlap, err := m.FlapCount(context.Background(), monitorPeer(1))
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, reported+1)
	require.LessOrEqual(t, n, reported+2)
	require.False(t, lastFlap.Before(last), "last flap %v", lastFlap)

	// Every transition is in the log: the peer was online from the open
	// to the first event and then between every offline and the next
	// online, ceil(k/2) spells of crashSpacing for k events.
	info, err := m.ChannelInfo(context.Background(), monitorChan(1))
	require.NoError(t, err)
	require.True(t, info.Open)
	k := n - 1
	require.Equal(t, time.Duration((k+1)/2)*crashSpacing, info.Uptime)
	require.Equal(t, time.Duration(k)*crashSpacing, info.Lifetime)
}

// BenchmarkMonitorApply: Apply through the monitor on badger, one event
// per call, 1,000 peers with channels.
func BenchmarkMonitorApply(b *testing.B) {
	st, err := badgerstore.Open(b.TempDir(), badgerstore.Options{})
	require.NoError(b, err)
	defer st.Close()
	m := newMonitor(b, st, clock.NewTestClock(monitorT0))
	defer m.Stop()
	ctx := context.Background()
	const peers = 1000
	for i := 0; i < peers; i++ {
		require.NoError(b, m.Apply(ctx, core.Event{
			Type: core.ChannelOpened, Peer: monitorPeer(i),
			Channel: monitorChan(i)}))
	}
	now := monitorT0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now = now.Add(10 * time.Millisecond)
		typ := core.PeerOffline
		if (i/peers)%2 == 1 {
			typ = core.PeerOnline
		}
		if err := m.Apply(ctx, core.Event{Type: typ,
			Peer: monitorPeer(i % peers), Time: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMonitorRestart: open badger and start a monitor on a store with
// 5,000 channels of 3,000 peers and a year of history (each peer drops
// twice a day for 20 minutes: about 4.4 million committed events).
func BenchmarkMonitorRestart(b *testing.B) {
	dir := b.TempDir()
	const peers, chans, days = 3000, 5000, 365
	st, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(b, err)
	clk := clock.NewTestClock(monitorT0)
	m := newMonitor(b, st, clk)
	ctx := context.Background()
	for i := 0; i < chans; i++ {
		require.NoError(b, m.Apply(ctx, core.Event{
			Type: core.ChannelOpened, Peer: monitorPeer(i % peers),
			Channel: monitorChan(i)}))
	}
	events := 0
	for d := 0; d < days; d++ {
		for k := 0; k < 2; k++ {
			base := monitorT0.Add(time.Duration(d)*24*time.Hour +
				time.Duration(k)*12*time.Hour)
			for i := 0; i < peers; i++ {
				at := base.Add(time.Duration(i) * time.Second)
				for _, e := range []struct {
					typ core.EventType
					at  time.Time
				}{
					{core.PeerOffline, at},
					{core.PeerOnline, at.Add(20 * time.Minute)},
				} {
					require.NoError(b, m.Apply(ctx, core.Event{
						Type: e.typ, Peer: monitorPeer(i),
						Time: e.at}))
					events++
				}
			}
		}
	}
	clk.SetTime(monitorT0.Add(days * 24 * time.Hour))
	require.NoError(b, m.Stop())
	require.NoError(b, st.Close())

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := badgerstore.Open(dir, badgerstore.Options{})
		require.NoError(b, err)
		m := newMonitor(b, st, clk)
		b.StopTimer()
		rep, err := m.Report(ctx, core.ReportQuery{})
		require.NoError(b, err)
		require.Len(b, rep.Channels, chans)
		require.NoError(b, m.Stop())
		require.NoError(b, st.Close())
		b.StartTimer()
	}
	b.ReportMetric(float64(events), "events")
}

// TestMonitorClockSteps: the clock steps a day forward, then an hour back,
// with the store closed and opened again after each; the figures come back
// the same from disk and no time is after the report's.
func TestMonitorClockSteps(t *testing.T) {
	dir := t.TempDir()
	clk := coretest.NewClock(monitorT0)
	ctx := t.Context()
	p, a := monitorPeer(1), monitorChan(1)
	run := func(f func(m *core.Monitor)) {
		t.Helper()
		st := openStore(t, dir, badgerstore.Options{})
		m := newMonitor(t, st, clk)
		f(m)
		require.NoError(t, m.Stop())
		require.NoError(t, st.Close())
	}
	report := func(m *core.Monitor) core.ChannelReport {
		t.Helper()
		r, err := m.Report(ctx, core.ReportQuery{})
		require.NoError(t, err)
		c, ok := coretest.Channel(r, a.String())
		require.True(t, ok)
		require.False(t, c.OpenedAt.After(r.GeneratedAt.Time))
		pr, ok := coretest.Peer(r, p.String())
		require.True(t, ok)
		require.False(t, pr.Since.After(r.GeneratedAt.Time))
		require.False(t, pr.LastFlap.After(r.GeneratedAt.Time))
		return c
	}
	run(func(m *core.Monitor) {
		require.NoError(t, m.Apply(ctx, core.Event{
			Type: core.PeerOnline, Peer: p}))
		require.NoError(t, m.Apply(ctx, core.Event{
			Type: core.ChannelOpened, Peer: p, Channel: a}))
		clk.Advance(time.Hour)
		report(m)
		clk.Step(24 * time.Hour)
		c := report(m)
		require.Equal(t, int64(3600), c.LifetimeSeconds)
		require.Equal(t, int64(3600+86400), c.AgeSeconds)
	})
	clk.Advance(time.Minute)
	run(func(m *core.Monitor) {
		c := report(m)
		require.Equal(t, int64(3600), c.LifetimeSeconds)
		require.Equal(t, int64(3600), c.UptimeSeconds)
		require.Equal(t, int64(3660+86400), c.AgeSeconds)
		clk.Advance(time.Hour)
		report(m)
		clk.Step(-time.Hour)
		require.NoError(t, m.Apply(ctx, core.Event{
			Type: core.PeerOffline, Peer: p}))
		c = report(m)
		require.Equal(t, int64(7200), c.LifetimeSeconds)
		require.Equal(t, int64(7200), c.UptimeSeconds)
	})
	clk.Advance(time.Minute)
	run(func(m *core.Monitor) {
		// The clock is still behind what the store holds: held.
		c := report(m)
		require.Equal(t, int64(7200), c.LifetimeSeconds)
		require.Equal(t, int64(7200), c.UptimeSeconds)
		require.Equal(t, int64(3660+86400+3600), c.AgeSeconds)
		clk.Advance(2 * time.Hour)
		c = report(m)
		// The clock passed the held time 59 minutes in; the
		// 61 minutes since are monitored, offline.
		require.Equal(t, int64(7200+3660), c.LifetimeSeconds)
		require.Equal(t, int64(7200), c.UptimeSeconds)
	})
}
