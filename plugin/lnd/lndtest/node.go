package lndtest

import (
	"fmt"
	"strings"

	"github.com/lightningnetwork/lnd/lnrpc"
	"google.golang.org/protobuf/proto"
)

// UpdateChannel changes an open channel in place (its zero-conf fields,
// say) without sending an event.
func (s *Server) UpdateChannel(point string, f func(*lnrpc.Channel)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[point]
	if !ok {
		panic("lndtest: update of unknown channel " + point)
	}
	f(ch)
}

// SendChannelEvent sends up to every channel event subscriber.
func (s *Server) SendChannelEvent(up *lnrpc.ChannelEventUpdate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendChannelLocked(up)
}

func (s *Server) sendChannelLocked(up *lnrpc.ChannelEventUpdate) {
	if s.silent {
		return
	}
	for su := range s.chanSubs {
		su.events <- up
	}
}

// SendPeerEvent sends ev to every peer event subscriber.
func (s *Server) SendPeerEvent(ev *lnrpc.PeerEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendPeerLocked(ev)
}

func (s *Server) sendPeerLocked(ev *lnrpc.PeerEvent) {
	if s.silent {
		return
	}
	for su := range s.peerSubs {
		su.events <- ev
	}
}

// EndStreams ends every open event stream with err (nil ends them
// cleanly, as lnd does not).
func (s *Server) EndStreams(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for su := range s.chanSubs {
		su.end <- err
	}
	for su := range s.peerSubs {
		su.end <- err
	}
}

// OpenChannel adds an open channel with peer and sends OPEN_CHANNEL.
func (s *Server) OpenChannel(point, peer string, chanID uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := &lnrpc.Channel{
		ChannelPoint: point,
		RemotePubkey: peer,
		ChanId:       chanID,
		Capacity:     1_000_000,
	}
	s.channels[point] = ch
	s.sendChannelLocked(&lnrpc.ChannelEventUpdate{
		Type: lnrpc.ChannelEventUpdate_OPEN_CHANNEL,
		Channel: &lnrpc.ChannelEventUpdate_OpenChannel{
			OpenChannel: proto.Clone(ch).(*lnrpc.Channel),
		},
	})
}

// BroadcastClose makes an open channel wait for its closing transaction
// to confirm: ListChannels no longer lists it, ClosedChannels not yet,
// and no event is sent, as with lnd.
func (s *Server) BroadcastClose(point string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[point]
	if !ok {
		panic("lndtest: close of unknown channel " + point)
	}
	delete(s.channels, point)
	s.closing[point] = ch
}

// CloseChannel removes an open channel, or one waiting for its closing
// transaction, records its close summary and sends CLOSED_CHANNEL.
func (s *Server) CloseChannel(point string,
	typ lnrpc.ChannelCloseSummary_ClosureType) {

	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[point]
	if !ok {
		ch, ok = s.closing[point]
	}
	if !ok {
		panic("lndtest: close of unknown channel " + point)
	}
	delete(s.channels, point)
	delete(s.closing, point)
	sum := &lnrpc.ChannelCloseSummary{
		ChannelPoint:  point,
		ChanId:        ch.ChanId,
		RemotePubkey:  ch.RemotePubkey,
		Capacity:      ch.Capacity,
		CloseHeight:   uint32(ch.ChanId>>40) + 10,
		ClosingTxHash: strings.Repeat("cd", 32),
		CloseType:     typ,
	}
	s.closed = append(s.closed, sum)
	s.sendChannelLocked(&lnrpc.ChannelEventUpdate{
		Type: lnrpc.ChannelEventUpdate_CLOSED_CHANNEL,
		Channel: &lnrpc.ChannelEventUpdate_ClosedChannel{
			ClosedChannel: proto.Clone(sum).(*lnrpc.ChannelCloseSummary),
		},
	})
}

// SetOnline connects or disconnects peer and sends PEER_ONLINE or
// PEER_OFFLINE (also when the state does not change, as lnd may).
func (s *Server) SetOnline(peer string, online bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.online[peer] = online
	typ := lnrpc.PeerEvent_PEER_OFFLINE
	if online {
		typ = lnrpc.PeerEvent_PEER_ONLINE
	}
	s.sendPeerLocked(&lnrpc.PeerEvent{PubKey: peer, Type: typ})
}

// PeerKey returns a well-formed peer public key numbered i.
func PeerKey(i int) string {
	return fmt.Sprintf("02%064x", i)
}

// ChanPoint returns a well-formed channel point numbered i, in lnd's
// "txid:index" form.
func ChanPoint(i int) string {
	return fmt.Sprintf("%064x:%d", i, i%3)
}

// SetPingTime sets the ping time ListPeers gives for peer, in
// microseconds.
func (s *Server) SetPingTime(peer string, us int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pingTime[peer] = us
}
