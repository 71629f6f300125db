package cln

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/cln/lightningdtest"
	"github.com/stretchr/testify/require"
)

func TestRPCClient(t *testing.T) {
	n := lightningdtest.New(t, lightningdtest.Options{Version: "v25.12"})
	a, b := lightningdtest.PeerID(1), lightningdtest.PeerID(2)
	n.SetPeer(a, true)
	n.SetPeer(b, false)
	open := n.AddChannel(lightningdtest.NewChannel(a, 1,
		lightningdtest.StateNormal))
	gone := n.AddChannel(lightningdtest.NewChannel(b, 2,
		lightningdtest.StateNormal))
	n.SetState(gone, lightningdtest.StateClosed, true)

	c := newRPCClient(filepath.Join(n.NetDir, "lightning-rpc"), nil)
	defer c.Close()
	ctx := context.Background()

	info, err := c.GetInfo(ctx)
	require.NoError(t, err)
	require.Equal(t, n.NodeID, info.ID)
	require.Equal(t, "v25.12", info.Version)

	peers, err := c.ListPeers(ctx)
	require.NoError(t, err)
	require.Equal(t, []peerInfo{{ID: a, Connected: true}}, peers,
		"b has no open channel and is not connected")

	chans, err := c.ListPeerChannels(ctx, nil)
	require.NoError(t, err)
	require.Len(t, chans, 1)
	require.Equal(t, open.ChannelID, chans[0].ChannelID)
	require.Equal(t, open.FundingTxid, chans[0].FundingTxid)
	require.Equal(t, open.FundingOutnum, *chans[0].FundingOutnum)
	require.Equal(t, "CHANNELD_NORMAL", chans[0].State)
	require.True(t, chans[0].PeerConnected)
	require.Empty(t, chans[0].StateChanges, "added without history")

	// State changes are listed, oldest first.
	n.SetState(open, lightningdtest.StateShuttingDown, true)
	n.SetState(open, lightningdtest.StateSigExchange, true)
	chans, err = c.ListPeerChannels(ctx, nil)
	require.NoError(t, err)
	for _, c := range chans[0].StateChanges {
		_, err := time.Parse(time.RFC3339Nano, c.Timestamp)
		require.NoError(t, err)
	}
	for i := range chans[0].StateChanges {
		chans[0].StateChanges[i].Timestamp = ""
	}
	require.Equal(t, []listedStateChange{
		{OldState: "CHANNELD_NORMAL",
			NewState: "CHANNELD_SHUTTING_DOWN"},
		{OldState: "CHANNELD_SHUTTING_DOWN",
			NewState: "CLOSINGD_SIGEXCHANGE"},
	}, chans[0].StateChanges)

	pb, err := core.ParsePeerID(b)
	require.NoError(t, err)
	chans, err = c.ListPeerChannels(ctx, &pb)
	require.NoError(t, err)
	require.Empty(t, chans)
	closed, err := c.ListClosedChannels(ctx, &pb)
	require.NoError(t, err)
	require.Len(t, closed, 1)
	require.Equal(t, gone.ChannelID, closed[0].ChannelID)

	// An error reply names the method and keeps the connection.
	n.FailRPC("listpeers", true)
	_, err = c.ListPeers(ctx)
	require.ErrorContains(t, err, "rpc listpeers: error -1: injected")
	n.FailRPC("listpeers", false)
	_, err = c.ListPeers(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n.RPCCalls("listpeers"))

	// A dropped connection is dialed again on the next call.
	n.DropRPCConnections()
	_, err = c.GetInfo(ctx)
	if err != nil {
		// The drop may be seen by this call: the next one redials.
		_, err = c.GetInfo(ctx)
	}
	require.NoError(t, err)

	// A canceled context fails the call; the client goes on working.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.GetInfo(cctx)
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.GetInfo(ctx)
	require.NoError(t, err)
}

func TestRPCClientNoSocket(t *testing.T) {
	c := newRPCClient(filepath.Join(t.TempDir(), "lightning-rpc"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.GetInfo(ctx)
	require.ErrorContains(t, err, "rpc getinfo: connect to")
	require.ErrorContains(t, err, "lightning-rpc")
	require.NoError(t, c.Close())
}

// TestParseUnixSeconds: getlog's created_at and listnetworkevents'
// timestamps, whole or with up to nine decimals; anything else is bad
// input.
func TestParseUnixSeconds(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1598192543":           time.Unix(1598192543, 0),
		"1598192543.820753463": time.Unix(1598192543, 820753463),
		"1598192543.5":         time.Unix(1598192543, 500000000),
		"0":                    time.Unix(0, 0),
	} {
		got, err := parseUnixSeconds(in)
		require.NoError(t, err, in)
		require.True(t, want.Equal(got), "%s: %v", in, got)
	}
	for _, in := range []string{"", "-1", "1.", "1.1234567890", "1e9",
		"x", "1.-5", "99999999999999999999"} {
		_, err := parseUnixSeconds(in)
		require.ErrorIs(t, err, core.ErrBadInput, in)
	}
}

// TestConvertNetworkEvents: records with a bad peer id, time or round
// trip are skipped with one warning; events before the start are not
// used; samples are kept from any time.
func TestConvertNetworkEvents(t *testing.T) {
	var out bytes.Buffer
	s := &source{log: pluginLogger{out: newProtoWriter(&out)}}
	ns := func(v uint64) *uint64 { return &v }
	huge := uint64(2 * time.Hour)
	recs := []networkEvent{
		{PeerID: peerA, Type: netConnect, Timestamp: "100"},
		{PeerID: peerA, Type: netDisconnect, Timestamp: "200"},
		{PeerID: peerA, Type: netPing, Timestamp: "50",
			DurationNsec: ns(5e6)},
		{PeerID: peerA, Type: netPing, Timestamp: "60"},
		{PeerID: peerA, Type: netPing, Timestamp: "70",
			DurationNsec: &huge},
		{PeerID: "nope", Type: netConnect, Timestamp: "300"},
		{PeerID: peerA, Type: netConnectFail, Timestamp: "x"},
		{PeerID: peerA, Type: netConnectFail, Timestamp: "40"},
		{PeerID: peerA, Type: "something_new", Timestamp: "400"},
	}
	events, samples := s.convert(recs, time.Unix(150, 0))
	require.Len(t, events, 1)
	require.Equal(t, core.PeerOffline, events[0].Type)
	require.Len(t, samples, 2)
	require.Equal(t, 5*time.Millisecond, samples[0].RTT)
	require.Equal(t, core.SampleConnectFail, samples[1].Kind)
	require.Equal(t, 1, strings.Count(out.String(), "unusable"))
	require.Contains(t, out.String(), "4 records unusable")
}
