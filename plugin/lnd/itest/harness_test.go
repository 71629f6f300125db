package itest

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcec/v2"
	"github.com/btcsuite/btcd/btcutil"
	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/txscript"
	"github.com/btcsuite/btcd/wire"
	"github.com/chanfitness/chanfitness/internal/testproc"
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

// rpcUser and rpcPass are btcd's RPC credentials.
const (
	rpcUser = "chanfitness"
	rpcPass = "chanfitness"
)

// proc is a daemon started by the test.
type proc = testproc.Proc

// command prepares bin with args; HOME is the test's directory, so that
// no tool writes a default configuration into the real home.
func command(home, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	return cmd
}

// startProc starts bin with args, its output going to logPath.
func startProc(t *testing.T, home, name, logPath, bin string,
	args ...string) *proc {

	t.Helper()
	return testproc.Start(t, name, logPath, command(home, bin, args...))
}

// harness is a regtest network: one btcd and some lnd nodes.
type harness struct {
	t    *testing.T
	bins string
	dir  string

	btcd     *proc
	btcdRPC  string
	btcdCert string
	mineKey  *btcec.PrivateKey
	mineAddr btcutil.Address

	nodes []*node
	procs []*proc

	// logs are extra logs to print on failure, by name.
	logs map[string]func() string

	// btcdHome is the directory btcd creates in the user's home
	// whatever its options say; removed at the end when it was not
	// there before and is still empty.
	btcdHome    string
	btcdHomeNew bool
}

// newHarness checks the binaries and starts btcd on regtest.
func newHarness(t *testing.T, bins string) *harness {
	for _, b := range []string{"lnd", "lncli", "btcd", "btcctl"} {
		info, err := os.Stat(filepath.Join(bins, b))
		require.NoError(t, err, "%s=%s must hold %s; run `make "+
			"itest-bins`", BinsEnv, bins, b)
		require.False(t, info.IsDir())
	}
	h := &harness{t: t, bins: bins, dir: t.TempDir(),
		logs:     make(map[string]func() string),
		btcdHome: btcutil.AppDataDir("btcd", false)}
	if _, err := os.Stat(h.btcdHome); os.IsNotExist(err) {
		h.btcdHomeNew = true
	}
	t.Cleanup(h.cleanup)
	require.NoError(t, os.WriteFile(filepath.Join(h.dir, "btcctl.conf"),
		nil, 0o600))

	key, err := btcec.NewPrivateKey()
	require.NoError(t, err)
	addr, err := btcutil.NewAddressWitnessPubKeyHash(
		btcutil.Hash160(key.PubKey().SerializeCompressed()),
		&chaincfg.RegressionNetParams)
	require.NoError(t, err)
	h.mineKey, h.mineAddr = key, addr

	dir := filepath.Join(h.dir, "btcd")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	h.btcdRPC = fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
	h.btcdCert = filepath.Join(dir, "rpc.cert")
	h.btcd = startProc(t, h.dir, "btcd", filepath.Join(dir, "output.log"),
		filepath.Join(bins, "btcd"), "--regtest",
		"--datadir="+filepath.Join(dir, "data"),
		"--logdir="+filepath.Join(dir, "logs"),
		"--rpcuser="+rpcUser, "--rpcpass="+rpcPass,
		"--rpclisten="+h.btcdRPC, "--rpccert="+h.btcdCert,
		"--rpckey="+filepath.Join(dir, "rpc.key"), "--nolisten",
		"--txindex", "--miningaddr="+addr.EncodeAddress())
	h.procs = append(h.procs, h.btcd)
	testproc.WaitFor(t, "btcd", startTimeout, func() (bool, error) {
		if !h.btcd.Running() {
			return false, errors.New("btcd exited")
		}
		_, err := h.btcctl("getblockcount")
		return err == nil, err
	})
	return h
}

// cleanup stops every process and, when the test failed, prints the end
// of every log.
func (h *harness) cleanup() {
	for i := len(h.procs) - 1; i >= 0; i-- {
		h.procs[i].Stop(h.t)
	}
	if h.btcdHomeNew {
		// os.Remove fails on a directory that is not empty.
		_ = os.Remove(h.btcdHome)
	}
	if !h.t.Failed() {
		return
	}
	for _, p := range h.procs {
		h.t.Logf("---- last lines of %s (%s) ----\n%s", p.Name, p.Log,
			p.Tail(40))
	}
	for name, f := range h.logs {
		h.t.Logf("---- last lines of %s ----\n%s", name, f())
	}
}

// btcctl runs btcctl against btcd and returns its output.
func (h *harness) btcctl(args ...string) (string, error) {
	all := append([]string{"--regtest",
		"--configfile=" + filepath.Join(h.dir, "btcctl.conf"),
		"--rpcuser=" + rpcUser,
		"--rpcpass=" + rpcPass, "--rpcserver=" + h.btcdRPC,
		"--rpccert=" + h.btcdCert}, args...)
	var stderr bytes.Buffer
	cmd := command(h.dir, filepath.Join(h.bins, "btcctl"), all...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("btcctl %s: %w: %s%s",
			strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// mine mines n blocks and waits until every running node has them.
func (h *harness) mine(n int) {
	h.t.Helper()
	_, err := h.btcctl("generate", strconv.Itoa(n))
	require.NoError(h.t, err)
	out, err := h.btcctl("getblockcount")
	require.NoError(h.t, err)
	height, err := strconv.ParseUint(out, 10, 32)
	require.NoError(h.t, err)
	for _, nd := range h.nodes {
		if !nd.proc.Running() {
			continue
		}
		testproc.WaitFor(h.t, nd.name+" at height "+out, waitTimeout,
			func() (bool, error) {
				info, err := nd.info()
				if err != nil {
					return false, err
				}
				return info.BlockHeight >= uint32(height) &&
					info.SyncedToChain, nil
			})
	}
}

// blockTime returns the time in the header of the block at height.
func (h *harness) blockTime(height uint32) time.Time {
	h.t.Helper()
	hash, err := h.btcctl("getblockhash", strconv.FormatUint(
		uint64(height), 10))
	require.NoError(h.t, err)
	out, err := h.btcctl("getblockheader", hash)
	require.NoError(h.t, err)
	var hdr struct {
		Time int64 `json:"time"`
	}
	require.NoError(h.t, json.Unmarshal([]byte(out), &hdr), out)
	return time.Unix(hdr.Time, 0).UTC()
}

// fund sends two outputs of amt satoshis to addr from the coinbase of
// block 1 (mined to the harness's key) and mines a block.
func (h *harness) fund(addr string, amt int64) {
	t := h.t
	t.Helper()
	hash, err := h.btcctl("getblockhash", "1")
	require.NoError(t, err)
	out, err := h.btcctl("getblock", hash)
	require.NoError(t, err)
	var block struct {
		Tx []string `json:"tx"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &block))
	require.NotEmpty(t, block.Tx)
	txid, err := chainhash.NewHashFromStr(block.Tx[0])
	require.NoError(t, err)

	const subsidy = 50 * btcutil.SatoshiPerBitcoin
	const fee = 10_000
	ours, err := txscript.PayToAddrScript(h.mineAddr)
	require.NoError(t, err)
	to, err := btcutil.DecodeAddress(addr, &chaincfg.RegressionNetParams)
	require.NoError(t, err)
	theirs, err := txscript.PayToAddrScript(to)
	require.NoError(t, err)

	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(txid, 0), nil, nil))
	tx.AddTxOut(wire.NewTxOut(amt, theirs))
	tx.AddTxOut(wire.NewTxOut(amt, theirs))
	tx.AddTxOut(wire.NewTxOut(subsidy-2*amt-fee, ours))
	fetcher := txscript.NewCannedPrevOutputFetcher(ours, subsidy)
	wit, err := txscript.WitnessSignature(tx,
		txscript.NewTxSigHashes(tx, fetcher), 0, subsidy, ours,
		txscript.SigHashAll, h.mineKey, true)
	require.NoError(t, err)
	tx.TxIn[0].Witness = wit

	var buf bytes.Buffer
	require.NoError(t, tx.Serialize(&buf))
	_, err = h.btcctl("sendrawtransaction", hex.EncodeToString(buf.Bytes()))
	require.NoError(t, err)
	h.mine(1)
}

// node is an lnd node of the harness.
type node struct {
	h      *harness
	name   string
	dir    string
	rpc    string
	p2p    string
	proc   *proc
	pubkey string
	conn   *lndsource.Conn
}

// startNode starts a new lnd node and waits until it answers.
func (h *harness) startNode(name string) *node {
	h.t.Helper()
	nd := &node{h: h, name: name, dir: filepath.Join(h.dir, name),
		rpc: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(h.t)),
		p2p: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(h.t))}
	require.NoError(h.t, os.MkdirAll(nd.dir, 0o700))
	h.nodes = append(h.nodes, nd)
	nd.start()
	info, err := nd.info()
	require.NoError(h.t, err)
	nd.pubkey = info.IdentityPubkey
	return nd
}

// start starts (or restarts) the node's lnd and waits until it answers.
func (nd *node) start() {
	h := nd.h
	h.t.Helper()
	nd.proc = startProc(h.t, h.dir, nd.name,
		filepath.Join(nd.dir, "output.log"),
		filepath.Join(h.bins, "lnd"), "--lnddir="+nd.dir,
		"--noseedbackup", "--bitcoin.regtest", "--bitcoin.node=btcd",
		"--btcd.rpchost="+h.btcdRPC, "--btcd.rpcuser="+rpcUser,
		"--btcd.rpcpass="+rpcPass, "--btcd.rpccert="+h.btcdCert,
		"--rpclisten="+nd.rpc, "--listen="+nd.p2p, "--norest",
		"--nobootstrap", "--alias="+nd.name, "--trickledelay=50",
		"--minbackoff=1s", "--maxbackoff=2s", "--debuglevel=info")
	h.procs = append(h.procs, nd.proc)
	testproc.WaitFor(h.t, nd.name+" RPC", startTimeout, func() (bool, error) {
		if !nd.proc.Running() {
			return false, fmt.Errorf("%s exited", nd.name)
		}
		if nd.conn == nil {
			conn, err := lndsource.Dial(lndsource.ConnConfig{
				Host:         nd.rpc,
				TLSCertPath:  filepath.Join(nd.dir, "tls.cert"),
				MacaroonPath: nd.macaroon()})
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
	nd.h.t.Helper()
	if nd.conn != nil {
		_ = nd.conn.Close()
		nd.conn = nil
	}
	nd.proc.Stop(nd.h.t)
}

// macaroon is the node's admin macaroon.
func (nd *node) macaroon() string {
	return filepath.Join(nd.dir, "data", "chain", "bitcoin", "regtest",
		"admin.macaroon")
}

// info calls GetInfo.
func (nd *node) info() (*lnrpc.GetInfoResponse, error) {
	if nd.conn == nil {
		return nil, fmt.Errorf("%s not connected", nd.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return nd.conn.GetInfo(ctx, &lnrpc.GetInfoRequest{})
}

// channels calls ListChannels.
func (nd *node) channels() []*lnrpc.Channel {
	nd.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := nd.conn.ListChannels(ctx, &lnrpc.ListChannelsRequest{})
	require.NoError(nd.h.t, err)
	return resp.Channels
}

// channelWith returns the node's channel with peer (nil if none).
func (nd *node) channelWith(peer *node) *lnrpc.Channel {
	for _, c := range nd.channels() {
		if c.RemotePubkey == peer.pubkey {
			return c
		}
	}
	return nil
}

// peer returns what ListPeers says of peer (nil when not connected).
func (nd *node) peer(peer *node) *lnrpc.Peer {
	nd.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := nd.conn.ListPeers(ctx, &lnrpc.ListPeersRequest{})
	require.NoError(nd.h.t, err)
	for _, p := range resp.Peers {
		if p.PubKey == peer.pubkey {
			return p
		}
	}
	return nil
}

// lncli runs lncli against the node with its admin macaroon and decodes
// the JSON it prints into v (when v is not nil).
func (nd *node) lncli(v any, args ...string) {
	nd.h.t.Helper()
	all := append([]string{"--network=regtest", "--lnddir=" + nd.dir,
		"--rpcserver=" + nd.rpc}, args...)
	out, err := command(nd.h.dir, filepath.Join(nd.h.bins, "lncli"),
		all...).CombinedOutput()
	require.NoError(nd.h.t, err, "lncli %s: %s", strings.Join(args, " "),
		out)
	if v != nil {
		require.NoError(nd.h.t, json.Unmarshal(out, v),
			"lncli %s: %s", strings.Join(args, " "), out)
	}
}

// connect connects the node to peer.
func (nd *node) connect(peer *node) {
	nd.lncli(nil, "connect", peer.pubkey+"@"+peer.p2p)
}
