package httpapi

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"math"
	"net/http"
	"slices"
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

var sortColumns = []string{SortPeer, SortState, SortUptime, SortFlaps,
	SortOutage, SortChannels, SortVerdict}

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

// pageQuery is a parsed query of the page.
type pageQuery struct {
	window string
	opts   PageOptions
}

// parsePageQuery reads the page's query: window as in the report, sort
// (a column), order (asc or desc) and open (1: only peers with an open
// channel, 0: all).
func parsePageQuery(rawQuery string) (pageQuery, error) {
	var rq core.ReportQuery
	q := pageQuery{window: DefaultPageWindow}
	err := parseQuery(rawQuery, []string{ParamWindow, ParamSort,
		ParamOrder, ParamOpen}, func(key, value string) error {

		switch key {
		case ParamWindow:
			if err := setReportParam(&rq, key, value); err != nil {
				return err
			}
			q.window = rq.Window
		case ParamSort:
			if !slices.Contains(sortColumns, value) {
				return badValue(key, value, orList(sortColumns))
			}
			q.opts.Sort = value
		case ParamOrder:
			if value != "asc" && value != "desc" {
				return badValue(key, value, "asc or desc")
			}
			q.opts.Desc = value == "desc"
		case ParamOpen:
			if value != "0" && value != "1" {
				return badValue(key, value, "0 or 1")
			}
			q.opts.OpenOnly = value == "1"
		}
		return nil
	})
	return q, err
}

// badValue is the error of a query parameter's value outside its set.
func badValue(key, value, want string) error {
	return &badInput{"query parameter " + key + ": " +
		core.ErrBadInput.Error() + ": " + core.Quote(value) +
		" (want " + want + ")"}
}

// badInput is an error message that wraps core.ErrBadInput.
type badInput struct{ msg string }

func (e *badInput) Error() string { return e.msg }

func (e *badInput) Unwrap() error { return core.ErrBadInput }

// isPage reports whether path is one of the pages (for which a browser
// asks for the token as a password).
func isPage(path string) bool {
	return path == PathPage || strings.HasPrefix(path, PathPeerPage)
}

// servePage answers GET / with the page of every peer.
func servePage(w http.ResponseWriter, r *http.Request, m Monitor) {
	q, err := parsePageQuery(r.URL.RawQuery)
	if err != nil {
		writeErrorPage(w, http.StatusBadRequest, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
	defer cancel()
	rep, err := m.Report(ctx, core.ReportQuery{Window: q.window,
		PeersOnly: true})
	if err != nil {
		writeErrorPage(w, statusOf(err), err)
		return
	}
	tl, err := m.Timeline(ctx, core.TimelineQuery{Window: q.window,
		MaxSegments: PageSegments})
	if err != nil {
		writeErrorPage(w, statusOf(err), err)
		return
	}
	writePage(w, r, renderPage(rep, tl, q.opts))
}

// writePage writes a page, gzipped when the client takes gzip (a
// browser does): a page of thousands of peers shrinks tenfold, which
// counts over Tor.
func writePage(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
		writeHTML(w, http.StatusOK, body)
		return
	}
	z := bytes.NewBuffer(make([]byte, 0, len(body)/4))
	zw, _ := gzip.NewWriterLevel(z, gzip.BestSpeed)
	_, _ = zw.Write(body)
	_ = zw.Close()
	w.Header().Set("Content-Encoding", "gzip")
	writeHTML(w, http.StatusOK, z.Bytes())
}

// acceptsGzip reports whether an Accept-Encoding header takes gzip (and
// does not refuse it with q=0).
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
		if !ok {
			return true
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
		return err == nil && v > 0
	}
	return false
}

// writeHTML writes an HTML answer that may load nothing from elsewhere.
func writeHTML(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeErrorPage answers a page request with err's message, the same as
// the JSON API's.
func writeErrorPage(w http.ResponseWriter, code int, err error) {
	var b bytes.Buffer
	b.WriteString(pageHead)
	b.WriteString("<title>chanfitness: error</title>" + pageStyle +
		"</head><body><h1>")
	b.WriteString(strconv.Itoa(code) + " " + http.StatusText(code))
	b.WriteString("</h1><p id=error>")
	b.WriteString(html.EscapeString(err.Error()))
	b.WriteString("</p></body></html>\n")
	writeHTML(w, code, b.Bytes())
}

const pageHead = "<!doctype html><html lang=en><head><meta charset=utf-8>" +
	"<meta name=viewport content=\"width=device-width,initial-scale=1\">"

const pageStyle = `<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1em;color:#222;background:#fff}
h1{font-size:1.3em;margin:.2em 0}#peer{word-break:break-all}h2{font-size:1.1em;margin:1.2em 0 .3em}
a{color:#1a4f9c}nav a,nav b{margin-right:.6em}nav{margin:.3em 0}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{padding:3px 6px;text-align:left;border-bottom:1px solid #ddd;
white-space:nowrap;vertical-align:middle}
th a{text-decoration:none;color:inherit}
td.n,th.n,#peers td:nth-child(n+4):nth-child(-n+7){text-align:right}
td.tl{width:50%;min-width:240px}
svg.tl,.tl svg{display:block;width:100%;height:18px;background:#f4f4f4}
svg.big{height:36px}svg.tl rect,.tl svg rect{height:100%}
.on{fill:#2e9d4a}.off{fill:#d23c3c}.um{fill:#8a8fa3}.un{fill:#f0a020}
.o,.c{stroke-width:2;vector-effect:non-scaling-stroke;fill:none}
.o{stroke:#1a4f9c}.c{stroke:#111;stroke-dasharray:3 2}
.key span{display:inline-block;width:.9em;height:.9em;margin:0 .2em 0 .8em;
vertical-align:-.1em}
.key .on{background:#2e9d4a}.key .off{background:#d23c3c}
.key .um{background:#8a8fa3}.key .un{background:#f0a020}
.key .o{background:#1a4f9c;width:3px}.key .c{background:#111;width:3px}
.v.watch{color:#9a6a00}.v.consider_closing{color:#b02a2a;font-weight:600}
.up{color:#1d7a37}.down{color:#b02a2a}.muted{color:#666}
@media (max-width:600px){body{margin:.4em;font-size:13px}
td.tl{min-width:160px}th,td{padding:2px 3px}}
</style>`

// pageScript sorts the peer table in place when a column header is
// clicked (without it the header's link asks the server), and draws each
// row's timeline from its data-s with a hover title per segment (without
// it the row shows the same colours, without titles: each peer's own
// page has them). data-s lists the segments as "<state><start>", the
// start in base 36 seconds after the table's data-t0, an unstable one's
// flaps after a colon, and last the end.
const pageScript = `(function(){var T=document.getElementById("peers");if(!T)return;
var t0=+T.dataset.t0,sp=+T.dataset.t1-t0,N="http://www.w3.org/2000/svg",
S={n:["on","online"],f:["off","offline"],m:["um","unmonitored"],s:["un","unstable"]};
function p(n){return n<10?"0"+n:""+n}
function tm(t,d){return(d?t.getUTCFullYear()+"-"+p(t.getUTCMonth()+1)+"-"+p(t.getUTCDate())+" ":"")+
p(t.getUTCHours())+":"+p(t.getUTCMinutes())}
function du(d){var u=[86400,"d",3600,"h",60,"m",1,"s"];for(var i=0;i<8;i+=2)if(d>=u[i]){
var o=Math.floor(d/u[i])+u[i+1];if(i<6){var r=Math.floor(d%u[i]/u[i+2]);if(r>0)o+=r+u[i+3]}return o}return"0s"}
function x(o){return sp>0?Math.min(Math.max(o/sp*2000,0),2000):0}
T.querySelectorAll("svg[data-s]").forEach(function(g){
var z=g.dataset.s.split(" "),m=g.querySelector("path");
g.querySelectorAll("rect").forEach(function(r){g.removeChild(r)});
for(var i=0;i+1<z.length;i++){var k=S[z[i][0]],a=z[i].slice(1).split(":"),
s=parseInt(a[0],36),e=parseInt(z[i+1].replace(/^[a-z]/,"").split(":")[0],36),
r=document.createElementNS(N,"rect"),h=document.createElementNS(N,"title"),
sd=new Date((t0+s)*1e3),ed=new Date((t0+e)*1e3);
r.setAttribute("class",k[0]);r.setAttribute("x",x(s));r.setAttribute("width",Math.max(x(e)-x(s),2));
h.textContent=k[1]+(a[1]?" ("+a[1]+" flaps)":"")+" "+tm(sd,1)+" – "+
tm(ed,sd.toISOString().slice(0,10)!==ed.toISOString().slice(0,10))+", "+du(e-s);
r.appendChild(h);g.insertBefore(r,m)}})
function v(r,i){var c=r.cells[i],a=c.firstChild;return c.dataset.v||(i?c.textContent:a.title||a.getAttribute("href"))}
T.querySelectorAll("th[data-i]").forEach(function(th){
th.querySelector("a").addEventListener("click",function(e){e.preventDefault();
var i=+th.dataset.i,tb=T.tBodies[0],rs=Array.prototype.slice.call(tb.rows),d=th.dataset.o==="asc"?-1:1;
T.querySelectorAll("th[data-i]").forEach(function(h){h.dataset.o=""});
th.dataset.o=d>0?"asc":"desc";
rs.sort(function(a,b){var x=v(a,i),y=v(b,i),p=parseFloat(x),q=parseFloat(y);
return d*(isNaN(p)||isNaN(q)?(x<y?-1:x>y?1:0):p-q)});
rs.forEach(function(r){tb.appendChild(r)})})})})()`

// pageCSP lets a page use its inline style and its one script, and load
// nothing.
var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageScript))
	return "default-src 'none'; style-src 'unsafe-inline'; " +
		"script-src 'sha256-" +
		base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"form-action 'none'; frame-ancestors 'none'"
}()

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
	sortRows(rows, o.Sort, o.Desc)

	b := pageBuf{b: make([]byte, 0, 4096+1500*len(rows))}
	b.s(pageHead)
	b.s("<title>chanfitness: peers</title>")
	b.s(pageStyle)
	b.s("</head><body><h1>Peers</h1>")
	writeSummary(&b, rep, tl)
	if !o.Static {
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
	writeKey(&b)
	b.s(`<div class=wrap><table id=peers data-t0=`)
	b.b = strconv.AppendInt(b.b, tl.Start.Unix(), 10)
	b.s(` data-t1=`)
	b.b = strconv.AppendInt(b.b, tl.End.Unix(), 10)
	b.s(`><thead><tr>`)
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

// sortRows sorts rows by column col (ties by peer id).
func sortRows(rows []pageRow, col string, desc bool) {
	slices.SortStableFunc(rows, func(a, b pageRow) int {
		c := 0
		switch col {
		case SortState:
			c = cmp.Compare(stateKey(a.p), stateKey(b.p))
		case SortUptime:
			c = cmp.Compare(ratioKey(a.win.UptimeRatio),
				ratioKey(b.win.UptimeRatio))
		case SortFlaps:
			c = cmp.Compare(a.p.FlapCount, b.p.FlapCount)
		case SortOutage:
			c = cmp.Compare(a.win.LongestOutageSeconds,
				b.win.LongestOutageSeconds)
		case SortChannels:
			c = cmp.Compare(a.p.OpenChannels, b.p.OpenChannels)
		case SortVerdict:
			c = cmp.Compare(verdictKey(a.p), verdictKey(b.p))
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(a.p.PeerID, b.p.PeerID)
		}
		return c
	})
}

// stateKey orders offline peers first, each by how long they have been
// in their state (longest first).
func stateKey(p *core.PeerReport) float64 {
	since := float64(p.Since.Unix())
	if p.Since.IsZero() {
		since = 0
	}
	if p.Online {
		return 1e11 + since
	}
	return since
}

func ratioKey(r *float64) float64 {
	if r == nil {
		return -1
	}
	return *r
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

// writeSVG draws a peer's segments and channel marks over tl's window.
// Marks at one place are drawn once, saying how many channels they
// stand for; with points, each names its channel instead.
func writeSVG(b *pageBuf, pt *core.PeerTimeline, tl core.Timeline,
	class string, points bool) {

	b.s(`<svg class="` + class + `" viewBox="0 0 1000 18" ` +
		`preserveAspectRatio=none>`)
	if pt == nil {
		b.s("</svg>")
		return
	}
	start := tl.Start.UnixNano()
	span := float64(tl.End.UnixNano() - start)
	x := func(t time.Time) float64 {
		if span <= 0 {
			return 0
		}
		v := float64(t.UnixNano()-start) / span * svgWidth
		return math.Min(math.Max(v, 0), svgWidth)
	}
	for _, s := range pt.Segments {
		x0, x1 := x(s.Start.Time), x(s.End.Time)
		b.s(`<rect x=`)
		b.f(x0, 1)
		b.s(` width=`)
		// The narrowest segments are drawn a tenth of a percent wide
		// so that they stay visible.
		b.f(math.Max(x1-x0, 1), 1)
		b.s(` class=` + segClass(s.State) + `><title>`)
		b.s(s.State)
		if s.State == core.SegmentUnstable {
			b.s(" (" + strconv.Itoa(s.Flaps) + " flaps)")
		}
		b.s(" ")
		b.span(s.Start.Time, s.End.Time)
		b.s("</title></rect>")
	}
	writeMarks(b, pt, tl, points, svgWidth)
	b.s("</svg>")
}

// rowWidth is the width of a row's timeline in SVG units: whole units
// are finer than a pixel on any screen the table fits.
const rowWidth = 2000

// writeRowSVG draws a row's timeline in few bytes (the page of thousands
// of peers stays small): one online rect under the whole timeline, the
// other segments over it without titles, and every segment in data-s for
// the page's script, which draws each with its hover title. Channel
// marks are as writeSVG draws them.
func writeRowSVG(b *pageBuf, pt *core.PeerTimeline, tl core.Timeline) {
	b.s(`<svg viewBox="0 0 2000 18" preserveAspectRatio=none`)
	if pt == nil {
		b.s("></svg>")
		return
	}
	if len(pt.Segments) == 0 {
		b.s(">")
		writeMarks(b, pt, tl, false, rowWidth)
		b.s("</svg>")
		return
	}
	t0 := tl.Start.Unix()
	b.s(` data-s="`)
	for i, s := range pt.Segments {
		if i > 0 {
			b.s(" ")
		}
		b.b = append(b.b, segLetter(s.State))
		b.b = strconv.AppendInt(b.b, s.Start.Unix()-t0, 36)
		if s.State == core.SegmentUnstable {
			b.s(":")
			b.b = strconv.AppendInt(b.b, int64(s.Flaps), 10)
		}
	}
	last := pt.Segments[len(pt.Segments)-1]
	b.s(" ")
	b.b = strconv.AppendInt(b.b, last.End.Unix()-t0, 36)
	b.s(`">`)
	start := tl.Start.UnixNano()
	span := float64(tl.End.UnixNano() - start)
	x := func(t time.Time) int {
		if span <= 0 {
			return 0
		}
		v := float64(t.UnixNano()-start) / span * rowWidth
		return int(math.Round(math.Min(math.Max(v, 0), rowWidth)))
	}
	rect := func(class string, x0, x1 int) {
		b.s(`<rect class=` + class + ` x=`)
		b.b = strconv.AppendInt(b.b, int64(x0), 10)
		b.s(` width=`)
		// The narrowest segments are drawn a thousandth of the
		// width wide so that they stay visible.
		b.b = strconv.AppendInt(b.b, int64(max(x1-x0, 2)), 10)
		b.s(" />")
	}
	rect("on", x(pt.Segments[0].Start.Time), x(last.End.Time))
	for _, s := range pt.Segments {
		if s.State != core.SegmentOnline {
			rect(segClass(s.State), x(s.Start.Time), x(s.End.Time))
		}
	}
	writeMarks(b, pt, tl, false, rowWidth)
	b.s("</svg>")
}

// segLetter is a segment state's letter in data-s.
func segLetter(state string) byte {
	switch state {
	case core.SegmentOnline:
		return 'n'
	case core.SegmentOffline:
		return 'f'
	case core.SegmentUnstable:
		return 's'
	}
	return 'm'
}

// writeMarks draws pt's channel marks on a timeline width units wide.
// Marks at one place are drawn once, saying how many channels they
// stand for; with points, each names its channel instead.
func writeMarks(b *pageBuf, pt *core.PeerTimeline, tl core.Timeline,
	points bool, width float64) {

	start := tl.Start.UnixNano()
	span := float64(tl.End.UnixNano() - start)
	x := func(t time.Time) float64 {
		if span <= 0 {
			return 0
		}
		v := float64(t.UnixNano()-start) / span * width
		return math.Min(math.Max(v, 0), width)
	}
	// Marks are few per peer: a slice beats maps.
	type mark struct {
		x     float64
		class string
		when  string
		names []string
	}
	var marks []mark
	add := func(t time.Time, class, verb, point string) {
		if t.Before(tl.Start.Time) || t.After(tl.End.Time) {
			return
		}
		xr := math.Round(x(t)*10) / 10
		for i := range marks {
			if marks[i].x == xr && marks[i].class == class {
				marks[i].names = append(marks[i].names, point)
				return
			}
		}
		marks = append(marks, mark{xr, class,
			verb + " " + fmtTime(t), []string{point}})
	}
	for _, c := range pt.Channels {
		add(c.OpenedAt.Time, "o", "opened", c.ChannelPoint)
		if !c.ClosedAt.IsZero() {
			add(c.ClosedAt.Time, "c", "closed", c.ChannelPoint)
		}
	}
	for _, m := range marks {
		b.s(`<path class=` + m.class + ` d="M`)
		b.f(m.x, 1)
		b.s(` 0v18"><title>`)
		n := len(m.names)
		switch {
		case points:
			b.s("channel")
			if n > 1 {
				b.s("s")
			}
			b.s(" " + strings.Join(m.names, ", "))
		case n > 1:
			b.s(strconv.Itoa(n) + " channels")
		default:
			b.s("channel")
		}
		b.s(" " + m.when + "</title></path>")
	}
}

// segClass is the CSS class of a segment state.
func segClass(state string) string {
	switch state {
	case core.SegmentOnline:
		return "on"
	case core.SegmentOffline:
		return "off"
	case core.SegmentUnstable:
		return "un"
	}
	return "um"
}

// escape escapes s for HTML text and attribute values.
func escape(s string) string {
	return html.EscapeString(s)
}

// pageBuf builds a page.
type pageBuf struct{ b []byte }

func (b *pageBuf) s(s string) { b.b = append(b.b, s...) }

// f writes v with prec decimals, without trailing zeros.
func (b *pageBuf) f(v float64, prec int) {
	n := len(b.b)
	b.b = strconv.AppendFloat(b.b, v, 'f', prec, 64)
	if prec > 0 {
		for b.b[len(b.b)-1] == '0' {
			b.b = b.b[:len(b.b)-1]
		}
		if b.b[len(b.b)-1] == '.' {
			b.b = b.b[:len(b.b)-1]
		}
	}
	if len(b.b)-n == 2 && b.b[n] == '-' && b.b[n+1] == '0' {
		b.b = append(b.b[:n], '0')
	}
}

const (
	dayFormat    = "2006-01-02"
	minuteFormat = "2006-01-02 15:04"
)

// fmtTime writes t in UTC to the minute.
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(minuteFormat)
}

// span writes "start – end, length" (UTC, to the minute), the end's
// date left out when it is the start's.
func (b *pageBuf) span(s, e time.Time) {
	s, e = s.UTC(), e.UTC()
	b.minute(s, true)
	b.s(" – ")
	sy, sm, sd := s.Date()
	ey, em, ed := e.Date()
	b.minute(e, sy != ey || sm != em || sd != ed)
	b.s(", " + fmtDur(e.Sub(s)))
}

// minute writes t (UTC) as "2006-01-02 15:04", or "15:04" without the
// date, as time.Format would but faster.
func (b *pageBuf) minute(t time.Time, date bool) {
	two := func(n int) {
		b.b = append(b.b, byte('0'+n/10), byte('0'+n%10))
	}
	if date {
		y, m, d := t.Date()
		if y < 1000 || y > 9999 {
			b.s(t.Format(dayFormat))
		} else {
			b.b = strconv.AppendInt(b.b, int64(y), 10)
			b.b = append(b.b, '-')
			two(int(m))
			b.b = append(b.b, '-')
			two(d)
		}
		b.b = append(b.b, ' ')
	}
	h, mi, _ := t.Clock()
	two(h)
	b.b = append(b.b, ':')
	two(mi)
}

// fmtDur writes d in its two largest units: "3d4h", "5h12m", "40s".
func fmtDur(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	units := []struct {
		d    time.Duration
		name string
	}{
		{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"},
		{time.Second, "s"},
	}
	var out string
	for i, u := range units {
		if d < u.d {
			continue
		}
		out = strconv.FormatInt(int64(d/u.d), 10) + u.name
		if i+1 < len(units) {
			if r := (d % u.d) / units[i+1].d; r > 0 {
				out += strconv.FormatInt(int64(r), 10) +
					units[i+1].name
			}
		}
		return out
	}
	return "0s"
}

// fmtRatio writes a ratio as a percentage, "—" when there is none.
func fmtRatio(r *float64) string {
	if r == nil {
		return "—"
	}
	return strconv.FormatFloat(*r*100, 'f', 2, 64) + "%"
}
