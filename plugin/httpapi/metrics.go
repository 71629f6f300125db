package httpapi

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/chanfitness/chanfitness/alert"
	"github.com/chanfitness/chanfitness/core"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// metricPrefix starts every metric name.
const metricPrefix = "chanfitness_"

// Label names.
var (
	labelChannelPoint = "channel_point"
	labelChanID       = "chan_id"
	labelSCID         = "scid"
	labelPeer         = "peer"
	labelWindow       = "window"
	labelVerdict      = "verdict"
	labelKind         = "kind"
	labelSink         = "sink"
)

// Metrics renders the monitor's figures as Prometheus metric families. It
// implements prometheus.Gatherer. Each Gather builds one report and reads
// every metric from it, building the families directly: a node with
// thousands of channels yields tens of thousands of series, too many to
// pass one by one through a registry's consistency checks and sorting
// within a scrape's budget.
type Metrics struct {
	m Monitor

	// alerts gives the alert counters (alert.Totals).
	alerts func() alert.Counts
}

// NewMetrics returns the metrics of m, with the alert counters of the
// process.
func NewMetrics(m Monitor) *Metrics {
	return &Metrics{m: m, alerts: alert.Totals}
}

// families are the metric families in the order Gather returns them.
var families = []struct {
	name, help string
}{
	{"channel_age_seconds",
		"Wall time since the channel opened (until it closed)."},
	{"channel_lifetime_seconds",
		"Monitored time since the channel opened (until it closed)."},
	{"channel_open",
		"Whether the channel is open (1) or closed and kept for " +
			"retention (0)."},
	{"channel_uptime_ratio",
		"Uptime over lifetime of the channel (absent while nothing " +
			"was monitored)."},
	{"channel_uptime_seconds",
		"Time the peer was online within the channel's lifetime."},
	{"monitoring_since_timestamp_seconds",
		"When monitoring began, in Unix seconds."},
	{"node_connected",
		"Whether the companion is connected to lnd (1) or not (0)."},
	// Not "_count": Prometheus keeps that suffix for histograms and
	// summaries.
	{"peer_flaps",
		"lnd's flap count of the peer, cooled down only when the " +
			"peer flaps."},
	{"peer_flaps_decayed", "The flap count cooled down to now."},
	{"peer_longest_outage_seconds",
		"Longest time the peer was offline in the window."},
	{"peer_monitored_seconds", "Monitored time of the peer in the window."},
	{"peer_online", "Whether the peer is connected (1) or not (0)."},
	{"peer_open_channels", "Open channels with the peer."},
	{"peer_uptime_ratio",
		"Uptime over monitored time of the peer in the window " +
			"(absent while nothing was monitored)."},
	{"peer_uptime_seconds", "Time the peer was online in the window."},
	{"unmonitored_seconds",
		"Time since monitoring began during which lnd was not " +
			"observed."},
	{"peer_verdict",
		"The peer's verdict: 1 for the verdict label it has now."},
	{"alerts_raised_total", "Alerts raised, by kind."},
	{"alert_deliveries_total", "Alerts delivered, by sink."},
	{"alert_delivery_failures_total",
		"Failed attempts to deliver an alert, by sink."},
}

// Indexes into families.
const (
	famChanAge = iota
	famChanLifetime
	famChanOpen
	famChanRatio
	famChanUptime
	famMonitoringSince
	famNodeConnected
	famPeerFlaps
	famPeerFlapsDecayed
	famPeerOutage
	famPeerMonitored
	famPeerOnline
	famPeerChannels
	famPeerRatio
	famPeerUptime
	famUnmonitored
	famPeerVerdict
	famAlertsRaised
	famAlertsDelivered
	famAlertsFailed
)

// builder hands out metrics from slabs, to keep allocations per scrape
// few.
type builder struct {
	fams    []*dto.MetricFamily
	metrics []dto.Metric
	gauges  []dto.Gauge
	values  []float64
	pairs   []dto.LabelPair
}

// add appends a gauge to family f.
func (b *builder) add(f int, v float64, labels []*dto.LabelPair) {
	i := len(b.values)
	b.values = append(b.values, v)
	b.gauges = append(b.gauges, dto.Gauge{})
	b.metrics = append(b.metrics, dto.Metric{})
	// The slabs are sized up front so that appends do not move them.
	b.gauges[i].Value = &b.values[i]
	b.metrics[i].Label = labels
	b.metrics[i].Gauge = &b.gauges[i]
	b.fams[f].Metric = append(b.fams[f].Metric, &b.metrics[i])
}

// pair returns a label pair from the builder's slab.
func (b *builder) pair(name, value *string) *dto.LabelPair {
	b.pairs = append(b.pairs, dto.LabelPair{Name: name, Value: value})
	return &b.pairs[len(b.pairs)-1]
}

// newBuilder returns a builder with room for the metrics of r.
func newBuilder(r *core.Report) *builder {
	n := 16 + 5*len(r.Channels) +
		len(r.Peers)*(5+4*len(core.PresetWindows()))
	b := &builder{
		fams:    make([]*dto.MetricFamily, len(families)),
		metrics: make([]dto.Metric, 0, n),
		gauges:  make([]dto.Gauge, 0, n),
		values:  make([]float64, 0, n),
		pairs: make([]dto.LabelPair, 0, 16+4*len(r.Channels)+
			len(r.Peers)*(2+2*len(core.PresetWindows()))),
	}
	gauge, counter := dto.MetricType_GAUGE, dto.MetricType_COUNTER
	for i, f := range families {
		name, help, typ := metricPrefix+f.name, f.help, &gauge
		if strings.HasSuffix(f.name, "_total") {
			typ = &counter
		}
		b.fams[i] = &dto.MetricFamily{Name: &name, Help: &help,
			Type: typ}
	}
	return b
}

// Gather implements prometheus.Gatherer.
func (x *Metrics) Gather() ([]*dto.MetricFamily, error) {
	ctx, cancel := context.WithTimeout(context.Background(),
		reportTimeout)
	defer cancel()

	connected, _ := x.m.Connected()
	r, err := x.m.Report(ctx, core.ReportQuery{})
	if err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	b := newBuilder(&r)
	b.add(famNodeConnected, boolValue(connected), nil)
	b.add(famUnmonitored, float64(r.UnmonitoredSeconds), nil)
	if !r.MonitoringSince.IsZero() {
		b.add(famMonitoringSince, float64(r.MonitoringSince.Unix()),
			nil)
	}
	b.addChannels(r.Channels)
	b.addPeers(r.Peers)
	b.addAlerts(x.alerts())

	out := b.fams[:0]
	for _, f := range b.fams {
		if len(f.Metric) > 0 {
			out = append(out, f)
		}
	}
	return out, nil
}

// addChannels adds the channel metrics, labelled by channel point and
// peer, and once the channel has a short channel id by chan_id (lnd's
// decimal form) and scid (Core Lightning's BxTxO), so that they join
// with lndmon's and Core Lightning's metrics.
func (b *builder) addChannels(chans []core.ChannelReport) {
	ids := make([]string, len(chans))
	for i := range chans {
		c := &chans[i]
		labels := make([]*dto.LabelPair, 0, 4)
		if c.ShortChannelID != nil {
			ids[i] = chanIDOf(*c.ShortChannelID)
		}
		if ids[i] != "" {
			labels = append(labels, b.pair(&labelChanID, &ids[i]))
		}
		labels = append(labels, b.pair(&labelChannelPoint,
			&c.ChannelPoint), b.pair(&labelPeer, &c.PeerID))
		if ids[i] != "" {
			labels = append(labels, b.pair(&labelSCID,
				c.ShortChannelID))
		}
		b.add(famChanOpen, boolValue(c.Status == "open"), labels)
		b.add(famChanAge, float64(c.AgeSeconds), labels)
		b.add(famChanLifetime, float64(c.LifetimeSeconds), labels)
		b.add(famChanUptime, float64(c.UptimeSeconds), labels)
		if c.UptimeRatio != nil {
			b.add(famChanRatio, *c.UptimeRatio, labels)
		}
	}
}

// addPeers adds the peer metrics, by peer and window.
func (b *builder) addPeers(peers []core.PeerReport) {
	windowNames := make([]string, len(core.PresetWindows()))
	for i, w := range core.PresetWindows() {
		windowNames[i] = w.Name
	}
	for i := range peers {
		p := &peers[i]
		peerPair := b.pair(&labelPeer, &p.PeerID)
		labels := []*dto.LabelPair{peerPair}
		b.add(famPeerOnline, boolValue(p.Online), labels)
		b.add(famPeerChannels, float64(p.OpenChannels), labels)
		b.add(famPeerFlaps, float64(p.FlapCount), labels)
		b.add(famPeerFlapsDecayed, float64(p.FlapCountDecayed), labels)
		if p.Verdict != "" {
			b.add(famPeerVerdict, 1, []*dto.LabelPair{peerPair,
				b.pair(&labelVerdict, &p.Verdict)})
		}
		for j := range windowNames {
			w, ok := p.Windows[windowNames[j]]
			if !ok {
				continue
			}
			wl := []*dto.LabelPair{peerPair,
				b.pair(&labelWindow, &windowNames[j])}
			b.add(famPeerMonitored, float64(w.MonitoredSeconds), wl)
			b.add(famPeerUptime, float64(w.UptimeSeconds), wl)
			if w.UptimeRatio != nil {
				b.add(famPeerRatio, *w.UptimeRatio, wl)
			}
			b.add(famPeerOutage, float64(w.LongestOutageSeconds), wl)
		}
	}
}

// addAlerts adds the alert counters, in label order.
func (b *builder) addAlerts(c alert.Counts) {
	for _, fam := range []struct {
		f     int
		label *string
		m     map[string]uint64
	}{{famAlertsRaised, &labelKind, c.Raised},
		{famAlertsDelivered, &labelSink, c.Delivered},
		{famAlertsFailed, &labelSink, c.Failed}} {

		for _, k := range slices.Sorted(maps.Keys(fam.m)) {
			b.addCounter(fam.f, float64(fam.m[k]),
				[]*dto.LabelPair{b.pair(fam.label, &k)})
		}
	}
}

// addCounter appends a counter to family f.
func (b *builder) addCounter(f int, v float64, labels []*dto.LabelPair) {
	b.fams[f].Metric = append(b.fams[f].Metric, &dto.Metric{
		Label: labels, Counter: &dto.Counter{Value: &v}})
}

// chanIDOf returns lnd's decimal channel id of a "BxTxO" short channel
// id, or "" when it is not one.
func chanIDOf(scid string) string {
	parts := strings.Split(scid, "x")
	if len(parts) != 3 {
		return ""
	}
	var v [3]uint64
	for i, bits := range []int{24, 24, 16} {
		n, err := strconv.ParseUint(parts[i], 10, bits)
		if err != nil {
			return ""
		}
		v[i] = n
	}
	return strconv.FormatUint(v[0]<<40|v[1]<<16|v[2], 10)
}

// MetricsHandler serves the metrics of m, with the Go runtime's and the
// process's, in the exposition format the scraper asks for (gzipped when
// it accepts that). A failing report fails the scrape with 500 rather
// than showing zeros.
func MetricsHandler(m Monitor) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(),
		collectors.NewProcessCollector(
			collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(gatherers{reg, NewMetrics(m)},
		promhttp.HandlerOpts{})
}

// gatherers joins the families of gatherers whose names do not overlap,
// sorted by name, without prometheus.Gatherers' consistency checks of
// every series (see Metrics).
type gatherers []prometheus.Gatherer

// Gather implements prometheus.Gatherer.
func (gs gatherers) Gather() ([]*dto.MetricFamily, error) {
	var fams []*dto.MetricFamily
	for _, g := range gs {
		f, err := g.Gather()
		if err != nil {
			return nil, err
		}
		fams = append(fams, f...)
	}
	sort.SliceStable(fams, func(i, j int) bool {
		return fams[i].GetName() < fams[j].GetName()
	})
	return fams, nil
}

// boolValue is 1 for true and 0 for false.
func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
