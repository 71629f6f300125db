package alert

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// outage is an offline alert on record: its key and the outage's start.
type outage struct {
	key   string
	since int64
}

// offlineRecords returns the offline alerts on record by peer.
func (a *Alerter) offlineRecords() map[string]outage {
	out := make(map[string]outage)
	for k := range a.recs {
		rest, ok := strings.CutPrefix(k, offlinePrefix)
		if !ok {
			continue
		}
		peer, ns, ok := strings.Cut(rest, "/")
		since, err := strconv.ParseInt(ns, 10, 64)
		if !ok || err != nil {
			continue
		}
		out[peer] = outage{key: k, since: since}
	}
	return out
}

// raise records the alerts due now. Nothing is raised while the node is
// lost: our own downtime is no peer's fault.
func (a *Alerter) raise(ctx context.Context) error {
	if connected, _ := a.cfg.Source.Connected(); !connected {
		return nil
	}
	r, err := a.cfg.Source.Report(ctx, core.ReportQuery{})
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	// Read again after the report: a step of the clock that the
	// report's reading found moved the connection's start.
	connected, connSince := a.cfg.Source.Connected()
	if !connected {
		return nil
	}
	now := r.GeneratedAt.Time
	offline := a.offlineRecords()
	quiet := a.massOutage(r)
	var put []core.AlertRecord
	var del []string
	add := func(al Alert) {
		rec, err := a.newRecord(al, now)
		if err == nil {
			put = append(put, rec)
		}
	}
	seen := make(map[string]bool, len(r.Peers))
	for _, p := range r.Peers {
		seen[p.PeerID] = true
		off, hasOff := offline[p.PeerID]
		since := p.Since.UnixNano()
		if hasOff && (p.Online || off.since != since) {
			// The outage alerted on is over.
			bk := backPrefix + p.PeerID + "/" +
				strconv.FormatInt(off.since, 10)
			if _, sent := a.recs[bk]; !sent {
				add(backAlert(bk, p, off.since, now))
			}
			if !p.Online {
				// Offline again: this outage is a new one.
				hasOff = false
			}
		}
		if !p.Online && !hasOff && p.OpenChannels > 0 && !quiet {
			// Counted from the latest of its drop, our
			// connection and the end of a mass outage.
			start := p.Since.Time
			for _, t := range []time.Time{connSince, a.massEnd} {
				if t.After(start) {
					start = t
				}
			}
			if now.Sub(start) >= a.cfg.OfflineAfter {
				key := offlinePrefix + p.PeerID + "/" +
					strconv.FormatInt(since, 10)
				if _, sent := a.recs[key]; !sent {
					add(offlineAlert(key, p, now))
				}
			}
		}

		vput, vdel, changed := a.verdictChange(p, r, now)
		put = append(put, vput...)
		del = append(del, vdel...)
		if changed != nil {
			add(*changed)
		}
	}
	// A peer gone from the report (retention expired) needs no mark.
	for k := range a.recs {
		for _, prefix := range []string{verdictPrefix, awayPrefix} {
			peer, ok := strings.CutPrefix(k, prefix)
			if ok && !seen[peer] {
				del = append(del, k)
			}
		}
	}
	sort.Strings(del)
	return a.put(ctx, put, del)
}

// Mass outages are the report's node outages (core.NodeOutage): while
// more than half of at least core.NodeOutageMinPeers channel peers are
// offline at once, the cause is most likely our own connection, not
// theirs: no offline alert is raised until most are back, and a peer
// that was away then is given the full threshold from the end, like the
// time after a reconnection of our node: peers come back one by one as
// their reconnection backoffs run out. The verdicts leave the same
// spans out, so both follow one rule.

// massOutage says whether the report finds a node outage under way,
// notes when the last one ended and logs when one starts and ends.
func (a *Alerter) massOutage(r core.Report) bool {
	var last core.NodeOutage
	if n := len(r.NodeOutages); n > 0 {
		last = r.NodeOutages[n-1]
		if !last.Ongoing && last.End.After(a.massEnd) {
			a.massEnd = last.End.Time
		}
	}
	mass := last.Ongoing
	if mass != a.mass {
		a.mass = mass
		if mass {
			a.cfg.Logger.Warnf("alerts: %d of %d channel peers "+
				"offline at once; most likely our own "+
				"connection: no offline alerts until most are "+
				"back", last.PeersOffline, last.Peers)
		} else {
			a.cfg.Logger.Infof("alerts: most channel peers are "+
				"back; a peer still away alerts after %s",
				fmtDur(a.cfg.OfflineAfter))
		}
	}
	return mass
}

func offlineAlert(key string, p core.PeerReport, now time.Time) Alert {
	d := now.Sub(p.Since.Time)
	return Alert{
		ID: key, Kind: KindOffline, Time: core.Time{Time: now},
		PeerID: p.PeerID, OpenChannels: p.OpenChannels,
		OfflineSince:   p.Since,
		OfflineSeconds: int64(d / time.Second),
		Verdict:        p.Verdict, Reasons: p.Reasons,
		Text: fmt.Sprintf("peer %s offline for %s (since %s), %d "+
			"open channels", p.PeerID, fmtDur(d),
			p.Since.UTC().Format(time.RFC3339), p.OpenChannels),
	}
}

// backAlert is the alert of p back after the outage from since (unix
// ns). The time it came back is the first online event after since, or
// p's state's start.
func backAlert(key string, p core.PeerReport, since int64,
	now time.Time) Alert {

	start := time.Unix(0, since).UTC()
	back := p.Since.Time
	for _, ev := range p.RecentEvents {
		if ev.Online && ev.Time.After(start) && ev.Time.Before(back) {
			back = ev.Time.Time
		}
	}
	d := max(back.Sub(start), 0)
	return Alert{
		ID: key, Kind: KindBack, Time: core.Time{Time: now},
		PeerID: p.PeerID, OpenChannels: p.OpenChannels,
		OfflineSince:   core.Time{Time: start},
		OfflineSeconds: int64(d / time.Second),
		Verdict:        p.Verdict, Reasons: p.Reasons,
		Text: fmt.Sprintf("peer %s back online after %s away",
			p.PeerID, fmtDur(d)),
	}
}

func verdictAlert(key string, p core.PeerReport, old string,
	now time.Time) Alert {

	why := make([]string, 0, len(p.Reasons))
	for _, r := range p.Reasons {
		why = append(why, r.Text)
	}
	text := fmt.Sprintf("peer %s verdict %s -> %s", p.PeerID, old,
		p.Verdict)
	if len(why) > 0 {
		text += ": " + strings.Join(why, "; ")
	}
	return Alert{
		ID: key, Kind: KindVerdict, Time: core.Time{Time: now},
		PeerID: p.PeerID, OpenChannels: p.OpenChannels,
		Verdict: p.Verdict, PreviousVerdict: old, Reasons: p.Reasons,
		Text: text,
	}
}

// fmtDur writes d to the second in the options' vocabulary ("1h30m").
func fmtDur(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		c byte
		d time.Duration
	}{{'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute},
		{'s', time.Second}} {

		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteByte(u.c)
			d -= n * u.d
		}
	}
	return b.String()
}
