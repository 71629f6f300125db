package core

import (
	"sync"
	"time"

	"github.com/lightningnetwork/lnd/clock"
)

// The monitor's time.
//
// The system's wall clock can step: an NTP correction, a virtual machine
// or a laptop resuming, a wrong real-time clock at boot corrected later.
// The monitor compares the wall clock with a monotonic clock, which only
// moves at the rate of real time, at every reading; a difference of more
// than stepTolerance (plus a thousandth of the time between the readings,
// for a slewing clock) is a step.
//
//   - Forward: the wall clock skipped time no one lived through. The
//     skipped span is unmonitored, like time the node was lost: it counts
//     in a channel's age but not in its lifetime or uptime.
//   - Back: the wall clock reads times the history already holds. The
//     monitor's time never goes back: it stays where the wall clock would
//     be without the step (the last reading plus the monotonic time
//     since) until the wall clock is past it again, and events in between
//     are recorded at that instant. That real time is unmonitored too; it
//     takes no room on the time axis.
//
// Either way no time in the history is later than the monitor's now, or
// earlier than what it already holds. A step is logged once with its size
// and counted in the report. After a restart the newest stored time is the
// floor: a clock that came back behind it is a step back.

// MonotonicClock is a clock that also reads a monotonic time. Config.Clock
// may implement it; otherwise the monitor uses the monotonic reading Go
// attaches to time.Now (which the system clock's Now carries), and a clock
// whose times carry none is never seen to step.
type MonotonicClock interface {
	clock.Clock

	// NowMonotonic returns Now and, read at the same instant, the time
	// since a fixed origin on a clock that moves only at the rate of
	// real time, whatever the wall clock does.
	NowMonotonic() (time.Time, time.Duration)
}

// stepTolerance is the largest difference between the wall and the
// monotonic clock's progress that is not a step.
const stepTolerance = time.Second

// clockStep is a detected step of the wall clock.
type clockStep struct {
	// at is the monitor's time just before the step and wall the wall
	// clock's time after it.
	at, wall int64

	// size is how far the wall clock jumped: positive forward.
	size int64
}

// clockWatch reads the monitor's clock and detects steps.
type clockWatch struct {
	clk    clock.Clock
	mono   MonotonicClock
	origin time.Time

	mu       sync.Mutex
	seen     bool
	lastWall int64
	lastMono time.Duration

	// newest is the newest time returned: the monitor's time never
	// goes back.
	newest int64

	// steps are detected and not yet taken by the monitor.
	steps []clockStep
}

func newClockWatch(clk clock.Clock) *clockWatch {
	w := &clockWatch{clk: clk}
	if mc, ok := clk.(MonotonicClock); ok {
		w.mono = mc
	} else {
		w.origin = clk.Now()
	}
	return w
}

// reading returns the wall clock and the monotonic clock.
func (w *clockWatch) reading() (int64, time.Duration) {
	if w.mono != nil {
		t, mono := w.mono.NowMonotonic()
		return t.UnixNano(), mono
	}
	t := w.clk.Now()
	// Sub uses the monotonic readings when both times carry one.
	return t.UnixNano(), t.Sub(w.origin)
}

// read returns the monitor's time: the wall clock, or the newest time
// returned before if the wall clock is behind it. A step found on the way
// is kept for take.
func (w *clockWatch) read() int64 {
	wall, mono := w.reading()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.readLocked(wall, mono)
}

// readTake is read and take in one: the monitor's time and the steps
// found since the last take.
func (w *clockWatch) readTake() (int64, []clockStep) {
	wall, mono := w.reading()
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.readLocked(wall, mono)
	s := w.steps
	w.steps = nil
	return now, s
}

// readLocked is read with w.mu held and the clocks read.
func (w *clockWatch) readLocked(wall int64, mono time.Duration) int64 {
	if w.seen {
		elapsed := int64(mono - w.lastMono)
		expect := w.lastWall + elapsed
		tol := int64(stepTolerance) + max(elapsed, 0)/1000
		if step := wall - expect; step > tol || step < -tol {
			w.steps = append(w.steps, clockStep{
				at:   max(expect, w.newest),
				wall: wall,
				size: step,
			})
			// Back: the time lived since the last reading
			// was real; hold the time there.
			w.newest = max(w.newest, expect)
		}
	}
	w.seen, w.lastWall, w.lastMono = true, wall, mono
	w.newest = max(w.newest, wall)
	return w.newest
}

// raise makes t the floor of the monitor's time: the newest stored time
// after a restart. A wall clock behind it stepped back.
func (w *clockWatch) raise(t int64) {
	w.read()
	w.mu.Lock()
	defer w.mu.Unlock()
	if wall := w.lastWall; t-wall > int64(stepTolerance) {
		w.steps = append(w.steps, clockStep{
			at: t, wall: wall, size: wall - t,
		})
	}
	w.newest = max(w.newest, t)
}

// newestStored returns the newest time the loaded history holds: the
// heartbeat, or an event after it (applied while connected or not).
func (m *Monitor) newestStored() int64 {
	t := max(m.heartbeat, m.lastTime)
	for _, p := range m.peers {
		t = max(t, p.lastEvent)
	}
	return t
}

// behind returns how far the wall clock is behind the monitor's time at
// the last reading: zero unless the time is held after a step back.
func (w *clockWatch) behind() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return max(w.newest-w.lastWall, 0)
}

// stamp places a time a front end stamped, read from the same wall clock,
// on the monitor's time: zero means now; while the time is held after a
// step back it is moved forward by as much as the wall clock is behind;
// nothing is later than now.
func (m *Monitor) stamp(t time.Time, now int64) int64 {
	if t.IsZero() {
		return now
	}
	ns := t.UnixNano()
	if ns >= now {
		return now
	}
	if b := m.watch.behind(); b < now-ns {
		return ns + b
	}
	return now
}

// pending reports whether steps wait to be taken.
func (w *clockWatch) pending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.steps) > 0
}

// observeClock reads the clock and handles the steps found since the last
// call: a step forward while connected becomes unmonitored time, in the
// change under way. It returns the monitor's time. Callers hold mu for
// writing.
func (m *Monitor) observeClock() int64 {
	now, steps := m.watch.readTake()
	for _, s := range steps {
		m.clockSteps++
		m.lastStep = s
		if s.size < 0 {
			m.log.Warnf("clock stepped back by %v at %v: the time "+
				"stays at %v until the clock is there again; "+
				"the time until then is unmonitored",
				time.Duration(-s.size), nsTime(s.at), nsTime(s.at))
			continue
		}
		if m.gapOpen || s.wall <= s.at {
			m.log.Warnf("clock stepped forward by %v at %v",
				time.Duration(s.size), nsTime(s.at))
			continue
		}
		m.log.Warnf("clock stepped forward by %v at %v: the time "+
			"from %v to %v is unmonitored", time.Duration(s.size),
			nsTime(s.at), nsTime(s.at), nsTime(s.wall))
		m.stepGap(s.at, s.wall)
	}
	return now
}

// stepGap records [start, end] as unmonitored while connected.
func (m *Monitor) stepGap(start, end int64) {
	m.stepping = true
	m.openGap(start)
	m.closeGap(end, nil)
	m.stepping = false
}

// settleClock handles a step a query's reading may find before the query
// computes anything, so that no query counts a skipped span as
// monitored.
func (m *Monitor) settleClock() {
	m.watch.read()
	if !m.watch.pending() {
		return
	}
	m.mu.Lock()
	if m.usable() == nil {
		m.observeClock()
		// Queued, not awaited: a query never waits for the disk.
		m.commit()
	}
	m.mu.Unlock()
}

// ClockStep is a step of the system clock in a Report.
type ClockStep struct {
	// At is the monitor's time when the clock stepped.
	At Time `json:"at"`

	// Seconds is the size of the step, positive forward.
	Seconds int64 `json:"seconds"`
}

// clockReport returns the report's clock fields. Callers hold mu.
func (m *Monitor) clockReport() (int, *ClockStep) {
	if m.clockSteps == 0 {
		return 0, nil
	}
	return m.clockSteps, &ClockStep{
		At:      Time{nsTime(m.lastStep.at)},
		Seconds: seconds(time.Duration(m.lastStep.size)),
	}
}
