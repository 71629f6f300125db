package core

import (
	"context"
	"fmt"
	"time"
)

// State is the connection state recorded in a peer's event log.
type State uint8

const (
	// StateOffline means the peer was disconnected.
	StateOffline State = iota

	// StateOnline means the peer was connected.
	StateOnline

	// StateUnknown marks the start of time in which the peer's state was
	// not observed: the monitor lost its node (or was not running), or
	// the peer's last channel closed and its live log was cleared. It
	// counts neither as uptime nor as monitored time.
	StateUnknown
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case StateOffline:
		return "offline"
	case StateOnline:
		return "online"
	case StateUnknown:
		return "unknown"
	}
	return "State(?)"
}

// LogEvent is one committed (or staged) entry of a peer's event log.
type LogEvent struct {
	Time  time.Time
	State State
}

// PeerRecord is what the store keeps of a tracked peer besides its log.
type PeerRecord struct {
	Peer PeerID

	// TrackedSince is when the peer's first channel was added.
	TrackedSince time.Time

	// Online is the peer's last known connection state, and StateSince
	// when it entered that state (repeats keep the earliest time).
	Online     bool
	StateSince time.Time

	// FlapCount and LastFlap are lnd's flap count and the time of the
	// last flap (zero when there was none).
	FlapCount int
	LastFlap  time.Time

	// Staged is the newest state event not yet committed to the log
	// (nil when there is none).
	Staged *LogEvent

	// LastEvent is the time of the newest event applied for the peer;
	// older events are clamped to it.
	LastEvent time.Time
}

// WindowNumbers are the figures of one window.
type WindowNumbers struct {
	Monitored time.Duration
	Uptime    time.Duration
}

// ChannelRecord is what the store keeps of a channel.
type ChannelRecord struct {
	Point          ChannelPoint
	Peer           PeerID
	ShortChannelID string

	// OpenedAt is when the monitor started counting the channel: when
	// it saw it open, or first learned of it. Lifetime and uptime start
	// here.
	OpenedAt time.Time

	// NodeOpenedAt is when the channel opened as the node says, or an
	// estimate (OpenedAtSource says which); zero when the monitor saw
	// it open.
	NodeOpenedAt   time.Time
	OpenedAtSource OpenedAtSource

	// FundingHeight is the block height of the funding transaction (0:
	// unknown).
	FundingHeight uint32

	// ClosedAt is zero while the channel is open.
	ClosedAt time.Time

	// Frozen holds the channel's numbers as they were at close, keyed by
	// window name (the presets and "lifetime"); nil while open.
	Frozen map[string]WindowNumbers
}

// Gap is a closed interval of unmonitored time.
type Gap struct {
	Start, End time.Time
}

// Meta is the store's monitor-wide record.
type Meta struct {
	// MonitoringSince is when the monitor first started on this store.
	MonitoringSince time.Time

	// Heartbeat is the last time the monitor was known to be running
	// and connected to its node.
	Heartbeat time.Time
}

// SampleKind is what a PeerSample records.
type SampleKind uint8

const (
	// SamplePing is a ping to the peer and its reply: RTT is the round
	// trip.
	SamplePing SampleKind = iota + 1

	// SampleConnectFail is an attempt to connect to the peer that
	// failed.
	SampleConnectFail
)

// String returns "ping" or "connect_fail".
func (k SampleKind) String() string {
	switch k {
	case SamplePing:
		return "ping"
	case SampleConnectFail:
		return "connect_fail"
	}
	return fmt.Sprintf("SampleKind(%d)", uint8(k))
}

// PeerSample is one measurement of a connection to a peer, kept for the
// report's ping latency and failed connection attempts.
type PeerSample struct {
	Peer PeerID
	Time time.Time
	Kind SampleKind

	// RTT is a ping's round trip (zero for other kinds).
	RTT time.Duration
}

// FilledSpan is time the monitor did not watch whose history it took
// from the node's own records instead: time before it first started (a
// backfill), or a gap of its own while the node ran throughout. A filled
// span counts as monitored.
type FilledSpan struct {
	Start, End time.Time

	// Backfill is set for history from before the monitor first
	// started; else the span was a gap of the monitor's.
	Backfill bool
}

// PeerLog is a run of committed log events of one peer. Seq is the index
// of Events[0] in the peer's whole log (0 for the first event ever).
type PeerLog struct {
	Peer   PeerID
	Seq    uint64
	Events []LogEvent
}

// StoredState is everything a store holds, as Load returns it.
type StoredState struct {
	// Meta is the zero value for a new store.
	Meta     Meta
	Gaps     []Gap
	Peers    []PeerRecord
	Channels []ChannelRecord

	// Logs holds each peer's whole committed log, Seq 0, in order.
	Logs []PeerLog

	// Alerts holds the alert records, ordered by Key.
	Alerts []AlertRecord

	// Samples are ordered by Time; samples of equal Time in the order
	// they were written. None is older than the latest
	// Batch.DeleteSamplesBefore written.
	Samples []PeerSample

	// Filled are the filled spans in the order they were written.
	Filled []FilledSpan
}

// AlertRecord is an alert kept in the store: while a delivery has not
// taken it yet, so that it survives a restart, and after, as the mark
// that it was sent, so that a restart does not send it again.
type AlertRecord struct {
	// Key names the alert (its kind, peer and the time of the event it
	// reports): one alert per peer and event.
	Key string

	// Body is the alert as delivered (JSON).
	Body []byte

	// CreatedAt is when the alert was raised.
	CreatedAt time.Time

	// Pending names the deliveries that have not taken the alert yet;
	// empty once every one has.
	Pending []string

	// Attempts counts the failed delivery attempts; NextAttempt is when
	// the next one is due.
	Attempts    int
	NextAttempt time.Time
}

// Batch is one atomic write. A store applies all of it or none of it.
type Batch struct {
	// Meta, when not nil, replaces the stored meta record.
	Meta *Meta

	// Gaps are appended to the gap list.
	Gaps []Gap

	// Peers are inserted or replaced by PeerRecord.Peer.
	Peers []PeerRecord

	// Logs are appended to the peers' logs. Seq must equal the number of
	// events already stored for that peer; a store rejects anything else
	// so that a log can never have holes or duplicates.
	Logs []PeerLog

	// Channels are inserted or replaced by ChannelRecord.Point.
	Channels []ChannelRecord

	// DeleteChannels are removed (retention expired). Deleting an
	// unknown channel is not an error.
	DeleteChannels []ChannelPoint

	// Alerts are inserted or replaced by AlertRecord.Key.
	Alerts []AlertRecord

	// DeleteAlerts are removed by key, after Alerts are written.
	// Deleting an unknown alert is not an error.
	DeleteAlerts []string
	// DeleteSamplesBefore, when not zero, removes the samples older
	// than it, those of this batch included; Load never returns a
	// sample older than the latest one written.
	DeleteSamplesBefore time.Time

	// Samples are added to the stored samples.
	Samples []PeerSample

	// Filled are appended to the filled spans.
	Filled []FilledSpan
}

// Empty reports whether the batch writes nothing.
func (b *Batch) Empty() bool {
	return b.Meta == nil && len(b.Gaps) == 0 && len(b.Peers) == 0 &&
		len(b.Logs) == 0 && len(b.Channels) == 0 &&
		len(b.DeleteChannels) == 0 && len(b.Alerts) == 0 &&
		len(b.DeleteAlerts) == 0 &&
		b.DeleteSamplesBefore.IsZero() &&
		len(b.Samples) == 0 && len(b.Filled) == 0
}

// Reset empties the batch, keeping its slices' memory for reuse.
func (b *Batch) Reset() {
	b.Meta = nil
	b.Gaps = b.Gaps[:0]
	b.Peers = b.Peers[:0]
	b.Logs = b.Logs[:0]
	b.Channels = b.Channels[:0]
	b.DeleteChannels = b.DeleteChannels[:0]
	clear(b.Alerts)
	b.Alerts = b.Alerts[:0]
	b.DeleteAlerts = b.DeleteAlerts[:0]
	b.DeleteSamplesBefore = time.Time{}
	b.Samples = b.Samples[:0]
	b.Filled = b.Filled[:0]
}

// Store persists the monitor's state. The monitor serializes its calls,
// except Sync, which may run while a Write is under way.
//
// Durability contract: once Write returns nil, the batch survives the
// process being killed; after Sync returns nil it also survives an
// operating-system crash. A store must not keep references to the batch
// or its slices after Write returns.
type Store interface {
	// Load returns everything stored (an empty state for a new store).
	Load(ctx context.Context) (*StoredState, error)

	// Write applies b atomically.
	Write(ctx context.Context, b *Batch) error

	// Sync makes every written batch durable on stable storage.
	Sync() error

	// Close releases the store. It is safe to call more than once.
	Close() error
}
