package cln

import (
	"context"
	"encoding/json"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/stretchr/testify/require"
)

// callLog is a Monitor that reports the calls the dispatcher makes on
// calls. When armed, the next Apply signals entered and waits for
// release, so that a test can queue messages and a tick behind it.
type callLog struct {
	Monitor

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

// heldTicker is a ticker whose ticks wait in a buffer until taken.
type heldTicker struct {
	c chan time.Time
}

func (h *heldTicker) Ticks() <-chan time.Time { return h.c }
func (h *heldTicker) Resume()                 {}
func (h *heldTicker) Pause()                  {}
func (h *heldTicker) Stop()                   {}

// TestDispatchTickAfterQueued holds the dispatcher in an Apply while
// more notifications, a reconcile tick and one more notification come
// in. The reconcile takes its place by arrival: after the notifications
// stamped before the tick (a snapshot taken ahead of them would record
// the peer's state without their flaps), before the one stamped after.
func TestDispatchTickAfterQueued(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := pluginLogger{out: newProtoWriter(io.Discard)}
	r := &runner{log: log, rpcCtx: ctx, readyc: make(chan *instance)}
	mon := &callLog{
		entered: make(chan struct{}),
		release: make(chan struct{}),
		calls:   make(chan string, 16),
	}
	rpc := &fakeRPC{}
	tk := &heldTicker{c: make(chan time.Time, 1)}
	inst := &instance{log: log, rpc: rpc, mon: mon, ticker: tk,
		tracker: newTracker(rpc, nopLog{}, time.Now, nil)}

	queue := make(chan inbound, 8)
	done := make(chan string)
	go func() { done <- r.dispatch(ctx, queue, nil) }()
	r.readyc <- inst

	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	msg := func(topic string) inbound {
		params, err := json.Marshal(map[string]any{
			topic: map[string]string{"id": peerA}})
		require.NoError(t, err)
		at = at.Add(time.Second)
		return inbound{at: at, env: envelope{JSONRPC: "2.0",
			Method: topic, Params: params}}
	}
	for round := 0; round < 10; round++ {
		mon.armed.Store(true)
		queue <- msg(topicDisconnect)
		<-mon.entered
		queue <- msg(topicConnect)
		queue <- msg(topicDisconnect)
		at = at.Add(time.Second)
		tk.c <- at
		queue <- msg(topicConnect)
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
	require.Equal(t, "interrupted", <-done)
}
