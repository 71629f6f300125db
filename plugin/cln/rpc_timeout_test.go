package cln

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// waitTimeout bounds a test's wait for the client.
const waitTimeout = time.Minute

// timedClient is a client of an emulated node on a test clock that
// signals each timer the client starts.
type timedClient struct {
	*rpcClient
	node   *lightningdtest.Node
	clock  *clock.TestClock
	timers chan time.Duration
}

func newTimedClient(t *testing.T) *timedClient {
	n := lightningdtest.New(t, lightningdtest.Options{
		Payload: lightningdtest.V25_12})
	timers := make(chan time.Duration, 100)
	clk := clock.NewTestClockWithTickSignal(time.Unix(1800000000, 0),
		timers)
	c := newRPCClient(filepath.Join(n.NetDir, "lightning-rpc"), clk)
	t.Cleanup(func() { _ = c.Close() })
	return &timedClient{rpcClient: c, node: n, clock: clk,
		timers: timers}
}

// timerStarted waits for the client to start a call's timer.
func (c *timedClient) timerStarted(t *testing.T) {
	t.Helper()
	select {
	case d := <-c.timers:
		require.Equal(t, rpcTimeout, d)
	case <-time.After(waitTimeout):
		require.FailNow(t, "no call timer started")
	}
}

// expire moves the clock to the end of the timers started so far.
func (c *timedClient) expire() {
	c.clock.SetTime(c.clock.Now().Add(rpcTimeout))
}

// async runs f and returns its error on a channel.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

func waitErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitTimeout):
		require.FailNow(t, "call did not return")
	}
	return nil
}

// TestRPCClientTimeout: a call lightningd does not answer fails once the
// timeout passed on the client's clock, with an error naming the method.
// A call queued behind it ends as soon as its own context does. The late
// answer is never taken for the answer of a later call, which gets its
// own.
func TestRPCClientTimeout(t *testing.T) {
	for _, method := range []string{"listpeerchannels",
		"listnetworkevents"} {

		t.Run(method, func(t *testing.T) {
			c := newTimedClient(t)
			a := lightningdtest.PeerID(1)
			c.node.SetPeer(a, true)
			ctx := context.Background()
			call := func(ctx context.Context,
				method string) func() error {

				return func() error {
					var err error
					switch method {
					case "listpeerchannels":
						_, err = c.ListPeerChannels(ctx,
							nil)
					case "listnetworkevents":
						_, err = c.ListNetworkEvents(ctx,
							0, 10)
					case "listpeers":
						_, err = c.ListPeers(ctx)
					}
					return err
				}
			}

			reached, release := c.node.HoldRPC(method)
			defer release()
			held := async(call(ctx, method))
			c.timerStarted(t)
			<-reached
			qctx, cancel := context.WithCancel(ctx)
			queued := async(call(qctx, "listpeers"))
			c.timerStarted(t)
			cancel()
			err := waitErr(t, queued)
			require.ErrorIs(t, err, context.Canceled)
			require.EqualError(t, err, "rpc listpeers: context "+
				"canceled")
			select {
			case err := <-held:
				require.FailNow(t, "returned before the "+
					"timeout", "%v", err)
			default:
			}

			c.expire()
			err = waitErr(t, held)
			require.ErrorIs(t, err, errRPCTimeout)
			require.EqualError(t, err, "rpc "+method+": no answer "+
				"from lightningd within 30s")

			// The late answer goes to the dropped connection.
			release()
			c.node.RecordNetworkEvent(lightningdtest.NetworkEvent{
				PeerID: a, Type: lightningdtest.NetConnect,
				Timestamp: 1800000000})
			peers, err := c.ListPeers(ctx)
			require.NoError(t, err)
			require.Equal(t, []peerInfo{{ID: a, Connected: true}},
				peers)
			evs, err := c.ListNetworkEvents(ctx, 0, 10)
			require.NoError(t, err)
			require.Len(t, evs, 1)
			require.Equal(t, 1, c.node.RPCCalls("listpeers"),
				"the queued call was never sent")
		})
	}
}

// TestRPCClientGarbage: a reply that is not JSON, JSON of another shape,
// or one without its list (which would say the node has none) fails the
// call with an error naming the method, and the next call gets its own
// answer.
func TestRPCClientGarbage(t *testing.T) {
	tests := []struct {
		name, result, err string
	}{{
		name:   "not json",
		result: "\x00garbage\xff",
		err:    "rpc listnetworkevents: read reply: ",
	}, {
		name:   "wrong shape",
		result: `{"networkevents":{"created_index":"x"}}`,
		err:    "rpc listnetworkevents: decode reply: ",
	}, {
		name:   "without its list",
		result: `{"events":[]}`,
		err: `rpc listnetworkevents: bad input: reply without ` +
			`"networkevents"`,
	}, {
		name:   "null list",
		result: `{"networkevents":null}`,
		err: `rpc listnetworkevents: bad input: reply without ` +
			`"networkevents"`,
	}, {
		name:   "truncated",
		result: `{"networkevents":[{"created_index":1,`,
		err:    "rpc listnetworkevents: read reply: ",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTimedClient(t)
			a := lightningdtest.PeerID(1)
			c.node.RecordNetworkEvent(lightningdtest.NetworkEvent{
				PeerID: a, Type: lightningdtest.NetConnect,
				Timestamp: 1800000000})
			ctx := context.Background()
			c.node.GarbleRPC("listnetworkevents", tc.result)
			_, err := c.ListNetworkEvents(ctx, 0, 10)
			require.ErrorContains(t, err, tc.err)
			evs, err := c.ListNetworkEvents(ctx, 0, 10)
			require.NoError(t, err)
			require.Len(t, evs, 1)
			require.Equal(t, a, evs[0].PeerID)
		})
	}
}

// TestRPCClientReplyLimit: a reply over the limit (a stream of garbage)
// fails the call once the limit is read, naming the method; the next
// call gets its own answer.
func TestRPCClientReplyLimit(t *testing.T) {
	c := newTimedClient(t)
	c.maxReply = 4 << 10
	a := lightningdtest.PeerID(1)
	c.node.SetPeer(a, true)
	ctx := context.Background()
	c.node.GarbleRPC("listpeers", `{"peers":[],"x":"`+
		strings.Repeat("x", 64<<10)+`"}`)
	_, err := c.ListPeers(ctx)
	require.EqualError(t, err, "rpc listpeers: read reply: reply over "+
		"the limit of 4096 bytes")
	peers, err := c.ListPeers(ctx)
	require.NoError(t, err)
	require.Equal(t, []peerInfo{{ID: a, Connected: true}}, peers)
}
