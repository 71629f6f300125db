package cln

import (
	"fmt"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
	"github.com/chanfitness/chanfitness/plugin/internal/advice"
	"github.com/chanfitness/chanfitness/storage/postgres"
)

// instance is a bootstrapped plugin: store, monitor, RPC client and the
// event source the monitor runs. The monitor is safe for concurrent use.
type instance struct {
	log     pluginLogger
	rpc     nodeRPC
	store   core.Store
	mon     Monitor
	src     *source
	started bool

	// srv is the HTTP listener (nil unless chanfitness-listen).
	srv *httpapi.Server

	// adv is the export and the alerts (nil until started).
	adv *advice.Running

	// fleet reads the fleet view (nil unless the postgres store).
	fleet *postgres.FleetReader
}

// close stops the monitor (and with it the source; a last heartbeat and a
// sync) and closes the store and the RPC connection. reason is logged
// when not empty.
func (s *instance) close(reason string) error {
	s.stopListener()
	s.adv.Stop()
	var err error
	if s.mon != nil && s.started {
		if serr := s.mon.Stop(); serr != nil {
			err = fmt.Errorf("stop monitor: %w", serr)
		}
	}
	if s.fleet != nil {
		_ = s.fleet.Close()
	}
	if s.store != nil {
		if cerr := s.store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}
	if s.rpc != nil {
		_ = s.rpc.Close()
	}
	if reason != "" {
		if err != nil {
			s.log.Errorf("stopped (%s): %v", reason, err)
		} else {
			s.log.Infof("stopped (%s): history flushed", reason)
		}
	}
	return err
}
