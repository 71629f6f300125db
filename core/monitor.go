package core

import (
	"context"
	"errors"
	"time"

	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
)

// Defaults for Config fields left zero.
const (
	DefaultSyncInterval    = time.Second
	DefaultMaintenance     = time.Hour
	DefaultClosedRetention = 90 * 24 * time.Hour
	DefaultRecentEvents    = 10
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

	// Source, when set, is run by Start and feeds the monitor. Without a
	// source the caller feeds Apply, Sync and NodeLost itself and the
	// node counts as connected from Start.
	Source EventSource

	// SyncInterval is how often the heartbeat is written and the store
	// synced to stable storage (default 1 s): the most an operating
	// system crash may lose.
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

	// Logger receives log lines; nil discards them.
	Logger Logger
}

// ChannelInfo is what the monitor knows of one channel.
type ChannelInfo struct {
	Point          ChannelPoint
	Peer           PeerID
	ShortChannelID string
	Open           bool
	OpenedAt       time.Time

	// ClosedAt is zero while the channel is open.
	ClosedAt time.Time

	// Age is wall time since OpenedAt (until ClosedAt when closed).
	Age time.Duration

	// Lifetime is monitored time since OpenedAt; it equals lnd's lifetime
	// when the monitor never had a gap.
	Lifetime time.Duration

	// Uptime is the time the peer was online within Lifetime.
	Uptime time.Duration
}

// PeerWindowInfo is a peer's figures over [Start, End].
type PeerWindowInfo struct {
	Start, End    time.Time
	Monitored     time.Duration
	Uptime        time.Duration
	LongestOutage time.Duration
}

var errTODO = errors.New("not implemented yet")

// Monitor computes channel fitness from node events. Its methods are safe
// for concurrent use; events are applied one at a time, in call order.
type Monitor struct {
	cfg Config
}

// NewMonitor checks cfg and returns a monitor; it starts nothing.
func NewMonitor(cfg Config) (*Monitor, error) {
	return &Monitor{cfg: cfg}, errTODO
}

// Start loads the stored history, records the time since the last
// heartbeat as unmonitored, and starts the source (if any) and timers.
func (m *Monitor) Start(ctx context.Context) error { return errTODO }

// Stop stops the source and timers, writes a last heartbeat and syncs the
// store. It does not close the store. It is safe to call more than once.
func (m *Monitor) Stop() error { return errTODO }

// Apply applies one event. When it returns nil, the in-memory state and
// the store reflect the event.
func (m *Monitor) Apply(ctx context.Context, ev Event) error { return errTODO }

// Sync implements Sink.
func (m *Monitor) Sync(ctx context.Context, snap Snapshot) error {
	return errTODO
}

// NodeLost implements Sink.
func (m *Monitor) NodeLost(ctx context.Context, at time.Time) error {
	return errTODO
}

// ChannelInfo returns a channel's figures: live for an open channel,
// frozen at close for a closed one.
func (m *Monitor) ChannelInfo(ctx context.Context,
	cp ChannelPoint) (ChannelInfo, error) {

	return ChannelInfo{}, errTODO
}

// FlapCount returns lnd's flap count of a tracked peer and its last flap.
func (m *Monitor) FlapCount(ctx context.Context,
	peer PeerID) (int, *time.Time, error) {

	return 0, nil, errTODO
}

// PeerWindow returns a peer's monitored time, uptime and longest outage in
// [start, end]. Its cost does not grow with the length of the history.
func (m *Monitor) PeerWindow(ctx context.Context, peer PeerID, start,
	end time.Time) (PeerWindowInfo, error) {

	return PeerWindowInfo{}, errTODO
}

// Connected reports whether the node is connected (no open gap) and since
// when.
func (m *Monitor) Connected() (bool, time.Time) { return false, time.Time{} }

// Report builds the SPEC section 4 report.
func (m *Monitor) Report(ctx context.Context, q ReportQuery) (Report, error) {
	return Report{}, errTODO
}
