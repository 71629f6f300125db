package cln

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
)

// source is the plugin's core.EventSource, run by the monitor. At Run it
// takes a snapshot of the node and syncs the monitor with it (or, while
// lightningd starts, holds the sync back; see startGrace); then it applies
// the notifications the dispatcher hands it, in arrival order, and
// reconciles at each tick. What it needs of the monitor it reaches
// through the Sink that Run is given.
type source struct {
	log   pluginLogger
	rpc   nodeRPC
	clock clock.Clock

	// rpcCtx ends when lightningd announces its shutdown.
	rpcCtx context.Context

	// startup is set when lightningd is starting (init's startup
	// flag); graceLen is the startup grace (0: none).
	startup  bool
	graceLen time.Duration

	// ticker drives reconciliation (nil: never).
	ticker ticker.Ticker

	// backlog counts the messages read from lightningd and not yet
	// taken by the source, which counts each one off as it takes it: a
	// tick waits for those stamped before it. nil: none.
	backlog *atomic.Int64

	// in takes the dispatcher's messages; a message with done set is a
	// barrier, closed once everything before it is applied.
	in chan sourceItem

	// ready gets the result of the first sync, once; done is closed
	// when Run returns.
	ready chan bootstrapResult
	done  chan struct{}

	// Set by Run, used by its goroutine only.
	sink    core.Sink
	tracker *tracker

	// grace holds, while lightningd has just started, the channel
	// peers that have not reconnected yet (see startGrace); nil
	// otherwise.
	grace map[core.PeerID]bool

	// history is set once the node's network history was read;
	// nextIndex is the created index of the next record to read.
	history   bool
	nextIndex uint64

	// unwritten is set while the monitor keeps changes it could not
	// write to its store.
	unwritten atomic.Bool
}

// sourceItem is a message from lightningd, or a barrier.
type sourceItem struct {
	m    inbound
	done chan struct{}
}

// bootstrapResult is what the first sync found.
type bootstrapResult struct {
	snap core.Snapshot
	err  error
}

// sourceConfig carries what a source needs from the runner.
type sourceConfig struct {
	log      pluginLogger
	rpc      nodeRPC
	clock    clock.Clock
	rpcCtx   context.Context
	startup  bool
	graceLen time.Duration
	ticker   ticker.Ticker
	backlog  *atomic.Int64
}

func newSource(c sourceConfig) *source {
	return &source{
		log:      c.log,
		rpc:      c.rpc,
		clock:    c.clock,
		rpcCtx:   c.rpcCtx,
		startup:  c.startup,
		graceLen: c.graceLen,
		ticker:   c.ticker,
		backlog:  c.backlog,
		in:       make(chan sourceItem),
		ready:    make(chan bootstrapResult, 1),
		done:     make(chan struct{}),
	}
}

var _ core.EventSource = (*source)(nil)

// Run implements core.EventSource.
func (s *source) Run(ctx context.Context, sink core.Sink) error {
	defer close(s.done)
	if s.ticker != nil {
		defer s.ticker.Stop()
	}
	s.sink = sink
	s.tracker = newTracker(s.rpc, s.log, s.clock.Now,
		func(ctx context.Context,
			peer core.PeerID) ([]core.ChannelPoint, error) {

			return sink.OpenChannels(ctx, &peer)
		})
	snap, err := s.bootstrap(ctx)
	s.ready <- bootstrapResult{snap: snap, err: err}
	if err != nil {
		return err
	}
	return s.loop(ctx)
}

// bootstrap takes the node's snapshot and syncs the monitor with it, or
// starts the startup grace.
func (s *source) bootstrap(ctx context.Context) (core.Snapshot, error) {
	rctx, cancel := context.WithTimeout(s.rpcCtx, bootstrapTimeout)
	defer cancel()
	snap, err := s.tracker.snapshot(rctx)
	if err != nil {
		return snap, fmt.Errorf("bootstrap: %w", err)
	}
	if s.startup && s.graceLen > 0 {
		s.startGrace(snap)
	}
	hist, ok := s.nodeHistory(rctx)
	hs, isHS := s.sink.(core.HistorySink)
	switch {
	case s.grace != nil:
		// Unmonitored from now until the grace ends with a sync.
		if err := s.sink.NodeLost(ctx, snap.Time); err != nil {
			return snap, fmt.Errorf("bootstrap: %w", err)
		}
		if ok && isHS {
			err = hs.AddSamples(ctx, hist.Samples)
		}
	case ok && isHS:
		err = hs.SyncHistory(ctx, snap, hist)
		if errors.Is(err, core.ErrBadInput) {
			s.log.Warnf("lightningd's network history: %v: "+
				"not used", err)
			err = s.sink.Sync(ctx, snap)
		}
	default:
		err = s.sink.Sync(ctx, snap)
	}
	if err != nil && !s.noteUnwritten(err) {
		return snap, fmt.Errorf("bootstrap: %w", err)
	}
	return snap, nil
}

// waitReady waits for the first sync of Run and returns what it found.
func (s *source) waitReady() (core.Snapshot, error) {
	select {
	case r := <-s.ready:
		return r.snap, r.err
	case <-s.done:
		select {
		case r := <-s.ready:
			return r.snap, r.err
		default:
		}
		return core.Snapshot{}, errors.New("bootstrap: event " +
			"source stopped")
	}
}

// loop applies the dispatcher's messages and the reconcile ticks until
// ctx ends. A reconcile tick waits for the messages stamped before it: a
// snapshot taken ahead of them would record the peer states they bring
// without their flaps. Later messages wait for the reconcile.
func (s *source) loop(ctx context.Context) error {
	var ticks, graceEnd <-chan time.Time
	if s.ticker != nil {
		s.ticker.Resume()
		ticks = s.ticker.Ticks()
	}
	if s.grace != nil {
		graceEnd = s.clock.TickAfter(s.graceLen)
	}
	var tickAt time.Time
	tick := false
	for {
		if tick && (s.backlog == nil || s.backlog.Load() == 0) {
			tick = false
			s.reconcile(ctx)
		}
		if s.grace == nil {
			graceEnd = nil
		}
		select {
		case it := <-s.in:
			if s.backlog != nil {
				s.backlog.Add(-1)
			}
			if !tick {
				select {
				case tickAt = <-ticks:
					tick = true
				default:
				}
			}
			if tick && !it.m.at.Before(tickAt) {
				tick = false
				s.reconcile(ctx)
			}
			if it.done != nil {
				close(it.done)
				continue
			}
			s.notification(ctx, it.m)

		case <-graceEnd:
			graceEnd = nil
			s.endGrace(ctx, fmt.Sprintf("%v passed", s.graceLen))

		case tickAt = <-ticks:
			tick = true

		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// hand passes a notification on to Run, which counts it off the
// backlog. It reports false when Run has ended and did not take it.
func (s *source) hand(m inbound) bool {
	select {
	case s.in <- sourceItem{m: m}:
		return true
	case <-s.done:
		return false
	}
}

// barrier passes the request or shutdown m to Run as a barrier, which
// Run counts off the backlog, and returns once everything handed before
// it is applied (and a reconcile tick taken before m arrived is done). It
// reports false when Run has ended and did not take it.
func (s *source) barrier(m inbound) bool {
	done := make(chan struct{})
	select {
	case s.in <- sourceItem{m: m, done: done}:
	case <-s.done:
		return false
	}
	select {
	case <-done:
	case <-s.done:
	}
	return true
}

// notification applies one subscribed notification.
func (s *source) notification(ctx context.Context, m inbound) {
	switch m.env.Method {
	case topicConnect, topicDisconnect:
		peer, err := parsePeerNotification(m.env.Method, m.env.Params)
		if err != nil {
			s.log.Warnf("%v", err)
			return
		}
		if s.grace != nil {
			s.graceEvent(ctx, peer, m.env.Method == topicConnect)
			return
		}
		typ := core.PeerOnline
		if m.env.Method == topicDisconnect {
			typ = core.PeerOffline
		}
		s.apply(ctx, core.Event{Type: typ, Peer: peer, Time: m.at})

	case topicChannelOpened:
		co, err := parseChannelOpened(m.env.Params)
		if err != nil {
			s.log.Warnf("%v", err)
			return
		}
		s.log.Debugf("peer %v funded a channel (funding txid %s); it "+
			"counts from CHANNELD_NORMAL", co.Peer, co.FundingTxid)

	case topicChannelStateChanged:
		sc, err := parseStateChange(m.env.Params)
		if err != nil {
			s.log.Warnf("%v", err)
			return
		}
		ev, err := s.tracker.stateChanged(s.rpcCtx, sc, m.at)
		if err != nil {
			s.log.Warnf("channel %s %s -> %s: %v (the next "+
				"reconcile repairs it)", sc.ChannelID,
				sc.OldState, sc.NewState, err)
			return
		}
		if ev != nil {
			s.apply(ctx, *ev)
		}

	default:
		s.log.Debugf("%s notification: not subscribed, ignored",
			m.env.Method)
	}
}

// apply applies one event; a failure is logged and the plugin goes on.
func (s *source) apply(ctx context.Context, ev core.Event) {
	err := s.sink.Apply(ctx, ev)
	if s.noteUnwritten(err) {
		return
	}
	if err != nil {
		s.log.Warnf("apply %v of peer %v: %v", ev.Type, ev.Peer, err)
	}
}

// noteUnwritten logs an error wrapping core.ErrNotWritten (the monitor
// keeps the change in memory and writes it once its store accepts writes
// again) once when such errors start, not once per event. It reports
// whether err was one.
func (s *source) noteUnwritten(err error) bool {
	if !errors.Is(err, core.ErrNotWritten) {
		if err == nil {
			s.unwritten.Store(false)
		}
		return false
	}
	if !s.unwritten.Swap(true) {
		s.log.Warnf("%v (going on; further events are kept the same "+
			"way without a log line)", err)
	}
	return true
}

// reconcile takes a snapshot of the node and syncs the monitor with it,
// repairing any notification that was missed.
func (s *source) reconcile(ctx context.Context) {
	if s.grace != nil {
		// The end of the grace syncs.
		return
	}
	snap, err := s.tracker.snapshot(s.rpcCtx)
	if errors.Is(err, context.Canceled) {
		// lightningd announced its shutdown: no news, no alarm.
		s.log.Debugf("reconcile: %v", err)
		return
	}
	if err != nil {
		s.log.Warnf("reconcile: %v (retrying at the next reconcile)",
			err)
		return
	}
	err = s.sink.Sync(ctx, snap)
	if !s.noteUnwritten(err) && err != nil {
		s.log.Warnf("reconcile: %v", err)
	}
	s.pollSamples(ctx)
}
