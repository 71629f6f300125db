package core

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Verdicts. Each peer in a report gets one of four verdicts with the
// reasons for it, computed from monitored time only
// (docs/verdicts.md says why each rule and default is what it is).
const (
	// VerdictOK: nothing to act on.
	VerdictOK = "ok"

	// VerdictWatch: something is off; look again before deciding.
	VerdictWatch = "watch"

	// VerdictConsiderClosing: bad enough that closing is worth
	// considering.
	VerdictConsiderClosing = "consider_closing"

	// VerdictTooNew: not monitored long enough to judge.
	VerdictTooNew = "too_new"
)

// Reason codes.
const (
	ReasonTooNew      = "too_new"
	ReasonUptimeBelow = "uptime_below"
	ReasonFlapsAbove  = "flaps_above"
	ReasonOutageAbove = "outage_above"
	ReasonOutlier     = "outlier"
)

// Defaults of VerdictConfig's fields left zero.
const (
	DefaultMinMonitored    = 14 * 24 * time.Hour
	DefaultVerdictWindow   = 30 * 24 * time.Hour
	DefaultWatchUptime     = 0.95
	DefaultCloseUptime     = 0.80
	DefaultWatchFlaps      = 50
	DefaultCloseFlaps      = 500
	DefaultWatchOutage     = 6 * time.Hour
	DefaultCloseOutage     = 48 * time.Hour
	DefaultOutlierK        = 3.0
	DefaultOutlierMinPeers = 10
)

// Fixed parts of the rules (docs/verdicts.md).
const (
	// recentWindow is the short window the uptime rule also looks at,
	// for watch only; recentMinMonitored is how much of it must have
	// been monitored.
	recentWindow       = 24 * time.Hour
	recentMinMonitored = 12 * time.Hour

	// outlierMargin is how far below the median uptime an outlier must
	// also be, so that a few minutes among peers that never blink are
	// not one.
	outlierMargin = 0.01
)

// VerdictConfig holds the thresholds of the verdicts. Zero fields take
// the defaults.
type VerdictConfig struct {
	// MinMonitored is the monitored time with an open channel a peer
	// needs before it is judged (too_new until then).
	MinMonitored time.Duration

	// Window is the trailing window of the uptime, outage and outlier
	// rules.
	Window time.Duration

	// WatchUptime and CloseUptime: uptime over Window below them makes
	// a peer watch and consider_closing. Uptime over the last day
	// below WatchUptime makes it watch.
	WatchUptime float64
	CloseUptime float64

	// WatchFlaps and CloseFlaps: lnd's flap count, cooled to now, above
	// them makes a peer watch and consider_closing.
	WatchFlaps int
	CloseFlaps int

	// WatchOutage and CloseOutage: a longest outage within Window of at
	// least them makes a peer watch and consider_closing.
	WatchOutage time.Duration
	CloseOutage time.Duration
}

// withDefaults returns c with zero fields set to the defaults.
func (c VerdictConfig) withDefaults() VerdictConfig {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MinMonitored, DefaultMinMonitored)
	def(&c.Window, DefaultVerdictWindow)
	def(&c.WatchOutage, DefaultWatchOutage)
	def(&c.CloseOutage, DefaultCloseOutage)
	if c.WatchUptime == 0 {
		c.WatchUptime = DefaultWatchUptime
	}
	if c.CloseUptime == 0 {
		c.CloseUptime = DefaultCloseUptime
	}
	if c.WatchFlaps == 0 {
		c.WatchFlaps = DefaultWatchFlaps
	}
	if c.CloseFlaps == 0 {
		c.CloseFlaps = DefaultCloseFlaps
	}
	return c
}

// Validate checks the thresholds (after defaults): each in range, and
// each close threshold at least as strict as its watch threshold.
func (c VerdictConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MinMonitored < 0:
		return fmt.Errorf("verdict min monitored %v is negative",
			c.MinMonitored)
	case c.Window < time.Hour || c.Window > MaxWindow:
		return fmt.Errorf("verdict window %v: want 1h to 3650d",
			c.Window)
	case !(c.WatchUptime > 0 && c.WatchUptime <= 1) ||
		!(c.CloseUptime > 0 && c.CloseUptime <= 1):
		return fmt.Errorf("verdict uptimes %v and %v: want each in "+
			"(0, 1]", c.WatchUptime, c.CloseUptime)
	case c.CloseUptime > c.WatchUptime:
		return fmt.Errorf("verdict close uptime %v is above the watch "+
			"uptime %v", c.CloseUptime, c.WatchUptime)
	case c.WatchFlaps < 0 || c.CloseFlaps < c.WatchFlaps:
		return fmt.Errorf("verdict flaps %d and %d: want 0 <= watch "+
			"<= close", c.WatchFlaps, c.CloseFlaps)
	case c.WatchOutage < 0 || c.CloseOutage < c.WatchOutage:
		return fmt.Errorf("verdict outages %v and %v: want 0 <= watch "+
			"<= close", c.WatchOutage, c.CloseOutage)
	}
	return nil
}

// Reason is one piece of evidence for a verdict.
type Reason struct {
	// Code is one of the Reason* codes.
	Code string `json:"code"`

	// Text says it in a line.
	Text string `json:"text"`

	// Value and Threshold are the figure and the limit it crossed:
	// ratios in [0,1], durations in seconds, counts.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`

	// Window is the window the figure is over ("30d", "1d",
	// "lifetime").
	Window string `json:"window"`

	// verdict is what this reason alone makes the peer.
	verdict string
}

// verdictRank orders verdicts from best to worst.
func verdictRank(v string) int {
	switch v {
	case VerdictConsiderClosing:
		return 3
	case VerdictWatch:
		return 2
	case VerdictTooNew:
		return 1
	}
	return 0
}

// CompareVerdicts orders verdicts worst first: consider_closing, watch,
// too_new, ok.
func CompareVerdicts(a, b string) int {
	return verdictRank(b) - verdictRank(a)
}

// population is what the outlier rule compares a peer with: the uptime
// over the verdict window of every peer old enough to be judged.
type population struct {
	ok               bool // enough peers
	median, lowFence float64
}

// verdictFigures are what the rules read of one peer, in ns: monitored
// time, uptime and the longest outage with the node outages taken out
// (lifeMonitored keeps them: the peer had a channel then).
type verdictFigures struct {
	lifeMonitored             int64
	winMonitored, winUptime   int64
	winOutage                 int64
	recentMonitored, recentUp int64
	hasOpenChannel            bool
}

// figuresOf computes p's verdict figures at now, leaving out the node
// outages in spans.
func (m *Monitor) figuresOf(p *peerState, now int64,
	spans []nodeSpan) verdictFigures {

	c := m.verdict
	life := m.peerWindow(p, p.trackedSince, now, now)
	w := m.ownWindow(p, now-int64(c.Window), now, spans)
	r := m.ownWindow(p, now-int64(recentWindow), now, spans)
	return verdictFigures{
		lifeMonitored: life.monitored,
		winMonitored:  w.monitored, winUptime: w.uptime,
		winOutage:       w.outage,
		recentMonitored: r.monitored, recentUp: r.uptime,
		hasOpenChannel: p.openChans > 0,
	}
}

// figuresFromReport reads the verdict figures from a peer's report when
// it carries the windows they need (the verdict window is a preset), so
// that a report computes them once; ok is false otherwise.
func (m *Monitor) figuresFromReport(pr *PeerReport) (verdictFigures,
	bool) {

	name := windowName(m.verdict.Window)
	w, ok1 := pr.Windows[name]
	life, ok2 := pr.Windows[WindowLifetime]
	r, ok3 := pr.Windows[windowName(recentWindow)]
	if !ok1 || !ok2 || !ok3 {
		return verdictFigures{}, false
	}
	s := int64(time.Second)
	return verdictFigures{
		lifeMonitored:   life.MonitoredSeconds * s,
		winMonitored:    w.MonitoredSeconds * s,
		winUptime:       w.UptimeSeconds * s,
		winOutage:       w.LongestOutageSeconds * s,
		recentMonitored: r.MonitoredSeconds * s,
		recentUp:        r.UptimeSeconds * s,
		hasOpenChannel:  pr.OpenChannels > 0,
	}, true
}

// verdictPopulation gathers the uptimes of the judged peers with open
// channels.
func (m *Monitor) verdictPopulation(figs []verdictFigures) population {
	var ups []float64
	for _, f := range figs {
		if f.hasOpenChannel && f.winMonitored > 0 &&
			f.lifeMonitored >= int64(m.verdict.MinMonitored) {

			ups = append(ups,
				float64(f.winUptime)/float64(f.winMonitored))
		}
	}
	if len(ups) < DefaultOutlierMinPeers {
		return population{}
	}
	slices.Sort(ups)
	q1, med, q3 := quantile(ups, 0.25), quantile(ups, 0.5),
		quantile(ups, 0.75)
	return population{ok: true, median: med,
		lowFence: q1 - DefaultOutlierK*(q3-q1)}
}

// allFigures computes the verdict figures of every tracked peer with an
// open channel (for a report that lists fewer).
func (m *Monitor) allFigures(now int64, spans []nodeSpan) []verdictFigures {
	var out []verdictFigures
	for _, p := range m.peers {
		if p.tracked && p.openChans > 0 {
			out = append(out, m.figuresOf(p, now, spans))
		}
	}
	return out
}

// quantile returns the q-quantile of sorted xs, interpolated linearly.
func quantile(xs []float64, q float64) float64 {
	pos := q * float64(len(xs)-1)
	i := int(math.Floor(pos))
	if i+1 >= len(xs) {
		return xs[len(xs)-1]
	}
	f := pos - float64(i)
	return xs[i]*(1-f) + xs[i+1]*f
}

// judge returns the verdict and reasons of figures f; flaps is lnd's
// count cooled to now, of which forgiven are the node outages'.
func (m *Monitor) judge(f verdictFigures, flaps, forgiven int,
	pop population) (string, []Reason) {

	c := m.verdict
	win := windowName(c.Window)
	if f.lifeMonitored < int64(c.MinMonitored) {
		return VerdictTooNew, []Reason{{
			Code: ReasonTooNew,
			Text: fmt.Sprintf("monitored %s with a channel, judged "+
				"from %s", shortDur(f.lifeMonitored),
				shortDur(int64(c.MinMonitored))),
			Value:     float64(seconds(time.Duration(f.lifeMonitored))),
			Threshold: float64(seconds(c.MinMonitored)),
			Window:    WindowLifetime,
			verdict:   VerdictTooNew,
		}}
	}

	var rs []Reason
	if f.winMonitored > 0 {
		up := float64(f.winUptime) / float64(f.winMonitored)
		switch {
		case up < c.CloseUptime:
			rs = append(rs, uptimeReason(up, c.CloseUptime, win,
				VerdictConsiderClosing))
		case up < c.WatchUptime:
			rs = append(rs, uptimeReason(up, c.WatchUptime, win,
				VerdictWatch))
		}
		if pop.ok && up < pop.lowFence && up < pop.median-outlierMargin {
			rs = append(rs, Reason{
				Code: ReasonOutlier,
				Text: fmt.Sprintf("uptime %s far below the other "+
					"peers' (median %s) over %s", pct(up),
					pct(pop.median), win),
				Value: up, Threshold: pop.lowFence, Window: win,
				verdict: VerdictWatch,
			})
		}
	}
	if c.Window > recentWindow &&
		f.recentMonitored >= int64(recentMinMonitored) {

		up := float64(f.recentUp) / float64(f.recentMonitored)
		if up < c.WatchUptime {
			rs = append(rs, uptimeReason(up, c.WatchUptime,
				windowName(recentWindow), VerdictWatch))
		}
	}
	forgiven = min(max(forgiven, 0), flaps)
	own := flaps - forgiven
	if v, t := levelInt(own, c.WatchFlaps, c.CloseFlaps); v != "" {
		text := fmt.Sprintf("%d flaps (lnd's count, cooled) > %d",
			own, t)
		if forgiven > 0 {
			text = fmt.Sprintf("%d flaps (lnd's count %d, cooled, "+
				"less %d at our own outages) > %d", own, flaps,
				forgiven, t)
		}
		rs = append(rs, Reason{
			Code: ReasonFlapsAbove, Text: text,
			Value: float64(own), Threshold: float64(t),
			Window: WindowLifetime, verdict: v,
		})
	}
	if r, ok := outageReason(f.winOutage, c, win); ok {
		rs = append(rs, r)
	}

	verdict := VerdictOK
	for _, r := range rs {
		if verdictRank(r.verdict) > verdictRank(verdict) {
			verdict = r.verdict
		}
	}
	if rs == nil {
		rs = []Reason{}
	}
	return verdict, rs
}

// outageReason returns the reason a longest outage of ns gives, if any.
func outageReason(ns int64, c VerdictConfig, win string) (Reason, bool) {
	v, t := "", time.Duration(0)
	switch {
	case ns <= 0:
		return Reason{}, false
	case ns >= int64(c.CloseOutage):
		v, t = VerdictConsiderClosing, c.CloseOutage
	case ns >= int64(c.WatchOutage):
		v, t = VerdictWatch, c.WatchOutage
	default:
		return Reason{}, false
	}
	return Reason{
		Code: ReasonOutageAbove,
		Text: fmt.Sprintf("offline %s at a stretch >= %s over %s",
			shortDur(ns), shortDur(int64(t)), win),
		Value:     float64(seconds(time.Duration(ns))),
		Threshold: float64(seconds(t)),
		Window:    win, verdict: v,
	}, true
}

// cooledFlaps is p's flap count cooled to now.
func cooledFlaps(p *peerState, now int64) int {
	if p.hasLastFlap {
		return cooled(now, p.flapCount, p.lastFlap)
	}
	return p.flapCount
}

// levelInt returns the verdict a count above watch or close gives, and
// the threshold it crossed ("" when neither).
func levelInt(v, watch, close int) (string, int) {
	switch {
	case v > close:
		return VerdictConsiderClosing, close
	case v > watch:
		return VerdictWatch, watch
	}
	return "", 0
}

func uptimeReason(up, threshold float64, window, verdict string) Reason {
	return Reason{
		Code: ReasonUptimeBelow,
		Text: fmt.Sprintf("uptime %s < %s over %s", pct(up),
			pct(threshold), window),
		Value: up, Threshold: threshold, Window: window,
		verdict: verdict,
	}
}

// pct writes a ratio as a percentage with one decimal.
func pct(r float64) string {
	return fmt.Sprintf("%.1f%%", 100*r)
}

// shortDur writes ns as the window vocabulary does ("3d2h"), to the
// second ("0s" for nothing).
func shortDur(ns int64) string {
	d := time.Duration(ns).Truncate(time.Second)
	if d <= 0 {
		return "0s"
	}
	return windowName(d)
}
