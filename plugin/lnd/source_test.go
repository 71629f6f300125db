package lndsource

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// t0 is the test clock's start.
var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// allPerms is the least-privilege macaroon.
var allPerms = []string{"info:read", "offchain:read", "peers:read"}

// call is one call the recording sink received.
type call struct {
	kind string // "sync", "apply" or "lost"
	snap core.Snapshot
	ev   core.Event
	at   time.Time
}

// recSink records what a source feeds it.
type recSink struct {
	calls chan call

	mu       sync.Mutex
	applyErr error
	gate     chan struct{}
	open     []core.ChannelPoint // what OpenChannels returns
}

func newRecSink() *recSink {
	return &recSink{calls: make(chan call, 10000)}
}

func (r *recSink) Sync(_ context.Context, snap core.Snapshot) error {
	r.calls <- call{kind: "sync", snap: snap}
	return nil
}

func (r *recSink) Apply(_ context.Context, ev core.Event) error {
	// The error and gate are taken before the call is recorded: a test
	// that sets the next ones once it sees this call must not have them
	// taken by this one.
	r.mu.Lock()
	gate := r.gate
	r.gate = nil
	err := r.applyErr
	r.applyErr = nil
	r.mu.Unlock()
	r.calls <- call{kind: "apply", ev: ev}
	if gate != nil {
		<-gate
	}
	return err
}

// holdNextApply makes the next Apply wait until release is called.
func (r *recSink) holdNextApply() (release func()) {
	gate := make(chan struct{})
	r.mu.Lock()
	r.gate = gate
	r.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }
}

func (r *recSink) NodeLost(_ context.Context, at time.Time) error {
	r.calls <- call{kind: "lost", at: at}
	return nil
}

func (r *recSink) OpenChannels(context.Context,
	*core.PeerID) ([]core.ChannelPoint, error) {

	r.mu.Lock()
	defer r.mu.Unlock()
	return r.open, nil
}

// failNextApply makes the next Apply return err.
func (r *recSink) failNextApply(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applyErr = err
}

// testLogger keeps log lines for assertions.
type testLogger struct {
	t  testing.TB
	mu sync.Mutex
	ls []string
}

func (l *testLogger) add(level, format string, args ...any) {
	line := level + " " + fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.ls = append(l.ls, line)
	l.mu.Unlock()
	l.t.Log(line)
}

func (l *testLogger) Debugf(f string, a ...any) { l.add("DBG", f, a...) }
func (l *testLogger) Infof(f string, a ...any)  { l.add("INF", f, a...) }
func (l *testLogger) Warnf(f string, a ...any)  { l.add("WRN", f, a...) }
func (l *testLogger) Errorf(f string, a ...any) { l.add("ERR", f, a...) }

// lines returns the lines logged so far that contain every one of subs.
func (l *testLogger) lines(subs ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
next:
	for _, line := range l.ls {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		out = append(out, line)
	}
	return out
}

// testCtx runs a source against a fake lnd with a test clock and a
// forced reconcile ticker.
type testCtx struct {
	t         *testing.T
	srv       *lndtest.Server
	clock     *clock.TestClock
	ticks     chan time.Duration
	reconcile *ticker.Force
	sink      *recSink
	log       *testLogger
	src       *Source
	cfg       Config
	cancel    context.CancelFunc
	done      chan error
}

func newTestCtx(t *testing.T) *testCtx {
	srv := lndtest.New(t)
	ticks := make(chan time.Duration, 100)
	c := &testCtx{
		t:     t,
		srv:   srv,
		clock: clock.NewTestClockWithTickSignal(t0, ticks),
		ticks: ticks,
		sink:  newRecSink(),
		log:   &testLogger{t: t},
	}
	c.cfg = Config{
		Conn: ConnConfig{
			Host:         srv.Host,
			TLSCertPath:  srv.CertPath,
			MacaroonPath: srv.Macaroon(t, allPerms...),
		},
		Clock:      c.clock,
		MinBackoff: time.Second,
		MaxBackoff: 8 * time.Second,
		Jitter:     func(d time.Duration) time.Duration { return d },
		Logger:     c.log,
	}
	return c
}

// newSource returns the source of c.cfg, with a forced reconcile ticker.
func (c *testCtx) newSource() *Source {
	c.reconcile = ticker.NewForce(time.Hour)
	c.cfg.ReconcileTicker = c.reconcile
	c.src = NewSource(c.cfg)
	return c.src
}

// start runs the source until the test ends.
func (c *testCtx) start() {
	c.startWith(c.sink)
}

// startWith runs the source with sink until the test ends.
func (c *testCtx) startWith(sink core.Sink) {
	src := c.newSource()
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.done = make(chan error, 1)
	go func() {
		c.done <- src.Run(ctx, sink)
	}()
	c.t.Cleanup(func() {
		cancel()
		select {
		case <-c.done:
		case <-time.After(lndtest.WaitTimeout):
			c.t.Error("source did not stop")
		}
	})
}

// next returns the next call of the sink, which must be of kind.
func (c *testCtx) next(kind string) call {
	c.t.Helper()
	select {
	case got := <-c.sink.calls:
		require.Equal(c.t, kind, got.kind, "call %+v", got)
		return got
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(c.t, "timed out waiting for "+kind)
	}
	return call{}
}

// noCall checks that the sink has received nothing more.
func (c *testCtx) noCall() {
	c.t.Helper()
	select {
	case got := <-c.sink.calls:
		require.FailNow(c.t, fmt.Sprintf("unexpected call %+v", got))
	default:
	}
}

// tick forces a reconcile tick and returns once the source took it, that
// is once it finished what it was doing before.
func (c *testCtx) tick() {
	c.t.Helper()
	select {
	case c.reconcile.Force <- c.clock.Now():
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(c.t, "reconcile tick not taken")
	}
}

// backoff expects the source to wait d, then lets that time pass.
func (c *testCtx) backoff(d time.Duration) {
	c.t.Helper()
	c.expectWait(d)
	c.clock.SetTime(c.clock.Now().Add(d))
}

// expectWait expects the source to start waiting d.
func (c *testCtx) expectWait(d time.Duration) {
	c.t.Helper()
	select {
	case got := <-c.ticks:
		require.Equal(c.t, d, got)
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(c.t, fmt.Sprintf("timed out waiting for a "+
			"backoff of %v", d))
	}
}

// runErr waits for Run to return and returns its error.
func (c *testCtx) runErr() error {
	c.t.Helper()
	select {
	case err := <-c.done:
		c.done <- err
		return err
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(c.t, "Run did not return")
	}
	return nil
}

func mustPeer(t testing.TB, s string) core.PeerID {
	p, err := core.ParsePeerID(s)
	require.NoError(t, err)
	return p
}

func mustPoint(t testing.TB, s string) core.ChannelPoint {
	cp, err := core.ParseChannelPoint(s)
	require.NoError(t, err)
	return cp
}

// scid makes lnd's integer channel id.
func scid(block, tx, out uint64) uint64 {
	return block<<40 | tx<<16 | out
}

func TestSourceSnapshotThenEventsInOrder(t *testing.T) {
	c := newTestCtx(t)
	p1, p2, p3 := lndtest.PeerKey(1), lndtest.PeerKey(2),
		lndtest.PeerKey(3)
	a, b, d := lndtest.ChanPoint(1), lndtest.ChanPoint(2),
		lndtest.ChanPoint(4)
	c.srv.OpenChannel(a, p1, scid(101, 2, 1))
	c.srv.OpenChannel(b, p2, 0)
	c.srv.SetOnline(p1, true)
	c.srv.SetOnline(p3, true)
	c.start()

	snap := c.next("sync").snap
	require.Equal(t, t0, snap.Time)
	require.Equal(t, []core.SnapshotChannel{
		{Point: mustPoint(t, a), Peer: mustPeer(t, p1),
			ShortChannelID: "101x2x1", FundingHeight: 101},
		{Point: mustPoint(t, b), Peer: mustPeer(t, p2)},
	}, snap.Channels)
	require.Equal(t, []core.PeerID{mustPeer(t, p1), mustPeer(t, p3)},
		snap.OnlinePeers)
	c.srv.WaitSubscribed(t, 1)

	// Events of both streams, each awaited before the next is sent, so
	// the arrival order is known.
	steps := []struct {
		name string
		do   func()
		want core.Event
	}{{
		name: "peer online",
		do:   func() { c.srv.SetOnline(p2, true) },
		want: core.Event{Type: core.PeerOnline, Peer: mustPeer(t, p2)},
	}, {
		name: "channel opened",
		do:   func() { c.srv.OpenChannel(d, p3, scid(120, 7, 0)) },
		want: core.Event{Type: core.ChannelOpened,
			Peer: mustPeer(t, p3), Channel: mustPoint(t, d),
			ShortChannelID: "120x7x0"},
	}, {
		name: "channel closed",
		do: func() {
			c.srv.CloseChannel(a,
				lnrpc.ChannelCloseSummary_COOPERATIVE_CLOSE)
		},
		want: core.Event{Type: core.ChannelClosed,
			Peer: mustPeer(t, p1), Channel: mustPoint(t, a)},
	}, {
		name: "peer offline",
		do:   func() { c.srv.SetOnline(p1, false) },
		want: core.Event{Type: core.PeerOffline, Peer: mustPeer(t, p1)},
	}}
	for i, st := range steps {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		c.clock.SetTime(at)
		st.do()
		got := c.next("apply").ev
		st.want.Time = at
		require.Equal(t, st.want, got, st.name)
	}

	// Within one stream the order is the sending order, however fast.
	const n = 200
	for i := 0; i < n; i++ {
		c.srv.SetOnline(lndtest.PeerKey(10+i%7), i%2 == 0)
	}
	for i := 0; i < n; i++ {
		got := c.next("apply").ev
		want := core.PeerOffline
		if i%2 == 0 {
			want = core.PeerOnline
		}
		require.Equal(t, want, got.Type, "event %d", i)
		require.Equal(t, mustPeer(t, lndtest.PeerKey(10+i%7)), got.Peer,
			"event %d", i)
	}
	c.noCall()
	require.Equal(t, 1, c.srv.Calls("GetInfo"))
}

func TestSourceIgnoresUnknownAndUnstoredEvents(t *testing.T) {
	c := newTestCtx(t)
	c.start()
	c.next("sync")
	c.srv.WaitSubscribed(t, 1)

	p := lndtest.PeerKey(1)
	for _, typ := range []lnrpc.ChannelEventUpdate_UpdateType{
		lnrpc.ChannelEventUpdate_ACTIVE_CHANNEL,
		lnrpc.ChannelEventUpdate_INACTIVE_CHANNEL,
		lnrpc.ChannelEventUpdate_PENDING_OPEN_CHANNEL,
		lnrpc.ChannelEventUpdate_FULLY_RESOLVED_CHANNEL,
		lnrpc.ChannelEventUpdate_CHANNEL_FUNDING_TIMEOUT,
		lnrpc.ChannelEventUpdate_CHANNEL_UPDATE,
		99, 99, 100,
	} {
		c.srv.SendChannelEvent(&lnrpc.ChannelEventUpdate{Type: typ})
	}
	// Malformed opens and closes are skipped too.
	c.srv.SendChannelEvent(&lnrpc.ChannelEventUpdate{
		Type: lnrpc.ChannelEventUpdate_OPEN_CHANNEL,
	})
	c.srv.SendChannelEvent(&lnrpc.ChannelEventUpdate{
		Type: lnrpc.ChannelEventUpdate_CLOSED_CHANNEL,
		Channel: &lnrpc.ChannelEventUpdate_ClosedChannel{
			ClosedChannel: &lnrpc.ChannelCloseSummary{
				ChannelPoint: "nonsense", RemotePubkey: p,
			},
		},
	})
	c.srv.SendPeerEvent(&lnrpc.PeerEvent{PubKey: p, Type: 7})
	c.srv.SendPeerEvent(&lnrpc.PeerEvent{PubKey: "zz",
		Type: lnrpc.PeerEvent_PEER_ONLINE})

	// The next events after the ignored ones come through unharmed.
	cp := lndtest.ChanPoint(1)
	c.srv.OpenChannel(cp, p, 0)
	got := c.next("apply").ev
	require.Equal(t, core.ChannelOpened, got.Type)
	require.Equal(t, mustPoint(t, cp), got.Channel)
	c.srv.SetOnline(p, true)
	require.Equal(t, core.PeerOnline, c.next("apply").ev.Type)
	c.noCall()

	// Nothing made the source reconnect; each unknown type is logged
	// once.
	require.Equal(t, 1, c.srv.Calls("GetInfo"))
	require.Equal(t, 1, c.srv.Calls("SubscribeChannelEvents"))
	require.Len(t, c.log.lines("unknown event type 99"), 1)
	require.Len(t, c.log.lines("unknown event type 100"), 1)
	require.Len(t, c.log.lines("CHANNEL_UPDATE"), 0)
	require.Len(t, c.log.lines("WRN", "nonsense"), 1)
}

func TestSourceForwardsDuplicateCloses(t *testing.T) {
	c := newTestCtx(t)
	p, cp := lndtest.PeerKey(1), lndtest.ChanPoint(1)
	c.srv.OpenChannel(cp, p, 0)
	c.start()
	c.next("sync")
	c.srv.WaitSubscribed(t, 1)

	// lnd v0.21 may send CLOSED_CHANNEL twice (after a reorg).
	c.srv.CloseChannel(cp, lnrpc.ChannelCloseSummary_COOPERATIVE_CLOSE)
	closed := c.next("apply").ev
	c.srv.SendChannelEvent(&lnrpc.ChannelEventUpdate{
		Type: lnrpc.ChannelEventUpdate_CLOSED_CHANNEL,
		Channel: &lnrpc.ChannelEventUpdate_ClosedChannel{
			ClosedChannel: &lnrpc.ChannelCloseSummary{
				ChannelPoint: cp, RemotePubkey: p,
			},
		},
	})
	again := c.next("apply").ev
	require.Equal(t, core.ChannelClosed, closed.Type)
	require.Equal(t, closed, again)
	require.Equal(t, 1, c.srv.Calls("GetInfo"))
}

func TestSourceReconnectsAndReconciles(t *testing.T) {
	tests := []struct {
		name string

		// lose makes lnd go away; back brings it back.
		lose func(c *testCtx)
		back func(c *testCtx)

		// failures is the number of failed attempts before back.
		failures int
		logged   string
	}{{
		name: "stream error",
		lose: func(c *testCtx) {
			c.srv.EndStreams(status.Error(codes.Unavailable,
				"lnd is shutting down"))
		},
		logged: "lnd is shutting down",
	}, {
		name:   "stream ends cleanly",
		lose:   func(c *testCtx) { c.srv.EndStreams(nil) },
		logged: "EOF",
	}, {
		name:     "lnd restarts",
		lose:     func(c *testCtx) { c.srv.Stop() },
		back:     func(c *testCtx) { c.srv.Start(c.t) },
		failures: 3,
		logged:   "lnd unreachable",
	}, {
		name: "wallet locked after restart",
		lose: func(c *testCtx) {
			c.srv.SetLocked(true)
			c.srv.EndStreams(status.Error(codes.Unavailable,
				"lnd is shutting down"))
		},
		back:     func(c *testCtx) { c.srv.SetLocked(false) },
		failures: 2,
		logged:   "lncli unlock",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCtx(t)
			p1, p2, p3 := lndtest.PeerKey(1), lndtest.PeerKey(2),
				lndtest.PeerKey(3)
			a, b, d := lndtest.ChanPoint(1), lndtest.ChanPoint(2),
				lndtest.ChanPoint(3)
			c.srv.OpenChannel(a, p1, 0)
			c.srv.OpenChannel(b, p2, 0)
			c.srv.SetOnline(p1, true)
			c.start()
			require.Len(t, c.next("sync").snap.Channels, 2)
			c.srv.WaitSubscribed(t, 1)

			lostAt := t0.Add(time.Hour)
			c.clock.SetTime(lostAt)
			tc.lose(c)
			require.Equal(t, lostAt, c.next("lost").at)

			// While away: b closes, d opens, p1 leaves, p2 comes.
			c.srv.CloseChannel(b,
				lnrpc.ChannelCloseSummary_REMOTE_FORCE_CLOSE)
			c.srv.OpenChannel(d, p3, 0)
			c.srv.SetOnline(p1, false)
			c.srv.SetOnline(p2, true)

			wait := time.Second
			for i := 0; i < tc.failures; i++ {
				c.backoff(wait)
				wait *= 2
			}
			// Bring lnd back only once the last failed attempt is
			// over and the source waits.
			c.expectWait(wait)
			if tc.back != nil {
				tc.back(c)
			}
			c.clock.SetTime(c.clock.Now().Add(wait))

			snap := c.next("sync").snap
			require.Equal(t, lostAt.Add(2*wait-time.Second),
				snap.Time)
			require.Equal(t, []core.SnapshotChannel{
				{Point: mustPoint(t, a), Peer: mustPeer(t, p1)},
				{Point: mustPoint(t, d), Peer: mustPeer(t, p3)},
			}, snap.Channels)
			require.Equal(t, []core.PeerID{mustPeer(t, p2)},
				snap.OnlinePeers)
			c.noCall()

			require.NotEmpty(t, c.log.lines("WRN", tc.logged,
				"reconnecting in"))
			require.Len(t, c.log.lines("INF", b,
				"closed without a close event",
				"REMOTE_FORCE_CLOSE"), 1)
			require.Equal(t, 1, c.srv.Calls("ClosedChannels"))

			// The new streams work.
			c.srv.WaitSubscribed(t, 1)
			c.srv.SetOnline(p1, true)
			require.Equal(t, mustPeer(t, p1), c.next("apply").ev.Peer)
		})
	}
}

func TestSourceBackoffCapsAndResetsWhenStable(t *testing.T) {
	c := newTestCtx(t)
	c.cfg.StableAfter = time.Hour
	c.start()
	c.next("sync")
	c.srv.WaitSubscribed(t, 1)

	// A connection that keeps dropping right away backs off further
	// each time, up to the cap, instead of looping.
	wait := time.Second
	for i := 0; i < 6; i++ {
		c.srv.EndStreams(errors.New("boom"))
		c.next("lost")
		c.backoff(wait)
		c.next("sync")
		c.srv.WaitSubscribed(t, 1)
		wait = min(2*wait, 8*time.Second)
	}

	// One that lasted StableAfter starts again from the minimum.
	c.clock.SetTime(c.clock.Now().Add(time.Hour))
	c.srv.EndStreams(errors.New("boom"))
	c.next("lost")
	c.backoff(time.Second)
	c.next("sync")
}

func TestBackoff(t *testing.T) {
	s := NewSource(Config{MinBackoff: time.Second,
		MaxBackoff: 10 * time.Second})
	tests := []struct {
		name string
		n    int
		want time.Duration
	}{
		{name: "first", n: 0, want: time.Second},
		{name: "second", n: 1, want: 2 * time.Second},
		{name: "fourth", n: 3, want: 8 * time.Second},
		{name: "capped", n: 4, want: 10 * time.Second},
		{name: "far", n: 1000, want: 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, s.Backoff(tc.n))
		})
	}
	for i := 0; i < 1000; i++ {
		d := halfJitter(10 * time.Second)
		require.GreaterOrEqual(t, d, 5*time.Second)
		require.LessOrEqual(t, d, 10*time.Second)
	}
}

func TestSourceFatalMacaroonErrors(t *testing.T) {
	tests := []struct {
		name    string
		mac     func(s *lndtest.Server) string
		want    error
		mention []string
	}{{
		name: "no info:read",
		mac: func(s *lndtest.Server) string {
			return s.Macaroon(t, "offchain:read", "peers:read")
		},
		want:    ErrPermission,
		mention: []string{"GetInfo", "info:read", BakeCommand},
	}, {
		name: "no peers:read",
		mac: func(s *lndtest.Server) string {
			return s.Macaroon(t, "info:read", "offchain:read")
		},
		want:    ErrPermission,
		mention: []string{"peers:read", BakeCommand},
	}, {
		name: "no offchain:read",
		mac: func(s *lndtest.Server) string {
			return s.Macaroon(t, "info:read", "peers:read")
		},
		want:    ErrPermission,
		mention: []string{"offchain:read", BakeCommand},
	}, {
		name: "baked by another node",
		mac: func(s *lndtest.Server) string {
			return s.ForeignMacaroon(t, allPerms...)
		},
		want: ErrBadMacaroon,
		mention: []string{"verification failed",
			"was it baked by this lnd node"},
	}, {
		name: "not a macaroon",
		mac: func(s *lndtest.Server) string {
			return s.CertPath
		},
		want: ErrBadMacaroon,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCtx(t)
			c.cfg.Conn.MacaroonPath = tc.mac(c.srv)
			c.start()
			err := c.runErr()
			require.ErrorIs(t, err, tc.want)
			for _, m := range tc.mention {
				require.Contains(t, err.Error(), m)
			}
			<-c.src.Fatal()
			require.Equal(t, err, c.src.Err())
			require.Len(t, c.log.lines("ERR", err.Error()), 1)
		})
	}
}

func TestSourceMethodScopedMacaroon(t *testing.T) {
	c := newTestCtx(t)
	var perms []string
	for _, m := range methods {
		perms = append(perms, "uri:"+m.uri)
	}
	c.cfg.Conn.MacaroonPath = c.srv.Macaroon(t, perms...)
	p := lndtest.PeerKey(1)
	c.srv.OpenChannel(lndtest.ChanPoint(1), p, 0)
	c.start()
	require.Len(t, c.next("sync").snap.Channels, 1)
	c.srv.WaitSubscribed(t, 1)
	c.srv.SetOnline(p, true)
	require.Equal(t, core.PeerOnline, c.next("apply").ev.Type)
}

func TestSourceRetriesTransientFailures(t *testing.T) {
	other := filepath.Join(t.TempDir(), "other.cert")
	_, err := lndtest.WriteCert(other)
	require.NoError(t, err)

	tests := []struct {
		name   string
		setup  func(c *testCtx)
		want   error
		logged string
	}{{
		name: "nobody listening",
		setup: func(c *testCtx) {
			c.srv.Stop()
		},
		want:   ErrUnreachable,
		logged: "connection refused",
	}, {
		name: "wrong certificate",
		setup: func(c *testCtx) {
			c.cfg.Conn.TLSCertPath = other
		},
		want:   ErrTLS,
		logged: "lnd's current tls.cert",
	}, {
		name: "missing certificate",
		setup: func(c *testCtx) {
			c.cfg.Conn.TLSCertPath = filepath.Join(t.TempDir(),
				"none.cert")
		},
		want:   ErrTLS,
		logged: "none.cert",
	}, {
		name: "wallet locked",
		setup: func(c *testCtx) {
			c.srv.SetLocked(true)
		},
		want:   ErrWalletLocked,
		logged: "lncli unlock",
	}, {
		name: "list fails",
		setup: func(c *testCtx) {
			c.srv.FailNext("ListChannels", status.Error(
				codes.Internal, "database busy"))
		},
		logged: "database busy",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCtx(t)
			tc.setup(c)
			c.start()
			c.backoff(time.Second)
			lines := c.log.lines("WRN", tc.logged,
				"reconnecting in 1s")
			require.Len(t, lines, 1)
			if tc.want != nil {
				require.Contains(t, lines[0], tc.want.Error())
			}
			c.noCall()
			select {
			case <-c.src.Fatal():
				require.FailNow(t, "transient failure was fatal")
			default:
			}
		})
	}
}

func TestSourceResyncsAfterApplyFailure(t *testing.T) {
	c := newTestCtx(t)
	c.start()
	c.next("sync")
	c.srv.WaitSubscribed(t, 1)

	c.sink.failNextApply(errors.New("disk full"))
	c.srv.SetOnline(lndtest.PeerKey(1), true)
	c.next("apply")
	c.next("lost")
	c.backoff(time.Second)
	require.Equal(t, []core.PeerID{mustPeer(t, lndtest.PeerKey(1))},
		c.next("sync").snap.OnlinePeers)
	require.Len(t, c.log.lines("disk full"), 1)

	// Bad input is skipped without a reconnect.
	c.srv.WaitSubscribed(t, 1)
	c.sink.failNextApply(fmt.Errorf("%w: odd", core.ErrBadInput))
	c.srv.SetOnline(lndtest.PeerKey(1), false)
	c.next("apply")
	c.srv.SetOnline(lndtest.PeerKey(1), true)
	c.next("apply")
	c.noCall()
}

// TestSourceGoesOnWhenNotWritten: an event the monitor keeps in memory
// because its store fails is no reason to reconnect, and the condition
// is logged once, not per event.
func TestSourceGoesOnWhenNotWritten(t *testing.T) {
	c := newTestCtx(t)
	c.start()
	c.next("sync")
	c.srv.WaitSubscribed(t, 1)

	full := fmt.Errorf("record: %w: disk full", core.ErrNotWritten)
	for _, on := range []bool{true, false, true} {
		c.sink.failNextApply(full)
		c.srv.SetOnline(lndtest.PeerKey(1), on)
		c.next("apply")
	}
	// No NodeLost, no new sync: the source went on.
	c.noCall()
	require.Len(t, c.log.lines("disk full"), 1)
}

func TestSourceConfirmsChannelsKnownBeforeStart(t *testing.T) {
	c := newTestCtx(t)
	p := lndtest.PeerKey(1)
	gone, kept, never := lndtest.ChanPoint(1), lndtest.ChanPoint(2),
		lndtest.ChanPoint(3)
	c.srv.OpenChannel(gone, p, 0)
	c.srv.OpenChannel(kept, p, 0)
	c.srv.CloseChannel(gone, lnrpc.ChannelCloseSummary_BREACH_CLOSE)
	c.sink.open = []core.ChannelPoint{mustPoint(t, gone),
		mustPoint(t, kept), mustPoint(t, never)}
	c.start()
	require.Len(t, c.next("sync").snap.Channels, 1)
	require.Len(t, c.log.lines("INF", gone, "BREACH_CLOSE"), 1)
	require.Len(t, c.log.lines("WRN", never, "not in ClosedChannels"), 1)
	require.Empty(t, c.log.lines(kept))
}

// nowClock is a test clock that reports every reading of the time.
type nowClock struct {
	*clock.TestClock
	nows chan time.Time
}

func (c nowClock) Now() time.Time {
	now := c.TestClock.Now()
	select {
	case c.nows <- now:
	default:
	}
	return now
}

func TestSourceStreamLostDuringSnapshot(t *testing.T) {
	c := newTestCtx(t)
	clk := nowClock{TestClock: c.clock, nows: make(chan time.Time, 100)}
	c.cfg.Clock = clk
	p := lndtest.PeerKey(1)
	c.srv.OpenChannel(lndtest.ChanPoint(1), p, 0)
	reached, release := c.srv.Hold("ListChannels")
	t.Cleanup(release)
	c.start()

	// Both streams end while the snapshot is being taken, a minute
	// before it is done.
	select {
	case <-reached:
	case <-time.After(lndtest.WaitTimeout):
		require.FailNow(t, "ListChannels not called")
	}
	c.srv.WaitSubscribed(t, 1)
	for len(clk.nows) > 0 {
		<-clk.nows
	}
	c.srv.EndStreams(status.Error(codes.Unavailable, "shutting down"))
	for i := 0; i < 2; i++ {
		select {
		case <-clk.nows:
		case <-time.After(lndtest.WaitTimeout):
			require.FailNow(t, "stream end not read")
		}
	}
	synced := t0.Add(time.Minute)
	c.clock.SetTime(synced)
	release()

	// lnd answered the snapshot, so it counts as lost from there on,
	// not from before the sync: unmonitored time must not overlap.
	require.Equal(t, synced, c.next("sync").snap.Time)
	require.Equal(t, synced, c.next("lost").at)
	c.backoff(time.Second)
	require.Len(t, c.next("sync").snap.Channels, 1)
}
