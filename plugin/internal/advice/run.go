package advice

import (
	"context"
	"fmt"

	"github.com/chanfitness/chanfitness/alert"
	"github.com/chanfitness/chanfitness/export"
	"github.com/lightningnetwork/lnd/clock"
)

// Logger receives the export's and the alerts' log lines.
type Logger interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Source is what the export and the alerts read: the monitor.
type Source interface {
	alert.Source
	export.Source
}

// Running is the export and the alerts of one monitor.
type Running struct {
	exp *export.Exporter
	al  *alert.Alerter
}

// Start starts, for a started monitor, the export when s names a
// directory and the alerts when there is a way to deliver them (s's
// webhook and command, and extra).
func Start(ctx context.Context, s Settings, mon Source,
	clk clock.Clock, log Logger, extra ...alert.Sink) (*Running, error) {

	r := &Running{}
	if s.ExportDir != "" {
		exp, err := export.New(export.Config{Dir: s.ExportDir,
			Source: mon, Clock: clk, Logger: log})
		if err != nil {
			return nil, err
		}
		if err := exp.Start(ctx); err != nil {
			// The error names the directory; the front ends'
			// option names differ.
			return nil, fmt.Errorf("export: %w", err)
		}
		r.exp = exp
	}
	sinks := extra
	if s.Webhook != "" {
		sinks = append(sinks, &alert.Webhook{URL: s.Webhook})
	}
	if s.Command != "" {
		sinks = append(sinks, &alert.Command{Command: s.Command})
	}
	if len(sinks) > 0 {
		al, err := alert.New(alert.Config{Source: mon, Sinks: sinks,
			OfflineAfter: s.OfflineAfter,
			VerdictAfter: s.VerdictAfter, Clock: clk, Logger: log})
		if err == nil {
			err = al.Start()
		}
		if err != nil {
			r.Stop()
			return nil, err
		}
		r.al = al
	}
	return r, nil
}

// Stop stops what Start started; safe on nil and more than once.
func (r *Running) Stop() {
	if r == nil {
		return
	}
	if r.al != nil {
		r.al.Stop()
	}
	if r.exp != nil {
		r.exp.Stop()
	}
}

// Counts returns the alerts' counters (empty without alerts).
func (r *Running) Counts() alert.Counts {
	if r == nil || r.al == nil {
		return alert.Counts{}
	}
	return r.al.Counts()
}
