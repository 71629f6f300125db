package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Window names of the presets every report carries.
const (
	Window1d       = "1d"
	Window7d       = "7d"
	Window30d      = "30d"
	WindowLifetime = "lifetime"
)

// presetWindows are the windows every report carries, in display order.
var presetWindows = [...]Window{
	{Name: Window1d, Length: 24 * time.Hour},
	{Name: Window7d, Length: 7 * 24 * time.Hour},
	{Name: Window30d, Length: 30 * 24 * time.Hour},
	{Name: WindowLifetime},
}

// PresetWindows returns the windows every report carries, in display
// order.
func PresetWindows() []Window {
	return slices.Clone(presetWindows[:])
}

// Window is a trailing time window. A zero Length means the whole
// lifetime (of a channel, or of the peer's tracking).
type Window struct {
	Name   string
	Length time.Duration
}

// Bounds of a custom window.
const (
	// MinWindow is the shortest window ParseWindow accepts.
	MinWindow = time.Minute

	// MaxWindow is the longest: ten years of 365 days.
	MaxWindow = 3650 * 24 * time.Hour

	// maxWindowText is the longest window text ParseWindow reads.
	maxWindowText = 32
)

// windowUnits are the units of a window's text, longest first.
var windowUnits = []struct {
	unit byte
	d    time.Duration
}{
	{'d', 24 * time.Hour},
	{'h', time.Hour},
	{'m', time.Minute},
	{'s', time.Second},
}

// ParseWindow parses "1d", "7d", "30d", "lifetime" or a duration from 1
// minute to 10 years written as whole numbers of days, hours, minutes and
// seconds, units in that order and each at most once: "12h", "90m",
// "1d12h". The empty string means "lifetime". The window's Name is its
// canonical text, the same for every way of writing one length ("90m"
// and "1h30m" are both "1h30m", "24h" is "1d"), so that a report's
// window names are few and short whatever the query.
func ParseWindow(s string) (Window, error) {
	if s == "" || s == WindowLifetime {
		return Window{Name: WindowLifetime}, nil
	}
	d, ok := parseWindowLength(s)
	if !ok || d < MinWindow || d > MaxWindow {
		return Window{}, fmt.Errorf("%w: window %s: want 1d, 7d, 30d, "+
			"lifetime or a duration from 1m to 3650d in whole d, h, "+
			"m and s, such as 12h or 1h30m", ErrBadInput, Quote(s))
	}
	name := windowName(d)
	for _, w := range presetWindows {
		if w.Name == name {
			return w, nil
		}
	}
	return Window{Name: name, Length: d}, nil
}

// parseWindowLength reads the digits-and-unit parts of a window's text.
func parseWindowLength(s string) (time.Duration, bool) {
	if len(s) > maxWindowText {
		return 0, false
	}
	var total time.Duration
	next := 0 // index into windowUnits of the next unit allowed
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		// At most 10 digits: 9,999,999,999 days do not overflow
		// before the range check.
		if i == 0 || i > 10 || i == len(s) {
			return 0, false
		}
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil {
			return 0, false
		}
		u := next
		for u < len(windowUnits) && windowUnits[u].unit != s[i] {
			u++
		}
		if u == len(windowUnits) {
			return 0, false
		}
		if n > int64(MaxWindow/windowUnits[u].d) {
			return 0, false
		}
		total += time.Duration(n) * windowUnits[u].d
		if total > MaxWindow {
			return 0, false
		}
		next = u + 1
		s = s[i+1:]
	}
	return total, true
}

// windowName writes d in its canonical text: each unit from days down to
// seconds that is not zero.
func windowName(d time.Duration) string {
	var b strings.Builder
	for _, u := range windowUnits {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteByte(u.unit)
			d -= n * u.d
		}
	}
	return b.String()
}

// Time is a report timestamp: RFC 3339 in UTC to the second in JSON, null
// when zero.
type Time struct {
	time.Time
}

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(time.RFC3339) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time %s: %w", b, err)
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("time %q: %w", s, err)
	}
	t.Time = v
	return nil
}

// ReportQuery selects what a report covers.
type ReportQuery struct {
	// Peer limits the report to one peer and its channels when set.
	Peer *PeerID

	// Window is the headline window (see ParseWindow); the presets are
	// always included. Empty means "lifetime".
	Window string

	// PeersOnly leaves the channels out (Channels is empty), for a
	// caller that shows the peers only.
	PeersOnly bool
}

// Report is the JSON report both front ends return (README.md, "The
// report").
type Report struct {
	GeneratedAt        Time        `json:"generated_at"`
	MonitoringSince    Time        `json:"monitoring_since"`
	UnmonitoredSeconds int64       `json:"unmonitored_seconds"`
	Window             string      `json:"window"`
	NodeConnected      bool        `json:"node_connected"`
	Store              StoreReport `json:"store"`
	ClockSteps         int         `json:"clock_steps"`
	LastClockStep      *ClockStep  `json:"last_clock_step"`

	// FilledFromNode lists the spans whose history came from the
	// node's own records, oldest first.
	FilledFromNode []FilledReport `json:"filled_from_node"`

	// NodeOutages lists the outages of our own node found in the
	// verdict window (most channel peers offline at once), oldest
	// first: the verdicts leave them out.
	NodeOutages []NodeOutage `json:"node_outages"`

	Channels []ChannelReport `json:"channels"`
	Peers    []PeerReport    `json:"peers"`
}

// StoreReport says whether the monitor's writes reach its store.
type StoreReport struct {
	// Writing is false while writes fail.
	Writing bool `json:"writing"`

	// Error is the last write error while writes fail, else null.
	Error *string `json:"error"`

	// PendingBatches counts the changes kept in memory, waiting to be
	// written.
	PendingBatches int `json:"pending_batches"`

	// QueueFull is true while the queue of pending batches is full:
	// changes are kept in memory only, and written once the store
	// writes again.
	QueueFull bool `json:"queue_full"`
}

// ChannelReport is one channel in a Report.
type ChannelReport struct {
	ChannelPoint    string                   `json:"channel_point"`
	ShortChannelID  *string                  `json:"short_channel_id"`
	PeerID          string                   `json:"peer_id"`
	Status          string                   `json:"status"`
	OpenedAt        Time                     `json:"opened_at"`
	OpenedAtSource  string                   `json:"opened_at_source"`
	ClosedAt        Time                     `json:"closed_at"`
	AgeSeconds      int64                    `json:"age_seconds"`
	AgeBlocks       *int64                   `json:"age_blocks"`
	LifetimeSeconds int64                    `json:"lifetime_seconds"`
	UptimeSeconds   int64                    `json:"uptime_seconds"`
	UptimeRatio     *float64                 `json:"uptime_ratio"`
	Windows         map[string]ChannelWindow `json:"windows"`
}

// ChannelWindow is a channel's figures over one window.
type ChannelWindow struct {
	MonitoredSeconds int64    `json:"monitored_seconds"`
	UptimeSeconds    int64    `json:"uptime_seconds"`
	UptimeRatio      *float64 `json:"uptime_ratio"`
}

// PeerReport is one peer in a Report.
type PeerReport struct {
	PeerID           string                `json:"peer_id"`
	Online           bool                  `json:"online"`
	Since            Time                  `json:"since"`
	OpenChannels     int                   `json:"open_channels"`
	FlapCount        int                   `json:"flap_count"`
	FlapCountDecayed int                   `json:"flap_count_decayed"`
	LastFlap         Time                  `json:"last_flap"`
	Windows          map[string]PeerWindow `json:"windows"`
	RecentEvents     []RecentEvent         `json:"recent_events"`

	// Verdict is ok, watch, consider_closing or too_new; Reasons is
	// the evidence for it (empty for ok).
	Verdict string   `json:"verdict"`
	Reasons []Reason `json:"reasons"`
}

// PeerWindow is a peer's figures over one window.
type PeerWindow struct {
	MonitoredSeconds     int64    `json:"monitored_seconds"`
	UptimeSeconds        int64    `json:"uptime_seconds"`
	UptimeRatio          *float64 `json:"uptime_ratio"`
	LongestOutageSeconds int64    `json:"longest_outage_seconds"`

	// Pings counts the ping round trips kept in the window;
	// PingMedianMs and PingP90Ms are their median and 90th percentile
	// in milliseconds (null without one). ConnectFailures counts the
	// failed attempts to connect to the peer.
	Pings           int      `json:"pings"`
	PingMedianMs    *float64 `json:"ping_median_ms"`
	PingP90Ms       *float64 `json:"ping_p90_ms"`
	ConnectFailures int      `json:"connect_failures"`
}

// RecentEvent is one committed transition of a peer.
type RecentEvent struct {
	Time   Time `json:"time"`
	Online bool `json:"online"`
}

// ratio returns up/monitored, or nil when nothing was monitored.
func ratio(up, monitored time.Duration) *float64 {
	if monitored <= 0 {
		return nil
	}
	r := float64(up) / float64(monitored)
	return &r
}

// seconds returns d in whole seconds.
func seconds(d time.Duration) int64 {
	return int64(d / time.Second)
}
