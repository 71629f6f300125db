// Package coretest helps tests build monitors: forced tickers instead of
// timers, started, and stopped when the test ends.
package coretest

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/ticker"
)

// StartMonitor builds and starts a monitor from cfg. Ticker fields left
// nil become forced tickers that only tick when a test sends on them, so
// no timer runs behind the test's clock. Without a Source the monitor
// gets an Attached one, and StartMonitor returns once it has synced: the
// test then feeds the monitor itself. The monitor is stopped when the
// test ends (Stop may also be called before).
func StartMonitor(tb testing.TB, cfg core.Config) *core.Monitor {
	tb.Helper()
	if cfg.SyncTicker == nil {
		cfg.SyncTicker = ticker.NewForce(time.Second)
	}
	if cfg.MaintenanceTicker == nil {
		cfg.MaintenanceTicker = ticker.NewForce(time.Hour)
	}
	var attached *Attached
	if cfg.Source == nil {
		attached = NewAttached()
		cfg.Source = attached
	}
	m, err := core.NewMonitor(cfg)
	if err != nil {
		tb.Fatalf("new monitor: %v", err)
	}
	if err := m.Start(context.Background()); err != nil {
		tb.Fatalf("start monitor: %v", err)
	}
	if attached != nil {
		attached.Wait(tb)
	}
	tb.Cleanup(func() {
		if err := m.Stop(); err != nil {
			tb.Errorf("stop monitor: %v", err)
		}
	})
	return m
}

// Channel returns the report's entry for a channel point
// ("<txid>:<index>").
func Channel(r core.Report, point string) (core.ChannelReport, bool) {
	for _, c := range r.Channels {
		if c.ChannelPoint == point {
			return c, true
		}
	}
	return core.ChannelReport{}, false
}

// Peer returns the report's entry for a peer id (66 hex characters).
func Peer(r core.Report, id string) (core.PeerReport, bool) {
	for _, p := range r.Peers {
		if p.PeerID == id {
			return p, true
		}
	}
	return core.PeerReport{}, false
}
