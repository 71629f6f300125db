// Package loop runs the goroutine of a component that works in the
// background, woken by a ticker and by a subscription to changes: the
// alerter and the exporter. It owns what they share: started once,
// stopped any number of times, Stop waiting for the goroutine.
package loop

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/lightningnetwork/lnd/ticker"
)

// Handlers are what the goroutine runs, one at a time. Each gets a
// context that ends when Stop is called.
type Handlers struct {
	// First, when set, runs once before the first wait.
	First func(ctx context.Context)

	// Changed runs on each signal of the subscription.
	Changed func(ctx context.Context)

	// Tick runs on each tick of the ticker.
	Tick func(ctx context.Context)
}

// Loop is one component's goroutine. The zero value is not usable: use
// New.
type Loop struct {
	ticker ticker.Ticker

	started atomic.Bool
	stopped atomic.Bool
	quit    chan struct{}
	wg      sync.WaitGroup
}

// New returns a loop driven by t; it starts nothing.
func New(t ticker.Ticker) *Loop {
	return &Loop{ticker: t, quit: make(chan struct{})}
}

// Claim marks the loop started and says whether it was not before: a
// component's Start calls it first and refuses a second start on false.
func (l *Loop) Claim() bool {
	return l.started.CompareAndSwap(false, true)
}

// Run resumes the ticker and starts the goroutine, which runs h on
// changed and the ticks until Stop, then calls cancel (the
// subscription's).
func (l *Loop) Run(changed <-chan struct{}, cancel func(), h Handlers) {
	l.ticker.Resume()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer cancel()
		l.run(changed, h)
	}()
}

func (l *Loop) run(changed <-chan struct{}, h Handlers) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-l.quit
		cancel()
	}()
	if h.First != nil {
		h.First(ctx)
	}
	for {
		select {
		case <-l.quit:
			return
		case <-changed:
			h.Changed(ctx)
		case <-l.ticker.Ticks():
			h.Tick(ctx)
		}
	}
}

// Stop ends the goroutine, waits for it and stops the ticker; safe to
// call more than once, and before Claim (it does nothing then).
func (l *Loop) Stop() {
	if !l.started.Load() || !l.stopped.CompareAndSwap(false, true) {
		return
	}
	close(l.quit)
	l.wg.Wait()
	l.ticker.Stop()
}
