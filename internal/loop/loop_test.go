package loop_test

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/internal/loop"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// TestLoopOrder: First runs before anything else, then a change and a
// tick each run their handler; Stop calls the subscription's cancel and
// may be called again.
func TestLoopOrder(t *testing.T) {
	tick := ticker.NewForce(time.Hour)
	l := loop.New(tick)
	require.True(t, l.Claim())
	require.False(t, l.Claim(), "a second start is refused")

	got := make(chan string, 10)
	changed := make(chan struct{})
	canceled := make(chan struct{})
	l.Run(changed, func() { close(canceled) }, loop.Handlers{
		First:   func(context.Context) { got <- "first" },
		Changed: func(context.Context) { got <- "changed" },
		Tick:    func(context.Context) { got <- "tick" },
	})
	changed <- struct{}{}
	tick.Force <- time.Now()
	// The force channel is unbuffered: a second send is taken only
	// once the first tick's handler returned.
	tick.Force <- time.Now()
	l.Stop()
	l.Stop()
	<-canceled
	close(got)
	var order []string
	for s := range got {
		order = append(order, s)
	}
	require.Equal(t, []string{"first", "changed", "tick", "tick"}, order)
}

// TestStopEndsHandler: Stop cancels the context of a handler that
// waits on it, and returns once that handler did.
func TestStopEndsHandler(t *testing.T) {
	l := loop.New(ticker.NewForce(time.Hour))
	require.True(t, l.Claim())
	in := make(chan struct{})
	out := make(chan struct{})
	l.Run(nil, func() {}, loop.Handlers{First: func(ctx context.Context) {
		close(in)
		<-ctx.Done()
		close(out)
	}})
	<-in
	l.Stop()
	select {
	case <-out:
	default:
		t.Fatal("Stop returned before the handler ended")
	}
}

// TestStopBeforeStart: Stop without a start does nothing and does not
// block.
func TestStopBeforeStart(t *testing.T) {
	l := loop.New(ticker.NewForce(time.Hour))
	l.Stop()
	require.True(t, l.Claim())
}
