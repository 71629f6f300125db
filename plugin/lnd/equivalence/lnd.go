package equivalence

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/wire"
	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/chanfitness"
	"github.com/lightningnetwork/lnd/channeldb"
	"github.com/lightningnetwork/lnd/channelnotifier"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/peernotifier"
	"github.com/lightningnetwork/lnd/routing/route"
	"github.com/lightningnetwork/lnd/subscribe"
	"github.com/lightningnetwork/lnd/ticker"
)

// LNDVersion is the lnd release whose chanfitness package LND drives.
const LNDVersion = "v0.21.1-beta"

var (
	// ErrLNDStopped is returned by LND calls made after Stop.
	ErrLNDStopped = errors.New("lnd event store stopped")

	// ErrEventTime is returned by LND.Apply for an event with a time:
	// lnd stamps every event with its clock, so the caller sets the
	// clock instead.
	ErrEventTime = errors.New("lnd takes event times from its clock")

	// ErrInvalidSequence is returned by Model.Apply for a step that the
	// generator never produces (see Valid).
	ErrInvalidSequence = errors.New("invalid step sequence")
)

// subscription is a subscribe.Subscription whose updates channel is
// unbuffered, so that a send returns only once lnd's event loop has
// received the update.
type subscription struct {
	updates chan interface{}
	quit    chan struct{}
	once    sync.Once
}

var _ subscribe.Subscription = (*subscription)(nil)

func newSubscription() *subscription {
	return &subscription{
		updates: make(chan interface{}),
		quit:    make(chan struct{}),
	}
}

// Updates implements subscribe.Subscription.
func (s *subscription) Updates() <-chan interface{} { return s.updates }

// Quit implements subscribe.Subscription.
func (s *subscription) Quit() <-chan struct{} { return s.quit }

// Cancel implements subscribe.Subscription. lnd calls it when its event
// loop exits; the updates channel stays open so that a late send fails
// through quit instead of panicking.
func (s *subscription) Cancel() { s.once.Do(func() { close(s.quit) }) }

// send hands u to lnd's event loop and returns once the loop received it.
func (s *subscription) send(u interface{}) error {
	select {
	case s.updates <- u:
		return nil
	case <-s.quit:
		return ErrLNDStopped
	}
}

// LND drives lnd's chanfitness.ChannelEventStore synchronously: Apply
// returns only once lnd has processed the event, so the caller may move
// the clock or query right after it. lnd's event loop selects at random
// among its channel-event, peer-event and request channels, so Apply sends
// the event on an unbuffered subscription (the send returns when the loop
// took it) and then makes a round-trip flap-count query, which the loop
// serves only after it finished with the event.
//
// Flap counts lnd flushes (on Stop only: the flush ticker is never forced)
// are kept in memory and read back when lnd creates a peer monitor.
type LND struct {
	store   *chanfitness.ChannelEventStore
	chanSub *subscription
	peerSub *subscription

	// keys caches parsed public keys: lnd's channel events carry them.
	keys map[core.PeerID]*btcec.PublicKey

	mu    sync.Mutex
	flaps map[route.Vertex]channeldb.FlapCount
}

// NewLND starts an lnd channel event store that reads time from clk and
// tracks no channel yet.
func NewLND(clk clock.Clock) (*LND, error) {
	l := &LND{
		chanSub: newSubscription(),
		peerSub: newSubscription(),
		keys:    make(map[core.PeerID]*btcec.PublicKey),
		flaps:   make(map[route.Vertex]channeldb.FlapCount),
	}
	l.store = chanfitness.NewChannelEventStore(&chanfitness.Config{
		SubscribeChannelEvents: func() (subscribe.Subscription,
			error) {

			return l.chanSub, nil
		},
		SubscribePeerEvents: func() (subscribe.Subscription, error) {
			return l.peerSub, nil
		},
		GetOpenChannels: func() ([]*channeldb.OpenChannel, error) {
			return nil, nil
		},
		Clock:           clk,
		WriteFlapCount:  l.writeFlapCount,
		ReadFlapCount:   l.readFlapCount,
		FlapCountTicker: ticker.NewForce(chanfitness.FlapCountFlushRate),
	})
	if err := l.store.Start(); err != nil {
		return nil, fmt.Errorf("start lnd %s channel event store: %w",
			LNDVersion, err)
	}
	return l, nil
}

func (l *LND) writeFlapCount(m map[route.Vertex]*channeldb.FlapCount) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for v, fc := range m {
		l.flaps[v] = *fc
	}
	return nil
}

func (l *LND) readFlapCount(v route.Vertex) (*channeldb.FlapCount, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fc, ok := l.flaps[v]
	if !ok {
		return nil, channeldb.ErrNoPeerBucket
	}
	return &fc, nil
}

// Stop stops lnd's event loop.
func (l *LND) Stop() error {
	return l.store.Stop()
}

// pubKey returns the parsed public key of peer.
func (l *LND) pubKey(peer core.PeerID) (*btcec.PublicKey, error) {
	if k, ok := l.keys[peer]; ok {
		return k, nil
	}
	k, err := btcec.ParsePubKey(peer[:])
	if err != nil {
		return nil, fmt.Errorf("peer %v: %w", peer, err)
	}
	l.keys[peer] = k
	return k, nil
}

// Apply hands ev to lnd and returns once lnd has processed it. ev.Time
// must be zero: lnd stamps the event with its clock's time.
func (l *LND) Apply(ev core.Event) error {
	if !ev.Time.IsZero() {
		return fmt.Errorf("%w: %v event for peer %v at %v", ErrEventTime,
			ev.Type, ev.Peer, ev.Time)
	}
	if err := ev.Validate(); err != nil {
		return err
	}

	var (
		sub *subscription
		u   interface{}
	)
	switch ev.Type {
	case core.PeerOnline:
		sub, u = l.peerSub, peernotifier.PeerOnlineEvent{PubKey: ev.Peer}

	case core.PeerOffline:
		sub, u = l.peerSub, peernotifier.PeerOfflineEvent{
			PubKey: ev.Peer,
		}

	case core.ChannelOpened:
		k, err := l.pubKey(ev.Peer)
		if err != nil {
			return err
		}
		sub, u = l.chanSub, channelnotifier.OpenChannelEvent{
			Channel: &channeldb.OpenChannel{
				FundingOutpoint: outPoint(ev.Channel),
				IdentityPub:     k,
			},
		}

	case core.ChannelClosed:
		k, err := l.pubKey(ev.Peer)
		if err != nil {
			return err
		}
		sub, u = l.chanSub, channelnotifier.ClosedChannelEvent{
			CloseSummary: &channeldb.ChannelCloseSummary{
				ChanPoint: outPoint(ev.Channel),
				RemotePub: k,
			},
		}
	}

	if err := sub.send(u); err != nil {
		return fmt.Errorf("%v event for peer %v: %w", ev.Type, ev.Peer,
			err)
	}

	// The loop serves this query only after it finished with the event.
	if _, _, err := l.store.FlapCount(route.Vertex{}); err != nil {
		return fmt.Errorf("%v event for peer %v: wait for lnd: %w",
			ev.Type, ev.Peer, err)
	}
	return nil
}

// ChannelInfo returns lnd's lifetime and uptime of an open channel. Errors
// wrap core.ErrPeerNotFound or core.ErrChannelNotFound (besides lnd's own)
// when lnd knows neither the peer nor the channel.
func (l *LND) ChannelInfo(peer core.PeerID, cp core.ChannelPoint) (
	lifetime, uptime time.Duration, err error) {

	info, err := l.store.GetChanInfo(outPoint(cp), route.Vertex(peer))
	switch {
	case errors.Is(err, chanfitness.ErrPeerNotFound):
		return 0, 0, fmt.Errorf("lnd channel %v: %w (%w)", cp,
			core.ErrPeerNotFound, err)

	case errors.Is(err, chanfitness.ErrChannelNotFound):
		return 0, 0, fmt.Errorf("lnd channel %v: %w (%w)", cp,
			core.ErrChannelNotFound, err)

	case err != nil:
		return 0, 0, fmt.Errorf("lnd channel %v: %w", cp, err)
	}
	return info.Lifetime, info.Uptime, nil
}

// FlapCount returns lnd's flap count of peer and its last flap (nil when
// lnd recorded none). For a peer lnd does not track it returns 0 and nil.
func (l *LND) FlapCount(peer core.PeerID) (int, *time.Time, error) {
	n, last, err := l.store.FlapCount(route.Vertex(peer))
	if err != nil {
		return 0, nil, fmt.Errorf("lnd flap count of peer %v: %w", peer,
			err)
	}
	return n, last, nil
}

// outPoint converts a channel point to lnd's form (same byte order).
func outPoint(cp core.ChannelPoint) wire.OutPoint {
	return wire.OutPoint{Hash: cp.Txid, Index: cp.Index}
}
