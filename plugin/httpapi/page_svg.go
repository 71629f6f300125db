package httpapi

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/chanfitness/chanfitness/core"
)

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
	x := scale(tl, svgWidth)
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
	xf := scale(tl, rowWidth)
	x := func(t time.Time) int { return int(math.Round(xf(t))) }
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

// scale returns where a time falls on tl drawn width units wide, clamped
// to the drawing (0 for an empty timeline).
func scale(tl core.Timeline, width float64) func(time.Time) float64 {
	start := tl.Start.UnixNano()
	span := float64(tl.End.UnixNano() - start)
	return func(t time.Time) float64 {
		if span <= 0 {
			return 0
		}
		v := float64(t.UnixNano()-start) / span * width
		return math.Min(math.Max(v, 0), width)
	}
}

// writeMarks draws pt's channel marks on a timeline width units wide.
// Marks at one place are drawn once, saying how many channels they
// stand for; with points, each names its channel instead.
func writeMarks(b *pageBuf, pt *core.PeerTimeline, tl core.Timeline,
	points bool, width float64) {

	x := scale(tl, width)
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
