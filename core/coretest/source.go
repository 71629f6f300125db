package coretest

import (
	"context"
	"sync"
	"testing"

	"github.com/chanfitness/chanfitness/core"
)

// Attached is an EventSource for tests that feed the monitor themselves
// through its Sink methods. At Run it syncs the monitor with the state
// the monitor already holds (its open channels, and its peers online as
// last known), as a node that changed nothing while the monitor was down
// would, and then waits for the run to end.
type Attached struct {
	once   sync.Once
	synced chan error
}

var _ core.EventSource = (*Attached)(nil)

// NewAttached returns a source for one run of a monitor.
func NewAttached() *Attached {
	return &Attached{synced: make(chan error, 1)}
}

// reporter is the part of *core.Monitor Attached reads its state from.
type reporter interface {
	Report(ctx context.Context, q core.ReportQuery) (core.Report, error)
}

// Run implements core.EventSource.
func (a *Attached) Run(ctx context.Context, sink core.Sink) error {
	err := a.sync(ctx, sink)
	a.once.Do(func() { a.synced <- err })
	if err != nil {
		return err
	}
	<-ctx.Done()
	return ctx.Err()
}

func (a *Attached) sync(ctx context.Context, sink core.Sink) error {
	var snap core.Snapshot
	if r, ok := sink.(reporter); ok {
		rep, err := r.Report(ctx, core.ReportQuery{})
		if err != nil {
			return err
		}
		for _, c := range rep.Channels {
			if c.Status != "open" {
				continue
			}
			cp, err := core.ParseChannelPoint(c.ChannelPoint)
			if err != nil {
				return err
			}
			p, err := core.ParsePeerID(c.PeerID)
			if err != nil {
				return err
			}
			sc := core.SnapshotChannel{Point: cp, Peer: p}
			if c.ShortChannelID != nil {
				sc.ShortChannelID = *c.ShortChannelID
			}
			snap.Channels = append(snap.Channels, sc)
		}
		for _, p := range rep.Peers {
			if !p.Online {
				continue
			}
			id, err := core.ParsePeerID(p.PeerID)
			if err != nil {
				return err
			}
			snap.OnlinePeers = append(snap.OnlinePeers, id)
		}
	}
	return sink.Sync(ctx, snap)
}

// Synced waits until Run has synced the monitor and returns the sync's
// error.
func (a *Attached) Synced() error {
	err := <-a.synced
	a.synced <- err
	return err
}

// Wait waits until Run has synced the monitor and fails tb if the sync
// failed.
func (a *Attached) Wait(tb testing.TB) {
	tb.Helper()
	if err := a.Synced(); err != nil {
		tb.Fatalf("attached source: first sync: %v", err)
	}
}
