package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// PeerPageOutages is how many of a peer's newest outages its page lists.
const PeerPageOutages = 200

// servePeerPage answers GET /peer/{id}?window= with one peer's page.
func servePeerPage(w http.ResponseWriter, r *http.Request, m Monitor) {
	id, err := core.ParsePeerID(r.PathValue("id"))
	if err != nil {
		writeErrorPage(w, http.StatusBadRequest,
			fmt.Errorf("path %s: %w", PathPeerPage+"{peer id}", err))
		return
	}
	var rq core.ReportQuery
	window := DefaultPageWindow
	err = parseQuery(r.URL.RawQuery, []string{ParamWindow},
		func(key, value string) error {
			if err := setReportParam(&rq, key, value); err != nil {
				return err
			}
			window = rq.Window
			return nil
		})
	if err != nil {
		writeErrorPage(w, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	rep, err := m.Report(ctx, core.ReportQuery{Peer: &id, Window: window})
	if err != nil {
		writeErrorPage(w, statusOf(err), err)
		return
	}
	tl, err := m.Timeline(ctx, core.TimelineQuery{Peer: &id,
		Window: window, Outages: PeerPageOutages})
	if err != nil {
		writeErrorPage(w, statusOf(err), err)
		return
	}
	if len(rep.Peers) == 0 || len(tl.Peers) == 0 {
		writeErrorPage(w, http.StatusNotFound,
			fmt.Errorf("%w: %v", core.ErrPeerNotFound, id))
		return
	}
	var buf bytes.Buffer
	writePeerPage(&buf, rep, tl)
	writePage(w, r, buf.Bytes())
}

// writePeerPage writes the page of rep's one peer.
func writePeerPage(w *bytes.Buffer, rep core.Report, tl core.Timeline) {
	p := &rep.Peers[0]
	pt := &tl.Peers[0]
	win := p.Windows[rep.Window]
	var b pageBuf
	b.s(pageHead)
	b.s("<title>chanfitness: peer " + p.PeerID[:16] + "…</title>")
	b.s(pageStyle)
	b.s(`</head><body><nav><a href="../?` + ParamWindow + "=" +
		rep.Window + `">All peers</a></nav><h1>Peer <span id=peer>` +
		p.PeerID + "</span></h1>")
	writeSummary(&b, rep, tl)
	b.s("<nav>Window:")
	for _, name := range pageWindows {
		if name == rep.Window {
			b.s(" <b>" + name + "</b>")
			continue
		}
		b.s(` <a href="?` + ParamWindow + "=" + name + `">` + name +
			"</a>")
	}
	b.s("</nav>")

	writePeerStatus(&b, p, pt, win)
	writeKey(&b)
	writeSVG(&b, pt, tl, "tl big", true)
	b.s("<p class=muted>" + fmtTime(tl.Start.Time) + " – " +
		fmtTime(tl.End.Time) + " UTC; runs shorter than " +
		fmtDur(tl.Resolution) + " are merged.</p>")

	writePeerChannels(&b, rep)
	writePeerOutages(&b, pt)
	writePeerEvents(&b, p)
	b.s("</body></html>\n")
	w.Write(b.b)
}

// writePeerStatus writes the peer's state, uptime, flaps and verdict
// with its reasons.
func writePeerStatus(b *pageBuf, p *core.PeerReport, pt *core.PeerTimeline,
	win core.PeerWindow) {
	b.s("<p>")
	if p.Online {
		b.s("<span class=up>Online</span>")
	} else {
		b.s("<span class=down>Offline</span>")
	}
	b.s(" since " + fmtTime(p.Since.Time) + " UTC. Uptime " +
		fmtRatio(win.UptimeRatio) + " of " +
		fmtDur(time.Duration(win.MonitoredSeconds)*time.Second) +
		" monitored; longest outage " +
		fmtDur(time.Duration(win.LongestOutageSeconds)*time.Second) +
		"; " + plural(pt.OutageCount, "outage") + ". Flaps " +
		strconv.Itoa(p.FlapCount) + " (cooled down " +
		strconv.Itoa(p.FlapCountDecayed) + ")")
	if !p.LastFlap.IsZero() {
		b.s(", the last " + fmtTime(p.LastFlap.Time) + " UTC")
	}
	b.s(".")
	if v := peerVerdict(p); v != "" {
		b.s(" Verdict: <b id=verdict class=\"v " + escape(p.Verdict) +
			"\">" +
			escape(v) + "</b>.")
	}
	b.s("</p>")
	if len(p.Reasons) > 0 {
		b.s("<ul id=reasons>")
		for _, r := range p.Reasons {
			b.s("<li>" + escape(r.Text) + "</li>")
		}
		b.s("</ul>")
	}
}

// writePeerChannels writes the table of the peer's channels.
func writePeerChannels(b *pageBuf, rep core.Report) {
	b.s("<h2>Channels</h2><div class=wrap><table id=channels><thead><tr>" +
		"<th>Channel point</th><th>Short id</th><th>Status</th>" +
		"<th>Opened</th><th>Closed</th><th class=n>Age</th>" +
		"<th class=n>Uptime (lifetime)</th><th class=n>Uptime (" +
		rep.Window + ")</th></tr></thead><tbody>\n")
	for _, c := range rep.Channels {
		scid := "—"
		if c.ShortChannelID != nil {
			scid = html.EscapeString(*c.ShortChannelID)
		}
		opened := fmtTime(c.OpenedAt.Time)
		if c.OpenedAtSource != "" && c.OpenedAtSource != "seen" {
			opened += " (" + html.EscapeString(c.OpenedAtSource) +
				")"
		}
		b.s("<tr><td>" + c.ChannelPoint + "</td><td>" + scid +
			"</td><td>" + c.Status + "</td><td>" + opened +
			"</td><td>" + fmtTime(c.ClosedAt.Time) +
			"</td><td class=n>" + fmtDur(time.Duration(
			c.AgeSeconds)*time.Second) + "</td><td class=n>" +
			fmtRatio(c.UptimeRatio) + "</td><td class=n>" +
			fmtRatio(c.Windows[rep.Window].UptimeRatio) +
			"</td></tr>\n")
	}
	b.s("</tbody></table></div>")
}

// writePeerOutages writes the window's outages and how many are not
// listed.
func writePeerOutages(b *pageBuf, pt *core.PeerTimeline) {
	b.s("<h2>Outages in the window</h2>")
	if pt.OutageCount == 0 {
		b.s("<p>None.</p>")
	} else {
		b.s("<div class=wrap><table id=outages><thead><tr>" +
			"<th>Start (UTC)</th><th>End (UTC)</th>" +
			"<th class=n>Length</th></tr></thead><tbody>\n")
		for _, o := range pt.Outages {
			end := fmtTime(o.End.Time)
			if o.Ongoing {
				end = "ongoing"
			}
			b.s("<tr><td>" + fmtTime(o.Start.Time) + "</td><td>" +
				end + "</td><td class=n>" +
				fmtDur(o.End.Sub(o.Start.Time)) + "</td></tr>\n")
		}
		b.s("</tbody></table></div>")
		if more := pt.OutageCount - len(pt.Outages); more > 0 {
			b.s("<p class=muted>" + plural(more, "older outage") +
				" not listed.</p>")
		}
	}
}

// writePeerEvents writes the peer's recent events.
func writePeerEvents(b *pageBuf, p *core.PeerReport) {
	b.s("<h2>Recent events</h2>")
	if len(p.RecentEvents) == 0 {
		b.s("<p>None.</p>")
	} else {
		b.s("<table id=events><thead><tr><th>Time (UTC)</th>" +
			"<th>Became</th></tr></thead><tbody>\n")
		for _, e := range p.RecentEvents {
			state := "<span class=down>offline</span>"
			if e.Online {
				state = "<span class=up>online</span>"
			}
			b.s("<tr><td>" + fmtTime(e.Time.Time) + "</td><td>" +
				state + "</td></tr>\n")
		}
		b.s("</tbody></table>")
	}
}

// plural writes "1 outage", "2 outages".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
