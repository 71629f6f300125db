package core_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/internal/table"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/stretchr/testify/require"
)

// lineLog keeps the monitor's log lines.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+fmt.Sprintf(format, args...))
}

func (l *lineLog) Debugf(f string, a ...any) { l.add("DBG", f, a...) }
func (l *lineLog) Infof(f string, a ...any)  { l.add("INF", f, a...) }
func (l *lineLog) Warnf(f string, a ...any)  { l.add("WRN", f, a...) }
func (l *lineLog) Errorf(f string, a ...any) { l.add("ERR", f, a...) }

// matching returns the lines that contain s.
func (l *lineLog) matching(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

// clockCtx is a monitor on a clock whose wall time can step.
type clockCtx struct {
	*testCtx
	clk *coretest.Clock
	log *lineLog
}

func newClockCtx(t *testing.T) *clockCtx {
	clk := coretest.NewClock(t0)
	cc := &clockCtx{
		testCtx: &testCtx{t: t, ctx: t.Context(), store: memory.New()},
		clk:     clk,
	}
	cc.start()
	return cc
}

func (cc *clockCtx) start() {
	cc.log = &lineLog{}
	cc.m = coretest.StartMonitor(cc.t, core.Config{
		Store: cc.store, Clock: cc.clk, Logger: cc.log,
	})
}

func (cc *clockCtx) restart(down time.Duration) {
	require.NoError(cc.t, cc.m.Stop())
	cc.clk.Advance(down)
	cc.start()
}

func (cc *clockCtx) report() core.Report {
	cc.t.Helper()
	r, err := cc.m.Report(cc.ctx, core.ReportQuery{})
	require.NoError(cc.t, err)
	checkReport(cc.t, r)
	return r
}

func (cc *clockCtx) channel(r core.Report,
	cp core.ChannelPoint) core.ChannelReport {

	cc.t.Helper()
	c, ok := coretest.Channel(r, cp.String())
	require.True(cc.t, ok, "channel %v in report", cp)
	return c
}

func (cc *clockCtx) peer(r core.Report, p core.PeerID) core.PeerReport {
	cc.t.Helper()
	pr, ok := coretest.Peer(r, p.String())
	require.True(cc.t, ok, "peer %v in report", p)
	return pr
}

// checkReport holds a report to what every report must satisfy: no time
// after generated_at, uptime within monitored time within age, ratios in
// [0, 1].
func checkReport(t *testing.T, r core.Report) {
	t.Helper()
	gen := r.GeneratedAt.Time
	notAfter := func(what string, tm core.Time) {
		t.Helper()
		require.False(t, tm.After(gen), "%s %v after generated_at %v",
			what, tm.Time, gen)
	}
	ratio := func(what string, r *float64) {
		t.Helper()
		if r != nil {
			require.GreaterOrEqual(t, *r, 0.0, what)
			require.LessOrEqual(t, *r, 1.0, what)
		}
	}
	notAfter("monitoring_since", r.MonitoringSince)
	for _, c := range r.Channels {
		notAfter("opened_at", c.OpenedAt)
		notAfter("closed_at", c.ClosedAt)
		require.LessOrEqual(t, c.UptimeSeconds, c.LifetimeSeconds,
			c.ChannelPoint)
		require.LessOrEqual(t, c.LifetimeSeconds, c.AgeSeconds,
			c.ChannelPoint)
		ratio(c.ChannelPoint, c.UptimeRatio)
		for name, w := range c.Windows {
			require.LessOrEqual(t, w.UptimeSeconds,
				w.MonitoredSeconds, name)
			ratio(name, w.UptimeRatio)
		}
	}
	for _, p := range r.Peers {
		notAfter("since", p.Since)
		notAfter("last_flap", p.LastFlap)
		for _, e := range p.RecentEvents {
			notAfter("recent event", e.Time)
		}
		for name, w := range p.Windows {
			require.LessOrEqual(t, w.UptimeSeconds,
				w.MonitoredSeconds, name)
			require.LessOrEqual(t, w.LongestOutageSeconds,
				w.MonitoredSeconds, name)
			ratio(name, w.UptimeRatio)
		}
	}
}

const day = 24 * time.Hour

// TestClockStepForward: a wall clock that jumps a day ahead adds a day of
// age and of unmonitored time, not of lifetime, uptime or outage; and so
// it stays after a restart.
func TestClockStepForward(t *testing.T) {
	for _, viaApply := range []bool{false, true} {
		name := "seen by a report"
		if viaApply {
			name = "seen by an event"
		}
		t.Run(name, func(t *testing.T) {
			cc := newClockCtx(t)
			p, q, a, b := peerN(1), peerN(2), chanN(1), chanN(2)
			cc.online(p)
			cc.open(p, a)
			cc.online(q)
			cc.open(q, b)
			cc.clk.Advance(time.Hour)
			cc.offline(q)
			cc.clk.Advance(time.Second)
			cc.clk.Step(day)
			if viaApply {
				cc.online(q)
			} else {
				cc.report()
			}
			cc.clk.Advance(2 * time.Second)
			if !viaApply {
				cc.online(q)
			}

			check := func(down time.Duration) {
				t.Helper()
				r := cc.report()
				require.Equal(t, t0.Add(day+time.Hour+
					3*time.Second+down), r.GeneratedAt.Time)
				require.Equal(t, int64((day+down)/time.Second),
					r.UnmonitoredSeconds)
				ca := cc.channel(r, a)
				require.Equal(t, int64(86400+3603)+
					int64(down/time.Second), ca.AgeSeconds)
				require.Equal(t, int64(3603), ca.LifetimeSeconds)
				require.Equal(t, int64(3603), ca.UptimeSeconds)
				require.Equal(t, 1.0, *ca.UptimeRatio)
				pq := cc.peer(r, q)
				require.True(t, pq.Online)
				w := pq.Windows[core.Window1d]
				require.Equal(t, int64(2), w.MonitoredSeconds)
				if viaApply {
					// Back online at the end of the step.
					require.Equal(t, int64(0),
						w.LongestOutageSeconds)
					require.Equal(t, int64(2),
						w.UptimeSeconds)
				} else {
					require.Equal(t, int64(2),
						w.LongestOutageSeconds)
					require.Equal(t, int64(0),
						w.UptimeSeconds)
				}
			}
			check(0)
			r := cc.report()
			require.Equal(t, 1, r.ClockSteps)
			require.Equal(t, &core.ClockStep{
				At:      core.Time{t0.Add(time.Hour + time.Second)},
				Seconds: 86400,
			}, r.LastClockStep)
			require.Len(t, cc.log.matching("clock stepped"), 1)
			require.Contains(t, cc.log.matching("clock stepped")[0],
				"forward by 24h0m0s")
			var out strings.Builder
			require.NoError(t, table.Write(&out, r))
			require.Contains(t, out.String(), "clock steps: 1 "+
				"(last forward 1d00h at 2026-03-01T01:00:01Z)")

			cc.restart(time.Minute)
			check(time.Minute)
			r = cc.report()
			require.Zero(t, r.ClockSteps)
			require.Nil(t, r.LastClockStep)
		})
	}
}

// TestClockStepBack: a wall clock that jumps an hour back never stamps
// history after the report's time or before what the history holds: the
// monitor's time stays where it was until the clock is there again, also
// across a restart.
func TestClockStepBack(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "running"
		if restart {
			name = "restarted while behind"
		}
		t.Run(name, func(t *testing.T) {
			cc := newClockCtx(t)
			p, a, b := peerN(1), chanN(1), chanN(2)
			cc.online(p)
			cc.open(p, a)
			cc.clk.Advance(time.Hour)
			cc.report()
			// Seen at the next reading: held where the clock
			// would be without the step.
			held := t0.Add(time.Hour + 10*time.Minute)
			cc.clk.Step(-time.Hour)
			cc.clk.Advance(10 * time.Minute)
			if restart {
				cc.restart(time.Minute)
			}

			// Held at the newest time reached.
			cc.open(p, b)
			cc.clk.Advance(10 * time.Minute)
			cc.offline(p)
			r := cc.report()
			require.Equal(t, held, r.GeneratedAt.Time)
			require.Equal(t, held, cc.channel(r, b).OpenedAt.Time)
			pr := cc.peer(r, p)
			require.False(t, pr.Online)
			require.Equal(t, held, pr.Since.Time)
			ca := cc.channel(r, a)
			require.Equal(t, int64(4200), ca.AgeSeconds)
			require.Equal(t, int64(4200), ca.LifetimeSeconds)
			require.Equal(t, int64(4200), ca.UptimeSeconds)
			require.Equal(t, 1, r.ClockSteps)
			require.Len(t, cc.log.matching("clock stepped"), 1)
			require.Contains(t, cc.log.matching("clock stepped")[0],
				"back by")
			if !restart {
				require.Equal(t, &core.ClockStep{
					At:      core.Time{held},
					Seconds: -3600,
				}, r.LastClockStep)
			} else {
				// The stored history is 59 minutes ahead
				// of the clock at the restart.
				require.Equal(t, int64(-59*60),
					r.LastClockStep.Seconds)
			}

			// The clock passes the held time: time moves again,
			// the peer offline since then.
			cc.clk.Advance(time.Hour)
			r = cc.report()
			now := cc.clk.Now()
			require.Equal(t, now, r.GeneratedAt.Time)
			gone := now.Sub(held)
			ca = cc.channel(r, a)
			require.Equal(t, int64((70*time.Minute+gone)/
				time.Second), ca.AgeSeconds)
			require.Equal(t, int64(4200), ca.UptimeSeconds)
			cb := cc.channel(r, b)
			require.Equal(t, int64(gone/time.Second), cb.AgeSeconds)
			require.Equal(t, int64(gone/time.Second),
				cb.LifetimeSeconds)
			require.Equal(t, int64(0), cb.UptimeSeconds)

			cc.restart(time.Minute)
			cc.report()
		})
	}
}

// TestClockStepBackAndForth: a clock that steps back and then forward by
// as much loses only the real time it was seen behind.
func TestClockStepBackAndForth(t *testing.T) {
	cc := newClockCtx(t)
	p, a := peerN(1), chanN(1)
	cc.online(p)
	cc.open(p, a)
	cc.clk.Advance(time.Hour)
	cc.report()
	cc.clk.Step(-time.Hour)
	cc.clk.Advance(10 * time.Minute)
	cc.report() // held at 1h10m
	cc.clk.Step(time.Hour)
	cc.clk.Advance(time.Minute)
	r := cc.report()
	ca := cc.channel(r, a)
	require.Equal(t, int64(3600+11*60), ca.AgeSeconds)
	require.Equal(t, int64(3600+10*60), ca.LifetimeSeconds)
	require.Equal(t, int64(3600+10*60), ca.UptimeSeconds)
	require.Equal(t, 2, r.ClockSteps)
}

// TestClockSlewIsNoStep: a wall clock that drifts from the monotonic one
// by less than the tolerance is no step.
func TestClockSlewIsNoStep(t *testing.T) {
	cc := newClockCtx(t)
	p, a := peerN(1), chanN(1)
	cc.online(p)
	cc.open(p, a)
	for i := 0; i < 10; i++ {
		cc.clk.Advance(time.Minute)
		cc.clk.Step(50 * time.Millisecond)
		cc.report()
	}
	r := cc.report()
	require.Zero(t, r.ClockSteps)
	require.Equal(t, int64(600), cc.channel(r, a).LifetimeSeconds)
}

// TestFutureTimesClamped: an event, snapshot or loss stamped after the
// monitor's now is recorded at now, never in the future.
func TestFutureTimesClamped(t *testing.T) {
	cc := newClockCtx(t)
	p, a := peerN(1), chanN(1)
	ahead := t0.Add(day)
	require.NoError(t, cc.m.Apply(cc.ctx, core.Event{
		Type: core.PeerOnline, Peer: p, Time: ahead}))
	require.NoError(t, cc.m.Apply(cc.ctx, core.Event{
		Type: core.ChannelOpened, Peer: p, Channel: a, Time: ahead}))
	require.NoError(t, cc.m.Sync(cc.ctx, core.Snapshot{Time: ahead,
		Channels: []core.SnapshotChannel{{Point: a, Peer: p}}}))
	require.NoError(t, cc.m.NodeLost(cc.ctx, ahead))
	cc.clk.Advance(time.Hour)
	r := cc.report()
	c := cc.channel(r, a)
	require.Equal(t, t0, c.OpenedAt.Time)
	require.Equal(t, int64(0), c.LifetimeSeconds)
	require.Equal(t, int64(3600), r.UnmonitoredSeconds)
	require.Equal(t, t0, cc.peer(r, p).Since.Time)
}

// TestClockStepBackStamped: times a front end stamped from the same wall
// clock after a step back are moved onto the held time, not left behind
// it.
func TestClockStepBackStamped(t *testing.T) {
	cc := newClockCtx(t)
	p, q, a, b := peerN(1), peerN(2), chanN(1), chanN(2)
	cc.online(p)
	cc.open(p, a)
	cc.online(q)
	cc.open(q, b)
	cc.clk.Advance(time.Hour)
	cc.report()
	cc.clk.Step(-time.Hour)
	cc.clk.Advance(time.Minute)
	held := t0.Add(time.Hour + time.Minute)
	require.NoError(t, cc.m.Apply(cc.ctx, core.Event{
		Type: core.PeerOffline, Peer: p, Time: cc.clk.Now()}))
	require.NoError(t, cc.m.Sync(cc.ctx, core.Snapshot{
		Time: cc.clk.Now(),
		Channels: []core.SnapshotChannel{{Point: a, Peer: p},
			{Point: b, Peer: q}},
		OnlinePeers: []core.PeerID{p},
	}))
	r := cc.report()
	require.Equal(t, held, r.GeneratedAt.Time)
	require.Equal(t, held, cc.peer(r, p).Since.Time)
	pq := cc.peer(r, q)
	require.False(t, pq.Online)
	require.Equal(t, held, pq.Since.Time)
	require.Equal(t, int64(3660), cc.channel(r, b).UptimeSeconds)
}
