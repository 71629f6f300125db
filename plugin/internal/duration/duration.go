// Package duration reads and writes the durations of the front ends'
// options in one vocabulary: whole days, hours, minutes and seconds, each
// at most once and in that order ("90d", "5m", "1h30m", "5m0s"), or "0".
// A day is 24 hours. Both front ends use it, so an option means the same
// thing, written the same way, on Core Lightning and on lnd.
package duration

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrSyntax is wrapped by every error of Parse.
var ErrSyntax = errors.New("want whole days, hours, minutes and seconds " +
	"such as 90d, 5m or 1h30m, or 0")

// maxText bounds the text Parse reads.
const maxText = 32

// units are the units of a duration's text, in the order they must come.
var units = []struct {
	unit byte
	d    time.Duration
}{
	{'d', 24 * time.Hour},
	{'h', time.Hour},
	{'m', time.Minute},
	{'s', time.Second},
}

// Parse reads a duration in the options' vocabulary.
func Parse(s string) (time.Duration, error) {
	bad := func() (time.Duration, error) {
		q := s
		if len(q) > maxText {
			q = q[:16] + "..."
		}
		return 0, fmt.Errorf("duration %q: %w", q, ErrSyntax)
	}
	if s == "0" {
		return 0, nil
	}
	if s == "" || len(s) > maxText {
		return bad()
	}
	var total time.Duration
	rest := s
	next := 0
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return bad()
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return bad()
		}
		u := -1
		for j := next; j < len(units); j++ {
			if units[j].unit == rest[i] {
				u = j
				break
			}
		}
		if u < 0 {
			return bad()
		}
		if n > int64((1<<63-1)/units[u].d) ||
			total > time.Duration(1<<63-1)-time.Duration(n)*units[u].d {

			return bad()
		}
		total += time.Duration(n) * units[u].d
		next = u + 1
		rest = rest[i+1:]
	}
	return total, nil
}

// Format writes d in the options' vocabulary, whole seconds, largest
// units first: 90 days as "90d", 90 minutes as "1h30m", zero as "0".
func Format(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	d = d.Truncate(time.Second)
	var b strings.Builder
	for _, u := range units {
		if n := d / u.d; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteByte(u.unit)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}

// Flag is a command-line flag holding a duration in the options'
// vocabulary (it implements go-flags' Marshaler and Unmarshaler).
type Flag time.Duration

// UnmarshalFlag reads the flag's value.
func (f *Flag) UnmarshalFlag(s string) error {
	d, err := Parse(s)
	if err != nil {
		return err
	}
	*f = Flag(d)
	return nil
}

// MarshalFlag writes the flag's value (go-flags shows it as the default).
func (f Flag) MarshalFlag() (string, error) {
	return Format(time.Duration(f)), nil
}

// Defaults and bounds of the duration options both front ends have, so
// that they are the same on Core Lightning and on lnd. 0 turns each off.
const (
	// DefaultReconcile is how often the node's channels and peers are
	// read to repair a missed notification.
	DefaultReconcile = time.Minute

	// MaxReconcile is the longest reconcile interval: a day.
	MaxReconcile = 24 * time.Hour

	// DefaultClosedRetention is how long a closed channel stays in
	// the report.
	DefaultClosedRetention = 90 * 24 * time.Hour

	// MaxClosedRetention is the longest retention: a century.
	MaxClosedRetention = 36500 * 24 * time.Hour
)

// InRange returns an error unless d is 0 or within [lo, hi]; zero says
// what 0 means ("never", "forever").
func InRange(d, lo, hi time.Duration, zero string) error {
	if d == 0 || (d >= lo && d <= hi) {
		return nil
	}
	return fmt.Errorf("%s is out of range: want 0 (%s) or %s to %s",
		Format(d), zero, Format(lo), Format(hi))
}
