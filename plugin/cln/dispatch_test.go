package cln

import (
	"context"
	"encoding/json"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// callLog is a Sink that reports the calls the source makes on calls.
// When armed, the next Apply signals entered and waits for release, so
// that a test can queue messages and a tick behind it.
type callLog struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
	calls   chan string
}

func (c *callLog) Apply(_ context.Context, ev core.Event) error {
	if c.armed.CompareAndSwap(true, false) {
		c.entered <- struct{}{}
		<-c.release
	}
	c.calls <- ev.Type.String()
	return nil
}

func (c *callLog) Sync(context.Context, core.Snapshot) error {
	c.calls <- "Sync"
	return nil
}

func (c *callLog) NodeLost(context.Context, time.Time) error {
	c.calls <- "NodeLost"
	return nil
}

func (c *callLog) OpenChannels(context.Context,
	*core.PeerID) ([]core.ChannelPoint, error) {

	return nil, nil
}

// heldTicker is a ticker whose ticks wait in a buffer until taken.
type heldTicker struct {
	c chan time.Time
}

func (h *heldTicker) Ticks() <-chan time.Time { return h.c }
func (h *heldTicker) Resume()                 {}
func (h *heldTicker) Pause()                  {}
func (h *heldTicker) Stop()                   {}

// TestSourceTickAfterQueued holds the source in an Apply while more
// notifications, a reconcile tick and one more notification come in. The
// reconcile takes its place by arrival: after the notifications stamped
// before the tick (a snapshot taken ahead of them would record the peer's
// state without their flaps), before the one stamped after.
func TestSourceTickAfterQueued(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := pluginLogger{out: newProtoWriter(io.Discard)}
	mon := &callLog{
		entered: make(chan struct{}),
		release: make(chan struct{}),
		calls:   make(chan string, 16),
	}
	tk := &heldTicker{c: make(chan time.Time, 1)}
	var backlog atomic.Int64
	src := newSource(sourceConfig{log: log, rpc: &fakeRPC{},
		clock: clock.NewDefaultClock(), rpcCtx: ctx, ticker: tk,
		backlog: &backlog})
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, mon) }()
	_, err := src.waitReady()
	require.NoError(t, err)
	require.Equal(t, "Sync", <-mon.calls)

	// The runner's queue: a message counts in the backlog from when it
	// is read until the source takes it.
	queue := make(chan inbound, 8)
	go func() {
		for m := range queue {
			src.hand(m)
		}
	}()
	defer close(queue)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	send := func(topic string) {
		params, err := json.Marshal(map[string]any{
			topic: map[string]string{"id": peerA}})
		require.NoError(t, err)
		at = at.Add(time.Second)
		backlog.Add(1)
		queue <- inbound{at: at, env: envelope{JSONRPC: "2.0",
			Method: topic, Params: params}}
	}
	for round := 0; round < 10; round++ {
		mon.armed.Store(true)
		send(topicDisconnect)
		<-mon.entered
		send(topicConnect)
		send(topicDisconnect)
		at = at.Add(time.Second)
		tk.c <- at
		send(topicConnect)
		mon.release <- struct{}{}
		for _, want := range []string{"PeerOffline", "PeerOnline",
			"PeerOffline", "Sync", "PeerOnline"} {

			select {
			case got := <-mon.calls:
				require.Equal(t, want, got, "round %d", round)
			case <-time.After(time.Minute):
				t.Fatalf("round %d: no %s", round, want)
			}
		}
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}
