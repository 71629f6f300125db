package httpapi

import (
	"html"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

// The timeline page (README.md, "The timeline page"): one server-rendered
// HTML document with inline CSS and SVG, no external asset, readable
// without JavaScript; a few lines of script sort the table in place, and
// without them the column headers sort through the server.

// Query parameters of the page beyond ParamWindow.
const (
	ParamSort  = "sort"
	ParamOrder = "order"
	ParamOpen  = "open"
)

// Sort columns of the page.
const (
	SortPeer     = "peer"
	SortState    = "state"
	SortUptime   = "uptime"
	SortFlaps    = "flaps"
	SortOutage   = "outage"
	SortChannels = "channels"
	SortVerdict  = "verdict"
)

// DefaultPageWindow is the page's window when the query names none.
const DefaultPageWindow = core.Window30d

// pageWindows are the windows the page offers.
var pageWindows = []string{core.Window1d, core.Window7d, core.Window30d,
	"90d", core.WindowLifetime}

// PageSegments bounds the segments of a row of the page (the peer page
// draws up to core.MaxTimelineSegments).
const PageSegments = 400

// svgWidth is the width of a timeline in SVG units, whatever its width
// on the screen.
const svgWidth = 1000

// PageOptions are a page's choices beyond its data.
type PageOptions struct {
	// Sort is the column the rows are sorted by (SortPeer when empty),
	// in descending order when Desc is set.
	Sort string
	Desc bool

	// OpenOnly lists only the peers with an open channel.
	OpenOnly bool

	// Static makes a page to be read from a file: no links to the
	// server's other pages.
	Static bool
}

// pageRow is one peer of the page with its sort keys.
type pageRow struct {
	p       *core.PeerReport
	tl      *core.PeerTimeline
	win     core.PeerWindow
	verdict string
}

// WritePage writes the page of every peer of rep (over rep's window)
// with their timelines from tl.
func WritePage(w io.Writer, rep core.Report, tl core.Timeline,
	o PageOptions) error {

	_, err := w.Write(renderPage(rep, tl, o))
	return err
}

// renderPage returns the page WritePage writes.
func renderPage(rep core.Report, tl core.Timeline, o PageOptions) []byte {
	if o.Sort == "" {
		o.Sort = SortPeer
	}
	rows, hasVerdict := pageRows(rep, tl, o)
	sortRows(rows, o.Sort, o.Desc)

	b := pageBuf{b: make([]byte, 0, 4096+1500*len(rows))}
	b.s(pageHead)
	b.s("<title>chanfitness: peers</title>")
	b.s(pageStyle)
	b.s("</head><body><h1>Peers</h1>")
	writeSummary(&b, rep, tl)
	if !o.Static {
		writeNav(&b, rep, o)
	}
	writeKey(&b)
	b.s(`<div class=wrap><table id=peers data-t0=`)
	b.b = strconv.AppendInt(b.b, tl.Start.Unix(), 10)
	b.s(` data-t1=`)
	b.b = strconv.AppendInt(b.b, tl.End.Unix(), 10)
	b.s(`><thead><tr>`)
	writeHeads(&b, rep, tl, o, hasVerdict)
	b.s("</tr></thead><tbody>\n")
	for _, r := range rows {
		writeRow(&b, r, rep, tl, o, hasVerdict)
	}
	b.s("</tbody></table></div>")
	if len(rows) == 0 {
		b.s("<p>No peer with a channel yet.</p>")
	}
	b.s("<script>" + pageScript + "</script></body></html>\n")
	return b.b
}

// pageRows are the page's rows, unsorted, and whether any has a verdict.
func pageRows(rep core.Report, tl core.Timeline,
	o PageOptions) ([]pageRow, bool) {
	byPeer := make(map[string]*core.PeerTimeline, len(tl.Peers))
	for i := range tl.Peers {
		byPeer[tl.Peers[i].PeerID] = &tl.Peers[i]
	}
	rows := make([]pageRow, 0, len(rep.Peers))
	hasVerdict := false
	for i := range rep.Peers {
		p := &rep.Peers[i]
		if o.OpenOnly && p.OpenChannels == 0 {
			continue
		}
		r := pageRow{p: p, tl: byPeer[p.PeerID],
			win: p.Windows[rep.Window], verdict: peerVerdict(p)}
		hasVerdict = hasVerdict || r.verdict != ""
		rows = append(rows, r)
	}
	return rows, hasVerdict
}

// writeNav writes the links to the page's other windows and peer sets.
func writeNav(b *pageBuf, rep core.Report, o PageOptions) {
	b.s("<nav>Window:")
	for _, name := range pageWindows {
		if name == rep.Window {
			b.s(" <b>" + name + "</b>")
			continue
		}
		b.s(` <a href="?`)
		b.s(pageLink(name, o.Sort, o.Desc, o.OpenOnly))
		b.s(`">` + name + "</a>")
	}
	b.s(" | Peers: ")
	if o.OpenOnly {
		b.s(`<a href="?` + pageLink(rep.Window, o.Sort, o.Desc,
			false) + `">all</a> <b>with open channels</b>`)
	} else {
		b.s(`<b>all</b> <a href="?` + pageLink(rep.Window,
			o.Sort, o.Desc, true) +
			`">with open channels</a>`)
	}
	b.s("</nav>")
}

// writeHeads writes the table's column headers, each a link sorting by
// its column.
func writeHeads(b *pageBuf, rep core.Report, tl core.Timeline,
	o PageOptions, hasVerdict bool) {
	cols := []struct{ name, label, class string }{
		{SortPeer, "Peer", ""},
		{"", "Timeline " + html.EscapeString(tl.Start.UTC().
			Format(dayFormat)+" – "+tl.End.UTC().Format(dayFormat)),
			""},
		{SortState, "State since", ""},
		{SortUptime, "Uptime", "n"},
		{SortFlaps, "Flaps", "n"},
		{SortOutage, "Longest outage", "n"},
		{SortChannels, "Open channels", "n"},
	}
	if hasVerdict {
		cols = append(cols, struct{ name, label, class string }{
			SortVerdict, "Verdict", ""})
	}
	for i, c := range cols {
		b.s("<th")
		if c.class != "" {
			b.s(" class=" + c.class)
		}
		if c.name == "" {
			b.s(">" + c.label + "</th>")
			continue
		}
		order, mark := "", ""
		desc := false
		if c.name == o.Sort {
			desc = !o.Desc
			order, mark = "asc", " ▲"
			if o.Desc {
				order, mark = "desc", " ▼"
			}
		}
		b.s(` data-i="` + strconv.Itoa(i) + `" data-o="` + order +
			`" data-col="` + c.name + `"><a href="?`)
		b.s(pageLink(rep.Window, c.name, desc, o.OpenOnly))
		b.s(`">` + c.label + mark + "</a></th>")
	}
}

// pageLink is the query of the page with these choices.
func pageLink(window, sort string, desc, open bool) string {
	q := ParamWindow + "=" + window + "&amp;" + ParamSort + "=" + sort
	if desc {
		q += "&amp;" + ParamOrder + "=desc"
	}
	if open {
		q += "&amp;" + ParamOpen + "=1"
	}
	return q
}

// writeNodeOutages says how many outages of our own node the verdicts
// leave out, and when the last one was.
func writeNodeOutages(b *pageBuf, outs []core.NodeOutage) {
	if len(outs) == 0 {
		return
	}
	var total int64
	for _, o := range outs {
		total += o.Seconds
	}
	last := outs[len(outs)-1]
	b.s(" Our own outages (most channel peers offline at once), " +
		"left out of the verdicts: " + strconv.Itoa(len(outs)) +
		" in the verdict window, " +
		fmtDur(time.Duration(total)*time.Second) + " in all; the last ")
	if last.Ongoing {
		b.s("<span class=down>under way since " +
			fmtTime(last.Start.Time) + "</span>.")
		return
	}
	b.span(last.Start.Time, last.End.Time)
	b.s(".")
}

// writeSummary writes the line about the monitor under the title.
func writeSummary(b *pageBuf, rep core.Report, tl core.Timeline) {
	b.s("<p class=muted>Window <b>" + rep.Window + "</b>, from ")
	b.s(fmtTime(tl.Start.Time) + " to " + fmtTime(tl.End.Time) +
		" UTC (every time on the page is UTC). Monitoring since " +
		fmtTime(rep.MonitoringSince.Time))
	b.s(", unmonitored " + fmtDur(time.Duration(rep.UnmonitoredSeconds)*
		time.Second) + ". Node ")
	if rep.NodeConnected {
		b.s("<span class=up>connected</span>.")
	} else {
		b.s("<span class=down>not connected</span>.")
	}
	writeNodeOutages(b, rep.NodeOutages)
	if !rep.Store.Writing {
		b.s(" <span class=down>The store does not take writes")
		if rep.Store.Error != nil {
			b.s(": " + html.EscapeString(*rep.Store.Error))
		}
		b.s(".</span>")
	}
	b.s("</p>")
}

// writeKey writes the colour key.
func writeKey(b *pageBuf) {
	b.s("<p class=key><span class=on></span>online" +
		"<span class=off></span>offline" +
		"<span class=um></span>unmonitored" +
		"<span class=un></span>unstable (runs shorter than the " +
		"resolution, merged)<span class=o></span>channel opened" +
		"<span class=c></span>channel closed</p>")
}

// writeRow writes one peer's row. Its cells' end tags are left out, as
// HTML allows, and its numbers are aligned by the style rather than a
// class: a row is written thousands of times.
func writeRow(b *pageBuf, r pageRow, rep core.Report, tl core.Timeline,
	o PageOptions, hasVerdict bool) {

	p := r.p
	b.s(`<tr><td>`)
	short := p.PeerID
	if len(short) > 20 {
		short = short[:8] + "…" + short[len(short)-8:]
	}
	if o.Static {
		b.s(`<span title="` + escape(p.PeerID) + `">` + escape(short) +
			"</span>")
	} else {
		b.s(`<a href="` + strings.TrimPrefix(PathPeerPage, "/") +
			escape(p.PeerID))
		if rep.Window != DefaultPageWindow {
			b.s("?" + ParamWindow + "=" + rep.Window)
		}
		b.s(`">` + escape(short) + "</a>")
	}
	b.s(`<td class=tl>`)
	writeRowSVG(b, r.tl, tl)
	b.s(`<td data-v=`)
	b.f(stateKey(p), 0)
	b.s(`>`)
	if p.Online {
		b.s("<span class=up>online</span>")
	} else {
		b.s("<span class=down>offline</span>")
	}
	if !p.Since.IsZero() {
		b.s(" " + fmtTime(p.Since.Time))
	}
	b.s(`<td data-v=`)
	b.f(ratioKey(r.win.UptimeRatio), 6)
	b.s(`>` + fmtRatio(r.win.UptimeRatio))
	// A number shown as it sorts needs no data-v.
	b.s(`<td>` + strconv.Itoa(p.FlapCount))
	out := r.win.LongestOutageSeconds
	b.s(`<td data-v=` + strconv.FormatInt(out, 10) + `>`)
	b.s(fmtDur(time.Duration(out) * time.Second))
	b.s(`<td>` + strconv.Itoa(p.OpenChannels))
	if hasVerdict {
		verdictCell(b, p)
	}
	b.s("\n")
}
