package lndsource

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/lnrpc"
)

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
	s.pings = s.pings[:0]
	for _, p := range lp.GetPeers() {
		peer, err := core.ParsePeerID(p.GetPubKey())
		if err != nil {
			s.cfg.Logger.Warnf("ListPeers: skip peer: %v", err)
			continue
		}
		snap.OnlinePeers = append(snap.OnlinePeers, peer)
		// lnd's ping time is in microseconds; 0 before the first.
		if us := p.GetPingTime(); us > 0 && us < int64(time.Hour/
			time.Microsecond) {

			s.pings = append(s.pings, core.PeerSample{Peer: peer,
				Time: snap.Time, Kind: core.SamplePing,
				RTT: time.Duration(us) * time.Microsecond})
		}
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
	if hs, ok := sink.(core.HistorySink); ok && err == nil &&
		len(s.pings) > 0 {

		err = hs.AddSamples(ctx, s.pings)
	}
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
