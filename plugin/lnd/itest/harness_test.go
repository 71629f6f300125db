package itest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/internal/testproc"
	"github.com/chanfitness/chanfitness/internal/testproc/lndnode"
	lndsource "github.com/chanfitness/chanfitness/plugin/lnd"
	"github.com/lightningnetwork/lnd/lnrpc"
	"github.com/stretchr/testify/require"
)

// BinsEnv names the environment variable with the directory of the lnd,
// lncli, btcd and btcctl binaries (`make itest-bins` builds them).
const BinsEnv = "CHANFITNESS_LND_BINS"

// Timeouts of the waits (generous: the machine may be busy).
const (
	startTimeout = 90 * time.Second
	waitTimeout  = 90 * time.Second
)

// harness is a regtest network: one btcd and some lnd nodes.
type harness struct {
	*lndnode.Network
}

// newHarness checks the binaries and starts btcd on regtest.
func newHarness(t *testing.T, bins string) *harness {
	for _, b := range []string{"lnd", "lncli", "btcd", "btcctl"} {
		info, err := os.Stat(filepath.Join(bins, b))
		require.NoError(t, err, "%s=%s must hold %s; run `make "+
			"itest-bins`", BinsEnv, bins, b)
		require.False(t, info.IsDir())
	}
	return &harness{Network: lndnode.Start(t, bins, startTimeout)}
}

// node is an lnd node of the harness, with a gRPC connection to it.
type node struct {
	*lndnode.Node
	conn *lndsource.Conn
}

// startNode starts a new lnd node and waits until it answers.
func (h *harness) startNode(name string) *node {
	h.T.Helper()
	nd := &node{Node: h.StartNode(name)}
	nd.dial()
	return nd
}

// start restarts the node's lnd and waits until it answers.
func (nd *node) start() {
	nd.N.T.Helper()
	nd.Start()
	nd.dial()
}

// dial connects to the node's gRPC interface.
func (nd *node) dial() {
	n := nd.N
	n.T.Helper()
	testproc.WaitFor(n.T, nd.Name+" gRPC", n.Timeout, func() (bool, error) {
		if nd.conn == nil {
			conn, err := lndsource.Dial(lndsource.ConnConfig{
				Host:         nd.RPC,
				TLSCertPath:  nd.TLSCert(),
				MacaroonPath: nd.Macaroon()})
			if err != nil {
				return false, err
			}
			nd.conn = conn
		}
		_, err := nd.info()
		return err == nil, err
	})
}

// stop stops the node's lnd (SIGTERM, a clean shutdown).
func (nd *node) stop() {
	nd.N.T.Helper()
	if nd.conn != nil {
		_ = nd.conn.Close()
		nd.conn = nil
	}
	nd.Stop()
}

// info calls GetInfo.
func (nd *node) info() (*lnrpc.GetInfoResponse, error) {
	if nd.conn == nil {
		return nil, fmt.Errorf("%s not connected", nd.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return nd.conn.GetInfo(ctx, &lnrpc.GetInfoRequest{})
}

// channels calls ListChannels.
func (nd *node) channels() []*lnrpc.Channel {
	nd.N.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := nd.conn.ListChannels(ctx, &lnrpc.ListChannelsRequest{})
	require.NoError(nd.N.T, err)
	return resp.Channels
}

// channelWith returns the node's channel with peer (nil if none).
func (nd *node) channelWith(peer *node) *lnrpc.Channel {
	for _, c := range nd.channels() {
		if c.RemotePubkey == peer.Pubkey {
			return c
		}
	}
	return nil
}

// peer returns what ListPeers says of peer (nil when not connected).
func (nd *node) peer(peer *node) *lnrpc.Peer {
	nd.N.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := nd.conn.ListPeers(ctx, &lnrpc.ListPeersRequest{})
	require.NoError(nd.N.T, err)
	for _, p := range resp.Peers {
		if p.PubKey == peer.Pubkey {
			return p
		}
	}
	return nil
}
