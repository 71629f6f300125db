package core

import (
	"math/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testNow is the "now" of the acceptance tables.
var testNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).UnixNano()

type tev struct {
	at     time.Duration // relative to testNow
	online bool
}

func buildView(events []tev) view {
	tl := newTimeline()
	for _, e := range events {
		s := StateOffline
		if e.online {
			s = StateOnline
		}
		tl.append(testNow+int64(e.at), s)
	}
	return tl.view(false, ev64{}, testNow)
}

func h(n float64) time.Duration {
	return time.Duration(n * float64(time.Hour))
}

// TestOnlinePeriods ports the online-period acceptance table: each listed
// period must count fully as uptime, and nothing else may.
func TestOnlinePeriods(t *testing.T) {
	tests := []struct {
		name    string
		events  []tev
		periods [][2]time.Duration
	}{
		{name: "no events"},
		{
			name:    "online then offline",
			events:  []tev{{-h(3), true}, {-h(2), false}},
			periods: [][2]time.Duration{{-h(3), -h(2)}},
		},
		{
			name:   "offline only",
			events: []tev{{-h(4), false}},
		},
		{
			name:    "online only",
			events:  []tev{{-h(4), true}},
			periods: [][2]time.Duration{{-h(4), 0}},
		},
		{
			name:    "repeated online",
			events:  []tev{{-h(4), true}, {-h(3), true}},
			periods: [][2]time.Duration{{-h(4), 0}},
		},
		{
			name:   "repeated offline",
			events: []tev{{-h(4), false}, {-h(3), false}},
		},
		{
			name: "repeated online then offline",
			events: []tev{
				{-h(4), true}, {-h(3), true}, {-h(2), false},
			},
			periods: [][2]time.Duration{{-h(4), -h(2)}},
		},
		{
			name: "repeated offline then online",
			events: []tev{
				{-h(4), false}, {-h(3), false}, {-h(2), true},
			},
			periods: [][2]time.Duration{{-h(2), 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := buildView(tc.events)
			start := testNow - int64(h(10))
			var want time.Duration
			for _, p := range tc.periods {
				want += p[1] - p[0]
				on, _ := v.span(testNow+int64(p[0]),
					testNow+int64(p[1]))
				require.Equal(t, int64(p[1]-p[0]), on,
					"period %v", p)
			}
			on, _ := v.span(start, testNow)
			require.Equal(t, int64(want), on)
		})
	}
}

// TestUptime ports the uptime acceptance table.
func TestUptime(t *testing.T) {
	tests := []struct {
		name       string
		events     []tev
		start, end time.Duration
		want       time.Duration
	}{
		{
			name:   "online all window",
			events: []tev{{-h(4), true}},
			start:  -h(4), want: h(4),
		},
		{
			name:   "online one hour of four",
			events: []tev{{-h(3), true}, {-h(2), false}},
			start:  -h(4), want: h(1),
		},
		{
			name:   "online before window start",
			events: []tev{{-h(3), true}},
			start:  -h(2), want: h(2),
		},
		{
			name:   "offline after now",
			events: []tev{{-h(4), true}, {h(1), false}},
			start:  -h(2), want: h(2),
		},
		{
			name:   "window in the past",
			events: []tev{{-h(2), true}},
			start:  -h(3), end: -h(1), want: h(1),
		},
		{
			name: "several periods",
			events: []tev{
				{-h(7), true}, {-h(6), false}, {-h(5), true},
				{-h(4), false}, {-h(3), true},
			},
			start: -h(8), end: -h(1), want: h(4),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := buildView(tc.events)
			on, _ := v.span(testNow+int64(tc.start),
				testNow+int64(tc.end))
			require.Equal(t, int64(tc.want), on)
		})
	}
}

// TestCooldown checks lnd's reference values.
func TestCooldown(t *testing.T) {
	tests := []struct {
		name  string
		count int
		idle  time.Duration
		want  int
	}{
		{"one flap, 8h", 1, 8 * time.Hour, 0},
		{"ten flaps, 8h", 10, 8 * time.Hour, 9},
		{"ten flaps, 24h", 10, 24 * time.Hour, 8},
		{"ten flaps, 4h", 10, 4 * time.Hour, 10},
		{"just under the period", 100, 8*time.Hour - 1, 100},
		{"fractional periods", 1000, 12 * time.Hour, 925},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			last := time.Unix(1000, 0)
			got := cooled(last.Add(tc.idle).UnixNano(), tc.count,
				last.UnixNano())
			require.Equal(t, tc.want, got)
		})
	}
}

// TestRateLimit checks the tiers and the cap.
func TestRateLimit(t *testing.T) {
	tests := []struct {
		count int
		want  time.Duration
	}{
		{0, time.Second}, {199, time.Second}, {200, 5 * time.Second},
		{400, 30 * time.Second}, {600, time.Minute},
		{800, 30 * time.Minute}, {1000, time.Hour},
		{1_000_000, time.Hour},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, rateLimit(tc.count), "count %d",
			tc.count)
	}
}

// bruteOutage computes the longest offline run within [s, e] by walking
// every event.
func bruteOutage(times []int64, states []State, s, e, now int64) int64 {
	e = min(e, now)
	var best int64
	for i := range times {
		if states[i] != StateOffline ||
			(i > 0 && states[i-1] == StateOffline) {
			continue
		}
		end := now
		for j := i + 1; j < len(times); j++ {
			if states[j] != StateOffline {
				end = times[j]
				break
			}
		}
		a, b := max(times[i], s), min(end, e)
		if b > a {
			best = max(best, b-a)
		}
	}
	return best
}

func bruteSpan(times []int64, states []State, s, e, now int64) (int64,
	int64) {

	e = min(e, now)
	var on, known int64
	for i := range times {
		end := now
		if i+1 < len(times) {
			end = times[i+1]
		}
		a, b := max(times[i], s), min(end, e)
		if b <= a {
			continue
		}
		if states[i] == StateOnline {
			on += b - a
		}
		if states[i] != StateUnknown {
			known += b - a
		}
	}
	return on, known
}

// TestTimelineAgainstBruteForce compares the O(log n) queries with a
// direct walk over random logs, staged event included.
func TestTimelineAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for round := 0; round < 200; round++ {
		tl := newTimeline()
		var times []int64
		var states []State
		tm := int64(1_000_000)
		n := rng.Intn(600)
		for i := 0; i < n; i++ {
			tm += int64(rng.Intn(1000))
			s := State(rng.Intn(3))
			if rng.Intn(4) > 0 {
				s = State(rng.Intn(2))
			}
			tl.append(tm, s)
			times = append(times, tm)
			states = append(states, s)
		}
		hasStaged := rng.Intn(2) == 0
		var staged ev64
		allT, allS := times, states
		if hasStaged {
			staged = ev64{tm + int64(rng.Intn(500)), State(rng.Intn(3))}
			allT = append(append([]int64(nil), times...), staged.t)
			allS = append(append([]State(nil), states...), staged.s)
		}
		now := tm + 2000
		v := tl.view(hasStaged, staged, now)
		for q := 0; q < 50; q++ {
			s := 1_000_000 + rng.Int63n(now-1_000_000+500)
			e := s + rng.Int63n(now-s+1000)
			wantOn, wantKnown := bruteSpan(allT, allS, s, e, now)
			on, known := v.span(s, e)
			require.Equal(t, wantOn, on, "round %d online [%d,%d]",
				round, s, e)
			require.Equal(t, wantKnown, known, "round %d known",
				round)
			require.Equal(t, bruteOutage(allT, allS, s, e, now),
				v.longestOutage(s, e), "round %d outage [%d,%d]",
				round, s, e)
		}
	}
}
