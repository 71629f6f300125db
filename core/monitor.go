package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
)

// Defaults for Config fields left zero.
const (
	DefaultSyncInterval    = time.Minute
	DefaultMaintenance     = time.Hour
	DefaultClosedRetention = 90 * 24 * time.Hour
	DefaultRecentEvents    = 10
	DefaultPeerGrace       = time.Minute

	// DefaultMaxPendingBatches bounds the write queue: about one batch
	// an event, a few hundred bytes each.
	DefaultMaxPendingBatches = 100_000
)

// Logger receives the monitor's log lines. It must never write to stdout
// when the monitor runs inside a CLN plugin.
type Logger interface {
	Debugf(format string, args ...any)
	Infof(format string, args ...any)
	Warnf(format string, args ...any)
	Errorf(format string, args ...any)
}

// Config carries what a Monitor needs.
type Config struct {
	// Store persists history (required).
	Store Store

	// Clock gives the time; nil means the system clock.
	Clock clock.Clock

	// Source connects the monitor to its node (required): Start runs
	// it, and it feeds the monitor through the Sink it is given. Until
	// its first Sync the time since the last heartbeat is unmonitored.
	Source EventSource

	// SyncInterval is how often the heartbeat is written, batches a
	// failed write left queued are retried, and the store is synced to
	// stable storage (default 1 minute): the most an operating-system
	// crash may lose. A process crash loses nothing written: after a
	// restart, unmonitored time starts at the later of the heartbeat
	// and the newest stored event.
	SyncInterval time.Duration

	// SyncTicker overrides the ticker built from SyncInterval (tests use
	// ticker.NewForce).
	SyncTicker ticker.Ticker

	// MaintenanceTicker drives retention pruning (default hourly).
	MaintenanceTicker ticker.Ticker

	// ClosedRetention is how long closed channels stay visible (default
	// 90 days; negative keeps them forever).
	ClosedRetention time.Duration

	// RecentEvents is how many committed transitions a peer report lists
	// (default 10).
	RecentEvents int

	// PeerGrace is how long a peer without channels is remembered after
	// it went offline (default 1 minute): a channel opened within it
	// starts from the peer's known state.
	PeerGrace time.Duration

	// Verdict holds the thresholds of the peers' verdicts; zero fields
	// take the defaults.
	Verdict VerdictConfig

	// MaxPendingBatches bounds the batches kept in memory, in order,
	// while the store's writes fail (default 100,000, about one an
	// event). Past it the queue is full: changes are kept in the
	// monitor's state only and written from it once the store writes
	// again; calls that change the monitor return errors wrapping
	// ErrNotWritten that say so, and StoreStatus and the report's store
	// object set QueueFull.
	MaxPendingBatches int

	// Logger receives log lines; nil discards them.
	Logger Logger
}

// Monitor computes channel fitness from node events. Its methods are safe
// for concurrent use; events are applied one at a time, in call order.
type Monitor struct {
	cfg     Config
	clock   clock.Clock
	log     Logger
	verdict VerdictConfig

	mu       sync.RWMutex
	started  bool
	stopped  bool
	peers    map[PeerID]*peerState
	channels map[ChannelPoint]*channelState

	// alerts are the alert records kept in the store (alertstore.go).
	alerts map[string]AlertRecord

	// forget queues untracked peers that went offline (see peers.go).
	forget []forgetEntry

	// watch reads the clock; clockSteps counts the steps it found and
	// lastStep is the newest; stepping is set while a step forward is
	// recorded as unmonitored time (see clock.go).
	watch      *clockWatch
	clockSteps int
	lastStep   clockStep
	stepping   bool

	monitoringSince int64
	heartbeat       int64

	// blockHeight is the node's block height at the last snapshot that
	// gave one (0: none yet).
	blockHeight uint32
	// lastTime is the newest time the monitor is known to have been
	// running and connected: the heartbeat, or an event applied after
	// it. Unmonitored time starts no earlier; after a restart it starts
	// there (as loaded: the heartbeat or a logged event after it).
	lastTime int64

	// Closed unmonitored gaps, sorted, with gapCum[i] the total length
	// of gaps before i.
	gapStart, gapEnd, gapCum []int64

	gapOpen        bool
	openGapStart   int64
	connectedSince int64

	// firstStart is set from the first start on a new store until the
	// node is first reached: history may then be backfilled (see
	// history.go). filled are the spans filled from the node's
	// records; samples the pings and failed connection attempts kept
	// (samples.go).
	firstStart bool
	filled     []FilledSpan
	samples    map[PeerID]*peerSamples

	change change
	w      writer
	subs   subscribers

	// held mirrors w.held for callers holding mu (see held.go).
	held bool

	syncTicker  ticker.Ticker
	maintTicker ticker.Ticker
	cancel      context.CancelFunc
	quit        chan struct{}
	wg          sync.WaitGroup
}

// NewMonitor checks cfg and returns a monitor; it starts nothing.
func NewMonitor(cfg Config) (*Monitor, error) {
	if cfg.Store == nil {
		return nil, errors.New("monitor config: Store is required")
	}
	if cfg.SyncInterval < 0 {
		return nil, fmt.Errorf("monitor config: SyncInterval %v is "+
			"negative", cfg.SyncInterval)
	}
	if cfg.PeerGrace < 0 {
		return nil, fmt.Errorf("monitor config: PeerGrace %v is "+
			"negative", cfg.PeerGrace)
	}
	if cfg.MaxPendingBatches < 0 {
		return nil, fmt.Errorf("monitor config: MaxPendingBatches %d "+
			"is negative", cfg.MaxPendingBatches)
	}
	if cfg.RecentEvents < 0 {
		return nil, fmt.Errorf("monitor config: RecentEvents %d is "+
			"negative", cfg.RecentEvents)
	}
	if err := cfg.Verdict.Validate(); err != nil {
		return nil, fmt.Errorf("monitor config: %w", err)
	}
	if cfg.Source == nil {
		return nil, errors.New("monitor config: Source is required")
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.ClosedRetention == 0 {
		cfg.ClosedRetention = DefaultClosedRetention
	}
	if cfg.RecentEvents == 0 {
		cfg.RecentEvents = DefaultRecentEvents
	}
	if cfg.PeerGrace == 0 {
		cfg.PeerGrace = DefaultPeerGrace
	}
	if cfg.MaxPendingBatches == 0 {
		cfg.MaxPendingBatches = DefaultMaxPendingBatches
	}
	m := &Monitor{
		cfg:         cfg,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		verdict:     cfg.Verdict.withDefaults(),
		peers:       make(map[PeerID]*peerState),
		channels:    make(map[ChannelPoint]*channelState),
		samples:     make(map[PeerID]*peerSamples),
		alerts:      make(map[string]AlertRecord),
		gapCum:      []int64{0},
		syncTicker:  cfg.SyncTicker,
		maintTicker: cfg.MaintenanceTicker,
		quit:        make(chan struct{}),
		w:           writer{token: make(chan struct{}, 1)},
	}
	if m.clock == nil {
		m.clock = clock.NewDefaultClock()
	}
	m.watch = newClockWatch(m.clock)
	if m.log == nil {
		m.log = nopLogger{}
	}
	if m.syncTicker == nil {
		m.syncTicker = ticker.New(cfg.SyncInterval)
	}
	if m.maintTicker == nil {
		m.maintTicker = ticker.New(DefaultMaintenance)
	}
	return m, nil
}

type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}

func (nopLogger) Infof(string, ...any) {}

func (nopLogger) Warnf(string, ...any) {}

func (nopLogger) Errorf(string, ...any) {}

func nsTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func timeNs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// now returns the monitor's time, which never goes back (see clock.go).
func (m *Monitor) now() int64 {
	return m.watch.read()
}

// usable checks that the monitor accepts input. Callers hold mu.
func (m *Monitor) usable() error {
	switch {
	case m.stopped:
		return ErrStopped
	case !m.started:
		return ErrNotStarted
	}
	return nil
}

// Connected reports whether the node is connected (no open gap) and since
// when.
func (m *Monitor) Connected() (bool, time.Time) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.started || m.stopped || m.gapOpen {
		return false, time.Time{}
	}
	return true, nsTime(m.connectedSince)
}
