// Package advice holds the options of the verdicts, the export directory
// and the alerts, which both front ends have with the same names,
// values and defaults: Core Lightning's chanfitness-<Name> and the lnd
// companion's --<Flag>.
package advice

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/alert"
	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/internal/duration"
)

// Names of the options (Core Lightning's, without "chanfitness-").
const (
	MinMonitored = "verdict-min-monitored"
	Window       = "verdict-window"
	WatchUptime  = "verdict-watch-uptime"
	CloseUptime  = "verdict-close-uptime"
	WatchFlaps   = "verdict-watch-flaps"
	CloseFlaps   = "verdict-close-flaps"
	WatchOutage  = "verdict-watch-outage"
	CloseOutage  = "verdict-close-outage"
	ExportDir    = "export-dir"
	OfflineAfter = "alert-offline-after"
	VerdictAfter = "alert-verdict-after"
	Webhook      = "alert-webhook"
	Command      = "alert-command"
)

// Defaults of the alert options.
const (
	// DefaultOfflineAfter is how long a peer is offline before it
	// alerts.
	DefaultOfflineAfter = alert.DefaultOfflineAfter

	// DefaultVerdictAfter is how long a new verdict lasts before it
	// alerts.
	DefaultVerdictAfter = alert.DefaultVerdictAfter
)

// Option is one option of both front ends.
type Option struct {
	// Name is Core Lightning's name without "chanfitness-".
	Name string

	// Default is the value taken when the option is not given.
	Default string

	// Usage says what the option does, in a line.
	Usage string
}

// Flag returns the lnd companion's name of the option: Name without
// dashes ("verdictwindow").
func (o Option) Flag() string {
	return strings.ReplaceAll(o.Name, "-", "")
}

func ratioText(r float64) string {
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// Options lists the options in the order their help shows them.
func Options() []Option {
	d := duration.Format
	return []Option{
		{MinMonitored, d(core.DefaultMinMonitored), "Monitored time " +
			"with an open channel before a peer is judged (too_new " +
			"until then), such as 14d"},
		{Window, d(core.DefaultVerdictWindow), "Window of the " +
			"verdicts' uptime, outage and outlier rules, such as 30d"},
		{WatchUptime, ratioText(core.DefaultWatchUptime), "Uptime " +
			"ratio below which a peer is watch"},
		{CloseUptime, ratioText(core.DefaultCloseUptime), "Uptime " +
			"ratio below which a peer is consider_closing"},
		{WatchFlaps, strconv.Itoa(core.DefaultWatchFlaps), "Flap " +
			"count (lnd's, cooled) above which a peer is watch"},
		{CloseFlaps, strconv.Itoa(core.DefaultCloseFlaps), "Flap " +
			"count (lnd's, cooled) above which a peer is " +
			"consider_closing"},
		{WatchOutage, d(core.DefaultWatchOutage), "Longest outage " +
			"in the window from which a peer is watch, such as 6h"},
		{CloseOutage, d(core.DefaultCloseOutage), "Longest outage " +
			"in the window from which a peer is consider_closing, " +
			"such as 48h"},
		{ExportDir, "", "Directory where report.json, " +
			"unreliable-peers.txt and watch-peers.txt are kept " +
			"current; empty: none"},
		{OfflineAfter, d(DefaultOfflineAfter), "How long a peer with " +
			"a channel is offline before an alert, such as 30m"},
		{VerdictAfter, d(DefaultVerdictAfter), "How long a peer " +
			"with a channel keeps a new verdict (monitored time) " +
			"before a verdict change alert, such as 6h; 0 at once"},
		{Webhook, "", "URL that alerts are POSTed to as JSON; empty: " +
			"none"},
		{Command, "", "Command run (by /bin/sh) for each alert, with " +
			"its JSON on stdin; empty: none"},
	}
}

// Settings are the options, read and checked.
type Settings struct {
	Verdict core.VerdictConfig

	// ExportDir is the export directory, absolute ("": none).
	ExportDir string

	// OfflineAfter is how long a peer is offline before it alerts.
	OfflineAfter time.Duration

	// VerdictAfter is how long a new verdict lasts before it alerts
	// (alert.Config's: negative for at once).
	VerdictAfter time.Duration

	// Webhook and Command are the alerts' deliveries ("": none).
	Webhook string
	Command string
}

// ErrOption is wrapped by every error of Parse.
var ErrOption = errors.New("bad option value")

// Parse reads the options' values, keyed by Name; a missing one takes
// its default. base is the directory a relative export directory is
// under. name writes an option's name as the front end shows it, for
// errors.
func Parse(values map[string]string, base string,
	name func(Option) string) (Settings, error) {

	var s Settings
	for _, o := range Options() {
		v, ok := values[o.Name]
		if !ok {
			v = o.Default
		}
		if err := s.set(o, v); err != nil {
			return Settings{}, fmt.Errorf("%w: %s %q: %w", ErrOption,
				name(o), v, err)
		}
	}
	if s.ExportDir != "" && !filepath.IsAbs(s.ExportDir) {
		s.ExportDir = filepath.Join(base, s.ExportDir)
	}
	if err := s.Verdict.Validate(); err != nil {
		return Settings{}, fmt.Errorf("%w: %w", ErrOption, err)
	}
	return s, nil
}

// set reads one option's value into s.
func (s *Settings) set(o Option, v string) error {
	dur := func(p *time.Duration, lo time.Duration) error {
		d, err := duration.Parse(v)
		if err != nil {
			return err
		}
		if d < lo || d > duration.MaxClosedRetention {
			return fmt.Errorf("want %s to %s", duration.Format(lo),
				duration.Format(duration.MaxClosedRetention))
		}
		*p = d
		return nil
	}
	ratio := func(p *float64) error {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0 && r <= 1) {
			return errors.New("want a ratio above 0 and at most 1, " +
				"such as 0.95")
		}
		*p = r
		return nil
	}
	count := func(p *int) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return errors.New("want a whole number from 1 to " +
				"1000000")
		}
		*p = n
		return nil
	}
	c := &s.Verdict
	switch o.Name {
	case MinMonitored:
		if err := dur(&c.MinMonitored, time.Second); err != nil {
			if v != "0" {
				return err
			}
			// 0: judge at once. core reads a zero as the default.
			c.MinMonitored = time.Nanosecond
		}
	case Window:
		return dur(&c.Window, time.Hour)
	case WatchUptime:
		return ratio(&c.WatchUptime)
	case CloseUptime:
		return ratio(&c.CloseUptime)
	case WatchFlaps:
		return count(&c.WatchFlaps)
	case CloseFlaps:
		return count(&c.CloseFlaps)
	case WatchOutage:
		return dur(&c.WatchOutage, time.Minute)
	case CloseOutage:
		return dur(&c.CloseOutage, time.Minute)
	case ExportDir:
		s.ExportDir = v
	case OfflineAfter:
		return dur(&s.OfflineAfter, time.Minute)
	case VerdictAfter:
		if v == "0" {
			s.VerdictAfter = -1
			return nil
		}
		return dur(&s.VerdictAfter, time.Minute)
	case Webhook:
		return s.setWebhook(v)
	case Command:
		s.Command = v
	}
	return nil
}

func (s *Settings) setWebhook(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Host == "" {

		return errors.New("want an http:// or https:// URL")
	}
	s.Webhook = v
	return nil
}
