package coretest

import (
	"sync"
	"time"

	"github.com/lightningnetwork/lnd/clock"
)

// Clock is a test clock with a monotonic reading apart from its wall time,
// so that a test can step the wall clock as NTP or a resumed machine does.
// It implements core.MonotonicClock. Advance moves both clocks; Step, and
// the embedded TestClock's SetTime, move the wall clock only.
type Clock struct {
	*clock.TestClock

	mu   sync.Mutex
	mono time.Duration
}

// NewClock returns a Clock whose wall time is start.
func NewClock(start time.Time) *Clock {
	return &Clock{TestClock: clock.NewTestClock(start)}
}

// Advance lets d of real time pass.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.TestClock.SetTime(c.TestClock.Now().Add(d))
	c.mono += d
}

// Step moves the wall clock by d (back when negative) and leaves the
// monotonic clock where it is.
func (c *Clock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.TestClock.SetTime(c.TestClock.Now().Add(d))
}

// NowMonotonic returns the wall time and the monotonic time together.
func (c *Clock) NowMonotonic() (time.Time, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.TestClock.Now(), c.mono
}
