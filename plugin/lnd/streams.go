package lndsource

import (
	"errors"
	"fmt"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/lnrpc"
)

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
