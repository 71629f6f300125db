package core

import (
	"context"
	"fmt"
	"time"
)

// OpenedAtSource says where a channel's open time comes from.
type OpenedAtSource uint8

const (
	// OpenedAtUnknown is the zero value: in a SnapshotChannel with an
	// OpenedAt it means OpenedAtNode; in a ChannelRecord, OpenedAtSeen.
	OpenedAtUnknown OpenedAtSource = iota

	// OpenedAtSeen: the monitor saw the channel open.
	OpenedAtSeen

	// OpenedAtNode: the node gave the time the channel opened.
	OpenedAtNode

	// OpenedAtEstimated: the time is an estimate (from the funding
	// block, say).
	OpenedAtEstimated
)

// String returns "seen", "node" or "estimated".
func (s OpenedAtSource) String() string {
	switch s {
	case OpenedAtNode:
		return "node"
	case OpenedAtEstimated:
		return "estimated"
	}
	return "seen"
}

// SnapshotChannel is an open channel as the node lists it.
type SnapshotChannel struct {
	Point          ChannelPoint
	Peer           PeerID
	ShortChannelID string

	// OpenedAt is when the channel opened, as the node says or as the
	// adapter estimates it (OpenedAtSource); zero when unknown. It is
	// used for a channel the monitor did not see open: for its
	// opened_at and age, never for its lifetime or uptime, which count
	// monitored time only.
	OpenedAt       time.Time
	OpenedAtSource OpenedAtSource

	// FundingHeight is the block height of the funding transaction (0:
	// unknown).
	FundingHeight uint32
}

// Snapshot is the node's state at one moment: its open channels and the
// peers that are connected. Peers not listed as online are offline.
type Snapshot struct {
	// Time is when the snapshot was taken; zero means the clock now.
	Time time.Time

	// BlockHeight is the node's current block height (0: unknown).
	BlockHeight uint32

	Channels    []SnapshotChannel
	OnlinePeers []PeerID

	// Closed lists channels the node still lists but no longer as
	// open, with when the node recorded their close, where it knows.
	// A channel the monitor holds open that closed during a filled gap
	// closes at that time, not at the gap's end (docs/semantics.md,
	// "History from the node's records").
	Closed []SnapshotClose

	// Partial is set when the node's listing held channels the source
	// could not read: a channel the monitor holds open that Channels
	// leaves out may be one of them, so it is not closed.
	Partial bool
}

// SnapshotClose is the node's record of a channel's close.
type SnapshotClose struct {
	Point    ChannelPoint
	ClosedAt time.Time
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
		if !timeInRange(c.OpenedAt) {
			return fmt.Errorf("%w: snapshot channel %v: open time "+
				"%v out of range", ErrBadInput, c.Point,
				c.OpenedAt)
		}
		if c.OpenedAtSource > OpenedAtEstimated {
			return fmt.Errorf("%w: snapshot channel %v: open time "+
				"source %d unknown", ErrBadInput, c.Point,
				c.OpenedAtSource)
		}
	}
	for _, c := range s.Closed {
		if c.Point == (ChannelPoint{}) || c.ClosedAt.IsZero() ||
			!timeInRange(c.ClosedAt) {

			return fmt.Errorf("%w: snapshot close of %v at %v: "+
				"no channel point or time out of range",
				ErrBadInput, c.Point, c.ClosedAt)
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

	// OpenChannels lists the channels the monitor holds open, ordered
	// by channel point; only those of peer when peer is not nil. A
	// source uses it to tell what closed while it was not running.
	OpenChannels(ctx context.Context, peer *PeerID) ([]ChannelPoint,
		error)
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
