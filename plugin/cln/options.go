package cln

import (
	"fmt"
	"time"

	"github.com/elementsproject/glightning/glightning"
)

// Option names (lightningd's command line and config file) and defaults.
const (
	optDatadir   = "chanfitness-datadir"
	optStore     = "chanfitness-store"
	optReconcile = "chanfitness-reconcile-interval"
	optRetention = "chanfitness-closed-retention-days"
	optGrace     = "chanfitness-startup-grace"

	defaultDatadir   = "chanfitness"
	defaultReconcile = 60
	defaultRetention = 90
	defaultGrace     = 60

	// maxReconcile and maxRetention bound the int options to values
	// that make sense (a day; a century).
	maxReconcile = 24 * 60 * 60
	maxRetention = 36500
	maxGrace     = 60 * 60
)

// Store kinds for optStore.
const (
	storeBadger = "badger"
	storeMemory = "memory"
)

// settings are the plugin's options, checked.
type settings struct {
	// Datadir holds the badger store; relative to the plugin's working
	// directory, which lightningd sets to <lightning-dir>/<network>.
	Datadir string

	// Store is storeBadger or storeMemory.
	Store string

	// Reconcile is the interval between reconcile snapshots.
	Reconcile time.Duration

	// Retention is how long closed channels stay in reports; negative
	// keeps them forever (core's convention).
	Retention time.Duration

	// Grace is how long after lightningd starts its channel peers may
	// take to reconnect before their absence counts; 0 disables it.
	Grace time.Duration
}

// registerOptions declares the options to glightning, which puts them in
// the manifest and parses their values in init.
func registerOptions(p *glightning.Plugin) error {
	opts := []glightning.Option{
		glightning.NewStringOption(optDatadir, "Directory of the "+
			"chanfitness history (badger store); relative paths "+
			"are under <lightning-dir>/<network>", defaultDatadir),
		glightning.NewStringOption(optStore, "Where chanfitness "+
			"keeps its history: badger (on disk, survives "+
			"restarts) or memory (lost at exit)", storeBadger),
		glightning.NewIntOption(optReconcile, "Seconds between "+
			"chanfitness checks of listpeerchannels and listpeers "+
			"that repair missed notifications", defaultReconcile),
		glightning.NewIntOption(optRetention, "Days a closed "+
			"channel stays in chanfitness reports; 0 keeps them "+
			"forever", defaultRetention),
		glightning.NewIntOption(optGrace, "Seconds after lightningd "+
			"starts that stay unmonitored while channel peers "+
			"reconnect (until all are back); 0 disables",
			defaultGrace),
	}
	for _, o := range opts {
		if err := p.RegisterOption(o); err != nil {
			return fmt.Errorf("register option %s: %w",
				o.GetName(), err)
		}
	}
	return nil
}

// optionValues reads the values glightning parsed from init.
type optionValues struct {
	Datadir   string
	Store     string
	Reconcile int
	Retention int
	Grace     int
}

// readOptions takes the option values out of glightning.
func readOptions(p *glightning.Plugin) (optionValues, error) {
	var v optionValues
	var err error
	if v.Datadir, err = p.GetOption(optDatadir); err != nil {
		return v, err
	}
	if v.Store, err = p.GetOption(optStore); err != nil {
		return v, err
	}
	if v.Reconcile, err = p.GetIntOption(optReconcile); err != nil {
		return v, err
	}
	if v.Retention, err = p.GetIntOption(optRetention); err != nil {
		return v, err
	}
	if v.Grace, err = p.GetIntOption(optGrace); err != nil {
		return v, err
	}
	return v, nil
}

// check validates option values. Every error names the option and the
// value, and becomes the reason the plugin disables itself at init.
func (v optionValues) check() (settings, error) {
	s := settings{Datadir: v.Datadir, Store: v.Store}
	if s.Datadir == "" {
		return settings{}, fmt.Errorf("option %s: empty path",
			optDatadir)
	}
	switch s.Store {
	case storeBadger, storeMemory:
	default:
		return settings{}, fmt.Errorf("option %s: %q is not a store "+
			"kind: want %s or %s", optStore, s.Store, storeBadger,
			storeMemory)
	}
	if v.Reconcile < 1 || v.Reconcile > maxReconcile {
		return settings{}, fmt.Errorf("option %s: %d seconds is out "+
			"of range: want 1 to %d", optReconcile, v.Reconcile,
			maxReconcile)
	}
	s.Reconcile = time.Duration(v.Reconcile) * time.Second
	switch {
	case v.Retention == 0:
		s.Retention = -1
	case v.Retention > 0 && v.Retention <= maxRetention:
		s.Retention = time.Duration(v.Retention) * 24 * time.Hour
	default:
		return settings{}, fmt.Errorf("option %s: %d days is out of "+
			"range: want 0 (forever) to %d", optRetention,
			v.Retention, maxRetention)
	}
	if v.Grace < 0 || v.Grace > maxGrace {
		return settings{}, fmt.Errorf("option %s: %d seconds is out "+
			"of range: want 0 (none) to %d", optGrace, v.Grace,
			maxGrace)
	}
	s.Grace = time.Duration(v.Grace) * time.Second
	return s, nil
}
