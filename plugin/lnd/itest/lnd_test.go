package itest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/internal/table"
	"github.com/chanfitness/chanfitness/internal/testproc"
	"github.com/chanfitness/chanfitness/plugin/httpapi"
	lndsource "github.com/chanfitness/chanfitness/plugin/lnd"
	"github.com/chanfitness/chanfitness/plugin/lnd/daemon"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	lines := strings.Split(strings.TrimRight(b.buf.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// companion is a chanfitness-lnd daemon run in this process.
type companion struct {
	t      *testing.T
	addr   string
	cancel context.CancelFunc
	done   chan error
}

// startCompanion runs the daemon against nd with the macaroon mac and
// the history in dataDir, and waits until it serves.
func startCompanion(t *testing.T, h *harness, name string, nd *node, mac,
	dataDir string) *companion {

	t.Helper()
	stderr := &syncBuffer{}
	h.Logs[name] = func() string { return stderr.tail(40) }
	ctx, cancel := context.WithCancel(context.Background())
	c := &companion{t: t, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	args := []string{"--network=regtest", "--lnd.host=" + nd.RPC,
		"--lnd.tlscertpath=" + nd.TLSCert(),
		"--lnd.macaroonpath=" + mac, "--datadir=" + dataDir,
		"--listen=127.0.0.1:0", "--listen.insecure",
		"--debuglevel=debug"}
	go func() {
		c.done <- daemon.Run(ctx, args, daemon.Env{Stderr: stderr,
			Ready: func(a string) { ready <- a }})
	}()
	t.Cleanup(func() { c.stop() })
	select {
	case c.addr = <-ready:
	case err := <-c.done:
		c.done <- err
		require.FailNow(t, name+" stopped", "%v", err)
	case <-time.After(startTimeout):
		require.FailNow(t, name+" did not start")
	}
	return c
}

// stop stops the daemon (as SIGTERM does) and checks it exited cleanly.
func (c *companion) stop() {
	c.t.Helper()
	c.cancel()
	select {
	case err := <-c.done:
		c.done <- err
		require.NoError(c.t, err)
	case <-time.After(testproc.StopTimeout):
		require.FailNow(c.t, "companion did not stop")
	}
}

// get fetches path.
func (c *companion) get(path string) (int, []byte, error) {
	resp, err := http.Get("http://" + c.addr + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// connected reports what the health endpoint says.
func (c *companion) connected() bool {
	code, _, err := c.get(httpapi.PathHealth)
	return err == nil && code == http.StatusOK
}

// report fetches the report.
func (c *companion) report() core.Report {
	c.t.Helper()
	code, body, err := c.get(httpapi.PathReport)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusOK, code, string(body))
	var r core.Report
	require.NoError(c.t, json.Unmarshal(body, &r))
	return r
}

// waitReport waits until cond holds for the report.
func (c *companion) waitReport(what string, cond func(core.Report) bool) {
	c.t.Helper()
	testproc.WaitFor(c.t, what, waitTimeout, func() (bool, error) {
		return cond(c.report()), nil
	})
}

func chanOf(r core.Report, cp string) core.ChannelReport {
	c, _ := coretest.Channel(r, cp)
	return c
}

func peerOf(r core.Report, id string) core.PeerReport {
	p, _ := coretest.Peer(r, id)
	return p
}

// outage is the time within a channel's lifetime its peer was offline.
func outage(c core.ChannelReport) time.Duration {
	return time.Duration(c.LifetimeSeconds-c.UptimeSeconds) * time.Second
}

// pass keeps the network as it is for d of wall time: the scenario needs
// real time to go by (an outage of known length), not a wait for an
// event.
func pass(t *testing.T, since time.Time, d time.Duration) {
	t.Helper()
	testproc.WaitFor(t, fmt.Sprintf("%v to pass", d), d+time.Minute,
		func() (bool, error) {
			return time.Since(since) >= d, nil
		})
}

// logOpened logs where a channel's open time comes from.
func logOpened(t *testing.T, what string, ch core.ChannelReport) {
	t.Helper()
	blocks := "null"
	if ch.AgeBlocks != nil {
		blocks = fmt.Sprint(*ch.AgeBlocks)
	}
	t.Logf("%s: channel %s opened_at %s opened_at_source %s "+
		"age_blocks %s age_seconds %d lifetime_seconds %d", what,
		ch.ChannelPoint, ch.OpenedAt.Time.Format(time.RFC3339),
		ch.OpenedAtSource, blocks, ch.AgeSeconds, ch.LifetimeSeconds)
}

// TestCompanionAgainstRealLnd runs the companion against real lnd and btcd
// on regtest: alice, the companion's node, has channels with bob and
// carol, funded blocks before the companion starts. bob is stopped for a known time, alice's lnd is restarted under
// the running companion, the companion is restarted, and carol's channel
// is closed.
func TestCompanionAgainstRealLnd(t *testing.T) {
	bins := os.Getenv(BinsEnv)
	if bins == "" {
		t.Skipf("%s is not set: the real-node test needs lnd, lncli, "+
			"btcd and btcctl; `make test` builds them (`make "+
			"itest-bins`) and sets it", BinsEnv)
	}
	began := time.Now()
	h := newHarness(t, bins)
	alice := h.startNode("alice")
	bob := h.startNode("bob")
	carol := h.startNode("carol")

	// Fund alice, open alice-bob and alice-carol.
	var addr struct {
		Address string `json:"address"`
	}
	alice.Lncli(&addr, "newaddress", "p2wkh")
	// btcd activates segwit on regtest after three periods of 144
	// blocks.
	h.Mine(450)
	h.Fund(addr.Address, 10*btcutil.SatoshiPerBitcoin,
		10*btcutil.SatoshiPerBitcoin)
	testproc.WaitFor(t, "alice's funds", waitTimeout, func() (bool, error) {
		var bal struct {
			Confirmed int64 `json:"confirmed_balance,string"`
		}
		alice.Lncli(&bal, "walletbalance")
		return bal.Confirmed >= 20*btcutil.SatoshiPerBitcoin, nil
	})
	alice.Connect(bob.Node)
	alice.Connect(carol.Node)
	alice.Lncli(nil, "openchannel", "--node_key="+bob.Pubkey,
		"--local_amt=1000000")
	alice.Lncli(nil, "openchannel", "--node_key="+carol.Pubkey,
		"--local_amt=1000000")
	info, err := alice.info()
	require.NoError(t, err)
	funding := info.BlockHeight + 1
	h.Mine(6)
	testproc.WaitFor(t, "two active channels", waitTimeout, func() (bool, error) {
		info, err := alice.info()
		return err == nil && info.NumActiveChannels == 2, err
	})
	bobChan := alice.channelWith(bob).ChannelPoint
	carolChan := alice.channelWith(carol).ChannelPoint
	for _, ch := range alice.channels() {
		require.Equal(t, funding, uint32(ch.ChanId>>40),
			"funding height of %s", ch.ChannelPoint)
	}

	// The channels are older than the companion: it starts ageBlocks
	// blocks after their funding block.
	const ageBlocks = 15
	h.Mine(ageBlocks - 5)
	t.Logf("network ready after %v", time.Since(began).Round(time.Second))

	// First a macaroon with the three permissions the companion needs:
	// the open times of the channels are estimated.
	mac3 := filepath.Join(h.Dir, "chanfitness3.macaroon")
	alice.Lncli(nil, "bakemacaroon", "info:read", "offchain:read",
		"peers:read", "--save_to", mac3)
	dataDir := filepath.Join(h.Dir, "companion")
	started := time.Now()
	c := startCompanion(t, h, "companion", alice, mac3, dataDir)
	c.waitReport("both channels and peers", func(r core.Report) bool {
		return chanOf(r, bobChan).Status == "open" &&
			chanOf(r, carolChan).Status == "open" &&
			peerOf(r, bob.Pubkey).Online &&
			peerOf(r, carol.Pubkey).Online
	})
	r0 := c.report()
	require.True(t, r0.NodeConnected)
	for _, cp := range []string{bobChan, carolChan} {
		ch := chanOf(r0, cp)
		logOpened(t, "three permissions", ch)
		require.Equal(t, "estimated", ch.OpenedAtSource)
		require.NotNil(t, ch.AgeBlocks)
		require.Equal(t, int64(ageBlocks), *ch.AgeBlocks)
		est := started.Add(-ageBlocks * lndsource.BlockInterval)
		require.WithinDuration(t, est, ch.OpenedAt.Time, time.Minute)
	}
	flaps0 := peerOf(r0, bob.Pubkey).FlapCount
	lndFlaps0 := alice.peer(bob).FlapCount

	// bob goes away for a known time.
	const down = 5 * time.Second
	stopped := time.Now()
	bob.stop()
	c.waitReport("bob offline", func(r core.Report) bool {
		return !peerOf(r, bob.Pubkey).Online
	})
	offSince := peerOf(c.report(), bob.Pubkey).Since.Time
	pass(t, offSince, down)
	bob.start()
	c.waitReport("bob online again", func(r core.Report) bool {
		return peerOf(r, bob.Pubkey).Online
	})
	back := time.Now()
	r1 := c.report()
	out := outage(chanOf(r1, bobChan))
	t.Logf("bob stopped for %v; the companion counts %v offline",
		back.Sub(stopped).Round(time.Second), out)
	require.GreaterOrEqual(t, out, down-time.Second)
	require.LessOrEqual(t, out, back.Sub(stopped)+2*time.Second)
	require.Zero(t, outage(chanOf(r1, carolChan)))
	flaps1 := peerOf(r1, bob.Pubkey).FlapCount
	require.Equal(t, flaps0+2, flaps1, "an offline/online cycle is 2 flaps")

	// lnd saw the same: same outage, same flaps.
	var lndFlaps1 int32
	testproc.WaitFor(t, "alice lists bob", waitTimeout, func() (bool, error) {
		p := alice.peer(bob)
		if p != nil {
			lndFlaps1 = p.FlapCount
		}
		return p != nil, nil
	})
	require.Equal(t, int(lndFlaps1-lndFlaps0), flaps1-flaps0)
	lc := alice.channelWith(bob)
	lndOut := time.Duration(lc.Lifetime-lc.Uptime) * time.Second
	require.InDelta(t, out.Seconds(), lndOut.Seconds(), 2,
		"lnd counts %v offline", lndOut)

	// alice's lnd restarts under the running companion: the time it is
	// away is unmonitored, and lnd's own lifetime starts from zero.
	rBefore := c.report()
	aliceDown := time.Now()
	alice.stop()
	testproc.WaitFor(t, "companion notices", waitTimeout, func() (bool, error) {
		return !c.connected(), nil
	})
	alice.start()
	aliceUp := time.Now()
	testproc.WaitFor(t, "companion reconnects", waitTimeout, func() (bool, error) {
		return c.connected(), nil
	})
	c.waitReport("peers back", func(r core.Report) bool {
		return peerOf(r, bob.Pubkey).Online &&
			peerOf(r, carol.Pubkey).Online
	})
	rAfter := c.report()
	gap := time.Duration(rAfter.UnmonitoredSeconds-
		rBefore.UnmonitoredSeconds) * time.Second
	t.Logf("alice down for %v; unmonitored %v",
		aliceUp.Sub(aliceDown).Round(time.Second), gap)
	require.GreaterOrEqual(t, gap, aliceUp.Sub(aliceDown)-2*time.Second)
	lc = alice.channelWith(bob)
	ourLife := chanOf(rAfter, bobChan).LifetimeSeconds
	require.GreaterOrEqual(t, ourLife,
		chanOf(rBefore, bobChan).LifetimeSeconds)
	require.LessOrEqual(t, time.Duration(lc.Lifetime)*time.Second,
		time.Since(aliceUp)+2*time.Second, "lnd's lifetime restarted")
	require.Greater(t, ourLife, lc.Lifetime)
	t.Logf("after alice's restart: lnd lifetime %ds, companion "+
		"lifetime %ds, age %ds", lc.Lifetime, ourLife,
		chanOf(rAfter, bobChan).AgeSeconds)

	// The companion restarts, with the macaroon of the documented line
	// (onchain:read added): its history continues, the time it was down
	// is unmonitored, no flap is added, and the estimated open times
	// are replaced by the funding block's time.
	mac := filepath.Join(h.Dir, "chanfitness.macaroon")
	bake := strings.Fields(lndsource.BakeCommand)[1:]
	bake[len(bake)-1] = mac
	alice.Lncli(nil, bake...)
	blockTime := h.BlockTime(funding)
	rBefore = c.report()
	c.stop()
	companionDown := time.Now()
	pass(t, companionDown, 3*time.Second)
	c = startCompanion(t, h, "companion (restarted)", alice, mac, dataDir)
	testproc.WaitFor(t, "companion connected", waitTimeout, func() (bool, error) {
		return c.connected(), nil
	})
	rAfter = c.report()
	require.Equal(t, rBefore.MonitoringSince, rAfter.MonitoringSince)
	require.Len(t, rAfter.Channels, 2, "corrected, not duplicated")
	for _, cp := range []string{bobChan, carolChan} {
		ch := chanOf(rAfter, cp)
		logOpened(t, "with onchain:read", ch)
		require.Equal(t, "node", ch.OpenedAtSource,
			"is lnd built with the chainrpc tag? (make itest-bins)")
		require.Equal(t, blockTime, ch.OpenedAt.Time)
		require.NotNil(t, ch.AgeBlocks)
		require.Equal(t, int64(ageBlocks), *ch.AgeBlocks)
		require.GreaterOrEqual(t, ch.LifetimeSeconds,
			chanOf(rBefore, cp).LifetimeSeconds)
	}
	require.GreaterOrEqual(t, rAfter.UnmonitoredSeconds,
		rBefore.UnmonitoredSeconds+2)
	require.Equal(t, peerOf(rBefore, bob.Pubkey).FlapCount,
		peerOf(rAfter, bob.Pubkey).FlapCount)

	// carol's channel closes: it stays, closed, its numbers frozen.
	txid, index, ok := strings.Cut(carolChan, ":")
	require.True(t, ok)
	closing := time.Now()
	alice.Lncli(nil, "closechannel", "--funding_txid="+txid,
		"--output_index="+index)
	testproc.WaitFor(t, "closing transaction", waitTimeout, func() (bool, error) {
		out, err := h.Btcctl("getrawmempool")
		return err == nil && strings.Contains(out, "\""), err
	})
	h.Mine(3)
	c.waitReport("carol's channel closed", func(r core.Report) bool {
		return chanOf(r, carolChan).Status == "closed"
	})
	closed1 := c.report()
	require.True(t, chanOf(closed1, carolChan).ClosedAt.After(
		closing.Add(-time.Second)))
	pass(t, time.Now(), 2*time.Second)
	closed2 := c.report()
	require.Equal(t, chanOf(closed1, carolChan), chanOf(closed2, carolChan))
	require.Greater(t, chanOf(closed2, bobChan).LifetimeSeconds,
		chanOf(closed1, bobChan).LifetimeSeconds)
	require.Equal(t, "open", chanOf(closed2, bobChan).Status)

	var rendered bytes.Buffer
	require.NoError(t, table.Write(&rendered, closed2))
	t.Logf("final report:\n%s", rendered.String())
	t.Logf("real-node scenario took %v",
		time.Since(began).Round(time.Second))
}
