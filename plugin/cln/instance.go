package cln

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
	"github.com/lightningnetwork/lnd/ticker"
)

// instance is a bootstrapped plugin: store, monitor, RPC client and
// channel tracker. After init only the dispatcher goroutine uses the
// tracker; the monitor is safe for concurrent use.
type instance struct {
	log     pluginLogger
	rpc     nodeRPC
	store   core.Store
	mon     Monitor
	started bool
	tracker *tracker
	ticker  ticker.Ticker

	// srv is the HTTP listener (nil unless chanfitness-listen).
	srv *httpapi.Server

	// grace holds, while lightningd has just started, the channel
	// peers that have not reconnected yet (see startGrace); nil
	// otherwise.
	grace    map[core.PeerID]bool
	graceLen time.Duration

	// unwritten is set while the monitor keeps changes it could not
	// write to its store.
	unwritten atomic.Bool
}

// openPoints returns the points of peer's channels the monitor holds open.
func (s *instance) openPoints(ctx context.Context,
	peer core.PeerID) ([]core.ChannelPoint, error) {

	return s.mon.OpenChannels(ctx, &peer)
}

// notification applies one subscribed notification.
func (s *instance) notification(ctx, rpcCtx context.Context, m inbound) {
	switch m.env.Method {
	case topicConnect, topicDisconnect:
		peer, err := parsePeerNotification(m.env.Method, m.env.Params)
		if err != nil {
			s.log.Warnf("%v", err)
			return
		}
		if s.grace != nil {
			s.graceEvent(ctx, rpcCtx, peer,
				m.env.Method == topicConnect)
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
		ev, err := s.tracker.stateChanged(rpcCtx, sc, m.at)
		if err != nil {
			s.log.Warnf("channel %s %s -> %s: %v (the next "+
				"reconcile repairs it)", sc.ChannelID,
				sc.OldState, sc.NewState, err)
			return
		}
		if ev != nil {
			s.apply(ctx, *ev)
		}
	}
}

// apply applies one event; a failure is logged and the plugin goes on.
func (s *instance) apply(ctx context.Context, ev core.Event) {
	err := s.mon.Apply(ctx, ev)
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
func (s *instance) noteUnwritten(err error) bool {
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
func (s *instance) reconcile(ctx, rpcCtx context.Context) {
	if s.grace != nil {
		// The end of the grace syncs.
		return
	}
	snap, err := s.tracker.snapshot(rpcCtx)
	if errors.Is(err, context.Canceled) {
		// lightningd announced its shutdown: no news, no alarm.
		s.log.Debugf("reconcile: %v", err)
		return
	}
	if err != nil {
		s.log.Warnf("reconcile: %v", err)
		return
	}
	err = s.mon.Sync(ctx, snap)
	if !s.noteUnwritten(err) && err != nil {
		s.log.Warnf("reconcile: %v", err)
	}
}

// close stops the monitor (a last heartbeat and a sync) and closes the
// store and the RPC connection. reason is logged when not empty.
func (s *instance) close(reason string) error {
	if s.ticker != nil {
		s.ticker.Stop()
	}
	s.stopListener()
	var err error
	if s.mon != nil && s.started {
		if serr := s.mon.Stop(); serr != nil {
			err = fmt.Errorf("stop monitor: %w", serr)
		}
	}
	if s.store != nil {
		if cerr := s.store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}
	if s.rpc != nil {
		_ = s.rpc.Close()
	}
	if reason != "" {
		if err != nil {
			s.log.Errorf("stopped (%s): %v", reason, err)
		} else {
			s.log.Infof("stopped (%s): history flushed", reason)
		}
	}
	return err
}
