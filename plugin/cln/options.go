package cln

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/internal/advice"
	"github.com/chanfitness/chanfitness/plugin/internal/duration"
	"github.com/elementsproject/glightning/glightning"
)

// Option names (lightningd's command line and config file) and defaults.
// The durations are written as package duration reads them ("90d",
// "5m", "1h30m"); 0 turns the periodic thing off.
const (
	optDatadir       = "chanfitness-datadir"
	optStore         = "chanfitness-store"
	optReconcile     = "chanfitness-reconcile-interval"
	optRetention     = "chanfitness-closed-retention"
	optRetentionDays = "chanfitness-closed-retention-days"
	optGrace         = "chanfitness-startup-grace"
	optSync          = "chanfitness-sync-interval"
	optPostgresDSN   = "chanfitness-postgres-dsn"

	defaultDatadir = "chanfitness"
	defaultGrace   = "1m"

	// maxGrace bounds the startup grace to an hour.
	maxGrace = time.Hour
)

// The defaults shared with the lnd companion, as option values.
var (
	defaultReconcile = duration.Format(duration.DefaultReconcile)
	defaultRetention = duration.Format(duration.DefaultClosedRetention)
	defaultSync      = duration.Format(core.DefaultSyncInterval)
	maxReconcile     = duration.MaxReconcile
	maxRetention     = duration.MaxClosedRetention
)

// Store kinds for optStore.
const (
	storeBadger   = "badger"
	storeMemory   = "memory"
	storePostgres = "postgres"
)

// settings are the plugin's options, checked.
type settings struct {
	// Datadir holds the badger store; relative to the plugin's working
	// directory, which lightningd sets to <lightning-dir>/<network>.
	Datadir string

	// Store is storeBadger, storeMemory or storePostgres.
	Store string

	// PostgresDSN is the database of storePostgres.
	PostgresDSN string

	// Reconcile is the interval between reconcile snapshots; 0 takes
	// none after the first.
	Reconcile time.Duration

	// Retention is how long closed channels stay in reports; negative
	// keeps them forever (core's convention).
	Retention time.Duration

	// Grace is how long after lightningd starts its channel peers may
	// take to reconnect before their absence counts; 0 disables it.
	Grace time.Duration

	// Sync is how often the store is synced and the heartbeat written.
	Sync time.Duration

	// Advice holds the verdicts', export's and alerts' options.
	Advice advice.Settings

	// Listen says whether and how to serve HTTP.
	Listen listenSettings
}

// optPrefix starts the name of every option of the plugin.
const optPrefix = "chanfitness-"

// adviceName is an advice option's name on Core Lightning.
func adviceName(o advice.Option) string {
	return "option " + optPrefix + o.Name
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
			"restarts), postgres (in the database of "+
			optPostgresDSN+") or memory (lost at exit)",
			storeBadger),
		glightning.NewStringOption(optPostgresDSN, "With "+
			optStore+"=postgres: the database's connection "+
			"string, postgres://user:password@host:port/db or "+
			"key=value pairs", ""),
		glightning.NewStringOption(optReconcile, "How often "+
			"chanfitness checks listpeerchannels and listpeers to "+
			"repair missed notifications, such as 5m; 0 never "+
			"(a bare number is seconds)", defaultReconcile),
		glightning.NewStringOption(optRetention, "How long a closed "+
			"channel stays in chanfitness reports, such as 90d; "+
			"0 keeps them forever", defaultRetention),
		glightning.NewStringOption(optRetentionDays, "Deprecated: "+
			"use "+optRetention+"; days a closed channel stays "+
			"in reports, 0 forever", ""),
		glightning.NewStringOption(optGrace, "How long after "+
			"lightningd starts the time stays unmonitored while "+
			"channel peers reconnect (until all are back), such "+
			"as 1m; 0 none (a bare number is seconds)",
			defaultGrace),
		glightning.NewStringOption(optSync, "How often, such as "+
			"1m, the heartbeat is written, failed writes are "+
			"tried again and the history is made durable: "+
			"badger syncs it to disk (a machine crash loses at "+
			"most this much; an idle node syncs no more often); "+
			"postgres, which commits every write as it is made, "+
			"has the server flush its write-ahead log",
			defaultSync),
	}
	opts = append(opts, listenOptions()...)
	for _, o := range advice.Options() {
		usage := o.Usage
		if o.Name == advice.ExportDir {
			usage += " (a relative path is under " +
				"<lightning-dir>/<network>)"
		}
		opts = append(opts, glightning.NewStringOption(
			optPrefix+o.Name, usage, o.Default))
	}
	for _, o := range opts {
		if err := p.RegisterOption(o); err != nil {
			return fmt.Errorf("register option %s: %w",
				o.GetName(), err)
		}
	}
	return nil
}

// optionValues are the option values glightning parsed from init.
type optionValues struct {
	Datadir       string
	Store         string
	PostgresDSN   string
	Reconcile     string
	Retention     string
	RetentionDays string
	Grace         string
	Sync          string

	// Advice holds the advice options' values by advice name.
	Advice map[string]string

	// Listen holds the HTTP listener's.
	Listen listenValues
}

// readOptions takes the option values out of glightning.
func readOptions(p *glightning.Plugin) (optionValues, error) {
	var v optionValues
	for _, o := range []struct {
		name string
		val  *string
	}{
		{optDatadir, &v.Datadir},
		{optStore, &v.Store},
		{optPostgresDSN, &v.PostgresDSN},
		{optReconcile, &v.Reconcile},
		{optRetention, &v.Retention},
		{optRetentionDays, &v.RetentionDays},
		{optGrace, &v.Grace},
		{optSync, &v.Sync},
	} {
		var err error
		if *o.val, err = p.GetOption(o.name); err != nil {
			return v, err
		}
	}
	var err error
	if v.Listen, err = readListenOptions(p); err != nil {
		return v, err
	}
	v.Advice = make(map[string]string)
	for _, o := range advice.Options() {
		val, err := p.GetOption(optPrefix + o.Name)
		if err != nil {
			return v, err
		}
		v.Advice[o.Name] = val
	}
	return v, nil
}

// parseDuration reads the value of a duration option: the vocabulary of
// package duration or, as the option took before, a bare whole number of
// legacy units.
func parseDuration(name, v string, legacy time.Duration) (time.Duration,
	error) {

	if v != "" && strings.Trim(v, "0123456789") == "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > int64(maxRetention/legacy) {
			return 0, fmt.Errorf("option %s: %q is out of range",
				name, v)
		}
		return time.Duration(n) * legacy, nil
	}
	d, err := duration.Parse(v)
	if err != nil {
		return 0, fmt.Errorf("option %s: %w", name, err)
	}
	return d, nil
}

// inRange checks that d is 0 or within [lo, hi].
func inRange(name string, d, lo, hi time.Duration, zero string) error {
	if err := duration.InRange(d, lo, hi, zero); err != nil {
		return fmt.Errorf("option %s: %w", name, err)
	}
	return nil
}

// check validates option values. Every error names the option and the
// value, and becomes the reason the plugin disables itself at init.
func (v optionValues) check() (settings, error) {
	s := settings{Datadir: v.Datadir, Store: v.Store}
	if s.Datadir == "" {
		return settings{}, fmt.Errorf("option %s: empty path",
			optDatadir)
	}
	if err := v.checkStore(&s); err != nil {
		return settings{}, err
	}
	if err := v.checkDurations(&s); err != nil {
		return settings{}, err
	}
	var err error
	if s.Advice, err = advice.Parse(v.Advice, "",
		adviceName); err != nil {

		return settings{}, err
	}
	if s.Listen, err = v.Listen.check(); err != nil {
		return settings{}, err
	}
	return s, nil
}

// checkStore checks the store options into s.
func (v optionValues) checkStore(s *settings) error {
	s.PostgresDSN = v.PostgresDSN
	switch s.Store {
	case storeBadger, storeMemory:
		if s.PostgresDSN != "" {
			return fmt.Errorf("option %s is given but "+
				"%s is %s: set %s=%s", optPostgresDSN,
				optStore, s.Store, optStore, storePostgres)
		}
	case storePostgres:
		if s.PostgresDSN == "" {
			return fmt.Errorf("option %s=%s needs "+
				"option %s", optStore, storePostgres,
				optPostgresDSN)
		}
	default:
		return fmt.Errorf("option %s: %q is not a store "+
			"kind: want %s, %s or %s", optStore, s.Store,
			storeBadger, storePostgres, storeMemory)
	}
	return nil
}

// checkDurations checks the reconcile, retention, grace and sync
// options into s.
func (v optionValues) checkDurations(s *settings) error {
	var err error
	if s.Reconcile, err = parseDuration(optReconcile, v.Reconcile,
		time.Second); err != nil {

		return err
	}
	if err := inRange(optReconcile, s.Reconcile, time.Second,
		maxReconcile, "never"); err != nil {

		return err
	}

	name, val, legacy := optRetention, v.Retention, 24*time.Hour
	if v.RetentionDays != "" {
		if v.Retention != defaultRetention {
			return fmt.Errorf("options %s and %s: "+
				"give one (%s is the older name)", optRetention,
				optRetentionDays, optRetentionDays)
		}
		name, val = optRetentionDays, v.RetentionDays
	}
	if s.Retention, err = parseDuration(name, val, legacy); err != nil {
		return err
	}
	if err := inRange(name, s.Retention, time.Second, maxRetention,
		"forever"); err != nil {

		return err
	}
	if s.Retention == 0 {
		// core keeps closed channels forever when negative.
		s.Retention = -1
	}

	if s.Grace, err = parseDuration(optGrace, v.Grace,
		time.Second); err != nil {

		return err
	}
	if err := inRange(optGrace, s.Grace, time.Second, maxGrace,
		"none"); err != nil {

		return err
	}

	if s.Sync, err = parseDuration(optSync, v.Sync,
		time.Second); err != nil {

		return err
	}
	if s.Sync == 0 {
		return fmt.Errorf("option %s: %q: want a "+
			"duration of at least 1s", optSync, v.Sync)
	}
	if err := inRange(optSync, s.Sync, time.Second, maxReconcile,
		"never"); err != nil {

		return err
	}
	return nil
}
