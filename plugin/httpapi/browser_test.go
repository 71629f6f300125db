package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// browserTimeout bounds the whole browser test, so that a browser that
// hangs fails it instead of holding the test run.
const browserTimeout = 2 * time.Minute

// chromium returns the path of a Chromium to drive, skipping the test
// (failing it under CI=true) when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium in PATH: install Debian's chromium " +
		"package (apt-get install chromium) to run the browser test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// artifactDir is artifacts/ at the top of the repository (ignored by
// git), where tests leave files for people to look at.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test")
		dir = parent
	}
	dir = filepath.Join(dir, "artifacts")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// rectInfo is a drawn segment as the browser lays it out.
type rectInfo struct {
	Class string  `json:"cls"`
	X     float64 `json:"x"`
	W     float64 `json:"w"`
	H     float64 `json:"h"`
	Fill  string  `json:"fill"`
	Title string  `json:"title"`
}

// rowInfo is one row of the page as the browser lays it out.
type rowInfo struct {
	Peer   string     `json:"peer"`
	SVGX   float64    `json:"svgX"`
	SVGW   float64    `json:"svgW"`
	Rects  []rectInfo `json:"rects"`
	Uptime string     `json:"uptime"`
}

const rowsJS = `Array.from(document.querySelectorAll("#peers tbody tr")).map(function(tr){
var svg=tr.querySelector("svg").getBoundingClientRect();
return {peer:tr.cells[0].firstChild.getAttribute("href").slice(5,71),svgX:svg.left,svgW:svg.width,uptime:tr.cells[3].textContent,
rects:Array.from(tr.querySelectorAll("rect")).map(function(r){var b=r.getBoundingClientRect();
return {cls:r.getAttribute("class"),x:b.left-svg.left,w:b.width,h:b.height,fill:getComputedStyle(r).fill,
title:r.querySelector("title").textContent}})}})`

const orderJS = `Array.from(document.querySelectorAll("#peers tbody tr")).map(function(tr){return tr.cells[0].firstChild.getAttribute("href").slice(5,71)})`

// TestBrowser drives a real headless Chromium through the page of
// knownNode: one row per peer, each segment as wide as its interval
// within a pixel and in its state's colour (the monitor's own downtime in
// the unmonitored one), hover titles, sorting by uptime in place both
// ways, a phone-wide window without sideways scrolling of the page, a
// screenshot in artifacts/page-screenshot.png, a peer's link to its own
// page, and, with JavaScript off, each segment still in its colour.
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	srv := newLoopbackServer(t, NewHandler(knownNode(t), ""))

	ctx, cancel := context.WithTimeout(context.Background(),
		browserTimeout)
	defer cancel()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx,
		chromedp.WithLogf(t.Logf))
	defer bcancel()

	load := func() {
		t.Helper()
		require.NoError(t, chromedp.Do(bctx,
			chromedp.Navigate(srv+"/?window=lifetime"),
			chromedp.WaitVisible(chromedp.CSS("#peers"))))
	}
	load()
	rows, err := chromedp.Run(bctx, chromedp.Evaluate[[]rowInfo](rowsJS))
	require.NoError(t, err)
	require.Len(t, rows, len(knownPeers), "one row per peer")
	colours := map[string]string{}
	for i, want := range knownPeers {
		row := rows[i]
		require.Equal(t, want.id, row.Peer)
		require.Positive(t, row.SVGW)
		require.Len(t, row.Rects, len(want.segs), "peer %d", i)
		for j, s := range want.segs {
			r := row.Rects[j]
			require.Equal(t, segClass(s.state), r.Class,
				"peer %d segment %d", i, j)
			wantX := s.from / 24 * row.SVGW
			wantW := (s.to - s.from) / 24 * row.SVGW
			require.InDelta(t, wantX, r.X, 1,
				"peer %d segment %d left edge", i, j)
			require.InDelta(t, wantW, r.W, 1,
				"peer %d segment %d width", i, j)
			require.Greater(t, r.H, 10.0, "drawn full height")
			require.Contains(t, r.Title, s.state+" ")
			if c, ok := colours[s.state]; ok {
				require.Equal(t, c, r.Fill, s.state)
			}
			colours[s.state] = r.Fill
		}
	}
	// Three states, three colours, none of them the background's.
	require.Len(t, colours, 3)
	seen := map[string]bool{"": true, "none": true,
		"rgb(0, 0, 0)": true}
	for state, c := range colours {
		require.False(t, seen[c], "%s drawn in %s", state, c)
		seen[c] = true
	}
	require.Equal(t, "offline 2026-11-21 16:00 – 19:00, 3h",
		rows[0].Rects[1].Title)
	require.Equal(t, "unmonitored 2026-11-21 22:00 – "+
		"2026-11-22 01:00, 3h", rows[0].Rects[3].Title)

	// Sorting by uptime: lowest first, then highest first.
	ids := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, knownPeers[i].id)
		}
		return out
	}
	sortBy := func() []string {
		t.Helper()
		require.NoError(t, chromedp.Do(bctx, chromedp.Click(
			chromedp.CSS(`th[data-col="uptime"] a`))))
		order, err := chromedp.Run(bctx,
			chromedp.Evaluate[[]string](orderJS))
		require.NoError(t, err)
		return order
	}
	require.Equal(t, ids(1, 0, 2), sortBy())
	require.Equal(t, ids(2, 0, 1), sortBy())

	load()
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.Equal(t, "\x89PNG", string(png[:4]))
	shot := filepath.Join(artifactDir(t), "page-screenshot.png")
	require.NoError(t, os.WriteFile(shot, png, 0o644))
	t.Logf("screenshot: %s", shot)

	// On a phone-wide screen the page does not scroll sideways; the
	// table scrolls in its own box.
	require.NoError(t, chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844)))
	load()
	widths, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](
		`[document.documentElement.scrollWidth, window.innerWidth]`))
	require.NoError(t, err)
	require.LessOrEqual(t, widths[0], widths[1])

	// A peer's link leads to its page, also readable on a phone, with
	// its outage listed.
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`#peers tbody tr:first-child a`)),
		chromedp.WaitVisible(chromedp.CSS("#outages"))))
	peerPage, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](
		`[document.getElementById("peer").textContent,
		document.querySelector("#outages tbody td").textContent,
		String(document.documentElement.scrollWidth <= window.innerWidth)]`))
	require.NoError(t, err)
	require.Equal(t, []string{knownPeers[0].id, "2026-11-21 16:00",
		"true"}, peerPage)

	// Without JavaScript the timelines show the same colours: what is
	// drawn at the middle of each known segment is in its state's.
	_, err = chromedp.Call(bctx, emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(bctx,
		chromedp.EmulateViewport(1280, 800)))
	load()
	scripted, err := chromedp.Run(bctx, chromedp.Evaluate[bool](
		`document.querySelector("#peers rect title")!==null`))
	require.NoError(t, err)
	require.False(t, scripted, "the page's script ran")
	for i, want := range knownPeers {
		for j, s := range want.segs {
			js := fmt.Sprintf(`(function(){
var b=document.querySelectorAll("#peers tbody tr")[%d].querySelector("svg").getBoundingClientRect(),
e=document.elementFromPoint(b.left+b.width*%g,b.top+b.height/2);
return e.tagName+" "+e.getAttribute("class")})()`, i,
				(s.from+s.to)/2/24)
			got, err := chromedp.Run(bctx,
				chromedp.Evaluate[string](js))
			require.NoError(t, err)
			require.Equal(t, "rect "+segClass(s.state), got,
				"without script: peer %d segment %d", i, j)
		}
	}
}

// newLoopbackServer serves h on a loopback port until the test ends and
// returns its URL.
func newLoopbackServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
