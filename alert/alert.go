// Package alert tells the operator when a peer with a channel has been
// offline for a while, when it is back after such an alert, and when a
// peer's verdict changes. Alerts are kept in the monitor's store until
// every delivery (a webhook, a command, a Core Lightning notification)
// has taken them, so that they survive a restart, and the store keeps a
// mark of what was sent, so that a restart sends nothing twice.
package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/internal/loop"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
)

// Kinds of alert.
const (
	KindOffline = "peer_offline"
	KindBack    = "peer_back"
	KindVerdict = "verdict_changed"
)

// Defaults of Config.
const (
	DefaultOfflineAfter = 30 * time.Minute
	DefaultVerdictAfter = 6 * time.Hour
	DefaultInterval     = 30 * time.Second

	// firstRetry is the wait after a first failed delivery; it doubles
	// with each failure up to maxRetry.
	firstRetry = 30 * time.Second
	maxRetry   = time.Hour
)

// Key prefixes of the records the alerter keeps in the store.
const (
	// offlinePrefix + peer + "/" + outage start: an offline alert,
	// kept while its outage lasts (the mark that it was sent).
	offlinePrefix = "offline/"

	// backPrefix + peer + "/" + outage start: a back-online alert.
	backPrefix = "back/"

	// changedPrefix + peer + "/" + time: a verdict change alert.
	changedPrefix = "changed/"

	// verdictPrefix + peer: the peer's last verdict told (never
	// delivered).
	verdictPrefix = "verdict/"

	// awayPrefix + peer: since when the peer's verdict has not been
	// the one told (never delivered; see verdictChange).
	awayPrefix = "verdict-away/"
)

// Alert is the JSON body of an alert.
type Alert struct {
	// ID names the alert; a receiver that got it twice (a retry after
	// a lost answer) can tell.
	ID   string    `json:"id"`
	Kind string    `json:"kind"`
	Time core.Time `json:"time"`

	PeerID       string `json:"peer_id"`
	OpenChannels int    `json:"open_channels"`

	// OfflineSince is when the outage began (offline and back).
	OfflineSince core.Time `json:"offline_since"`

	// OfflineSeconds is how long the peer has been offline (offline),
	// or was away (back).
	OfflineSeconds int64 `json:"offline_seconds"`

	// Verdict is the peer's verdict now; PreviousVerdict the one before
	// (verdict_changed only).
	Verdict         string        `json:"verdict"`
	PreviousVerdict string        `json:"previous_verdict,omitempty"`
	Reasons         []core.Reason `json:"reasons"`

	// Text says it in a line.
	Text string `json:"text"`
}

// Source is what the alerter reads and where it keeps its records: the
// monitor.
type Source interface {
	Report(ctx context.Context, q core.ReportQuery) (core.Report, error)
	Connected() (bool, time.Time)
	Subscribe() (<-chan struct{}, func())
	Alerts() []core.AlertRecord
	PutAlerts(ctx context.Context, put []core.AlertRecord,
		del []string) error
}

// Sink delivers alerts one way.
type Sink interface {
	// Name names the sink in the store's records and the counters.
	Name() string

	// Deliver hands over one alert's JSON; an error means it is tried
	// again later.
	Deliver(ctx context.Context, body []byte) error
}

// Logger receives the alerter's log lines.
type Logger interface {
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
}

// Config carries what an Alerter needs.
type Config struct {
	Source Source
	Sinks  []Sink

	// OfflineAfter is how long a peer with an open channel is offline,
	// counting only time the node was connected, before it alerts.
	OfflineAfter time.Duration

	// VerdictAfter is how long, counting only monitored time, a peer
	// with an open channel keeps away from the verdict last told
	// before its verdict change alerts (0: DefaultVerdictAfter;
	// negative: at once).
	VerdictAfter time.Duration

	// Clock gives the time; nil: the system's.
	Clock clock.Clock

	// Ticker drives the checks and the retries (default every
	// DefaultInterval); changes of the monitor drive them too.
	Ticker ticker.Ticker

	Logger Logger
}

// Counts are the alerter's counters.
type Counts struct {
	// Raised counts alerts raised, by kind.
	Raised map[string]uint64

	// Delivered and Failed count deliveries and failed attempts, by
	// sink.
	Delivered map[string]uint64
	Failed    map[string]uint64
}

// Alerter raises and delivers alerts.
type Alerter struct {
	cfg   Config
	sinks map[string]Sink
	names []string

	loop *loop.Loop

	// recs mirrors the alerter's records in the store; only the loop
	// touches it.
	recs map[string]core.AlertRecord

	// mass is set while most channel peers are offline at once (see
	// massOutage), and massEnd is when that last ended, as the
	// report's node outages say; only the loop touches them.
	mass    bool
	massEnd time.Time

	mu     sync.Mutex
	counts Counts
}

// New checks cfg and returns an alerter; it starts nothing.
func New(cfg Config) (*Alerter, error) {
	if cfg.Source == nil {
		return nil, errors.New("alert: no source")
	}
	if cfg.OfflineAfter <= 0 {
		cfg.OfflineAfter = DefaultOfflineAfter
	}
	switch {
	case cfg.VerdictAfter == 0:
		cfg.VerdictAfter = DefaultVerdictAfter
	case cfg.VerdictAfter < 0:
		cfg.VerdictAfter = 0
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewDefaultClock()
	}
	if cfg.Ticker == nil {
		cfg.Ticker = ticker.New(DefaultInterval)
	}
	if cfg.Logger == nil {
		cfg.Logger = nopLogger{}
	}
	a := &Alerter{
		cfg:   cfg,
		sinks: make(map[string]Sink),
		loop:  loop.New(cfg.Ticker),
		recs:  make(map[string]core.AlertRecord),
		counts: Counts{Raised: map[string]uint64{},
			Delivered: map[string]uint64{},
			Failed:    map[string]uint64{}},
	}
	for _, s := range cfg.Sinks {
		if _, dup := a.sinks[s.Name()]; dup {
			return nil, fmt.Errorf("alert: two sinks named %q",
				s.Name())
		}
		a.sinks[s.Name()] = s
		a.names = append(a.names, s.Name())
	}
	return a, nil
}

type nopLogger struct{}

func (nopLogger) Infof(string, ...any) {}
func (nopLogger) Warnf(string, ...any) {}

// Counts returns a copy of the counters.
func (a *Alerter) Counts() Counts {
	a.mu.Lock()
	defer a.mu.Unlock()
	return copyCounts(a.counts)
}

// Counters of count.
const (
	cRaised = iota
	cDelivered
	cFailed
)

// pick returns the map of counter which in c.
func (c Counts) pick(which int) map[string]uint64 {
	switch which {
	case cRaised:
		return c.Raised
	case cDelivered:
		return c.Delivered
	}
	return c.Failed
}

// count adds one to counter which of k, here and in the totals.
func (a *Alerter) count(which int, k string) {
	a.mu.Lock()
	a.counts.pick(which)[k]++
	a.mu.Unlock()
	totals.mu.Lock()
	totals.c.pick(which)[k]++
	totals.mu.Unlock()
}

// totals are the counters of every alerter of the process, for the
// metrics.
var totals = struct {
	mu sync.Mutex
	c  Counts
}{c: Counts{Raised: map[string]uint64{},
	Delivered: map[string]uint64{}, Failed: map[string]uint64{}}}

// Totals returns the counters of every alerter the process ran.
func Totals() Counts {
	totals.mu.Lock()
	defer totals.mu.Unlock()
	return copyCounts(totals.c)
}

func copyCounts(c Counts) Counts {
	out := Counts{Raised: maps.Clone(c.Raised),
		Delivered: maps.Clone(c.Delivered), Failed: maps.Clone(c.Failed)}
	return out
}

// Start loads the records and starts the loop, which checks at once.
func (a *Alerter) Start() error {
	if !a.loop.Claim() {
		return errors.New("alert: already started")
	}
	for _, r := range a.cfg.Source.Alerts() {
		if isOurs(r.Key) {
			a.recs[r.Key] = r
		}
	}
	changed, cancel := a.cfg.Source.Subscribe()
	a.loop.Run(changed, cancel, loop.Handlers{First: a.round,
		Changed: a.round, Tick: a.round})
	return nil
}

// Stop ends the loop and waits for it; safe to call more than once.
func (a *Alerter) Stop() {
	a.loop.Stop()
}

func isOurs(key string) bool {
	for _, p := range []string{offlinePrefix, backPrefix, changedPrefix,
		verdictPrefix, awayPrefix} {

		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// round raises what is due and delivers what is pending.
func (a *Alerter) round(ctx context.Context) {
	if err := a.raise(ctx); err != nil && ctx.Err() == nil {
		a.cfg.Logger.Warnf("alerts: %v", err)
	}
	if err := a.deliver(ctx); err != nil && ctx.Err() == nil {
		a.cfg.Logger.Warnf("alerts: %v", err)
	}
}

// put writes records to the store and the mirror.
func (a *Alerter) put(ctx context.Context, put []core.AlertRecord,
	del []string) error {

	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	// The mirror follows even when the write fails: the monitor keeps
	// the change and writes it once the store takes writes again.
	for _, r := range put {
		a.recs[r.Key] = r
	}
	for _, k := range del {
		delete(a.recs, k)
	}
	return a.cfg.Source.PutAlerts(ctx, put, del)
}

func unixKey(t time.Time) string {
	return strconv.FormatInt(t.UnixNano(), 10)
}

// newRecord builds the record of alert al, pending on every sink.
func (a *Alerter) newRecord(al Alert, now time.Time) (core.AlertRecord,
	error) {

	body, err := json.Marshal(al)
	if err != nil {
		return core.AlertRecord{}, err
	}
	a.count(cRaised, al.Kind)
	a.cfg.Logger.Infof("alert: %s", al.Text)
	return core.AlertRecord{Key: al.ID, Body: body, CreatedAt: now,
		Pending: slices.Clone(a.names), NextAttempt: now}, nil
}

// backoff returns the wait after the n-th failed attempt.
func backoff(n int) time.Duration {
	d := firstRetry
	for i := 1; i < n && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}
