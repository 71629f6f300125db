package core

import (
	"context"
	"fmt"
	"time"
)

// SnapshotChannel is an open channel as the node lists it.
type SnapshotChannel struct {
	Point          ChannelPoint
	Peer           PeerID
	ShortChannelID string
}

// Snapshot is the node's state at one moment: its open channels and the
// peers that are connected. Peers not listed as online are offline.
type Snapshot struct {
	// Time is when the snapshot was taken; zero means the clock now.
	Time time.Time

	Channels    []SnapshotChannel
	OnlinePeers []PeerID
}

// Validate checks that the snapshot is well formed: a representable time,
// and no zero peer or channel point.
func (s Snapshot) Validate() error {
	if !timeInRange(s.Time) {
		return fmt.Errorf("%w: snapshot time %v out of range",
			ErrBadInput, s.Time)
	}
	for _, c := range s.Channels {
		if c.Point == (ChannelPoint{}) {
			return fmt.Errorf("%w: snapshot channel of peer %v "+
				"without a channel point", ErrBadInput, c.Peer)
		}
		if c.Peer.IsZero() {
			return fmt.Errorf("%w: snapshot channel %v without a "+
				"peer", ErrBadInput, c.Point)
		}
	}
	for _, p := range s.OnlinePeers {
		if p.IsZero() {
			return fmt.Errorf("%w: snapshot lists a zero online "+
				"peer", ErrBadInput)
		}
	}
	return nil
}

// Sink is what an EventSource feeds. *Monitor implements it.
type Sink interface {
	// Sync reports that the source is connected to its node, with the
	// node's current state. It ends any unmonitored gap and reconciles:
	// unknown channels are opened, vanished channels are closed, and a
	// peer state that differs is recorded without counting a flap.
	Sync(ctx context.Context, snap Snapshot) error

	// Apply applies one event, in arrival order.
	Apply(ctx context.Context, ev Event) error

	// NodeLost reports that the source lost its node at the given time
	// (zero: now). Time until the next Sync is unmonitored.
	NodeLost(ctx context.Context, at time.Time) error
}

// EventSource connects the monitor to a node. Run must subscribe to the
// node's events first, then take a snapshot and pass it to Sync, then pass
// the events to Apply in the order they arrived, so that nothing between
// snapshot and stream is lost (duplicates are harmless). When the node is
// lost it calls NodeLost, reconnects, and starts over with a new Sync. Run
// returns when ctx is done.
type EventSource interface {
	Run(ctx context.Context, sink Sink) error
}
