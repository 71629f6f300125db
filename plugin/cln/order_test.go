package cln_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/cln"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// recorder is a sink that records every event applied, in order, and
// passes it on to the monitor.
type recorder struct {
	core.Sink

	mu     sync.Mutex
	events []core.Event
}

func (r *recorder) Apply(ctx context.Context, ev core.Event) error {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	return r.Sink.Apply(ctx, ev)
}

// recordingSource runs the plugin's source with a recorder between it
// and the monitor.
type recordingSource struct {
	src core.EventSource
	rec *recorder
}

func (s recordingSource) Run(ctx context.Context, sink core.Sink) error {
	s.rec.Sink = sink
	return s.src.Run(ctx, s.rec)
}

func (r *recorder) applied() []core.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]core.Event(nil), r.events...)
}

// TestInProcessOrder sends 2,000 notifications for three peers, mixed
// with channel state changes, in one write. The monitor must see exactly
// the events they imply, in the order they were sent, and stamped in
// increasing time.
func TestInProcessOrder(t *testing.T) {
	peers := []string{lightningdtest.PeerID(1), lightningdtest.PeerID(2),
		lightningdtest.PeerID(3)}
	var chans []*lightningdtest.Channel
	rec := &recorder{}
	p := startInProcess(t, inProcessOpts{
		setup: func(n *lightningdtest.Node) {
			for i, id := range peers {
				n.SetPeer(id, true)
				chans = append(chans, n.AddChannel(
					lightningdtest.NewChannel(id, i,
						lightningdtest.StateNormal)))
			}
		},
		config: func(c *cln.Config) {
			// Every reading is a new time, so stamps taken out
			// of arrival order would show as inversions.
			c.Clock = &steppingClock{Clock: c.Clock}
			c.NewMonitor = func(mc core.Config) (cln.Monitor, error) {
				mc.Source = recordingSource{src: mc.Source,
					rec: rec}
				return core.NewMonitor(mc)
			}
		},
	})

	type want struct {
		typ  core.EventType
		peer string
	}
	var wants []want
	var buf bytes.Buffer
	pl := p.Payload()
	online := map[string]bool{}
	for i := 0; i < 2000; i++ {
		id := peers[(i*7+i/3)%len(peers)]
		if i == 1000 {
			// A close in the middle of the stream.
			for _, s := range []string{
				lightningdtest.StateShuttingDown,
				lightningdtest.StateClosingDone,
				lightningdtest.StateOnchain} {

				sc := lightningdtest.StateChange{
					Peer:      peers[0],
					ChannelID: chans[0].ChannelID,
					NewState:  s,
				}
				buf.Write(lightningdtest.NotificationFrame(
					"channel_state_changed",
					pl.StateChangedParams(sc)))
			}
			wants = append(wants, want{core.ChannelClosed, peers[0]})
		}
		if online[id] {
			buf.Write(lightningdtest.NotificationFrame("disconnect",
				pl.DisconnectParams(id)))
			wants = append(wants, want{core.PeerOffline, id})
		} else {
			buf.Write(lightningdtest.NotificationFrame("connect",
				pl.ConnectParams(id, "out")))
			wants = append(wants, want{core.PeerOnline, id})
		}
		online[id] = !online[id]
	}
	require.NoError(t, p.SendRaw(buf.Bytes()))
	r := p.Report()

	got := rec.applied()
	require.Len(t, got, len(wants))
	for i, w := range wants {
		require.Equal(t, w.typ, got[i].Type, "event %d", i)
		require.Equal(t, w.peer, got[i].Peer.String(), "event %d", i)
		require.False(t, got[i].Time.IsZero())
		if i > 0 {
			require.True(t, got[i].Time.After(got[i-1].Time),
				"event %d stamped %v, not after %v", i,
				got[i].Time, got[i-1].Time)
		}
	}
	for _, id := range peers {
		require.Equal(t, online[id], peer(t, r, id).Online, id)
	}
	require.Equal(t, "closed", channel(t, r, chans[0].Point()).Status)
}

// TestInProcessCallSeesEarlierNotifications checks read-your-writes: a
// call sent right after notifications reflects all of them, because the
// plugin hands a call to glightning only after applying what came
// before it.
func TestInProcessCallSeesEarlierNotifications(t *testing.T) {
	a := lightningdtest.PeerID(1)
	p := startInProcess(t, inProcessOpts{
		setup: func(n *lightningdtest.Node) {
			n.SetPeer(a, true)
			n.AddChannel(lightningdtest.NewChannel(a, 1,
				lightningdtest.StateNormal))
		},
	})
	for i := 1; i <= 50; i++ {
		p.Disconnect(a)
		p.Connect(a)
		require.Equal(t, 1+2*i, peer(t, p.Report(), a).FlapCount)
	}
}

// steppingClock moves a millisecond forward at every reading.
type steppingClock struct {
	clock.Clock
	mu  sync.Mutex
	now time.Time
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = c.Clock.Now()
	}
	c.now = c.now.Add(time.Millisecond)
	return c.now
}
