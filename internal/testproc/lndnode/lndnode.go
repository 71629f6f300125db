// Package lndnode runs a regtest Bitcoin network for the real-node tests
// of both front ends: one btcd, blocks mined to a key of the test's, and
// lnd nodes started, stopped and driven with lncli. Processes are started
// and stopped through testproc, by their pid; nothing runs beyond the
// test.
package lndnode

import (
	"bytes"
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
	"github.com/stretchr/testify/require"
)

// btcd's RPC credentials.
const (
	RPCUser = "chanfitness"
	RPCPass = "chanfitness"
)

// Command prepares bin with args; HOME is home, so that no tool writes a
// default configuration into the real home, and /usr/bin comes first in
// PATH.
func Command(home, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home,
		"PATH=/usr/bin:/bin:"+os.Getenv("PATH"))
	return cmd
}

// Network is a regtest network: one btcd and the lnd nodes started on it.
type Network struct {
	T       testing.TB
	Bins    string // lnd, lncli, btcd and btcctl
	Dir     string // the test's directory, every daemon's home
	Timeout time.Duration

	Btcd     *testproc.Proc
	BtcdDir  string
	BtcdPort int // btcd's RPC port on 127.0.0.1

	Nodes []*Node

	// Procs are the processes to stop at the end, in reverse order;
	// a test adds its own.
	Procs []*testproc.Proc

	// Logs are extra logs whose end is printed when the test fails.
	Logs map[string]func() string

	mineKey  *btcec.PrivateKey
	mineAddr btcutil.Address
	coinbase int // the next block whose coinbase Fund spends

	// btcdHome is the directory btcd creates in the home whatever its
	// options say; removed at the end when it was not there before and
	// is still empty.
	btcdHome    string
	btcdHomeNew bool
}

// Start starts btcd on regtest in a new temporary directory, with bins
// holding the binaries; its waits last up to timeout each. The network
// is stopped when the test ends.
func Start(t testing.TB, bins string, timeout time.Duration) *Network {
	t.Helper()
	n := &Network{T: t, Bins: bins, Dir: t.TempDir(), Timeout: timeout,
		Logs: make(map[string]func() string), coinbase: 1,
		btcdHome: btcutil.AppDataDir("btcd", false)}
	if _, err := os.Stat(n.btcdHome); os.IsNotExist(err) {
		n.btcdHomeNew = true
	}
	t.Cleanup(n.cleanup)
	require.NoError(t, os.WriteFile(filepath.Join(n.Dir, "btcctl.conf"),
		nil, 0o600))

	key, err := btcec.NewPrivateKey()
	require.NoError(t, err)
	addr, err := btcutil.NewAddressWitnessPubKeyHash(
		btcutil.Hash160(key.PubKey().SerializeCompressed()),
		&chaincfg.RegressionNetParams)
	require.NoError(t, err)
	n.mineKey, n.mineAddr = key, addr

	n.BtcdDir = filepath.Join(n.Dir, "btcd")
	require.NoError(t, os.MkdirAll(n.BtcdDir, 0o700))
	n.BtcdPort = testproc.FreePort(t)
	n.Btcd = n.StartProc("btcd", filepath.Join(n.BtcdDir, "output.log"),
		filepath.Join(bins, "btcd"), "--regtest",
		"--datadir="+filepath.Join(n.BtcdDir, "data"),
		"--logdir="+filepath.Join(n.BtcdDir, "logs"),
		"--rpcuser="+RPCUser, "--rpcpass="+RPCPass,
		"--rpclisten="+n.BtcdRPC(), "--rpccert="+n.BtcdCert(),
		"--rpckey="+filepath.Join(n.BtcdDir, "rpc.key"), "--nolisten",
		"--txindex", "--miningaddr="+addr.EncodeAddress())
	testproc.WaitFor(t, "btcd", timeout, func() (bool, error) {
		if !n.Btcd.Running() {
			return false, errors.New("btcd exited")
		}
		_, err := n.Btcctl("getblockcount")
		return err == nil, err
	})
	return n
}

// StartProc starts bin with args in the network's home, its output going
// to logPath, and stops it at the end of the test.
func (n *Network) StartProc(name, logPath, bin string,
	args ...string) *testproc.Proc {

	n.T.Helper()
	p := testproc.Start(n.T, name, logPath, Command(n.Dir, bin, args...))
	n.Procs = append(n.Procs, p)
	return p
}

// BtcdRPC is btcd's RPC address; BtcdCert its certificate.
func (n *Network) BtcdRPC() string {
	return fmt.Sprintf("127.0.0.1:%d", n.BtcdPort)
}

// BtcdCert is the path of btcd's RPC certificate.
func (n *Network) BtcdCert() string {
	return filepath.Join(n.BtcdDir, "rpc.cert")
}

// cleanup stops every process, last started first, and, when the test
// failed, prints the end of every log.
func (n *Network) cleanup() {
	for i := len(n.Procs) - 1; i >= 0; i-- {
		n.Procs[i].Stop(n.T)
	}
	if n.btcdHomeNew {
		// os.Remove fails on a directory that is not empty.
		_ = os.Remove(n.btcdHome)
	}
	if !n.T.Failed() {
		return
	}
	for _, p := range n.Procs {
		n.T.Logf("---- last lines of %s (%s) ----\n%s", p.Name, p.Log,
			p.Tail(40))
	}
	for name, f := range n.Logs {
		n.T.Logf("---- last lines of %s ----\n%s", name, f())
	}
}

// Btcctl runs btcctl against btcd and returns its output.
func (n *Network) Btcctl(args ...string) (string, error) {
	all := append([]string{"--regtest",
		"--configfile=" + filepath.Join(n.Dir, "btcctl.conf"),
		"--rpcuser=" + RPCUser, "--rpcpass=" + RPCPass,
		"--rpcserver=" + n.BtcdRPC(), "--rpccert=" + n.BtcdCert()},
		args...)
	var stderr bytes.Buffer
	cmd := Command(n.Dir, filepath.Join(n.Bins, "btcctl"), all...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("btcctl %s: %w: %s%s",
			strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// Height returns btcd's block count.
func (n *Network) Height() int {
	n.T.Helper()
	out, err := n.Btcctl("getblockcount")
	require.NoError(n.T, err)
	h, err := strconv.Atoi(out)
	require.NoError(n.T, err)
	return h
}

// Mine mines k blocks and waits until every running lnd node has them.
func (n *Network) Mine(k int) {
	n.T.Helper()
	_, err := n.Btcctl("generate", strconv.Itoa(k))
	require.NoError(n.T, err)
	height := n.Height()
	for _, nd := range n.Nodes {
		if nd.Proc.Running() {
			nd.WaitSynced(height)
		}
	}
}

// WaitMempool waits until btcd's mempool holds a transaction.
func (n *Network) WaitMempool() {
	n.T.Helper()
	testproc.WaitFor(n.T, "a transaction in the mempool", n.Timeout,
		func() (bool, error) {
			out, err := n.Btcctl("getrawmempool")
			return err == nil && strings.Contains(out, "\""), err
		})
}

// BlockTime returns the time in the header of the block at height.
func (n *Network) BlockTime(height uint32) time.Time {
	n.T.Helper()
	hash, err := n.Btcctl("getblockhash", strconv.FormatUint(
		uint64(height), 10))
	require.NoError(n.T, err)
	out, err := n.Btcctl("getblockheader", hash)
	require.NoError(n.T, err)
	var hdr struct {
		Time int64 `json:"time"`
	}
	require.NoError(n.T, json.Unmarshal([]byte(out), &hdr), out)
	return time.Unix(hdr.Time, 0).UTC()
}

// Fund sends one output of each amount (in satoshis) to addr from the
// next unspent coinbase mined to the network's key (block 1 first; it
// must be mature), and mines a block.
func (n *Network) Fund(addr string, amts ...int64) {
	t := n.T
	t.Helper()
	hash, err := n.Btcctl("getblockhash", strconv.Itoa(n.coinbase))
	require.NoError(t, err)
	n.coinbase++
	out, err := n.Btcctl("getblock", hash)
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
	ours, err := txscript.PayToAddrScript(n.mineAddr)
	require.NoError(t, err)
	to, err := btcutil.DecodeAddress(addr, &chaincfg.RegressionNetParams)
	require.NoError(t, err)
	theirs, err := txscript.PayToAddrScript(to)
	require.NoError(t, err)

	tx := wire.NewMsgTx(2)
	tx.AddTxIn(wire.NewTxIn(wire.NewOutPoint(txid, 0), nil, nil))
	change := int64(subsidy - fee)
	for _, amt := range amts {
		tx.AddTxOut(wire.NewTxOut(amt, theirs))
		change -= amt
	}
	tx.AddTxOut(wire.NewTxOut(change, ours))
	fetcher := txscript.NewCannedPrevOutputFetcher(ours, subsidy)
	wit, err := txscript.WitnessSignature(tx,
		txscript.NewTxSigHashes(tx, fetcher), 0, subsidy, ours,
		txscript.SigHashAll, n.mineKey, true)
	require.NoError(t, err)
	tx.TxIn[0].Witness = wit

	var buf bytes.Buffer
	require.NoError(t, tx.Serialize(&buf))
	_, err = n.Btcctl("sendrawtransaction",
		hex.EncodeToString(buf.Bytes()))
	require.NoError(t, err)
	n.Mine(1)
}

// Node is an lnd node of the network.
type Node struct {
	N      *Network
	Name   string
	Dir    string // --lnddir
	RPC    string // gRPC address
	P2P    string // peer-to-peer address
	Proc   *testproc.Proc
	Pubkey string
}

// StartNode starts a new lnd node and waits until it answers (see
// Node.Start).
func (n *Network) StartNode(name string) *Node {
	n.T.Helper()
	nd := &Node{N: n, Name: name, Dir: filepath.Join(n.Dir, name),
		RPC: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(n.T)),
		P2P: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(n.T))}
	require.NoError(n.T, os.MkdirAll(nd.Dir, 0o700))
	n.Nodes = append(n.Nodes, nd)
	nd.Start()
	var info struct {
		Pubkey string `json:"identity_pubkey"`
	}
	nd.Lncli(&info, "getinfo")
	nd.Pubkey = info.Pubkey
	return nd
}

// Start starts (or restarts) the node's lnd and waits until it answers,
// synced to the chain once the chain has more than its genesis block.
func (nd *Node) Start() {
	n := nd.N
	n.T.Helper()
	nd.Proc = n.StartProc(nd.Name, filepath.Join(nd.Dir, "output.log"),
		filepath.Join(n.Bins, "lnd"), "--lnddir="+nd.Dir,
		"--noseedbackup", "--bitcoin.regtest", "--bitcoin.node=btcd",
		"--btcd.rpchost="+n.BtcdRPC(), "--btcd.rpcuser="+RPCUser,
		"--btcd.rpcpass="+RPCPass, "--btcd.rpccert="+n.BtcdCert(),
		"--rpclisten="+nd.RPC, "--listen="+nd.P2P, "--norest",
		"--nobootstrap", "--alias="+nd.Name, "--trickledelay=50",
		"--minbackoff=1s", "--maxbackoff=2s", "--debuglevel=info")
	if h := n.Height(); h > 0 {
		nd.WaitSynced(h)
		return
	}
	// A chain of the genesis block alone is too old to count as
	// synced: the node only has to answer.
	testproc.WaitFor(n.T, nd.Name+" RPC", n.Timeout, func() (bool, error) {
		if !nd.Proc.Running() {
			return false, fmt.Errorf("%s exited", nd.Name)
		}
		err := nd.TryLncli(nil, "getinfo")
		return err == nil, err
	})
}

// WaitSynced waits until the node answers, synced to the chain at height
// or above.
func (nd *Node) WaitSynced(height int) {
	n := nd.N
	n.T.Helper()
	what := fmt.Sprintf("%s synced at height %d", nd.Name, height)
	testproc.WaitFor(n.T, what, n.Timeout, func() (bool, error) {
		if !nd.Proc.Running() {
			return false, fmt.Errorf("%s exited", nd.Name)
		}
		var info struct {
			Height uint32 `json:"block_height"`
			Synced bool   `json:"synced_to_chain"`
		}
		err := nd.TryLncli(&info, "getinfo")
		return err == nil && info.Synced &&
			int(info.Height) >= height, err
	})
}

// Stop stops the node's lnd (SIGTERM: a clean shutdown).
func (nd *Node) Stop() {
	nd.N.T.Helper()
	nd.Proc.Stop(nd.N.T)
}

// Macaroon is the node's admin macaroon; TLSCert its certificate.
func (nd *Node) Macaroon() string {
	return filepath.Join(nd.Dir, "data", "chain", "bitcoin", "regtest",
		"admin.macaroon")
}

// TLSCert is the path of the node's TLS certificate.
func (nd *Node) TLSCert() string {
	return filepath.Join(nd.Dir, "tls.cert")
}

// TryLncli runs lncli against the node with its admin macaroon and
// decodes the JSON it prints into v (when v is not nil).
func (nd *Node) TryLncli(v any, args ...string) error {
	all := append([]string{"--network=regtest", "--lnddir=" + nd.Dir,
		"--rpcserver=" + nd.RPC}, args...)
	out, err := Command(nd.N.Dir, filepath.Join(nd.N.Bins, "lncli"),
		all...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("lncli %s: %w: %s", strings.Join(args, " "),
			err, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			return fmt.Errorf("lncli %s: %w: %s",
				strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// Lncli is TryLncli, failing the test on error.
func (nd *Node) Lncli(v any, args ...string) {
	nd.N.T.Helper()
	require.NoError(nd.N.T, nd.TryLncli(v, args...))
}

// Connect connects the node to peer.
func (nd *Node) Connect(peer *Node) {
	nd.N.T.Helper()
	nd.Lncli(nil, "connect", peer.Pubkey+"@"+peer.P2P)
}

// Channel is what lncli listchannels says of a channel.
type Channel struct {
	RemotePubkey string `json:"remote_pubkey"`
	ChannelPoint string `json:"channel_point"`
	ScidStr      string `json:"scid_str"`
	Active       bool   `json:"active"`
}

// Channels lists the node's open channels.
func (nd *Node) Channels() []Channel {
	nd.N.T.Helper()
	var res struct {
		Channels []Channel `json:"channels"`
	}
	nd.Lncli(&res, "listchannels")
	return res.Channels
}
