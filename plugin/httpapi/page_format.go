package httpapi

import (
	"html"
	"strconv"
	"time"
)

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
