package alert_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/alert"
	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func peer(n byte) core.PeerID {
	var p core.PeerID
	p[0] = 2
	p[32] = n
	return p
}

func point(n byte) core.ChannelPoint {
	var cp core.ChannelPoint
	cp.Txid[0] = n
	return cp
}

// receiver is a loopback webhook receiver that can be made to fail.
type receiver struct {
	mu     sync.Mutex
	got    []alert.Alert
	failed int
	down   bool
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter,
		req *http.Request) {

		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.down {
			r.failed++
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		var a alert.Alert
		if err := json.Unmarshal(b, &a); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.got = append(r.got, a)
	}))
	require.True(t, strings.HasPrefix(r.srv.URL, "http://127.0.0.1:"))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) alerts() []alert.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alert.Alert(nil), r.got...)
}

func (r *receiver) kinds() []string {
	var out []string
	for _, a := range r.alerts() {
		out = append(out, a.Kind)
	}
	return out
}

// kindsOf returns the alerts of one kind.
func (r *receiver) kindsOf(kind string) []alert.Alert {
	var out []alert.Alert
	for _, a := range r.alerts() {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

func (r *receiver) setDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// env is a monitor on a test clock and store, and an alerter on it.
type env struct {
	t     *testing.T
	ctx   context.Context
	clk   *clock.TestClock
	store core.Store
	m     *core.Monitor
	a     *alert.Alerter
	tick  *ticker.Force
	recv  *receiver
	sinks []alert.Sink

	// mono, when set, is the clock of both (clk is its wall clock),
	// so that a test can step the wall clock.
	mono *coretest.Clock

	// verdict is the monitor's verdict configuration and
	// verdictAfter the alerter's (zero: the defaults).
	verdict      core.VerdictConfig
	verdictAfter time.Duration
}

func newEnv(t *testing.T, opts ...func(*env)) *env {
	e := &env{t: t, ctx: context.Background(),
		clk: clock.NewTestClock(t0), store: memory.New(),
		recv: newReceiver(t)}
	e.sinks = []alert.Sink{&alert.Webhook{URL: e.recv.srv.URL}}
	for _, o := range opts {
		o(e)
	}
	e.start()
	return e
}

// withMono runs the env on a clock whose wall time can step.
func withMono(e *env) {
	e.mono = coretest.NewClock(t0)
	e.clk = e.mono.TestClock
}

func (e *env) clock() clock.Clock {
	if e.mono != nil {
		return e.mono
	}
	return e.clk
}

func (e *env) start() {
	e.m = coretest.StartMonitor(e.t, core.Config{Store: e.store,
		Clock: e.clock(), Verdict: e.verdict})
	e.startAlerter()
}

func (e *env) startAlerter() {
	e.tick = ticker.NewForce(time.Hour)
	a, err := alert.New(alert.Config{Source: e.m, Sinks: e.sinks,
		OfflineAfter: 30 * time.Minute, VerdictAfter: e.verdictAfter,
		Clock: e.clock(), Ticker: e.tick})
	require.NoError(e.t, err)
	require.NoError(e.t, a.Start())
	e.a = a
	e.t.Cleanup(a.Stop)
}

// restart stops alerter and monitor and starts both again on the same
// store after gap.
func (e *env) restart(gap time.Duration) {
	e.a.Stop()
	require.NoError(e.t, e.m.Stop())
	e.advance(gap)
	e.start()
}

// advance lets d of real time pass.
func (e *env) advance(d time.Duration) {
	if e.mono != nil {
		e.mono.Advance(d)
		return
	}
	e.clk.SetTime(e.clk.Now().Add(d))
}

// round makes the alerter check, and returns once that check is done:
// the second tick is taken only after the first one's round.
func (e *env) round() {
	e.tick.Force <- e.clk.Now()
	e.tick.Force <- e.clk.Now()
}

func (e *env) apply(typ core.EventType, p core.PeerID, cp core.ChannelPoint) {
	require.NoError(e.t, e.m.Apply(e.ctx, core.Event{Type: typ, Peer: p,
		Channel: cp}))
}

// open brings peers 1 to n online, each with channel point(n).
func (e *env) open(n byte) {
	for i := byte(1); i <= n; i++ {
		e.apply(core.PeerOnline, peer(i), core.ChannelPoint{})
		e.apply(core.ChannelOpened, peer(i), point(i))
	}
}

// set applies typ (PeerOnline or PeerOffline) to peers first to last.
func (e *env) set(typ core.EventType, first, last byte) {
	for i := first; i <= last; i++ {
		e.apply(typ, peer(i), core.ChannelPoint{})
	}
}

// syncNode tells the monitor after a restart that the node has the
// channels of peers 1 to n (point(n) each) and that online are
// online.
func (e *env) syncNode(n byte, online ...byte) {
	snap := core.Snapshot{OnlinePeers: []core.PeerID{}}
	for i := byte(1); i <= n; i++ {
		snap.Channels = append(snap.Channels,
			core.SnapshotChannel{Point: point(i), Peer: peer(i)})
	}
	for _, i := range online {
		snap.OnlinePeers = append(snap.OnlinePeers, peer(i))
	}
	require.NoError(e.t, e.m.Sync(e.ctx, snap))
}

// dueAfter checks that no alert of kind comes d minus a second from
// now and that one does at d, and returns the alerts of kind.
func (e *env) dueAfter(d time.Duration, kind string) []alert.Alert {
	before := len(e.recv.kindsOf(kind))
	e.advance(d - time.Second)
	e.round()
	require.Len(e.t, e.recv.kindsOf(kind), before, "before %v", d)
	e.advance(time.Second)
	e.round()
	got := e.recv.kindsOf(kind)
	require.Len(e.t, got, before+1, "at %v", d)
	return got
}

// TestOfflineAlert: offline for 30m minus a second gives nothing, 30m
// gives one alert, later checks give no other, and coming back gives
// one back alert saying how long the peer was away.
func TestOfflineAlert(t *testing.T) {
	e := newEnv(t)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.advance(time.Hour)
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})

	e.advance(30*time.Minute - time.Second)
	e.round()
	require.Empty(t, e.recv.alerts())

	e.advance(time.Second)
	e.round()
	got := e.recv.alerts()
	require.Len(t, got, 1)
	require.Equal(t, alert.KindOffline, got[0].Kind)
	require.Equal(t, peer(1).String(), got[0].PeerID)
	require.EqualValues(t, 1800, got[0].OfflineSeconds)
	require.Equal(t, 1, got[0].OpenChannels)

	e.advance(time.Hour)
	e.round()
	e.round()
	require.Len(t, e.recv.alerts(), 1)

	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.round()
	got = e.recv.alerts()
	require.Equal(t, []string{alert.KindOffline, alert.KindBack},
		e.recv.kinds())
	require.EqualValues(t, 5400, got[1].OfflineSeconds)
	require.Contains(t, got[1].Text, "after 1h30m away")
	e.round()
	require.Len(t, e.recv.alerts(), 2)

	c := e.a.Counts()
	require.EqualValues(t, 1, c.Raised[alert.KindOffline])
	require.EqualValues(t, 1, c.Raised[alert.KindBack])
	require.EqualValues(t, 2, c.Delivered["webhook"])
}

// TestNoAlertWithoutChannel: a peer without an open channel never
// alerts.
func TestNoAlertWithoutChannel(t *testing.T) {
	e := newEnv(t)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.apply(core.ChannelClosed, peer(1), point(1))
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(2 * time.Hour)
	e.round()
	require.Empty(t, e.recv.alerts())
}

// TestRestartDoesNotResend: an alert sent before a restart of the daemon
// is not sent again; the back alert after it is sent once.
func TestRestartDoesNotResend(t *testing.T) {
	e := newEnv(t)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(time.Hour)
	e.round()
	require.Equal(t, []string{alert.KindOffline}, e.recv.kinds())

	e.restart(time.Minute)
	// Still offline after the restart (as the node says).
	require.NoError(t, e.m.Sync(e.ctx, core.Snapshot{
		OnlinePeers: []core.PeerID{},
		Channels:    []core.SnapshotChannel{{Point: point(1), Peer: peer(1)}},
	}))
	e.advance(time.Hour)
	e.round()
	require.Equal(t, []string{alert.KindOffline}, e.recv.kinds())

	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.round()
	e.restart(time.Minute)
	e.round()
	require.Equal(t, []string{alert.KindOffline, alert.KindBack},
		e.recv.kinds())
}

// TestOfflineBetweenRestarts: a peer that went offline 20 minutes
// before a restart alerts 30 minutes after the restart, not at it: the
// time we were down is nobody's outage.
func TestOfflineBetweenRestarts(t *testing.T) {
	e := newEnv(t)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(20 * time.Minute)
	e.round()
	e.restart(6 * time.Hour)
	e.syncNode(1)
	e.round()
	require.Empty(t, e.recv.alerts())
	e.dueAfter(30*time.Minute, alert.KindOffline)
	require.Equal(t, []string{alert.KindOffline}, e.recv.kinds())
}

// TestNodeLostNoAlerts: while the node is lost, no peer alerts.
func TestNodeLostNoAlerts(t *testing.T) {
	e := newEnv(t)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	require.NoError(t, e.m.NodeLost(e.ctx, time.Time{}))
	e.advance(3 * time.Hour)
	e.round()
	require.Empty(t, e.recv.alerts())
}

// TestReceiverDownThenUp: a failing receiver gets the alert again after
// the backoff, once, and pending alerts survive a restart.
func TestReceiverDownThenUp(t *testing.T) {
	e := newEnv(t)
	e.recv.setDown(true)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(time.Hour)
	e.round()
	require.Equal(t, 1, e.recv.failed)
	require.EqualValues(t, 1, e.a.Counts().Failed["webhook"])

	// Not before the backoff.
	e.round()
	require.Equal(t, 1, e.recv.failed)

	e.advance(30 * time.Second)
	e.round()
	require.Equal(t, 2, e.recv.failed)

	// The daemon restarts with the alert pending; the receiver is up.
	e.restart(time.Minute)
	e.recv.setDown(false)
	e.advance(time.Hour)
	e.round()
	require.Equal(t, []string{alert.KindOffline}, e.recv.kinds())
	e.round()
	require.Len(t, e.recv.alerts(), 1)
}

// TestVerdictChangeAlert: leaving too_new for ok says nothing; ok to
// consider_closing says so, with the reasons.
func TestVerdictChangeAlert(t *testing.T) {
	e := newEnv(t)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.round()
	e.advance(15 * 24 * time.Hour)
	e.round()
	require.Empty(t, e.recv.alerts())

	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(25 * time.Minute)
	e.round()
	e.advance(2 * 24 * time.Hour)
	e.round()
	// The new verdict alerts once it has held 6h (the default).
	require.Empty(t, e.recv.kindsOf(alert.KindVerdict))
	last := e.dueAfter(6*time.Hour, alert.KindVerdict)[0]
	require.Equal(t, core.VerdictConsiderClosing, last.Verdict)
	require.NotEmpty(t, last.Reasons)
	require.Contains(t, last.Text, "-> consider_closing")
}

// TestCommandSink: the command gets the alert's JSON on stdin; a failing
// command is tried again.
func TestCommandSink(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "alerts")
	e := &env{t: t, ctx: context.Background(), clk: clock.NewTestClock(t0),
		store: memory.New(), recv: newReceiver(t)}
	e.sinks = []alert.Sink{&alert.Command{
		Command: "cat >> " + out + " && echo >> " + out}}
	e.start()
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(time.Hour)
	e.round()
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	var a alert.Alert
	require.NoError(t, json.Unmarshal(b, &a))
	require.Equal(t, alert.KindOffline, a.Kind)

	err = (&alert.Command{Command: "echo no >&2; exit 3"}).Deliver(
		e.ctx, []byte("{}"))
	require.ErrorContains(t, err, "exit status 3")
	require.ErrorContains(t, err, "no")
}

// TestMassOutageNoOfflineAlerts: when most channel peers drop at once
// (our own connection, most likely), no offline alert, not even when
// most are back: a peer that dropped with them alerts only once it
// stayed away the full threshold after that, and one back before then
// never alerts.
func TestMassOutageNoOfflineAlerts(t *testing.T) {
	e := newEnv(t)
	e.open(5)
	e.set(core.PeerOffline, 1, 4)
	e.advance(time.Hour)
	e.round()
	require.Empty(t, e.recv.alerts())

	// Peers come back one at a time; each change may start a round.
	// With one back, 3 of 5 are still away: still ours. With two
	// back the outage is over, but the two still away are given the
	// full threshold from then to come back.
	e.set(core.PeerOnline, 1, 2)
	e.round()
	require.Empty(t, e.recv.alerts())

	// A straggler back within the threshold: nothing to tell. One
	// away the full threshold after the outage ended is theirs; its
	// alert counts its whole outage.
	e.advance(10 * time.Minute)
	e.apply(core.PeerOnline, peer(3), core.ChannelPoint{})
	e.round()
	got := e.dueAfter(20*time.Minute, alert.KindOffline)
	require.Len(t, e.recv.alerts(), 1)
	require.Equal(t, peer(4).String(), got[0].PeerID)
	require.EqualValues(t, 90*60, got[0].OfflineSeconds)

	e.apply(core.PeerOnline, peer(4), core.ChannelPoint{})
	e.round()
	require.Equal(t, []string{alert.KindOffline, alert.KindBack},
		e.recv.kinds())
}

// TestAfterMassOutageNewOutage: a peer that drops after a mass outage
// ended alerts the threshold after its own drop, and a peer alerted on
// before a mass outage gets its back alert when it returns.
func TestAfterMassOutageNewOutage(t *testing.T) {
	e := newEnv(t)
	e.open(6)
	// Peer 6 is away long enough to alert before the mass outage.
	e.apply(core.PeerOffline, peer(6), core.ChannelPoint{})
	e.advance(time.Hour)
	e.round()
	require.Equal(t, []string{alert.KindOffline}, e.recv.kinds())

	e.set(core.PeerOffline, 1, 4)
	e.advance(time.Hour)
	e.round()
	e.set(core.PeerOnline, 1, 4)
	e.round()
	// Peer 5 drops 5 minutes after the outage ended: its own 30m.
	e.advance(5 * time.Minute)
	e.apply(core.PeerOffline, peer(5), core.ChannelPoint{})
	e.dueAfter(30*time.Minute, alert.KindOffline)
	e.apply(core.PeerOnline, peer(6), core.ChannelPoint{})
	e.round()
	got := e.recv.alerts()
	require.Len(t, got, 3)
	require.Equal(t, peer(5).String(), got[1].PeerID)
	require.Equal(t, alert.KindOffline, got[1].Kind)
	require.Equal(t, peer(6).String(), got[2].PeerID)
	require.Equal(t, alert.KindBack, got[2].Kind)
}

// TestMassOutageEndThenRestart: a restart within the threshold after
// a mass outage ended gives a peer still away the full threshold from
// the restart (the end of the outage is not kept; it need not be).
func TestMassOutageEndThenRestart(t *testing.T) {
	e := newEnv(t)
	e.open(4)
	e.set(core.PeerOffline, 1, 3)
	e.advance(time.Hour)
	e.round()
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.round()
	e.advance(20 * time.Minute)
	e.restart(time.Minute)
	e.syncNode(4, 1, 3, 4)
	got := e.dueAfter(30*time.Minute, alert.KindOffline)
	require.Len(t, e.recv.alerts(), 1)
	require.Equal(t, peer(2).String(), got[0].PeerID)
}

// TestOfflineClockStepForward: a step of the clock forward is
// unmonitored time, not an outage: a peer offline across it is given
// the full threshold from the step, not alerted at once.
func TestOfflineClockStepForward(t *testing.T) {
	e := newEnv(t, withMono)
	e.open(1)
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(20 * time.Minute)
	e.round()
	e.mono.Step(24 * time.Hour)
	e.round()
	require.Empty(t, e.recv.alerts())
	e.dueAfter(30*time.Minute, alert.KindOffline)
}

// TestClockStepBackRetries: a retry scheduled before the clock stepped
// back a day is not held a day.
func TestClockStepBackRetries(t *testing.T) {
	e := newEnv(t)
	e.recv.setDown(true)
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(time.Hour)
	e.round()
	require.Equal(t, 1, e.recv.failed)
	e.recv.setDown(false)
	e.clk.SetTime(e.clk.Now().Add(-24 * time.Hour))
	e.round()
	require.Equal(t, []string{alert.KindOffline}, e.recv.kinds())
}

// TestWebhookHeldConnection: a receiver that never answers costs one
// timeout per round, not one per alert, and Stop does not wait for it.
func TestWebhookHeldConnection(t *testing.T) {
	held := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter,
		*http.Request) {

		select {
		case arrived <- struct{}{}:
		default:
		}
		<-held
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(held) })
	clk := clock.NewTestClock(t0)
	m := coretest.StartMonitor(t, core.Config{Store: memory.New(),
		Clock: clk})
	a, err := alert.New(alert.Config{Source: m,
		Sinks: []alert.Sink{&alert.Webhook{URL: srv.URL +
			"/bot123:SECRET/send"}},
		Clock: clk, Ticker: ticker.NewForce(time.Hour)})
	require.NoError(t, err)
	require.NoError(t, a.Start())
	ctx := context.Background()
	for n := byte(1); n <= 2; n++ {
		require.NoError(t, m.Apply(ctx, core.Event{
			Type: core.PeerOnline, Peer: peer(n)}))
		require.NoError(t, m.Apply(ctx, core.Event{
			Type: core.ChannelOpened, Peer: peer(n), Channel: point(n)}))
	}
	require.NoError(t, m.Apply(ctx, core.Event{Type: core.PeerOffline,
		Peer: peer(1)}))
	clk.SetTime(clk.Now().Add(time.Hour))
	// A change starts a round, which hangs on the receiver.
	require.NoError(t, m.Apply(ctx, core.Event{Type: core.PeerOnline,
		Peer: peer(2)}))
	require.Eventually(t, func() bool {
		return a.Counts().Raised[alert.KindOffline] == 1
	}, 10*time.Second, time.Millisecond)
	// Stop only once the receiver holds the request: a Stop before the
	// round reached it would attempt nothing.
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the webhook request never reached the receiver")
	}
	a.Stop()
	c := a.Counts()
	require.EqualValues(t, 1, c.Failed["webhook"])
	require.Zero(t, c.Delivered["webhook"])
}

// TestErrorsHoldNoSecrets: a webhook's path and query, and the command
// line, stay out of errors (and so out of logs); a command's output is
// cut to its end.
func TestErrorsHoldNoSecrets(t *testing.T) {
	err := (&alert.Webhook{URL: "http://127.0.0.1:1/bot123:SECRET/x?k=" +
		"SECRET"}).Deliver(context.Background(), []byte("{}"))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "SECRET")
	require.Contains(t, err.Error(), "127.0.0.1:1")

	err = (&alert.Command{Command: "TOKEN=SECRET; yes x | head -c " +
		"1000000; exit 2"}).Deliver(context.Background(), []byte("{}"))
	require.ErrorContains(t, err, "exit status 2")
	require.NotContains(t, err.Error(), "SECRET")
	require.Less(t, len(err.Error()), 400)
}

// TestStrayRecords: records left by an earlier configuration or damaged
// keys neither stop the alerts nor linger: a pending alert for a sink
// no longer configured is dropped, a key that does not parse is
// ignored, and records of other owners are left alone.
func TestStrayRecords(t *testing.T) {
	e := newEnv(t)
	e.a.Stop()
	require.NoError(t, e.m.PutAlerts(e.ctx, []core.AlertRecord{
		{Key: "changed/x/1", Body: []byte("{}"), CreatedAt: t0,
			Pending: []string{"gone"}, NextAttempt: t0},
		{Key: "offline/zz/not-a-number", Body: []byte("junk"),
			CreatedAt: t0},
		{Key: "someone-else", Body: []byte("keep")},
	}, nil))
	e.startAlerter()
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.apply(core.ChannelOpened, peer(1), point(1))
	e.apply(core.PeerOffline, peer(1), core.ChannelPoint{})
	e.advance(time.Hour)
	e.round()
	require.Equal(t, []string{alert.KindOffline}, e.recv.kinds())
	keys := map[string]bool{}
	for _, r := range e.m.Alerts() {
		keys[r.Key] = true
	}
	require.False(t, keys["changed/x/1"], "dropped")
	require.True(t, keys["someone-else"], "not ours: kept")
}

// TestMassOutageNoVerdictChange: a mass outage of 6 hours changes no
// verdict, so it raises no verdict change alert either, in the hours
// the last-day rule would have held it against every peer.
func TestMassOutageNoVerdictChange(t *testing.T) {
	e := newEnv(t)
	e.open(5)
	e.advance(20 * 24 * time.Hour)
	e.round()
	e.set(core.PeerOffline, 1, 5)
	e.advance(6 * time.Hour)
	e.round()
	e.set(core.PeerOnline, 1, 5)
	for i := 0; i < 12; i++ {
		e.advance(time.Hour)
		e.round()
	}
	require.Empty(t, e.recv.alerts())
	r, err := e.m.Report(e.ctx, core.ReportQuery{})
	require.NoError(t, err)
	require.Len(t, r.NodeOutages, 1)
	for _, p := range r.Peers {
		require.Equal(t, core.VerdictOK, p.Verdict, "%+v", p.Reasons)
	}
}

// TestMassOutageEndFromHistory: the end of a mass outage is the
// report's, found in the stored history: an alerter started after it
// ended (the monitor ran on) still gives a peer away since then the
// full threshold from that end.
func TestMassOutageEndFromHistory(t *testing.T) {
	e := newEnv(t)
	e.open(4)
	e.set(core.PeerOffline, 1, 3)
	e.advance(time.Hour)
	e.round()
	e.apply(core.PeerOnline, peer(1), core.ChannelPoint{})
	e.a.Stop()
	e.advance(20 * time.Minute)
	e.startAlerter()
	e.advance(10*time.Minute - time.Second)
	e.round()
	require.Empty(t, e.recv.alerts())
	e.advance(time.Second)
	e.round()
	require.Len(t, e.recv.kindsOf(alert.KindOffline), 2)
}

// TestMassOutageZombies: half the channel peers gone for days silence
// no other peer's offline alert: a peer offline 2 days no longer counts
// in a mass outage.
func TestMassOutageZombies(t *testing.T) {
	e := newEnv(t)
	e.open(8)
	e.set(core.PeerOffline, 1, 4)
	e.advance(3 * 24 * time.Hour)
	e.round()
	before := len(e.recv.kindsOf(alert.KindOffline))
	require.Equal(t, 4, before)
	e.apply(core.PeerOffline, peer(5), core.ChannelPoint{})
	got := e.dueAfter(30*time.Minute, alert.KindOffline)
	require.Equal(t, peer(5).String(), got[before].PeerID)
}
