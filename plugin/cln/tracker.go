package cln

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// trackedChannel is what the plugin knows of one CLN channel.
type trackedChannel struct {
	// point is the channel's key in the monitor: its funding outpoint
	// when the plugin first saw it. A splice moves the funding output
	// but not the channel id, and the point stays.
	point core.ChannelPoint
	peer  core.PeerID
	scid  string

	// open is whether the monitor was told the channel is open.
	open bool

	// ready is whether the channel has been usable (reached
	// CHANNELD_NORMAL); only then does an open phase open it.
	ready bool
}

// readiness is what a listing tells of whether a channel has been
// usable.
type readiness uint8

const (
	// readyUnknown: an open phase listed without state history.
	readyUnknown readiness = iota

	// readyNo: listed before its first CHANNELD_NORMAL, or with a
	// state history that never reached it.
	readyNo

	// readyYes: usable now, or its state history says it was.
	readyYes
)

// listedReadiness reads a listed channel's state and state history.
func listedReadiness(ch *peerChannel) readiness {
	if usable(ch.State) {
		return readyYes
	}
	for _, c := range ch.StateChanges {
		if usable(c.OldState) || usable(c.NewState) {
			return readyYes
		}
	}
	if preOpen(ch.State) || len(ch.StateChanges) > 0 {
		return readyNo
	}
	return readyUnknown
}

// scidBlock returns the block height of a short channel id "BxTxO", the
// funding transaction's confirmation height, or 0 when there is none.
func scidBlock(scid string) uint32 {
	b, _, ok := strings.Cut(scid, "x")
	if !ok {
		return 0
	}
	h, err := strconv.ParseUint(b, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(h)
}

// listedOpenedAt returns when the node first moved a listed channel to
// CHANNELD_NORMAL, the moment the plugin counts a channel open from, as
// its state history says; zero when the history does not say (no such
// move listed, or a timestamp that does not parse).
func listedOpenedAt(ch *peerChannel) time.Time {
	for _, c := range ch.StateChanges {
		if !usable(c.NewState) {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, c.Timestamp)
		if err != nil || at.Year() < 2009 {
			return time.Time{}
		}
		return at
	}
	return time.Time{}
}

// listedClose returns when the node moved a listed channel to its first
// closed state, as its state history says: the time a channel that
// closed while the plugin was not running closes at, when the node's
// records fill that time. A time after now (a clock that disagrees) or
// one that does not parse is not used.
func listedClose(ch *peerChannel, tc *trackedChannel,
	now time.Time) (core.SnapshotClose, bool) {

	if phaseOf(ch.State) != phaseClosed {
		return core.SnapshotClose{}, false
	}
	for _, c := range ch.StateChanges {
		if phaseOf(c.NewState) != phaseClosed {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, c.Timestamp)
		if err != nil || at.Year() < 2009 || at.After(now) {
			return core.SnapshotClose{}, false
		}
		return core.SnapshotClose{Point: tc.point, ClosedAt: at}, true
	}
	return core.SnapshotClose{}, false
}

// tracker maps CLN's channel ids to the monitor's channel points (CLN's
// notifications carry the id, not the funding outpoint), decides which
// state changes open or close a channel, and builds reconcile snapshots.
// It is owned by one goroutine.
type tracker struct {
	rpc   nodeRPC
	log   core.Logger
	now   func() time.Time
	known knownChannels
	chans map[string]*trackedChannel
}

// knownChannels returns the channel points the monitor holds open for a
// peer.
type knownChannels func(ctx context.Context,
	peer core.PeerID) ([]core.ChannelPoint, error)

func newTracker(rpc nodeRPC, log core.Logger, now func() time.Time,
	known knownChannels) *tracker {

	return &tracker{
		rpc:   rpc,
		log:   log,
		now:   now,
		known: known,
		chans: make(map[string]*trackedChannel),
	}
}

// v1ChannelID returns the channel id BOLT 2 derives from a funding
// outpoint (txid in internal byte order, output index xor-ed into the
// last two bytes). Channels opened by dual funding have other ids.
func v1ChannelID(cp core.ChannelPoint) string {
	id := cp.Txid
	id[30] ^= byte(cp.Index >> 8)
	id[31] ^= byte(cp.Index)
	return hex.EncodeToString(id[:])
}

// learn records a listed channel and returns its entry, or nil when the
// listing has no usable funding outpoint yet. A channel seen for the
// first time is ready unless the listing says it never was; a known one
// becomes ready when the listing says it is.
//
// A channel seen for the first time is keyed by its funding outpoint,
// unless that outpoint does not give its channel id and the monitor
// holds an open channel of the same peer whose outpoint does: the
// channel was spliced while the plugin was not running, and keeps the
// point it opened with.
func (t *tracker) learn(ctx context.Context, channelID, peerID,
	txid string, outnum *uint32, scid string,
	ready readiness) (*trackedChannel, error) {

	id, err := normChannelID(channelID)
	if err != nil {
		return nil, err
	}
	peer, err := core.ParsePeerID(peerID)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", id, err)
	}
	tc := t.chans[id]
	if tc == nil {
		if txid == "" || outnum == nil {
			// Still opening: no funding transaction yet.
			return nil, nil
		}
		pt, err := fundingPoint(txid, outnum)
		if err != nil {
			return nil, fmt.Errorf("channel %s: %w", id, err)
		}
		if v1ChannelID(pt) != id {
			pt = t.spliceOrigin(ctx, peer, id, pt)
		}
		tc = &trackedChannel{point: pt, peer: peer,
			ready: ready != readyNo}
		t.chans[id] = tc
	} else if ready == readyYes {
		tc.ready = true
	}
	if tc.scid == "" {
		tc.scid = scid
	}
	return tc, nil
}

// spliceOrigin returns the monitor's open channel of peer whose outpoint
// gives channel id id, or pt when there is none.
func (t *tracker) spliceOrigin(ctx context.Context, peer core.PeerID,
	id string, pt core.ChannelPoint) core.ChannelPoint {

	if t.known == nil {
		return pt
	}
	points, err := t.known(ctx, peer)
	if err != nil {
		return pt
	}
	for _, p := range points {
		if v1ChannelID(p) == id {
			if p != pt {
				t.log.Infof("channel %s of peer %v was spliced "+
					"from %v to %v: it keeps its history "+
					"under %v", id, peer, p, pt, p)
			}
			return p
		}
	}
	return pt
}

// snapshot lists the node's channels and peers and returns the monitor's
// view of them: every channel in an open phase (see phaseOf) that has
// been usable, keyed by the point it was first seen with, and every
// connected peer. A listing with an entry that cannot be read keeps open
// the channels it does not list.
func (t *tracker) snapshot(ctx context.Context) (core.Snapshot, error) {
	chans, err := t.rpc.ListPeerChannels(ctx, nil)
	if err != nil {
		return core.Snapshot{}, err
	}
	peers, err := t.rpc.ListPeers(ctx)
	if err != nil {
		return core.Snapshot{}, err
	}
	info, err := t.rpc.GetInfo(ctx)
	if err != nil {
		return core.Snapshot{}, err
	}
	snap := core.Snapshot{Time: t.now(), BlockHeight: info.BlockHeight}

	listed := make(map[*trackedChannel]bool, len(chans))
	unreadable := 0
	for i := range chans {
		ch := &chans[i]
		tc, err := t.learn(ctx, ch.ChannelID, ch.PeerID,
			ch.FundingTxid, ch.FundingOutnum, ch.ShortChannelID,
			listedReadiness(ch))
		if err != nil {
			t.log.Warnf("listpeerchannels: %v", err)
			unreadable++
			continue
		}
		if tc == nil {
			continue
		}
		listed[tc] = true
		open := phaseOf(ch.State) == phaseOpen && tc.ready
		tc.open = open
		if open {
			sc := core.SnapshotChannel{
				Point:          tc.point,
				Peer:           tc.peer,
				ShortChannelID: tc.scid,
				FundingHeight:  scidBlock(tc.scid),
			}
			// For a channel the monitor did not see open: when
			// the node moved it to CHANNELD_NORMAL (a time after
			// the snapshot's, from a clock that disagrees, is
			// not used).
			at := listedOpenedAt(ch)
			if !at.IsZero() && !at.After(snap.Time) {
				sc.OpenedAt = at
				sc.OpenedAtSource = core.OpenedAtNode
			}
			snap.Channels = append(snap.Channels, sc)
		} else if c, ok := listedClose(ch, tc, snap.Time); ok {
			snap.Closed = append(snap.Closed, c)
		}
	}
	for id, tc := range t.chans {
		switch {
		case listed[tc]:
		case tc.open && unreadable > 0:
			// It may be the entry that could not be read: it
			// stays open until a listing says otherwise.
			snap.Channels = append(snap.Channels,
				core.SnapshotChannel{
					Point:          tc.point,
					Peer:           tc.peer,
					ShortChannelID: tc.scid,
					FundingHeight:  scidBlock(tc.scid),
				})
		default:
			// Gone from the node (closed and forgotten): the
			// Sync closes it if it was open.
			delete(t.chans, id)
		}
	}

	// At start the tracker knows no channel yet: the monitor keeps open
	// what it holds open and the listing leaves out.
	snap.Partial = unreadable > 0
	for _, p := range peers {
		if !p.Connected {
			continue
		}
		id, err := core.ParsePeerID(p.ID)
		if err != nil {
			t.log.Warnf("listpeers: %v", err)
			continue
		}
		snap.OnlinePeers = append(snap.OnlinePeers, id)
	}
	return snap, nil
}

// stateChanged turns a channel_state_changed notification into the
// monitor event it implies, if any, stamped at.
func (t *tracker) stateChanged(ctx context.Context, sc stateChange,
	at time.Time) (*core.Event, error) {

	switch phaseOf(sc.NewState) {
	case phaseOpen:
		tc := t.chans[sc.ChannelID]
		if tc != nil && tc.open {
			// A splice or a close under negotiation: no news.
			return nil, nil
		}
		if tc == nil {
			var err error
			tc, err = t.resolve(ctx, sc)
			if err != nil {
				return nil, err
			}
		}
		switch {
		case usable(sc.NewState), usable(sc.OldState):
			tc.ready = true
		case preOpen(sc.OldState):
			tc.ready = false
		}
		if !tc.ready {
			// Closing before it was ever usable.
			return nil, nil
		}
		if tc.scid == "" {
			// First listed before its funding confirmed.
			tc.scid = sc.ShortChannelID
		}
		tc.open = true
		return &core.Event{
			Type:           core.ChannelOpened,
			Peer:           tc.peer,
			Channel:        tc.point,
			ShortChannelID: tc.scid,
			Time:           at,
		}, nil

	case phaseClosed:
		tc := t.chans[sc.ChannelID]
		if tc == nil || !tc.open {
			// Never opened here (a funding that failed), or
			// already closed (ONCHAIN after CLOSINGD_COMPLETE).
			return nil, nil
		}
		tc.open = false
		return &core.Event{
			Type:    core.ChannelClosed,
			Peer:    tc.peer,
			Channel: tc.point,
			Time:    at,
		}, nil
	}
	return nil, nil
}

// resolve finds a channel's funding outpoint by its id: first among the
// peer's channels, then among its closed channels (the channel may have
// closed, and CLN moved it there, before this notification was handled).
func (t *tracker) resolve(ctx context.Context,
	sc stateChange) (*trackedChannel, error) {

	open, err := t.rpc.ListPeerChannels(ctx, &sc.Peer)
	if err != nil {
		return nil, fmt.Errorf("look up channel %s: %w", sc.ChannelID,
			err)
	}
	for i := range open {
		ch := &open[i]
		if !sameChannelID(ch.ChannelID, sc.ChannelID) {
			continue
		}
		return t.learned(ctx, sc, ch.PeerID, ch.FundingTxid,
			ch.FundingOutnum, ch.ShortChannelID,
			listedReadiness(ch))
	}
	closed, err := t.rpc.ListClosedChannels(ctx, &sc.Peer)
	if err != nil {
		return nil, fmt.Errorf("look up channel %s: %w", sc.ChannelID,
			err)
	}
	for i := range closed {
		ch := &closed[i]
		if !sameChannelID(ch.ChannelID, sc.ChannelID) {
			continue
		}
		peer := ch.PeerID
		if peer == "" {
			peer = sc.Peer.String()
		}
		return t.learned(ctx, sc, peer, ch.FundingTxid,
			ch.FundingOutnum, ch.ShortChannelID, readyUnknown)
	}
	return nil, fmt.Errorf("channel %s of peer %v: not listed by "+
		"listpeerchannels nor listclosedchannels", sc.ChannelID,
		sc.Peer)
}

// learned is learn for a channel found by resolve.
func (t *tracker) learned(ctx context.Context, sc stateChange, peer,
	txid string, outnum *uint32, scid string,
	ready readiness) (*trackedChannel, error) {

	if scid == "" {
		scid = sc.ShortChannelID
	}
	tc, err := t.learn(ctx, sc.ChannelID, peer, txid, outnum, scid,
		ready)
	if err != nil {
		return nil, err
	}
	if tc == nil {
		return nil, fmt.Errorf("channel %s of peer %v: listed without "+
			"a funding outpoint", sc.ChannelID, sc.Peer)
	}
	return tc, nil
}

func sameChannelID(listed, want string) bool {
	id, err := normChannelID(listed)
	return err == nil && id == want
}
