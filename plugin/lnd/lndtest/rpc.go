package lndtest

import (
	"context"
	"sort"

	"github.com/lightningnetwork/lnd/lnrpc"
	"google.golang.org/protobuf/proto"
)

// service is the gRPC face of a Server.
type service struct {
	lnrpc.UnimplementedLightningServer
	s *Server
}

// sub is one open event stream.
type sub[T any] struct {
	events chan T
	end    chan error
}

func newSub[T any]() *sub[T] {
	return &sub[T]{events: make(chan T, 4096), end: make(chan error, 1)}
}

// GetInfo implements lnrpc.LightningServer.
func (v service) GetInfo(context.Context,
	*lnrpc.GetInfoRequest) (*lnrpc.GetInfoResponse, error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, on := range s.online {
		if on {
			n++
		}
	}
	return &lnrpc.GetInfoResponse{
		IdentityPubkey:    Identity,
		Alias:             "lndtest",
		Version:           "0.21.1-beta lndtest",
		NumActiveChannels: uint32(len(s.channels)),
		NumPeers:          uint32(n),
		BlockHeight:       s.height,
		SyncedToChain:     true,
	}, nil
}

// ListChannels implements lnrpc.LightningServer.
func (v service) ListChannels(context.Context,
	*lnrpc.ListChannelsRequest) (*lnrpc.ListChannelsResponse, error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &lnrpc.ListChannelsResponse{}
	for _, ch := range s.channels {
		c := proto.Clone(ch).(*lnrpc.Channel)
		c.Active = s.online[ch.RemotePubkey]
		resp.Channels = append(resp.Channels, c)
	}
	sort.Slice(resp.Channels, func(i, j int) bool {
		return resp.Channels[i].ChannelPoint <
			resp.Channels[j].ChannelPoint
	})
	return resp, nil
}

// ListPeers implements lnrpc.LightningServer.
func (v service) ListPeers(context.Context,
	*lnrpc.ListPeersRequest) (*lnrpc.ListPeersResponse, error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &lnrpc.ListPeersResponse{}
	for p, on := range s.online {
		if on {
			resp.Peers = append(resp.Peers, &lnrpc.Peer{PubKey: p,
				Address: "127.0.0.1:9735", Inbound: true,
				PingTime: s.pingTime[p]})
		}
	}
	sort.Slice(resp.Peers, func(i, j int) bool {
		return resp.Peers[i].PubKey < resp.Peers[j].PubKey
	})
	return resp, nil
}

// ClosedChannels implements lnrpc.LightningServer.
func (v service) ClosedChannels(context.Context,
	*lnrpc.ClosedChannelsRequest) (*lnrpc.ClosedChannelsResponse, error) {
	s := v.s

	s.mu.Lock()
	defer s.mu.Unlock()
	resp := &lnrpc.ClosedChannelsResponse{}
	for _, c := range s.closed {
		resp.Channels = append(resp.Channels,
			proto.Clone(c).(*lnrpc.ChannelCloseSummary))
	}
	return resp, nil
}

// SubscribeChannelEvents implements lnrpc.LightningServer.
func (v service) SubscribeChannelEvents(_ *lnrpc.ChannelEventSubscription,
	stream lnrpc.Lightning_SubscribeChannelEventsServer) error {

	return serve(stream.Context(), v.s, v.s.chanSubs, stream.Send)
}

// SubscribePeerEvents implements lnrpc.LightningServer.
func (v service) SubscribePeerEvents(_ *lnrpc.PeerEventSubscription,
	stream lnrpc.Lightning_SubscribePeerEventsServer) error {

	return serve(stream.Context(), v.s, v.s.peerSubs, stream.Send)
}

// serve registers a subscription in subs for as long as its stream lasts
// and pumps its events into the stream.
func serve[T any](ctx context.Context, s *Server, subs map[*sub[T]]bool,
	send func(T) error) error {

	su := newSub[T]()
	s.mu.Lock()
	subs[su] = true
	s.notifyLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(subs, su)
		s.notifyLocked()
		s.mu.Unlock()
	}()
	return pump(ctx, su, send)
}

// pump sends a subscription's events until it is ended or the client
// goes away.
func pump[T any](ctx context.Context, su *sub[T], send func(T) error) error {
	for {
		select {
		case ev := <-su.events:
			if err := send(ev); err != nil {
				return err
			}
		case err := <-su.end:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
