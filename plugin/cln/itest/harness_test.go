package itest

import (
	"bufio"
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
	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/internal/testproc"
	"github.com/stretchr/testify/require"
)

// Timeouts of the waits (generous: the machine may be busy).
const (
	startTimeout = 120 * time.Second
	waitTimeout  = 120 * time.Second
)

// btcd's RPC credentials.
const (
	rpcUser = "chanfitness"
	rpcPass = "chanfitness"
)

// proc is a daemon started by the test.
type proc = testproc.Proc

// command prepares bin with args; HOME is the test's directory, so that
// no tool writes into the real home. /usr/bin comes first in PATH.
func command(home, bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home,
		"PATH=/usr/bin:/bin:"+os.Getenv("PATH"))
	return cmd
}

// startProc starts bin with args, its output going to logPath.
func startProc(t *testing.T, home, name, logPath, bin string,
	args ...string) *proc {

	t.Helper()
	return testproc.Start(t, name, logPath, command(home, bin, args...))
}

// harness is a regtest network: btcd, lnd nodes and one CLN node.
type harness struct {
	t    *testing.T
	bins string
	dir  string

	btcd     *proc
	btcdDir  string
	btcdPort int
	mineKey  *btcec.PrivateKey
	mineAddr btcutil.Address
	coinbase int // next block whose coinbase fund spends

	nodes []*lndNode
	procs []*proc

	// logs are extra files to print the end of on failure.
	logs map[string]string

	btcdHome    string
	btcdHomeNew bool
}

// newHarness starts btcd on regtest and mines past segwit activation.
func newHarness(t *testing.T, bins string) *harness {
	h := &harness{t: t, bins: bins, dir: t.TempDir(),
		logs:     make(map[string]string),
		btcdHome: btcutil.AppDataDir("btcd", false), coinbase: 1}
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

	h.btcdDir = filepath.Join(h.dir, "btcd")
	require.NoError(t, os.MkdirAll(h.btcdDir, 0o700))
	h.btcdPort = testproc.FreePort(t)
	h.btcd = startProc(t, h.dir, "btcd",
		filepath.Join(h.btcdDir, "output.log"),
		filepath.Join(bins, "btcd"), "--regtest",
		"--datadir="+filepath.Join(h.btcdDir, "data"),
		"--logdir="+filepath.Join(h.btcdDir, "logs"),
		"--rpcuser="+rpcUser, "--rpcpass="+rpcPass,
		fmt.Sprintf("--rpclisten=127.0.0.1:%d", h.btcdPort),
		"--rpccert="+filepath.Join(h.btcdDir, "rpc.cert"),
		"--rpckey="+filepath.Join(h.btcdDir, "rpc.key"), "--nolisten",
		"--txindex", "--miningaddr="+addr.EncodeAddress())
	h.procs = append(h.procs, h.btcd)
	testproc.WaitFor(t, "btcd", startTimeout, func() (bool, error) {
		if !h.btcd.Running() {
			return false, errors.New("btcd exited")
		}
		_, err := h.btcctl("getblockcount")
		return err == nil, err
	})
	// btcd activates segwit on regtest at block 432.
	_, err = h.btcctl("generate", "500")
	require.NoError(t, err)
	return h
}

func (h *harness) cleanup() {
	for i := len(h.procs) - 1; i >= 0; i-- {
		h.procs[i].Stop(h.t)
	}
	if h.btcdHomeNew {
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
		h.t.Logf("---- last lines of %s (%s) ----\n%s", name, f,
			testproc.TailFile(f, 80))
	}
}

// btcctl runs btcctl against btcd and returns its output.
func (h *harness) btcctl(args ...string) (string, error) {
	all := append([]string{"--regtest",
		"--configfile=" + filepath.Join(h.dir, "btcctl.conf"),
		"--rpcuser=" + rpcUser, "--rpcpass=" + rpcPass,
		fmt.Sprintf("--rpcserver=127.0.0.1:%d", h.btcdPort),
		"--rpccert=" + filepath.Join(h.btcdDir, "rpc.cert")}, args...)
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

// height returns btcd's block count.
func (h *harness) height() int {
	h.t.Helper()
	out, err := h.btcctl("getblockcount")
	require.NoError(h.t, err)
	n, err := strconv.Atoi(out)
	require.NoError(h.t, err)
	return n
}

// mine mines n blocks.
func (h *harness) mine(n int) {
	h.t.Helper()
	_, err := h.btcctl("generate", strconv.Itoa(n))
	require.NoError(h.t, err)
}

// waitMempool waits until btcd's mempool holds a transaction.
func (h *harness) waitMempool() {
	h.t.Helper()
	testproc.WaitFor(h.t, "a transaction in the mempool", waitTimeout,
		func() (bool, error) {
			out, err := h.btcctl("getrawmempool")
			return err == nil && strings.Contains(out, "\""), err
		})
}

// fund sends amt satoshis to addr from the next unspent coinbase mined
// to the harness's key, and mines a block.
func (h *harness) fund(addr string, amt int64) {
	t := h.t
	t.Helper()
	hash, err := h.btcctl("getblockhash", strconv.Itoa(h.coinbase))
	require.NoError(t, err)
	h.coinbase++
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
	tx.AddTxOut(wire.NewTxOut(subsidy-amt-fee, ours))
	fetcher := txscript.NewCannedPrevOutputFetcher(ours, subsidy)
	wit, err := txscript.WitnessSignature(tx,
		txscript.NewTxSigHashes(tx, fetcher), 0, subsidy, ours,
		txscript.SigHashAll, h.mineKey, true)
	require.NoError(t, err)
	tx.TxIn[0].Witness = wit

	var buf bytes.Buffer
	require.NoError(t, tx.Serialize(&buf))
	_, err = h.btcctl("sendrawtransaction",
		hex.EncodeToString(buf.Bytes()))
	require.NoError(t, err)
	h.mine(1)
}

// lndNode is an lnd peer of the CLN node.
type lndNode struct {
	h      *harness
	name   string
	dir    string
	rpc    string
	p2p    string
	proc   *proc
	pubkey string
}

// startLnd starts a new lnd node and waits until it answers.
func (h *harness) startLnd(name string) *lndNode {
	h.t.Helper()
	nd := &lndNode{h: h, name: name, dir: filepath.Join(h.dir, name),
		rpc: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(h.t)),
		p2p: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(h.t))}
	require.NoError(h.t, os.MkdirAll(nd.dir, 0o700))
	h.nodes = append(h.nodes, nd)
	nd.start()
	var info struct {
		Pubkey string `json:"identity_pubkey"`
	}
	nd.lncli(&info, "getinfo")
	nd.pubkey = info.Pubkey
	return nd
}

// start starts (or restarts) the node's lnd and waits until it answers.
func (nd *lndNode) start() {
	h := nd.h
	h.t.Helper()
	nd.proc = startProc(h.t, h.dir, nd.name,
		filepath.Join(nd.dir, "output.log"),
		filepath.Join(h.bins, "lnd"), "--lnddir="+nd.dir,
		"--noseedbackup", "--bitcoin.regtest", "--bitcoin.node=btcd",
		fmt.Sprintf("--btcd.rpchost=127.0.0.1:%d", h.btcdPort),
		"--btcd.rpcuser="+rpcUser, "--btcd.rpcpass="+rpcPass,
		"--btcd.rpccert="+filepath.Join(h.btcdDir, "rpc.cert"),
		"--rpclisten="+nd.rpc, "--listen="+nd.p2p, "--norest",
		"--nobootstrap", "--alias="+nd.name, "--trickledelay=50",
		"--minbackoff=1s", "--maxbackoff=2s", "--debuglevel=info")
	h.procs = append(h.procs, nd.proc)
	testproc.WaitFor(h.t, nd.name+" RPC", startTimeout, func() (bool, error) {
		if !nd.proc.Running() {
			return false, fmt.Errorf("%s exited", nd.name)
		}
		var info struct {
			Synced bool `json:"synced_to_chain"`
		}
		err := nd.tryLncli(&info, "getinfo")
		return err == nil && info.Synced, err
	})
}

// stop stops the node's lnd.
func (nd *lndNode) stop() {
	nd.h.t.Helper()
	nd.proc.Stop(nd.h.t)
}

func (nd *lndNode) tryLncli(v any, args ...string) error {
	all := append([]string{"--network=regtest", "--lnddir=" + nd.dir,
		"--rpcserver=" + nd.rpc}, args...)
	out, err := command(nd.h.dir, filepath.Join(nd.h.bins, "lncli"),
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

// lncli runs lncli against the node and decodes its JSON into v.
func (nd *lndNode) lncli(v any, args ...string) {
	nd.h.t.Helper()
	require.NoError(nd.h.t, nd.tryLncli(v, args...))
}

// lndChannel is what lncli listchannels says of a channel.
type lndChannel struct {
	RemotePubkey string `json:"remote_pubkey"`
	ChannelPoint string `json:"channel_point"`
	ScidStr      string `json:"scid_str"`
	Active       bool   `json:"active"`
}

// channels lists the node's open channels.
func (nd *lndNode) channels() []lndChannel {
	var res struct {
		Channels []lndChannel `json:"channels"`
	}
	nd.lncli(&res, "listchannels")
	return res.Channels
}

// clnNode is the Core Lightning node under test.
type clnNode struct {
	h       *harness
	bin     string // bin/lightningd
	dir     string // --lightning-dir
	port    int
	plugin  string
	stand   string // btcdcli
	proc    *proc
	id      string
	logFile string
}

// startCln starts lightningd; with withPlugin the plugin is loaded at
// startup (--plugin), otherwise the node runs without it.
func (c *clnNode) start(withPlugin bool, opts ...string) {
	h := c.h
	h.t.Helper()
	args := []string{"--network=regtest", "--lightning-dir=" + c.dir,
		"--bitcoin-cli=" + c.stand,
		"--bitcoin-datadir=" + h.btcdDir,
		"--bitcoin-rpcuser=" + rpcUser,
		"--bitcoin-rpcpassword=" + rpcPass,
		"--bitcoin-rpcconnect=127.0.0.1",
		fmt.Sprintf("--bitcoin-rpcport=%d", h.btcdPort),
		fmt.Sprintf("--addr=127.0.0.1:%d", c.port),
		"--log-file=" + c.logFile, "--log-level=debug",
		"--developer", "--dev-bitcoind-poll=1",
		"--disable-plugin=cln-renepay", "--disable-plugin=cln-xpay",
		"--disable-plugin=cln-askrene", "--disable-plugin=bookkeeper",
		"--disable-plugin=sql", "--disable-plugin=commando",
		"--disable-plugin=offers", "--disable-plugin=recklessrpc"}
	if withPlugin {
		args = append(args, "--plugin="+c.plugin)
	}
	args = append(args, opts...)
	require.NoError(h.t, os.MkdirAll(c.dir, 0o700))
	c.proc = startProc(h.t, h.dir, "lightningd",
		filepath.Join(c.dir, "output.log"), c.bin, args...)
	h.procs = append(h.procs, c.proc)
	testproc.WaitFor(h.t, "lightningd RPC", startTimeout, func() (bool, error) {
		if !c.proc.Running() {
			return false, errors.New("lightningd exited")
		}
		var info struct {
			ID          string `json:"id"`
			BlockHeight int    `json:"blockheight"`
		}
		err := c.tryCLI(&info, "getinfo")
		if err == nil {
			c.id = info.ID
		}
		return err == nil, err
	})
	c.waitSynced()
}

// waitSynced waits until lightningd's block height is btcd's.
func (c *clnNode) waitSynced() {
	h := c.h
	h.t.Helper()
	want := h.height()
	testproc.WaitFor(h.t, fmt.Sprintf("lightningd at height %d", want),
		waitTimeout, func() (bool, error) {
			var info struct {
				BlockHeight int `json:"blockheight"`
			}
			err := c.tryCLI(&info, "getinfo")
			return err == nil && info.BlockHeight >= want, err
		})
}

// stop stops lightningd as its operator does (lightning-cli stop).
func (c *clnNode) stop() {
	c.h.t.Helper()
	_ = c.tryCLI(nil, "stop")
	c.proc.Wait(c.h.t)
}

// tryCLI runs lightning-cli and decodes its JSON into v.
func (c *clnNode) tryCLI(v any, args ...string) error {
	all := append([]string{"--network=regtest",
		"--lightning-dir=" + c.dir}, args...)
	cli := filepath.Join(filepath.Dir(c.bin), "lightning-cli")
	out, err := command(c.h.dir, cli, all...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = append(out, ee.Stderr...)
		}
		return fmt.Errorf("lightning-cli %s: %w: %s",
			strings.Join(args, " "), err, out)
	}
	if v != nil {
		// close prints comment lines before its JSON.
		var body []byte
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			if !strings.HasPrefix(sc.Text(), "#") {
				body = append(append(body, sc.Bytes()...), '\n')
			}
		}
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("lightning-cli %s: %w: %s",
				strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// cli runs lightning-cli, failing the test on error.
func (c *clnNode) cli(v any, args ...string) {
	c.h.t.Helper()
	require.NoError(c.h.t, c.tryCLI(v, args...))
}

// report calls chanfitness.
func (c *clnNode) report() core.Report {
	c.h.t.Helper()
	var r core.Report
	c.cli(&r, "chanfitness")
	return r
}

// waitReport waits until cond holds for the report.
func (c *clnNode) waitReport(what string, cond func(core.Report) bool) {
	c.h.t.Helper()
	testproc.WaitFor(c.h.t, what, waitTimeout, func() (bool, error) {
		var r core.Report
		if err := c.tryCLI(&r, "chanfitness"); err != nil {
			return false, err
		}
		return cond(r), nil
	})
}

// pluginPID returns the pid of the running plugin (0 when none).
func (c *clnNode) pluginPID() int {
	c.h.t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(c.h.t, err)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(),
			"stat"))
		if err != nil {
			continue
		}
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		ppid := 0
		if i := bytes.LastIndexByte(stat, ')'); i > 0 {
			f := strings.Fields(string(stat[i+1:]))
			if len(f) > 1 {
				ppid, _ = strconv.Atoi(f[1])
			}
		}
		if exe == c.plugin && ppid == c.proc.Pid() {
			return pid
		}
	}
	return 0
}

// logLines returns the node's log lines that contain substr.
func (c *clnNode) logLines(substr string) []string {
	b, err := os.ReadFile(c.logFile)
	require.NoError(c.h.t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}
