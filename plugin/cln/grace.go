package cln

import (
	"context"

	"github.com/chanfitness/chanfitness/core"
)

// startGrace begins the startup grace when snap, taken as lightningd
// starts, lists channel peers that are not connected yet. Until they are
// all back, or the grace period passes, the monitor is not synced: the
// time since its last heartbeat stays unmonitored, and the peers' connect
// notifications count no flap. The sync at the end records each peer's
// state as it is then.
func (s *source) startGrace(snap core.Snapshot) {
	online := make(map[core.PeerID]bool, len(snap.OnlinePeers))
	for _, p := range snap.OnlinePeers {
		online[p] = true
	}
	wait := make(map[core.PeerID]bool)
	for _, c := range snap.Channels {
		if !online[c.Peer] {
			wait[c.Peer] = true
		}
	}
	if len(wait) == 0 {
		return
	}
	s.grace = wait
	s.log.Infof("lightningd started: waiting for %d channel peers to "+
		"reconnect before monitoring resumes", len(wait))
}

// graceEvent takes a peer's connect or disconnect during the startup
// grace, and ends the grace when the last awaited peer is back.
func (s *source) graceEvent(ctx context.Context, peer core.PeerID,
	online bool) {

	if !online {
		return
	}
	delete(s.grace, peer)
	if len(s.grace) == 0 {
		s.endGrace(ctx, "every channel peer reconnected")
	}
}

// endGrace ends the startup grace with a sync; a failed sync is repaired
// by the next reconcile.
func (s *source) endGrace(ctx context.Context, why string) {
	if s.grace == nil {
		return
	}
	missing := len(s.grace)
	s.grace = nil
	s.log.Infof("monitoring resumes (%s; %d channel peers still "+
		"away)", why, missing)
	s.reconcile(ctx)
}
