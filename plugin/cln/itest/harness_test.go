package itest

import (
	"bufio"
	"bytes"
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

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/internal/testproc"
	"github.com/chanfitness/chanfitness/internal/testproc/lndnode"
	"github.com/stretchr/testify/require"
)

// Timeouts of the waits (generous: the machine may be busy).
const (
	startTimeout = 120 * time.Second
	waitTimeout  = 120 * time.Second
)

// proc is a daemon started by the test.
type proc = testproc.Proc

// command prepares bin with args; HOME is the test's directory, so that
// no tool writes into the real home. /usr/bin comes first in PATH.
func command(home, bin string, args ...string) *exec.Cmd {
	return lndnode.Command(home, bin, args...)
}

// lndNode is an lnd peer of the CLN node; lndChannel what lncli
// listchannels says of a channel.
type (
	lndNode    = lndnode.Node
	lndChannel = lndnode.Channel
)

// harness is a regtest network: btcd, lnd nodes and one CLN node.
type harness struct {
	*lndnode.Network
}

// newHarness starts btcd on regtest and mines past segwit activation.
func newHarness(t *testing.T, bins string) *harness {
	h := &harness{Network: lndnode.Start(t, bins, startTimeout)}
	// btcd activates segwit on regtest at block 432.
	h.Mine(500)
	return h
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
	h.T.Helper()
	args := []string{"--network=regtest", "--lightning-dir=" + c.dir,
		"--bitcoin-cli=" + c.stand,
		"--bitcoin-datadir=" + h.BtcdDir,
		"--bitcoin-rpcuser=" + lndnode.RPCUser,
		"--bitcoin-rpcpassword=" + lndnode.RPCPass,
		"--bitcoin-rpcconnect=127.0.0.1",
		fmt.Sprintf("--bitcoin-rpcport=%d", h.BtcdPort),
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
	require.NoError(h.T, os.MkdirAll(c.dir, 0o700))
	c.proc = h.StartProc("lightningd",
		filepath.Join(c.dir, "output.log"), c.bin, args...)
	testproc.WaitFor(h.T, "lightningd RPC", startTimeout, func() (bool, error) {
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
	h.T.Helper()
	want := h.Height()
	testproc.WaitFor(h.T, fmt.Sprintf("lightningd at height %d", want),
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
	c.h.T.Helper()
	_ = c.tryCLI(nil, "stop")
	c.proc.Wait(c.h.T)
}

// tryCLI runs lightning-cli and decodes its JSON into v.
func (c *clnNode) tryCLI(v any, args ...string) error {
	all := append([]string{"--network=regtest",
		"--lightning-dir=" + c.dir}, args...)
	cli := filepath.Join(filepath.Dir(c.bin), "lightning-cli")
	out, err := command(c.h.Dir, cli, all...).Output()
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
	c.h.T.Helper()
	require.NoError(c.h.T, c.tryCLI(v, args...))
}

// report calls chanfitness.
func (c *clnNode) report() core.Report {
	c.h.T.Helper()
	var r core.Report
	c.cli(&r, "chanfitness")
	return r
}

// waitReport waits until cond holds for the report.
func (c *clnNode) waitReport(what string, cond func(core.Report) bool) {
	c.h.T.Helper()
	testproc.WaitFor(c.h.T, what, waitTimeout, func() (bool, error) {
		var r core.Report
		if err := c.tryCLI(&r, "chanfitness"); err != nil {
			return false, err
		}
		return cond(r), nil
	})
}

// pluginPID returns the pid of the running plugin (0 when none).
func (c *clnNode) pluginPID() int {
	c.h.T.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(c.h.T, err)
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
	require.NoError(c.h.T, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}
