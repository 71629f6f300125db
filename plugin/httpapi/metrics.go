package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"sort"

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
	labelPeer         = "peer"
	labelWindow       = "window"
)

// Metrics renders the monitor's figures as Prometheus metric families. It
// implements prometheus.Gatherer. Each Gather builds one report and reads
// every metric from it, building the families directly: a node with
// thousands of channels yields tens of thousands of series, too many to
// pass one by one through a registry's consistency checks and sorting
// within a scrape's budget.
type Metrics struct {
	m Monitor
}

// NewMetrics returns the metrics of m.
func NewMetrics(m Monitor) *Metrics {
	return &Metrics{m: m}
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
)

// builder hands out metrics from slabs, to keep allocations per scrape
// few.
type builder struct {
	fams    []*dto.MetricFamily
	metrics []dto.Metric
	gauges  []dto.Gauge
	values  []float64
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

	n := 3 + 5*len(r.Channels) +
		len(r.Peers)*(4+4*len(core.PresetWindows()))
	b := &builder{
		fams:    make([]*dto.MetricFamily, len(families)),
		metrics: make([]dto.Metric, 0, n),
		gauges:  make([]dto.Gauge, 0, n),
		values:  make([]float64, 0, n),
	}
	gauge := dto.MetricType_GAUGE
	for i, f := range families {
		name := metricPrefix + f.name
		help := f.help
		b.fams[i] = &dto.MetricFamily{Name: &name, Help: &help,
			Type: &gauge}
	}

	b.add(famNodeConnected, boolValue(connected), nil)
	b.add(famUnmonitored, float64(r.UnmonitoredSeconds), nil)
	if !r.MonitoringSince.IsZero() {
		b.add(famMonitoringSince, float64(r.MonitoringSince.Unix()),
			nil)
	}

	pairs := make([]dto.LabelPair, 0, 2*len(r.Channels)+
		len(r.Peers)*(1+2*len(core.PresetWindows())))
	pair := func(name, value *string) *dto.LabelPair {
		pairs = append(pairs, dto.LabelPair{Name: name, Value: value})
		return &pairs[len(pairs)-1]
	}
	for i := range r.Channels {
		c := &r.Channels[i]
		labels := []*dto.LabelPair{
			pair(&labelChannelPoint, &c.ChannelPoint),
			pair(&labelPeer, &c.PeerID),
		}
		b.add(famChanOpen, boolValue(c.Status == "open"), labels)
		b.add(famChanAge, float64(c.AgeSeconds), labels)
		b.add(famChanLifetime, float64(c.LifetimeSeconds), labels)
		b.add(famChanUptime, float64(c.UptimeSeconds), labels)
		if c.UptimeRatio != nil {
			b.add(famChanRatio, *c.UptimeRatio, labels)
		}
	}
	windowNames := make([]string, len(core.PresetWindows()))
	for i, w := range core.PresetWindows() {
		windowNames[i] = w.Name
	}
	for i := range r.Peers {
		p := &r.Peers[i]
		peerPair := pair(&labelPeer, &p.PeerID)
		labels := []*dto.LabelPair{peerPair}
		b.add(famPeerOnline, boolValue(p.Online), labels)
		b.add(famPeerChannels, float64(p.OpenChannels), labels)
		b.add(famPeerFlaps, float64(p.FlapCount), labels)
		b.add(famPeerFlapsDecayed, float64(p.FlapCountDecayed), labels)
		for j := range windowNames {
			w, ok := p.Windows[windowNames[j]]
			if !ok {
				continue
			}
			wl := []*dto.LabelPair{peerPair,
				pair(&labelWindow, &windowNames[j])}
			b.add(famPeerMonitored, float64(w.MonitoredSeconds), wl)
			b.add(famPeerUptime, float64(w.UptimeSeconds), wl)
			if w.UptimeRatio != nil {
				b.add(famPeerRatio, *w.UptimeRatio, wl)
			}
			b.add(famPeerOutage, float64(w.LongestOutageSeconds), wl)
		}
	}

	out := b.fams[:0]
	for _, f := range b.fams {
		if len(f.Metric) > 0 {
			out = append(out, f)
		}
	}
	return out, nil
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
