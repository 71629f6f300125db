package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// knownSegment is one interval of knownNode's history, in hours from t0.
type knownSegment struct {
	from, to float64
	state    string
}

// knownPeers are knownNode's peers (in id order) and their history over
// its 24 hours: A away 6h-9h, the monitor down 12h-15h, B away from 18h
// on, C's channel opened at 4h. By lifetime uptime the order is B, A, C.
var knownPeers = []struct {
	id   string
	segs []knownSegment
}{
	{lndtest.PeerKey(1), []knownSegment{{0, 6, core.SegmentOnline},
		{6, 9, core.SegmentOffline}, {9, 12, core.SegmentOnline},
		{12, 15, core.SegmentUnmonitored}, {15, 24, core.SegmentOnline}}},
	{lndtest.PeerKey(2), []knownSegment{{0, 12, core.SegmentOnline},
		{12, 15, core.SegmentUnmonitored}, {15, 18, core.SegmentOnline},
		{18, 24, core.SegmentOffline}}},
	{lndtest.PeerKey(3), []knownSegment{{4, 12, core.SegmentOnline},
		{12, 15, core.SegmentUnmonitored}, {15, 24, core.SegmentOnline}}},
}

// knownNode returns a monitor holding knownPeers' history, 24 hours
// after t0.
func knownNode(tb testing.TB) *core.Monitor {
	tb.Helper()
	ctx := context.Background()
	clk := clock.NewTestClock(t0)
	store := memory.New()
	m := coretest.StartMonitor(tb, core.Config{Store: store, Clock: clk})
	at := func(h float64, typ core.EventType, peer int) {
		tb.Helper()
		clk.SetTime(t0.Add(time.Duration(h * float64(time.Hour))))
		id, err := core.ParsePeerID(lndtest.PeerKey(peer))
		require.NoError(tb, err)
		ev := core.Event{Type: typ, Peer: id, Time: clk.Now()}
		if typ == core.ChannelOpened {
			ev.Channel, err = core.ParseChannelPoint(
				lndtest.ChanPoint(peer))
			require.NoError(tb, err)
		}
		require.NoError(tb, m.Apply(ctx, ev))
	}
	at(0, core.ChannelOpened, 1)
	at(0, core.ChannelOpened, 2)
	at(4, core.ChannelOpened, 3)
	at(6, core.PeerOffline, 1)
	at(9, core.PeerOnline, 1)
	clk.SetTime(t0.Add(12 * time.Hour))
	require.NoError(tb, m.Stop())
	clk.SetTime(t0.Add(15 * time.Hour))
	m = coretest.StartMonitor(tb, core.Config{Store: store, Clock: clk})
	at(18, core.PeerOffline, 2)
	clk.SetTime(t0.Add(24 * time.Hour))
	return m
}

// getRec answers GET target from h.
func getRec(h http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

var rowRE = regexp.MustCompile(
	`<tr><td><(?:a href="peer/|span title=")([0-9a-f]{66})`)

// rowOrder returns the peer ids of a page's rows in order.
func rowOrder(body string) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestPage serves the page of knownNode: one row per peer with its
// segments in the three colours, sorted by the server as asked, only
// peers with open channels when asked, and nothing loaded from
// elsewhere.
func TestPage(t *testing.T) {
	h := NewHandler(knownNode(t), "")
	rec := getRec(h, "/?window=lifetime")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "text/html; charset=utf-8",
		rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Header().Get("Content-Security-Policy"),
		"default-src 'none'")
	body := rec.Body.String()
	ids := []string{knownPeers[0].id, knownPeers[1].id, knownPeers[2].id}
	require.Equal(t, ids, rowOrder(body))
	require.NotRegexp(t, `(src|href)="(https?:)?//`, body)
	// Without script the segments are drawn in their colours; the
	// script draws them again from data-s with their titles (see
	// TestBrowser).
	for _, class := range []string{"on", "off", "um"} {
		require.Contains(t, body, `<rect class=`+class+` x=`)
	}
	b36 := func(h int64) string { return strconv.FormatInt(h*3600, 36) }
	require.Contains(t, body, `data-s="n0 f`+b36(6)+` n`+b36(9)+` m`+
		b36(12)+` n`+b36(15)+` `+b36(24)+`"`)
	require.Contains(t, body, `href="peer/`+ids[0]+`?window=lifetime"`)
	require.Contains(t, body, `<td data-v=2 class="v too_new" title="`)

	up := rowOrder(getRec(h, "/?window=lifetime&sort=uptime").Body.String())
	require.Equal(t, []string{ids[1], ids[0], ids[2]}, up)
	down := rowOrder(getRec(h, "/?window=lifetime&sort=uptime&order=desc").
		Body.String())
	require.Equal(t, []string{ids[2], ids[0], ids[1]}, down)

	// The default window is 30 days.
	require.Contains(t, getRec(h, "/").Body.String(), "Window <b>30d</b>")
	require.Equal(t, ids, rowOrder(getRec(h, "/?open=1").Body.String()))
	require.Equal(t, http.StatusNotFound, getRec(h, "/nothing").Code)
}

// TestPeerPage serves one peer's page: its channel, its outage, its
// events; a bad id is a 400 and an unknown one a 404.
func TestPeerPage(t *testing.T) {
	h := NewHandler(knownNode(t), "")
	id := knownPeers[0].id
	rec := getRec(h, "/peer/"+id+"?window=lifetime")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	body := rec.Body.String()
	require.Contains(t, body, lndtest.ChanPoint(1))
	require.Contains(t, body, "<tr><td>2026-11-21 16:00</td><td>"+
		"2026-11-21 19:00</td><td class=n>3h</td></tr>")
	require.Contains(t, body, "<span class=up>online</span>")

	rec = getRec(h, "/peer/02zz")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), "peer id &#34;02zz&#34;")
	rec = getRec(h, "/peer/"+lndtest.PeerKey(9))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "peer not found")
	rec = getRec(h, "/peer/"+id+"?window=2y")
	require.Equal(t, http.StatusBadRequest, rec.Code)
}

// TestPageBadQuery: the page answers a bad value with the JSON API's
// status and message, and its own parameters' bad values with a 400
// naming them.
func TestPageBadQuery(t *testing.T) {
	h := NewHandler(knownNode(t), "")
	for _, q := range []string{"window=2y", "window=", "window=%zz",
		"window=1d&window=7d", "window=0m"} {
		api := getRec(h, PathReport+"?"+q)
		require.Equal(t, http.StatusBadRequest, api.Code, q)
		var e ErrorBody
		require.NoError(t, json.Unmarshal(api.Body.Bytes(), &e))
		page := getRec(h, "/?"+q)
		require.Equal(t, http.StatusBadRequest, page.Code, q)
		require.Contains(t, page.Body.String(),
			strings.ReplaceAll(e.Error, `"`, "&#34;"), q)
		tl := getRec(h, PathTimeline+"?"+q)
		require.Equal(t, http.StatusBadRequest, tl.Code, q)
		require.JSONEq(t, api.Body.String(), tl.Body.String(), q)
	}
	for q, want := range map[string]string{
		"sort=speed": `query parameter sort: bad input: &#34;speed&#34; ` +
			`(want peer, state, uptime, flaps, outage, channels or ` +
			`verdict)`,
		"order=up": "query parameter order",
		"open=yes": "query parameter open",
		"peer=" + knownPeers[0].id: `unknown query parameter ` +
			`&#34;peer&#34; (want window, sort, order or open)`,
	} {
		rec := getRec(h, "/?"+q)
		require.Equal(t, http.StatusBadRequest, rec.Code, q)
		require.Contains(t, rec.Body.String(), want, q)
	}
}

// TestPageHostileRequests: markup in a query value, a parameter's name
// or a peer id comes back escaped in a 400 page that may run no script
// of its own; a peer id of the wrong length is a 400 naming its length,
// one in capitals is the same peer; HEAD gets the page's headers, POST
// a 405 that says what is allowed.
func TestPageHostileRequests(t *testing.T) {
	h := NewHandler(knownNode(t), "")
	id := knownPeers[0].id
	for _, target := range []string{
		"/?window=%3Cscript%3Ealert(1)%3C/script%3E",
		"/?sort=%22%3E%3Cscript%3E",
		"/?%3Cscript%3E=1",
		"/?window=1d&%3Cscript%3E",
		"/peer/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
		"/peer/" + id + "?window=%3Cscript%3E",
		"/peer/" + id + "?%3Cscript%3E=1",
		"/?window=99999999999999999999d",
		"/?window=-30d",
		"/?open=%00",
	} {
		rec := getRec(h, target)
		require.Equal(t, http.StatusBadRequest, rec.Code, target)
		body := rec.Body.String()
		require.NotContains(t, body, "<script", target)
		require.Contains(t, body, "<p id=error>", target)
		require.Contains(t, rec.Header().Get("Content-Security-Policy"),
			"default-src 'none'", target)
		require.Equal(t, "nosniff",
			rec.Header().Get("X-Content-Type-Options"), target)
	}
	rec := getRec(h, "/peer/"+id[:64])
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), "want 66 hex characters, got 64")
	rec = getRec(h, "/peer/"+id+"00")
	require.Equal(t, http.StatusBadRequest, rec.Code)
	rec = getRec(h, "/peer/"+strings.ToUpper(id))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Contains(t, rec.Body.String(), "<span id=peer>"+id+"</span>")

	for _, target := range []string{"/", "/peer/" + id} {
		head := httptest.NewRecorder()
		h.ServeHTTP(head, httptest.NewRequest(http.MethodHead, target,
			nil))
		require.Equal(t, http.StatusOK, head.Code, target)
		require.Equal(t, "text/html; charset=utf-8",
			head.Header().Get("Content-Type"), target)
		post := httptest.NewRecorder()
		h.ServeHTTP(post, httptest.NewRequest(http.MethodPost, target,
			strings.NewReader("x")))
		require.Equal(t, http.StatusMethodNotAllowed, post.Code, target)
		require.Equal(t, "GET, HEAD", post.Header().Get("Allow"), target)
	}
}

// TestPageNoPeers: a monitor without peers gets a page saying so, with
// no row, and the peer page of an unknown peer is a 404.
func TestPageNoPeers(t *testing.T) {
	m := coretest.StartMonitor(t, core.Config{Store: memory.New(),
		Clock: clock.NewTestClock(t0)})
	h := NewHandler(m, "")
	for _, w := range []string{"1d", "lifetime"} {
		rec := getRec(h, "/?window="+w)
		require.Equal(t, http.StatusOK, rec.Code, w)
		require.Contains(t, rec.Body.String(), "No peer with a channel yet.")
		require.Empty(t, rowOrder(rec.Body.String()))
	}
	rec := getRec(h, "/peer/"+knownPeers[0].id)
	require.Equal(t, http.StatusNotFound, rec.Code)
}

// TestPageClockStepsBack: with the clock set back past every event, the
// page is drawn at the monitor's own latest time, as before the step.
func TestPageClockStepsBack(t *testing.T) {
	clk := clock.NewTestClock(t0)
	m := coretest.StartMonitor(t, core.Config{Store: memory.New(),
		Clock: clk})
	ctx := context.Background()
	id, err := core.ParsePeerID(knownPeers[0].id)
	require.NoError(t, err)
	cp, err := core.ParseChannelPoint(lndtest.ChanPoint(1))
	require.NoError(t, err)
	require.NoError(t, m.Apply(ctx, core.Event{Type: core.ChannelOpened,
		Peer: id, Channel: cp}))
	clk.SetTime(t0.Add(5 * time.Hour))
	require.NoError(t, m.Apply(ctx, core.Event{Type: core.PeerOffline,
		Peer: id, Time: clk.Now()}))
	clk.SetTime(t0.Add(6 * time.Hour))
	h := NewHandler(m, "")
	before := getRec(h, "/?window=lifetime").Body.String()
	require.Contains(t, before, `data-s="n0 f`+
		strconv.FormatInt(5*3600, 36)+" "+
		strconv.FormatInt(6*3600, 36)+`"`)
	for _, back := range []time.Duration{time.Hour, 6 * time.Hour,
		30 * 24 * time.Hour} {

		clk.SetTime(t0.Add(6*time.Hour - back))
		for _, target := range []string{"/?window=lifetime",
			"/?window=1d", "/peer/" + id.String()} {

			rec := getRec(h, target)
			require.Equal(t, http.StatusOK, rec.Code, target)
		}
		require.Equal(t, before,
			getRec(h, "/?window=lifetime").Body.String(), back)
	}
}

// TestTimelineEndpoint answers /v1/timeline with knownNode's segments.
func TestTimelineEndpoint(t *testing.T) {
	h := NewHandler(knownNode(t), "")
	rec := getRec(h, PathTimeline+"?peer="+knownPeers[0].id)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var tl struct {
		Window string `json:"window"`
		Peers  []struct {
			PeerID   string `json:"peer_id"`
			Segments []struct {
				Start, End time.Time
				State      string
			}
		}
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tl))
	require.Equal(t, core.WindowLifetime, tl.Window)
	require.Len(t, tl.Peers, 1)
	var got []knownSegment
	for _, s := range tl.Peers[0].Segments {
		got = append(got, knownSegment{s.Start.Sub(t0).Hours(),
			s.End.Sub(t0).Hours(), s.State})
	}
	require.Equal(t, knownPeers[0].segs, got)

	rec = getRec(h, PathTimeline+"?window=1d")
	require.Equal(t, http.StatusOK, rec.Code)
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &tl))
	require.Len(t, tl.Peers, 3)
	rec = getRec(h, PathTimeline+"?peer="+lndtest.PeerKey(9))
	require.Equal(t, http.StatusNotFound, rec.Code)
}

// TestPageToken: with a token the pages answer 401 with a basic
// challenge, so that a browser asks for it, and take it as the password.
func TestPageToken(t *testing.T) {
	h := NewHandler(knownNode(t), "s3cret")
	rec := getRec(h, "/")
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	require.Contains(t, rec.Header().Get("WWW-Authenticate"), "Basic")
	require.Contains(t, getRec(h, PathReport).Header().Get(
		"WWW-Authenticate"), "Bearer")
	// Both front ends serve this answer: it names no option of one.
	require.Contains(t, rec.Body.String(), "token file")
	require.NotContains(t, rec.Body.String(), "--")

	for _, c := range []struct {
		user, pass string
		code       int
	}{
		{"", "s3cret", http.StatusOK},
		{"anyone", "s3cret", http.StatusOK},
		{"s3cret", "", http.StatusUnauthorized},
		{"", "s3cre", http.StatusUnauthorized},
	} {
		for _, path := range []string{"/", PathTimeline,
			PathPeerPage + knownPeers[0].id} {

			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.SetBasicAuth(c.user, c.pass)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			require.Equal(t, c.code, rec.Code, "%s %+v", path, c)
		}
	}
}

// TestAppendTimeline: the timeline's own JSON writer writes what
// encoding/json writes, for the states, flaps, closed channels, ongoing
// and listed outages, empty and nil lists, and strings to escape.
func TestAppendTimeline(t *testing.T) {
	m := knownNode(t)
	for _, q := range []core.TimelineQuery{{}, {Window: "7h"},
		{Outages: 3}, {MaxSegments: 2}} {

		tl, err := m.Timeline(context.Background(), q)
		require.NoError(t, err)
		want, err := json.Marshal(tl)
		require.NoError(t, err)
		require.Equal(t, string(want)+"\n",
			string(appendTimeline(nil, tl)))
	}
	at := core.Time{Time: t0.Add(1500 * time.Millisecond)}
	odd := core.Timeline{Window: "x\"<y>\u00e9\n", ResolutionSeconds: 1e-9,
		Peers: []core.PeerTimeline{{PeerID: "p", Segments: []core.Segment{
			{Start: at, End: at, State: core.SegmentUnstable,
				Flaps: 7}}, Outages: []core.Outage{{Start: at,
			Ongoing: true}}}, {Channels: []core.ChannelMark{}}}}
	want, err := json.Marshal(odd)
	require.NoError(t, err)
	require.Equal(t, string(want)+"\n", string(appendTimeline(nil, odd)))
}

// TestPageSpan writes a segment's span as time.Format would, the end's
// date left out on the same day.
func TestPageSpan(t *testing.T) {
	for _, c := range []struct {
		s, e time.Time
		want string
	}{
		{t0, t0.Add(3 * time.Hour), "2026-11-21 10:00 – 13:00, 3h"},
		{t0, t0.Add(14*time.Hour + 59*time.Second),
			"2026-11-21 10:00 – 2026-11-22 00:00, 14h"},
		{time.Date(999, 1, 2, 3, 4, 0, 0, time.UTC),
			time.Date(999, 1, 2, 3, 5, 0, 0, time.UTC),
			"0999-01-02 03:04 – 03:05, 1m"},
	} {
		var b pageBuf
		b.span(c.s, c.e)
		require.Equal(t, c.want, string(b.b))
	}
}

// TestPageRowWithoutSegments: a row whose peer has channel marks in the
// window but no segment still shows its marks; one with an unstable
// segment gives its flaps to the script.
func TestPageRowWithoutSegments(t *testing.T) {
	at := func(h int) core.Time {
		return core.Time{Time: t0.Add(time.Duration(h) * time.Hour)}
	}
	id := knownPeers[0].id
	rep := core.Report{Window: "1d", Peers: []core.PeerReport{
		{PeerID: id}, {PeerID: knownPeers[1].id}}}
	tl := core.Timeline{Start: at(0), End: at(24), Peers: []core.PeerTimeline{
		{PeerID: id, Channels: []core.ChannelMark{{
			ChannelPoint: lndtest.ChanPoint(1), OpenedAt: at(12)}}},
		{PeerID: knownPeers[1].id, Segments: []core.Segment{
			{Start: at(0), End: at(6), State: core.SegmentUnstable,
				Flaps: 7},
			{Start: at(6), End: at(24), State: core.SegmentOnline}}},
	}}
	body := string(renderPage(rep, tl, PageOptions{}))
	require.Contains(t, body, `<path class=o d="M1000 0v18"><title>`+
		`channel opened 2026-11-21 22:00</title></path>`)
	require.Contains(t, body, `data-s="s0:7 n`+
		strconv.FormatInt(6*3600, 36)+` `+
		strconv.FormatInt(24*3600, 36)+`"`)
}

// TestPageNodeOutages: the summary says how many outages of our own
// node the verdicts leave out, and when the last one was or since when
// it is under way.
func TestPageNodeOutages(t *testing.T) {
	at := func(h int) core.Time {
		return core.Time{Time: t0.Add(time.Duration(h) * time.Hour)}
	}
	tl := core.Timeline{Start: at(0), End: at(24)}
	rep := core.Report{Window: "1d", Store: core.StoreReport{Writing: true}}
	body := string(renderPage(rep, tl, PageOptions{}))
	require.NotContains(t, body, "Our own outages")

	rep.NodeOutages = []core.NodeOutage{
		{Start: at(1), End: at(2), Seconds: 3600},
		{Start: at(5), End: at(8), Seconds: 3 * 3600},
	}
	body = string(renderPage(rep, tl, PageOptions{}))
	require.Contains(t, body, "left out of the verdicts: 2 in the "+
		"verdict window, 4h in all; the last 2026-11-21 15:00 – "+
		"18:00, 3h.")

	rep.NodeOutages[1].Ongoing = true
	body = string(renderPage(rep, tl, PageOptions{}))
	require.Contains(t, body, "the last <span class=down>under way "+
		"since 2026-11-21 15:00</span>.")
}
