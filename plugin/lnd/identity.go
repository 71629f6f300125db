package lndsource

import (
	"context"
	"fmt"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// Identity asks lnd for its public key (GetInfo), for a store that keeps
// several nodes' histories apart. While lnd cannot be reached, is locked
// or is starting it retries with Run's backoff until ctx is done; a
// refusal that retrying cannot help (a missing permission, a macaroon lnd
// rejects) is returned at once.
func (s *Source) Identity(ctx context.Context) (core.PeerID, error) {
	cfg := s.cfg.Conn
	for attempt := 0; ; attempt++ {
		id, err := s.identityOnce(ctx)
		if err == nil {
			return id, nil
		}
		if fatal(err) || ctx.Err() != nil {
			return core.PeerID{}, err
		}
		d := s.cfg.Jitter(s.Backoff(attempt))
		s.cfg.Logger.Warnf("learn the node's identity from lnd at %s: "+
			"%v; trying again in %v", cfg.Host, err,
			d.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return core.PeerID{}, ctx.Err()
		case <-s.cfg.Clock.TickAfter(d):
		}
	}
}

func (s *Source) identityOnce(ctx context.Context) (core.PeerID, error) {
	conn, err := Dial(s.cfg.Conn)
	if err != nil {
		return core.PeerID{}, err
	}
	defer conn.Close()
	info, err := s.getInfo(ctx, conn)
	if err != nil {
		return core.PeerID{}, s.cfg.Conn.Classify("GetInfo", err)
	}
	id, err := core.ParsePeerID(info.GetIdentityPubkey())
	if err != nil {
		return core.PeerID{}, fmt.Errorf("lnd's identity_pubkey: %w",
			err)
	}
	return id, nil
}
