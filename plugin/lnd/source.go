package lndsource

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
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

// item is one entry of the arrival queue: an event, or the error that
// ended one of the streams.
type item struct {
	ev     core.Event
	method string
	err    error
	at     time.Time
}

// queue is an unbounded FIFO: stream readers never block and never drop.
type queue struct {
	mu     sync.Mutex
	items  []item
	signal chan struct{}
}

func newQueue() *queue {
	return &queue{signal: make(chan struct{}, 1)}
}

// push appends it and wakes the consumer.
func (q *queue) push(it item) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

// len returns the number of queued items.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// pop returns the oldest item, waiting for one, unless a tick comes
// first: then tick is true. ok is false when ctx is done.
func (q *queue) pop(ctx context.Context, ticks <-chan time.Time) (it item,
	tick, ok bool) {

	for {
		// A tick goes first, so that a busy stream cannot put the
		// reconcile off; it reorders nothing (see reconcileNow).
		select {
		case <-ticks:
			return item{}, true, true
		default:
		}
		q.mu.Lock()
		if len(q.items) > 0 {
			it := q.items[0]
			q.items[0] = item{}
			q.items = q.items[1:]
			q.mu.Unlock()
			return it, false, true
		}
		q.mu.Unlock()
		select {
		case <-q.signal:
		case <-ticks:
			return item{}, true, true
		case <-ctx.Done():
			return item{}, false, false
		}
	}
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
	q := newQueue()
	chans, err := conn.SubscribeChannelEvents(sctx,
		&lnrpc.ChannelEventSubscription{})
	if err != nil {
		return sessionResult{err: cfg.Classify(
			"SubscribeChannelEvents", err)}
	}
	peers, err := conn.SubscribePeerEvents(sctx,
		&lnrpc.PeerEventSubscription{})
	if err != nil {
		return sessionResult{err: cfg.Classify(
			"SubscribePeerEvents", err)}
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

	snap, err := s.snapshot(sctx, conn, info)
	if err != nil {
		return sessionResult{err: err}
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
		return sessionResult{err: err}
	}
	s.cfg.Logger.Infof("synced with lnd: %d open channels, %d peers online",
		len(snap.Channels), len(snap.OnlinePeers))
	res := sessionResult{syncedAt: snap.Time, lastSync: snap.Time,
		known: open}

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
			return res
		case tick:
			if s.reconcileNow(ctx, sctx, conn, sink, q, &res) {
				return res
			}
		case s.handle(ctx, sink, it, &res):
			return res
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

// reconcileNow takes a snapshot of lnd and syncs it in its place among
// the events: those queued when the snapshot is asked for are applied
// before it, later ones after it. A failed call is logged and left to the
// next tick, unless it means that lnd is gone. It reports whether the
// connection ended, res saying how.
func (s *Source) reconcileNow(ctx, sctx context.Context, c Client,
	sink core.Sink, q *queue, res *sessionResult) bool {

	log := s.cfg.Logger
	n := q.len()
	snap, err := s.snapshot(sctx, c, nil)
	for ; n > 0; n-- {
		it, _, _ := q.pop(sctx, nil)
		if s.handle(ctx, sink, it, res) {
			return true
		}
	}
	switch {
	case sctx.Err() != nil:
		// Shutting down: the next pop ends the connection.
		return false
	case err != nil && gone(err):
		res.lostAt = s.cfg.Clock.Now()
		res.err = fmt.Errorf("reconcile: %w", err)
		return true
	case err != nil:
		log.Warnf("reconcile with lnd failed, retrying at the next "+
			"tick: %v", err)
		return false
	}

	// A channel whose closing transaction is not confirmed yet is
	// neither in ListChannels nor in ClosedChannels; lnd sends its
	// CLOSED_CHANNEL at the confirmation (when its own chanfitness
	// removes it), so it stays open until then. So do all vanished
	// channels when ClosedChannels fails.
	open := openChannels(snap)
	vanished, closed := s.confirmVanished(sctx, c, res.known, open)
	for _, cp := range vanished {
		if !closed[cp] {
			log.Debugf("channel %v left ListChannels but is not "+
				"closed yet: kept open", cp)
			peer := res.known[cp]
			snap.Channels = append(snap.Channels,
				core.SnapshotChannel{Point: cp, Peer: peer})
			open[cp] = peer
		}
	}
	if err := s.sync(ctx, sink, snap); err != nil {
		res.lostAt = s.cfg.Clock.Now()
		res.err = fmt.Errorf("reconcile: %w", err)
		return true
	}
	res.known = open
	res.lastSync = snap.Time
	log.Debugf("reconciled with lnd: %d open channels, %d peers online",
		len(snap.Channels), len(snap.OnlinePeers))
	return false
}

// getInfo calls GetInfo with the call timeout.
func (s *Source) getInfo(ctx context.Context,
	c Client) (*lnrpc.GetInfoResponse, error) {

	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	return c.GetInfo(ctx, &lnrpc.GetInfoRequest{})
}

// snapshot lists lnd's open channels and connected peers, with its block
// height (from info, asked for when nil) and the open times of its
// channels (see setOpenTimes).
func (s *Source) snapshot(ctx context.Context, c Client,
	info *lnrpc.GetInfoResponse) (core.Snapshot, error) {

	snap, err := s.listings(ctx, c, info)
	if err != nil {
		return snap, err
	}
	s.setOpenTimes(ctx, c, &snap)
	return snap, nil
}

// listings asks lnd for its block height, open channels and connected
// peers.
func (s *Source) listings(ctx context.Context, c Client,
	info *lnrpc.GetInfoResponse) (core.Snapshot, error) {

	cfg := s.cfg.Conn
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()

	var err error
	if info == nil {
		info, err = c.GetInfo(ctx, &lnrpc.GetInfoRequest{})
		if err != nil {
			return core.Snapshot{}, cfg.Classify("GetInfo", err)
		}
	}
	lc, err := c.ListChannels(ctx, &lnrpc.ListChannelsRequest{})
	if err != nil {
		return core.Snapshot{}, cfg.Classify("ListChannels", err)
	}
	lp, err := c.ListPeers(ctx, &lnrpc.ListPeersRequest{})
	if err != nil {
		return core.Snapshot{}, cfg.Classify("ListPeers", err)
	}
	snap := core.Snapshot{
		Time:        s.cfg.Clock.Now(),
		BlockHeight: info.GetBlockHeight(),
	}
	for _, ch := range lc.GetChannels() {
		cp, peer, err := parseChannel(ch.GetChannelPoint(),
			ch.GetRemotePubkey())
		if err != nil {
			s.cfg.Logger.Warnf("ListChannels: skip channel: %v", err)
			continue
		}
		snap.Channels = append(snap.Channels, core.SnapshotChannel{
			Point:          cp,
			Peer:           peer,
			ShortChannelID: shortChannelID(ch.GetChanId()),
			FundingHeight:  fundingHeight(ch),
		})
	}
	for _, p := range lp.GetPeers() {
		peer, err := core.ParsePeerID(p.GetPubKey())
		if err != nil {
			s.cfg.Logger.Warnf("ListPeers: skip peer: %v", err)
			continue
		}
		snap.OnlinePeers = append(snap.OnlinePeers, peer)
	}
	return snap, nil
}

// openChannels returns the channels a snapshot lists, with their peers.
func openChannels(snap core.Snapshot) map[core.ChannelPoint]core.PeerID {
	open := make(map[core.ChannelPoint]core.PeerID, len(snap.Channels))
	for _, c := range snap.Channels {
		open[c.Point] = c.Peer
	}
	return open
}

// sync passes a snapshot to the sink.
func (s *Source) sync(ctx context.Context, sink core.Sink,
	snap core.Snapshot) error {

	err := sink.Sync(ctx, snap)
	switch {
	case err == nil:
		s.unwritten = false
	case errors.Is(err, core.ErrNotWritten):
		s.noteUnwritten(err)
	default:
		return fmt.Errorf("sync the snapshot of %d channels and %d "+
			"online peers: %w", len(snap.Channels),
			len(snap.OnlinePeers), err)
	}
	return nil
}

// noteUnwritten logs an error wrapping core.ErrNotWritten once, when the
// monitor starts keeping changes it cannot write, not once per event.
func (s *Source) noteUnwritten(err error) {
	if !s.unwritten {
		s.cfg.Logger.Warnf("%v (going on; further events are kept "+
			"the same way without a log line)", err)
	}
	s.unwritten = true
}

// confirmVanished looks up in ClosedChannels the channels that were open
// before and are missing now, and logs the closes it finds. It returns
// the missing channels, sorted, and those of them that ClosedChannels
// lists (nil when the call failed, which it logs).
func (s *Source) confirmVanished(ctx context.Context, c Client,
	before, now map[core.ChannelPoint]core.PeerID) (
	vanished []core.ChannelPoint, closed map[core.ChannelPoint]bool) {

	log := s.cfg.Logger
	for cp := range before {
		if _, ok := now[cp]; !ok {
			vanished = append(vanished, cp)
		}
	}
	if len(vanished) == 0 {
		return nil, nil
	}
	sort.Slice(vanished, func(i, j int) bool {
		return vanished[i].String() < vanished[j].String()
	})
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	resp, err := c.ClosedChannels(ctx, &lnrpc.ClosedChannelsRequest{})
	if err != nil {
		log.Warnf("%d channels left ListChannels; ClosedChannels: "+
			"%v", len(vanished),
			s.cfg.Conn.Classify("ClosedChannels", err))
		return vanished, nil
	}
	sums := make(map[string]*lnrpc.ChannelCloseSummary)
	for _, sum := range resp.GetChannels() {
		sums[sum.GetChannelPoint()] = sum
	}
	closed = make(map[core.ChannelPoint]bool, len(vanished))
	for _, cp := range vanished {
		sum, ok := sums[cp.String()]
		if !ok {
			continue
		}
		closed[cp] = true
		log.Infof("channel %v with %s closed without a close event: "+
			"%v at height %d (closing tx %s)", cp,
			sum.GetRemotePubkey(), sum.GetCloseType(),
			sum.GetCloseHeight(), sum.GetClosingTxHash())
	}
	return vanished, closed
}

// readChannels queues the channel events of one stream until it fails.
func (s *Source) readChannels(
	stream lnrpc.Lightning_SubscribeChannelEventsClient, q *queue) {

	const method = "SubscribeChannelEvents"
	unknown := make(map[lnrpc.ChannelEventUpdate_UpdateType]bool)
	for {
		up, err := stream.Recv()
		if err != nil {
			q.push(item{method: method, err: err,
				at: s.cfg.Clock.Now()})
			return
		}
		at := s.cfg.Clock.Now()
		ev, ok, err := channelEvent(up)
		switch {
		case err != nil:
			s.cfg.Logger.Warnf("%s: skip %v: %v", method,
				up.GetType(), err)
		case ok:
			ev.Time = at
			q.push(item{ev: ev})
		case !known(up.GetType()) && !unknown[up.GetType()]:
			unknown[up.GetType()] = true
			s.cfg.Logger.Debugf("%s: ignore unknown event type %v",
				method, up.GetType())
		}
	}
}

// readPeers queues the peer events of one stream until it fails.
func (s *Source) readPeers(stream lnrpc.Lightning_SubscribePeerEventsClient,
	q *queue) {

	const method = "SubscribePeerEvents"
	for {
		pe, err := stream.Recv()
		if err != nil {
			q.push(item{method: method, err: err,
				at: s.cfg.Clock.Now()})
			return
		}
		at := s.cfg.Clock.Now()
		var typ core.EventType
		switch pe.GetType() {
		case lnrpc.PeerEvent_PEER_ONLINE:
			typ = core.PeerOnline
		case lnrpc.PeerEvent_PEER_OFFLINE:
			typ = core.PeerOffline
		default:
			s.cfg.Logger.Debugf("%s: ignore unknown event type %v",
				method, pe.GetType())
			continue
		}
		peer, err := core.ParsePeerID(pe.GetPubKey())
		if err != nil {
			s.cfg.Logger.Warnf("%s: skip %v: %v", method,
				pe.GetType(), err)
			continue
		}
		q.push(item{ev: core.Event{Type: typ, Peer: peer, Time: at}})
	}
}

// known reports whether t is a channel event type of lnd v0.21.
func known(t lnrpc.ChannelEventUpdate_UpdateType) bool {
	_, ok := lnrpc.ChannelEventUpdate_UpdateType_name[int32(t)]
	return ok
}

// channelEvent converts a channel update to an event; ok is false for
// the update types that are not stored (everything but opens and closes).
func channelEvent(up *lnrpc.ChannelEventUpdate) (core.Event, bool, error) {
	switch up.GetType() {
	case lnrpc.ChannelEventUpdate_OPEN_CHANNEL:
		ch := up.GetOpenChannel()
		if ch == nil {
			return core.Event{}, false, errors.New("no channel")
		}
		cp, peer, err := parseChannel(ch.GetChannelPoint(),
			ch.GetRemotePubkey())
		if err != nil {
			return core.Event{}, false, err
		}
		return core.Event{
			Type:           core.ChannelOpened,
			Peer:           peer,
			Channel:        cp,
			ShortChannelID: shortChannelID(ch.GetChanId()),
		}, true, nil

	case lnrpc.ChannelEventUpdate_CLOSED_CHANNEL:
		sum := up.GetClosedChannel()
		if sum == nil {
			return core.Event{}, false, errors.New("no close summary")
		}
		cp, peer, err := parseChannel(sum.GetChannelPoint(),
			sum.GetRemotePubkey())
		if err != nil {
			return core.Event{}, false, err
		}
		return core.Event{
			Type:    core.ChannelClosed,
			Peer:    peer,
			Channel: cp,
		}, true, nil
	}
	return core.Event{}, false, nil
}

// parseChannel parses lnd's channel point and remote public key.
func parseChannel(point, pubkey string) (core.ChannelPoint, core.PeerID,
	error) {

	cp, err := core.ParseChannelPoint(point)
	if err != nil {
		return cp, core.PeerID{}, err
	}
	peer, err := core.ParsePeerID(pubkey)
	if err != nil {
		return cp, peer, fmt.Errorf("channel %v: %w", cp, err)
	}
	return cp, peer, nil
}

// shortChannelID formats lnd's integer channel id as "<block>x<tx>x<out>";
// empty for zero.
func shortChannelID(id uint64) string {
	if id == 0 {
		return ""
	}
	return core.FormatSCID(uint32(id>>40), uint32(id>>16)&0xffffff,
		uint16(id))
}

// nopLogger discards log lines.
type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Errorf(string, ...any) {}
