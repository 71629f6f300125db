package cln

import (
	"context"
	"path/filepath"
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

	c := newRPCClient(filepath.Join(n.NetDir, "lightning-rpc"))
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
	c := newRPCClient(filepath.Join(t.TempDir(), "lightning-rpc"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := c.GetInfo(ctx)
	require.ErrorContains(t, err, "rpc getinfo: connect to")
	require.ErrorContains(t, err, "lightning-rpc")
	require.NoError(t, c.Close())
}
