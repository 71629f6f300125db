package lndsource

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/lightningnetwork/lnd/ticker"
)

// Defaults for Config fields left zero.
const (
	DefaultMinBackoff  = time.Second
	DefaultMaxBackoff  = time.Minute
	DefaultCallTimeout = 2 * time.Minute
)

// Config configures a Source.
type Config struct {
	// Conn says how to reach lnd.
	Conn ConnConfig

	// Clock stamps events and times the backoff; nil means the system
	// clock. A test clock makes the backoff instant.
	Clock clock.Clock

	// MinBackoff is the first wait before reconnecting (default 1 s).
	// Each failed attempt doubles it, up to MaxBackoff (default 1 min).
	MinBackoff, MaxBackoff time.Duration

	// StableAfter is how long a connection must have lasted for the
	// backoff to start again from MinBackoff (default MaxBackoff), so
	// that a stream that ends right after each connect cannot cause a
	// tight reconnect loop.
	StableAfter time.Duration

	// Jitter spreads a backoff delay; nil picks uniformly from [d/2, d].
	Jitter func(d time.Duration) time.Duration

	// CallTimeout bounds each unary call (default 2 min).
	CallTimeout time.Duration

	// ReconcileInterval is how often, while connected, a snapshot of
	// lnd is synced to the sink, to repair events the streams missed
	// (lnd may serve the first snapshot before its streams are
	// registered). Zero disables it.
	ReconcileInterval time.Duration

	// ReconcileTicker, when set, drives the reconcile instead of
	// ReconcileInterval (tests use ticker.NewForce). Run stops it.
	ReconcileTicker ticker.Ticker

	// Logger receives log lines; nil discards them.
	Logger core.Logger
}

// Source feeds a sink from lnd. It implements core.EventSource.
type Source struct {
	cfg Config

	// reconcile is the reconcile ticker, nil when disabled. Only Run's
	// goroutine uses it.
	reconcile ticker.Ticker

	fatalOnce sync.Once
	fatal     chan struct{}
	err       error

	// unwritten is set while the monitor keeps changes it could not
	// write to its store. Only Run's goroutine uses it.
	unwritten bool

	// pings are the round trips lnd gave for its peers in the last
	// snapshot, for the sink once the snapshot is synced.
	pings []core.PeerSample

	// blocks caches the times of funding blocks.
	blocks blockTimes
}

// NewSource returns a source; it starts nothing.
func NewSource(cfg Config) *Source {
	if cfg.Clock == nil {
		cfg.Clock = clock.NewDefaultClock()
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	if cfg.StableAfter <= 0 {
		cfg.StableAfter = cfg.MaxBackoff
	}
	if cfg.Jitter == nil {
		cfg.Jitter = halfJitter
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = nopLogger{}
	}
	s := &Source{cfg: cfg, fatal: make(chan struct{})}
	switch {
	case cfg.ReconcileTicker != nil:
		s.reconcile = cfg.ReconcileTicker
	case cfg.ReconcileInterval > 0:
		s.reconcile = ticker.New(cfg.ReconcileInterval)
	}
	return s
}

// Fatal is closed when Run gave up on an error that retrying cannot cure
// (a missing permission, a rejected macaroon); Err returns it.
func (s *Source) Fatal() <-chan struct{} {
	return s.fatal
}

// Err returns the error that closed Fatal, or nil.
func (s *Source) Err() error {
	select {
	case <-s.fatal:
		return s.err
	default:
		return nil
	}
}

// setFatal records err and closes Fatal.
func (s *Source) setFatal(err error) {
	s.fatalOnce.Do(func() {
		s.err = err
		close(s.fatal)
	})
}

// Backoff returns the wait before reconnect attempt n (0 for the first),
// before jitter: MinBackoff doubled n times, capped at MaxBackoff.
func (s *Source) Backoff(n int) time.Duration {
	d := s.cfg.MinBackoff
	for i := 0; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	if d > s.cfg.MaxBackoff {
		d = s.cfg.MaxBackoff
	}
	return d
}

// halfJitter picks a delay uniformly from [d/2, d].
func halfJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// Run implements core.EventSource. It returns nil when ctx is done, and
// an error (also reported by Fatal) when retrying cannot help. It may be
// called once.
func (s *Source) Run(ctx context.Context, sink core.Sink) error {
	log := s.cfg.Logger
	if s.reconcile != nil {
		defer s.reconcile.Stop()
	}
	var (
		known   map[core.ChannelPoint]core.PeerID
		attempt int
	)
	// The channels the monitor holds open at start: those that vanished
	// while the companion was down are looked up in ClosedChannels too.
	cps, err := sink.OpenChannels(ctx, nil)
	if err != nil {
		log.Warnf("list the channels held open: %v", err)
	}
	known = make(map[core.ChannelPoint]core.PeerID, len(cps))
	for _, cp := range cps {
		known[cp] = core.PeerID{}
	}
	for {
		res := s.connectOnce(ctx, sink, known)
		if res.known != nil {
			known = res.known
		}
		if ctx.Err() != nil {
			return nil
		}
		err := res.err
		if fatal(err) {
			log.Errorf("%v", err)
			s.setFatal(err)
			return err
		}
		if errors.Is(err, core.ErrStopped) {
			return nil
		}
		if !res.syncedAt.IsZero() {
			if lerr := sink.NodeLost(ctx, res.lostAt); lerr != nil {
				log.Errorf("record the loss of lnd: %v", lerr)
			}
			if res.lostAt.Sub(res.syncedAt) >= s.cfg.StableAfter {
				attempt = 0
			}
		}
		d := s.cfg.Jitter(s.Backoff(attempt))
		attempt++
		log.Warnf("%v; reconnecting in %v", err,
			d.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-s.cfg.Clock.TickAfter(d):
		}
	}
}

// sessionResult is how one connection ended.
type sessionResult struct {
	// syncedAt is when the first snapshot was passed to the sink (zero
	// if it never was), lastSync when the latest was; lostAt is when the
	// connection was found lost.
	syncedAt, lastSync, lostAt time.Time

	// known are the open channels at the end of the connection (nil when
	// the connection never synced).
	known map[core.ChannelPoint]core.PeerID

	err error
}

// connectOnce connects once: subscribe, snapshot, sync, then apply events,
// and reconcile at each tick, until a stream fails or ctx is done.
func (s *Source) connectOnce(ctx context.Context, sink core.Sink,
	known map[core.ChannelPoint]core.PeerID) sessionResult {

	cfg := s.cfg.Conn
	conn, err := Dial(cfg)
	if err != nil {
		return sessionResult{err: err}
	}
	defer conn.Close()

	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	info, err := s.getInfo(sctx, conn)
	if err != nil {
		return sessionResult{err: cfg.Classify("GetInfo", err)}
	}
	s.cfg.Logger.Infof("connected to lnd %s at %s (alias %q, version %s)",
		info.GetIdentityPubkey(), cfg.Host, info.GetAlias(),
		info.GetVersion())

	// Subscribe first, so that nothing between the snapshot and the
	// streams is lost; events queue up until the snapshot is synced.
	q, err := s.subscribe(sctx, conn, &wg)
	if err != nil {
		return sessionResult{err: err}
	}
	res, err := s.syncSnapshot(ctx, sctx, conn, sink, info, known)
	if err != nil {
		return sessionResult{err: err}
	}
	s.follow(ctx, sctx, conn, sink, q, &res)
	return res
}

// subscribe opens the channel and peer event streams and starts reading
// them into a new queue, in goroutines that wg waits for and that end
// with sctx.
func (s *Source) subscribe(sctx context.Context, conn *Conn,
	wg *sync.WaitGroup) (*queue, error) {

	cfg := s.cfg.Conn
	q := newQueue()
	chans, err := conn.SubscribeChannelEvents(sctx,
		&lnrpc.ChannelEventSubscription{})
	if err != nil {
		return nil, cfg.Classify("SubscribeChannelEvents", err)
	}
	peers, err := conn.SubscribePeerEvents(sctx,
		&lnrpc.PeerEventSubscription{})
	if err != nil {
		return nil, cfg.Classify("SubscribePeerEvents", err)
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.readChannels(chans, q)
	}()
	go func() {
		defer wg.Done()
		s.readPeers(peers, q)
	}()
	return q, nil
}

// syncSnapshot takes a snapshot of the node and syncs the sink to it;
// known are the channels open before it. The result starts the session.
func (s *Source) syncSnapshot(ctx, sctx context.Context, conn *Conn,
	sink core.Sink, info *lnrpc.GetInfoResponse,
	known map[core.ChannelPoint]core.PeerID) (sessionResult, error) {

	snap, err := s.snapshot(sctx, conn, info)
	if err != nil {
		return sessionResult{}, err
	}
	open := openChannels(snap)
	vanished, closed := s.confirmVanished(sctx, conn, known, open)
	for _, cp := range vanished {
		if closed != nil && !closed[cp] {
			s.cfg.Logger.Warnf("channel %v vanished from "+
				"ListChannels but is not in ClosedChannels "+
				"(close not confirmed yet?); recording it as "+
				"closed", cp)
		}
	}
	if err := s.sync(ctx, sink, snap); err != nil {
		return sessionResult{}, err
	}
	s.cfg.Logger.Infof("synced with lnd: %d open channels, %d peers online",
		len(snap.Channels), len(snap.OnlinePeers))
	return sessionResult{syncedAt: snap.Time, lastSync: snap.Time,
		known: open}, nil
}

// follow applies queued events, and reconciles at each tick, until the
// connection ends (res says how) or ctx is done.
func (s *Source) follow(ctx, sctx context.Context, conn *Conn,
	sink core.Sink, q *queue, res *sessionResult) {

	var ticks <-chan time.Time
	if s.reconcile != nil {
		s.reconcile.Resume()
		defer s.reconcile.Pause()
		ticks = s.reconcile.Ticks()
	}
	for {
		it, tick, ok := q.pop(sctx, ticks)
		switch {
		case !ok:
			res.lostAt = s.cfg.Clock.Now()
			res.err = ctx.Err()
			return
		case tick:
			if s.reconcileNow(ctx, sctx, conn, sink, q, res) {
				return
			}
		case s.handle(ctx, sink, it, res):
			return
		}
	}
}

// handle applies one queued item. It reports whether the connection ended,
// res saying how.
func (s *Source) handle(ctx context.Context, sink core.Sink, it item,
	res *sessionResult) bool {

	if it.err != nil {
		// Events queued behind the error are not applied: the node
		// counts as lost from here, and the next snapshot gives its
		// state. A stream that ended while the snapshot was taken is
		// lost from the snapshot on: lnd answered it, and unmonitored
		// time must not reach back before the sync.
		res.lostAt = it.at
		if res.lostAt.Before(res.lastSync) {
			res.lostAt = res.lastSync
		}
		res.err = s.cfg.Conn.Classify(it.method, it.err)
		if !fatal(res.err) {
			res.err = fmt.Errorf("lnd %s stream ended: %w",
				it.method, res.err)
		}
		return true
	}
	err := sink.Apply(ctx, it.ev)
	switch {
	case err == nil:
		s.unwritten = false
	case errors.Is(err, core.ErrNotWritten):
		// Applied in memory; the monitor writes it when its store
		// accepts writes again.
		s.noteUnwritten(err)
	case errors.Is(err, core.ErrBadInput):
		s.cfg.Logger.Warnf("skip %v of peer %v: %v", it.ev.Type,
			it.ev.Peer, err)
		return false
	default:
		// The store or the monitor failed: start over, and let the
		// next snapshot reconcile.
		res.lostAt = s.cfg.Clock.Now()
		res.err = fmt.Errorf("apply %v of peer %v: %w", it.ev.Type,
			it.ev.Peer, err)
		return true
	}
	switch it.ev.Type {
	case core.ChannelOpened:
		res.known[it.ev.Channel] = it.ev.Peer
	case core.ChannelClosed:
		delete(res.known, it.ev.Channel)
	}
	return false
}

// nopLogger discards log lines.
type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Errorf(string, ...any) {}
