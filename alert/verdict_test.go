package alert_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/alert"
	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// flipEnv is an env whose peer 1 has a channel and is judged at once
// over a 1h window: 4 minutes away make it watch (93 % uptime), an hour
// back makes it ok again. after is the alerter's VerdictAfter.
func flipEnv(t *testing.T, after time.Duration,
	opts ...func(*env)) *env {

	opts = append([]func(*env){func(e *env) {
		e.verdict = core.VerdictConfig{MinMonitored: time.Nanosecond,
			Window: time.Hour}
		e.verdictAfter = after
	}}, opts...)
	e := newEnv(t, opts...)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.advance(2 * time.Hour)
	e.round()
	e.requireVerdict(core.VerdictOK)
	return e
}

// requireVerdict checks peer 1's verdict in the report now.
func (e *env) requireVerdict(want string) {
	r, err := e.m.Report(e.ctx, core.ReportQuery{})
	require.NoError(e.t, err)
	p, ok := r.Peers[0], len(r.Peers) == 1
	require.True(e.t, ok)
	require.Equal(e.t, want, p.Verdict)
}

// flip drops peer 1 for 4 minutes (watch) and keeps it online for an
// hour after (ok), with a check after each.
func (e *env) flip() {
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(4 * time.Minute)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.round()
	e.requireVerdict(core.VerdictWatch)
	e.advance(time.Hour)
	e.round()
	e.requireVerdict(core.VerdictOK)
}

// TestVerdictFlipDamped: a peer whose uptime sits on the watch
// threshold flips between ok and watch at every drop; at once, each
// flip alerts; with the default damping none does, while the report's
// verdict still flips.
func TestVerdictFlipDamped(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		want  int
	}{
		{name: "at once", after: -1, want: 8},
		{name: "default", after: 0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := flipEnv(t, tt.after)
			for range 4 {
				e.flip()
			}
			require.Len(t, e.recv.kindsOf(alert.KindVerdict),
				tt.want)
		})
	}
}

// TestVerdictChangeHeld: a change that lasts alerts once, when it has
// lasted the hold, with the verdict the peer has then (here
// consider_closing, reached after watch); the way back alerts the same
// way.
func TestVerdictChangeHeld(t *testing.T) {
	e := flipEnv(t, 0)
	e.flip()
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(4 * time.Minute)
	e.round()
	e.requireVerdict(core.VerdictWatch)
	e.advance(time.Hour)
	e.round()
	e.requireVerdict(core.VerdictConsiderClosing)
	got := e.dueAfter(5*time.Hour, alert.KindVerdict)
	require.Equal(t, core.VerdictOK, got[0].PreviousVerdict)
	require.Equal(t, core.VerdictConsiderClosing, got[0].Verdict)
	e.advance(time.Hour)
	e.round()
	require.Len(t, e.recv.kindsOf(alert.KindVerdict), 1)

	// Back, and ok an hour later: ok alerts 6h after that.
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.advance(time.Hour)
	e.round()
	e.requireVerdict(core.VerdictOK)
	got = e.dueAfter(6*time.Hour, alert.KindVerdict)
	require.Equal(t, core.VerdictConsiderClosing, got[1].PreviousVerdict)
	require.Equal(t, core.VerdictOK, got[1].Verdict)
}

// dayWindow judges over a day: time unmonitored for a while does not
// leave the window empty (an empty window is ok).
func dayWindow(e *env) {
	e.verdict.Window = 24 * time.Hour
}

// awayFrom drops peer 1 of flipEnv(..., dayWindow) for good and checks:
// watch 10 minutes later (92 %), consider_closing an hour after that;
// the count runs from the first check.
func (e *env) awayFrom() {
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(10 * time.Minute)
	e.round()
	e.requireVerdict(core.VerdictWatch)
	e.advance(time.Hour)
	e.round()
	e.requireVerdict(core.VerdictConsiderClosing)
}

// TestVerdictHoldAcrossRestart: a restart in the middle of the hold
// neither starts the count again nor counts the time the monitor was
// down: 1h before a 10h restart, 5h after it.
func TestVerdictHoldAcrossRestart(t *testing.T) {
	e := flipEnv(t, 0, dayWindow)
	e.awayFrom()
	e.restart(10 * time.Hour)
	e.syncNode(1)
	e.round()
	require.Empty(t, e.recv.kindsOf(alert.KindVerdict))
	e.dueAfter(5*time.Hour, alert.KindVerdict)
}

// TestVerdictHoldBackToToldAcrossRestart: a peer back to the verdict
// told while the monitor was down says nothing after the restart.
func TestVerdictHoldBackToToldAcrossRestart(t *testing.T) {
	e := flipEnv(t, 0)
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(4 * time.Minute)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.round()
	e.requireVerdict(core.VerdictWatch)
	e.restart(10 * time.Hour)
	e.syncNode(1, 1)
	e.advance(time.Hour)
	e.round()
	e.requireVerdict(core.VerdictOK)
	e.advance(24 * time.Hour)
	e.round()
	require.Empty(t, e.recv.kindsOf(alert.KindVerdict))
}

// TestVerdictHoldClockSteps: a step of the wall clock forward is
// unmonitored time and does not count in the hold; a step back does
// not hold the alert back by its size.
func TestVerdictHoldClockSteps(t *testing.T) {
	t.Run("forward", func(t *testing.T) {
		e := flipEnv(t, 0, withMono, dayWindow)
		e.awayFrom()
		e.mono.Step(12 * time.Hour)
		e.round()
		require.Empty(t, e.recv.kindsOf(alert.KindVerdict))
		e.dueAfter(5*time.Hour, alert.KindVerdict)
	})
	t.Run("back", func(t *testing.T) {
		// The monitor's time waits for the clock to be back where
		// it was (docs/semantics.md, "Clock steps"), and the hold
		// with it; then it goes on from there, not from the start.
		e := flipEnv(t, 0, withMono, dayWindow)
		e.awayFrom()
		e.mono.Step(-24 * time.Hour)
		e.round()
		e.dueAfter(24*time.Hour+5*time.Hour, alert.KindVerdict)
	})
}

// TestVerdictAlertReceiverDown: a verdict change alert due while the
// receiver fails is raised once, tried again, and delivered once when
// the receiver is back; the checks in between raise nothing more.
func TestVerdictAlertReceiverDown(t *testing.T) {
	e := flipEnv(t, 0, dayWindow)
	e.recv.setDown(true)
	e.awayFrom()
	e.advance(5 * time.Hour)
	e.round()
	for range 3 {
		e.advance(time.Hour)
		e.round()
	}
	require.EqualValues(t, 1, e.a.Counts().Raised[alert.KindVerdict])
	require.Positive(t, e.a.Counts().Failed["webhook"])
	e.recv.setDown(false)
	e.advance(time.Hour)
	e.round()
	e.round()
	require.Len(t, e.recv.kindsOf(alert.KindVerdict), 1)
	require.EqualValues(t, 1, e.a.Counts().Raised[alert.KindVerdict])
}

// TestVerdictAwayRecordDamaged: a damaged count in the store (a body
// that does not parse, or a start later than now) starts the count
// anew: no alert at once, one after the full hold.
func TestVerdictAwayRecordDamaged(t *testing.T) {
	tests := []struct {
		name string
		rec  core.AlertRecord
	}{{
		name: "junk body",
		rec:  core.AlertRecord{Body: []byte("junk"), CreatedAt: t0},
	}, {
		name: "start after now",
		rec: core.AlertRecord{Body: []byte(`{"unmonitored":0}`),
			CreatedAt: t0.Add(1000 * time.Hour)},
	}, {
		name: "more unmonitored than now",
		rec: core.AlertRecord{Body: []byte(`{"unmonitored":1000000000}`),
			CreatedAt: t0},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := flipEnv(t, 0, dayWindow)
			e.a.Stop()
			tt.rec.Key = "verdict-away/" + peer(1).String()
			require.NoError(t, e.m.PutAlerts(e.ctx,
				[]core.AlertRecord{tt.rec}, nil))
			e.startAlerter()
			e.awayFrom()
			require.Empty(t, e.recv.kindsOf(alert.KindVerdict))
			e.dueAfter(5*time.Hour, alert.KindVerdict)
		})
	}
}

// TestVerdictHoldReceiverHangs: while a delivery hangs no check runs,
// but the hold counts on; once the receiver answers, the verdict change
// due is raised and delivered once, and nothing is raised twice.
func TestVerdictHoldReceiverHangs(t *testing.T) {
	arrived := make(chan struct{})
	held := make(chan struct{})
	var mu sync.Mutex
	var kinds []string
	hang := &alert.Func{SinkName: "hang", Fn: func(ctx context.Context,
		body []byte) error {

		var a alert.Alert
		if err := json.Unmarshal(body, &a); err != nil {
			return err
		}
		mu.Lock()
		first := len(kinds) == 0
		kinds = append(kinds, a.Kind)
		mu.Unlock()
		if first {
			close(arrived)
			select {
			case <-held:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}}
	e := flipEnv(t, 0, dayWindow, func(e *env) {
		e.sinks = []alert.Sink{hang}
	})
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(10 * time.Minute)
	e.round()
	e.requireVerdict(core.VerdictWatch)

	// The offline alert's delivery hangs, in the round a tick starts
	// or in one the offline event started.
	e.advance(time.Hour)
	select {
	case e.tick.Force <- e.clk.Now():
		<-arrived
	case <-arrived:
	}
	e.advance(5 * time.Hour)
	close(held)
	e.round()
	e.round()
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{alert.KindOffline, alert.KindVerdict}, kinds)
	c := e.a.Counts()
	require.EqualValues(t, 1, c.Raised[alert.KindOffline])
	require.EqualValues(t, 1, c.Raised[alert.KindVerdict])
	require.EqualValues(t, 2, c.Delivered["hang"])
}
