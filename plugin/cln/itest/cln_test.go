package itest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/btcutil"
	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	"github.com/chanfitness/chanfitness/internal/testproc"
	"github.com/stretchr/testify/require"
)

func chanOf(t *testing.T, r core.Report, cp string) core.ChannelReport {
	t.Helper()
	c, ok := coretest.Channel(r, cp)
	require.True(t, ok, "channel %s in the report", cp)
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

// pass lets d of wall time go by: the scenario needs real time to pass
// (an outage of known length), not an event.
func pass(t *testing.T, since time.Time, d time.Duration) {
	t.Helper()
	testproc.WaitFor(t, fmt.Sprintf("%v to pass", d), d+time.Minute,
		func() (bool, error) {
			return time.Since(since) >= d, nil
		})
}

// near requires got within tol of want.
func near(t *testing.T, want, got time.Time, tol time.Duration,
	what string) {

	t.Helper()
	d := got.Sub(want)
	require.True(t, d >= -tol && d <= tol, "%s: %v, want %v (±%v)", what,
		got, want, tol)
}

// clnChannel is what listpeerchannels says of a channel.
type clnChannel struct {
	PeerID         string `json:"peer_id"`
	State          string `json:"state"`
	ShortChannelID string `json:"short_channel_id"`
	FundingTxid    string `json:"funding_txid"`
	FundingOutnum  uint32 `json:"funding_outnum"`
	StateChanges   []struct {
		Timestamp string `json:"timestamp"`
		NewState  string `json:"new_state"`
	} `json:"state_changes"`
}

// normalAt is when CLN moved the channel to CHANNELD_NORMAL.
func (c clnChannel) normalAt(t *testing.T) time.Time {
	t.Helper()
	for _, sc := range c.StateChanges {
		if sc.NewState == "CHANNELD_NORMAL" {
			at, err := time.Parse(time.RFC3339Nano, sc.Timestamp)
			require.NoError(t, err)
			return at
		}
	}
	require.FailNow(t, "no move to CHANNELD_NORMAL", "%+v", c)
	return time.Time{}
}

// channelsOf lists the CLN node's channels by channel point.
func (c *clnNode) channels() map[string]clnChannel {
	var res struct {
		Channels []clnChannel `json:"channels"`
	}
	c.cli(&res, "listpeerchannels")
	m := make(map[string]clnChannel)
	for _, ch := range res.Channels {
		m[fmt.Sprintf("%s:%d", ch.FundingTxid, ch.FundingOutnum)] = ch
	}
	return m
}

// openTo has nd open a private channel to the CLN node and mines it in.
func openTo(t *testing.T, h *harness, c *clnNode, nd *lndNode) string {
	t.Helper()
	nd.Lncli(nil, "connect", fmt.Sprintf("%s@127.0.0.1:%d", c.id, c.port))
	var res struct {
		Txid string `json:"funding_txid"`
	}
	nd.Lncli(&res, "openchannel", "--node_key="+c.id,
		"--local_amt=1000000", "--private")
	h.Mine(6)
	var point string
	testproc.WaitFor(t, nd.Name+"'s channel active", waitTimeout,
		func() (bool, error) {
			for _, ch := range nd.Channels() {
				if ch.RemotePubkey == c.id && ch.Active {
					point = ch.ChannelPoint
					return true, nil
				}
			}
			return false, nil
		})
	testproc.WaitFor(t, nd.Name+"'s channel normal in CLN", waitTimeout,
		func() (bool, error) {
			return c.channels()[point].State == "CHANNELD_NORMAL",
				nil
		})
	return point
}

// lndChannelOf returns nd's channel at point.
func lndChannelOf(t *testing.T, nd *lndNode, point string) lndChannel {
	t.Helper()
	for _, ch := range nd.Channels() {
		if ch.ChannelPoint == point {
			return ch
		}
	}
	require.FailNow(t, "no channel "+point+" at "+nd.Name)
	return lndChannel{}
}

// TestPluginInRealLightningd runs the plugin binary inside a real Core
// Lightning node on regtest, with lnd peers opening private channels to
// it, and checks what an operator would: channels seen open with the
// node's outpoint, short channel id and open time (also for channels the
// plugin did not see open), and the history backfilled from the node's
// records at the first start; a peer's outage measured from when its
// node stopped; plugin stop and start and kill -9 (the history kept, the
// gap filled from the node's records); a lightningd restart charged to
// no peer and unmonitored; bad options;
// cooperative and unilateral closes with frozen numbers; and a node log
// free of UNUSUAL and BROKEN lines from the plugin.
func TestPluginInRealLightningd(t *testing.T) {
	bin := lightningd(t)
	bins := lndBins(t)
	began := time.Now()
	h := newHarness(t, bins)
	tools := filepath.Join(h.Dir, "tools")
	c := &clnNode{h: h, bin: bin, dir: filepath.Join(h.Dir, "cln"),
		port:   testproc.FreePort(t),
		plugin: goBuild(t, tools, "../cmd/chanfitness-cln"),
		stand:  goBuild(t, tools, "./btcdcli")}
	c.logFile = filepath.Join(c.dir, "log")
	h.Logs["lightningd log"] = func() string {
		return testproc.TailFile(c.logFile, 80)
	}

	bob := h.StartNode("bob")
	carol := h.StartNode("carol")
	dave := h.StartNode("dave")
	for _, nd := range []*lndNode{bob, carol, dave} {
		var addr struct {
			Address string `json:"address"`
		}
		nd.Lncli(&addr, "newaddress", "p2wkh")
		h.Fund(addr.Address, btcutil.SatoshiPerBitcoin)
	}
	c.start(false)

	// bob and carol open channels while the plugin is not loaded.
	bobChan := openTo(t, h, c, bob)
	carolChan := openTo(t, h, c, carol)
	t.Logf("network ready after %v", time.Since(began).Round(time.Second))
	pass(t, c.channels()[carolChan].normalAt(t), 3*time.Second)

	// Dynamic start into a node that already has channels: each is
	// open since CLN moved it to CHANNELD_NORMAL.
	c.cli(nil, "plugin", "start", c.plugin)
	c.waitReport("both channels and peers", func(r core.Report) bool {
		return len(r.Channels) == 2 && peerOf(r, bob.Pubkey).Online &&
			peerOf(r, carol.Pubkey).Online
	})
	r := c.report()
	listed := c.channels()
	// lightningd ran since before the channels opened: the plugin's
	// history is backfilled from lightningd's start, from its records.
	started := c.startedAt()
	require.Len(t, r.FilledFromNode, 1, "backfill")
	bf := r.FilledFromNode[0]
	require.True(t, bf.Backfill)
	near(t, started, bf.Start.Time, time.Second, "backfill start")
	require.Equal(t, bf.Start, r.MonitoringSince)
	require.Zero(t, r.UnmonitoredSeconds)
	recs := c.netRecords()
	for _, cp := range []string{bobChan, carolChan} {
		ch := chanOf(t, r, cp)
		// Counted from the open, as if the plugin had been there.
		require.InDelta(t, ch.AgeSeconds, ch.LifetimeSeconds, 1,
			"backfilled lifetime of %s", cp)
		// One flap at the open, one per connect and disconnect the
		// node recorded since.
		require.Equal(t, 1+transitions(recs, ch.PeerID,
			listed[cp].normalAt(t), time.Now()),
			peerOf(r, ch.PeerID).FlapCount,
			"backfilled flaps of %s", ch.PeerID)
	}
	t.Logf("backfilled from %v: %d records of the node",
		bf.Start.Format(time.StampMilli), len(recs))
	for _, cp := range []string{bobChan, carolChan} {
		ch := chanOf(t, r, cp)
		require.Equal(t, "open", ch.Status)
		require.NotNil(t, ch.ShortChannelID)
		require.Equal(t, listed[cp].ShortChannelID, *ch.ShortChannelID)
		near(t, listed[cp].normalAt(t), ch.OpenedAt.Time, time.Second,
			"dynamic start: opened_at of "+cp)
		// Counted from the block of its short channel id to the
		// node's height at the plugin's last look, at most btcd's.
		block, _, _ := strings.Cut(*ch.ShortChannelID, "x")
		funded, err := strconv.Atoi(block)
		require.NoError(t, err)
		require.NotNil(t, ch.AgeBlocks, "age_blocks of %s", cp)
		require.Positive(t, *ch.AgeBlocks, "age_blocks of %s", cp)
		require.LessOrEqual(t, funded+int(*ch.AgeBlocks), h.Height(),
			"age_blocks of %s", cp)
	}
	require.Equal(t, lndChannelOf(t, bob, bobChan).ScidStr,
		*chanOf(t, r, bobChan).ShortChannelID)

	// dave opens a channel while the plugin runs.
	daveChan := openTo(t, h, c, dave)
	c.waitReport("dave's channel", func(r core.Report) bool {
		_, ok := coretest.Channel(r, daveChan)
		return ok && peerOf(r, dave.Pubkey).Online
	})
	ch := chanOf(t, c.report(), daveChan)
	require.Equal(t, lndChannelOf(t, dave, daveChan).ScidStr,
		*ch.ShortChannelID)
	near(t, c.channels()[daveChan].normalAt(t), ch.OpenedAt.Time,
		time.Second, "live open: opened_at")

	// bob's node stops for a known time.
	flaps0 := peerOf(c.report(), bob.Pubkey).FlapCount
	stopped := time.Now()
	bob.Stop()
	c.waitReport("bob offline", func(r core.Report) bool {
		return !peerOf(r, bob.Pubkey).Online
	})
	since := peerOf(c.report(), bob.Pubkey).Since.Time
	near(t, stopped, since, time.Second, "bob offline since")
	pass(t, since, 5*time.Second)
	bob.Start()
	c.waitReport("bob back", func(r core.Report) bool {
		return peerOf(r, bob.Pubkey).Online
	})
	back := peerOf(c.report(), bob.Pubkey).Since.Time
	r1 := c.report()
	out := outage(chanOf(t, r1, bobChan))
	t.Logf("bob stopped at %v for %v; the plugin counts %v offline",
		stopped.Format(time.StampMilli), back.Sub(since), out)
	require.InDelta(t, back.Sub(since).Seconds(), out.Seconds(), 1)
	require.Equal(t, flaps0+2, peerOf(r1, bob.Pubkey).FlapCount)
	require.Zero(t, outage(chanOf(t, r1, carolChan)))

	// The plugin is stopped; a start with a bad option is refused with
	// the reason; the plugin starts again with its history.
	pluginName := filepath.Base(c.plugin)
	c.cli(nil, "plugin", "stop", pluginName)
	gapStart := time.Now()
	err := c.tryCLI(nil, "-k", "plugin", "subcommand=start",
		"plugin="+c.plugin, "chanfitness-store=bogus")
	require.ErrorContains(t, err, "chanfitness-store")
	pass(t, gapStart, 3*time.Second)
	c.cli(nil, "plugin", "start", c.plugin)
	r2 := c.report()
	checkFilled(t, c, r1, r2, 3*time.Second, gapStart, time.Now(),
		bobChan, carolChan, daveChan)

	// kill -9: lightningd runs on, the plugin starts again, the history
	// is kept and the gap filled from the node's records.
	pid := c.pluginPID()
	require.NotZero(t, pid, "plugin process")
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	killed := time.Now()
	testproc.WaitFor(t, "lightningd to notice the plugin died", waitTimeout,
		func() (bool, error) { return c.pluginPID() == 0, nil })
	pass(t, killed, 3*time.Second)
	c.cli(nil, "plugin", "start", c.plugin)
	r3 := c.report()
	checkFilled(t, c, r2, r3, 2*time.Second, killed.Add(-time.Second),
		time.Now(), bobChan, carolChan, daveChan)
	saveReport(t, r3)
	for _, nd := range []*lndNode{bob, carol, dave} {
		w := peerOf(r3, nd.Pubkey).Windows["1d"]
		t.Logf("%s: %d pings kept, %d failed connection attempts",
			nd.Name, w.Pings, w.ConnectFailures)
	}

	// lightningd restarts with the plugin: the time it is down and its
	// peers are reconnecting is unmonitored and no peer's fault.
	// It comes back with the HTTP listener on (TLS and a token).
	restarting := time.Now()
	c.stop()
	listen := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
	c.start(true, "--chanfitness-listen="+listen)
	c.waitReport("every peer back", func(r core.Report) bool {
		for _, nd := range []*lndNode{bob, carol, dave} {
			if !peerOf(r, nd.Pubkey).Online {
				return false
			}
		}
		return true
	})
	allBack := time.Now()
	r4 := c.report()
	// Whether the peers were back before the plugin's init (no grace
	// needed) or after it, the restart costs no flap and no outage
	// (below); the in-process tests pin the grace's bookkeeping.
	t.Logf("lightningd restarted: every peer back %v after the stop "+
		"began; %ds more unmonitored",
		allBack.Sub(restarting).Round(time.Second),
		r4.UnmonitoredSeconds-r3.UnmonitoredSeconds)
	for _, nd := range []*lndNode{bob, carol, dave} {
		require.Equal(t, peerOf(r3, nd.Pubkey).FlapCount,
			peerOf(r4, nd.Pubkey).FlapCount,
			"%s: lightningd's restart is no flap", nd.Name)
	}
	for _, cp := range []string{bobChan, carolChan, daveChan} {
		require.InDelta(t, outage(chanOf(t, r3, cp)).Seconds(),
			outage(chanOf(t, r4, cp)).Seconds(), 1,
			"%s: lightningd's restart is no outage", cp)
	}
	checkKept(t, r3, r4, time.Second, bobChan, carolChan, daveChan)
	checkListener(t, c, listen, []*lndNode{bob, carol, dave})

	// carol closes cooperatively, dave unilaterally, once their links
	// are back.
	for _, nd := range []*lndNode{carol, dave} {
		testproc.WaitFor(t, nd.Name+"'s channel active", waitTimeout,
			func() (bool, error) {
				for _, ch := range nd.Channels() {
					if ch.RemotePubkey == c.id && ch.Active {
						return true, nil
					}
				}
				return false, nil
			})
	}
	closeTxid, closeIdx, _ := strings.Cut(carolChan, ":")
	carol.Lncli(nil, "closechannel", "--funding_txid="+closeTxid,
		"--output_index="+closeIdx)
	h.WaitMempool()
	h.Mine(1)
	forceTxid, forceIdx, _ := strings.Cut(daveChan, ":")
	dave.Lncli(nil, "closechannel", "--force",
		"--funding_txid="+forceTxid, "--output_index="+forceIdx)
	h.WaitMempool()
	h.Mine(1)
	c.waitReport("both channels closed", func(r core.Report) bool {
		a, _ := coretest.Channel(r, carolChan)
		b, _ := coretest.Channel(r, daveChan)
		return a.Status == "closed" && b.Status == "closed"
	})
	r5 := c.report()
	pass(t, time.Now(), 2*time.Second)
	r6 := c.report()
	for _, cp := range []string{carolChan, daveChan} {
		require.Equal(t, chanOf(t, r5, cp), chanOf(t, r6, cp),
			"%s: numbers frozen at close", cp)
	}
	require.Equal(t, "open", chanOf(t, r6, bobChan).Status)
	require.Greater(t, chanOf(t, r6, bobChan).LifetimeSeconds,
		chanOf(t, r5, bobChan).LifetimeSeconds)

	// The node's log: nothing UNUSUAL or BROKEN from the plugin but the
	// refused option.
	refused := 0
	for _, l := range c.logLines("plugin-" + pluginName) {
		if !strings.Contains(l, "UNUSUAL") &&
			!strings.Contains(l, "BROKEN") {

			continue
		}
		require.Contains(t, l, "chanfitness-store", "node log: %s", l)
		refused++
	}
	require.NotZero(t, refused, "the refused option is in the log")
	t.Logf("real-node scenario took %v",
		time.Since(began).Round(time.Second))
}

// checkKept checks a report after a gap of at least gap against the one
// before: the same channels, open times and flap counts, and the gap
// unmonitored.
func checkKept(t *testing.T, before, after core.Report,
	gap time.Duration, points ...string) {

	t.Helper()
	require.Equal(t, before.MonitoringSince, after.MonitoringSince)
	require.GreaterOrEqual(t, after.UnmonitoredSeconds,
		before.UnmonitoredSeconds+int64(gap/time.Second)-1)
	for _, cp := range points {
		b, a := chanOf(t, before, cp), chanOf(t, after, cp)
		require.Equal(t, b.OpenedAt, a.OpenedAt, cp)
		require.Equal(t, b.ShortChannelID, a.ShortChannelID, cp)
		require.GreaterOrEqual(t, a.LifetimeSeconds, b.LifetimeSeconds)
		require.Equal(t, peerOf(before, b.PeerID).FlapCount,
			peerOf(after, a.PeerID).FlapCount, cp)
	}
}

// netRecord is a listnetworkevents entry.
type netRecord struct {
	PeerID       string  `json:"peer_id"`
	Type         string  `json:"type"`
	Timestamp    float64 `json:"timestamp"`
	DurationNsec *uint64 `json:"duration_nsec"`
}

func (e netRecord) time() time.Time {
	return time.Unix(0, int64(e.Timestamp*1e9)).UTC()
}

// netRecords returns the node's own network history.
func (c *clnNode) netRecords() []netRecord {
	c.h.T.Helper()
	var res struct {
		Events []netRecord `json:"networkevents"`
	}
	c.cli(&res, "listnetworkevents")
	return res.Events
}

// startedAt returns when lightningd started (getlog's created_at).
func (c *clnNode) startedAt() time.Time {
	c.h.T.Helper()
	var res struct {
		CreatedAt string `json:"created_at"`
	}
	c.cli(&res, "getlog", "broken")
	f, err := strconv.ParseFloat(res.CreatedAt, 64)
	require.NoError(c.h.T, err, "getlog created_at %q", res.CreatedAt)
	return time.Unix(0, int64(f*1e9)).UTC()
}

// transitions counts a peer's connects and disconnects in the node's
// records from from (inclusive; the records are in whole seconds) to to.
func transitions(recs []netRecord, peer string, from, to time.Time) int {
	n := 0
	for _, e := range recs {
		t := e.time()
		if e.PeerID == peer && (e.Type == "connect" ||
			e.Type == "disconnect") && !t.Before(from) &&
			!t.After(to) {

			n++
		}
	}
	return n
}

// checkFilled checks a report after the plugin was away for at least gap
// while lightningd ran on: the history is kept, the gap filled from the
// node's records (monitored), its flaps those the records hold.
func checkFilled(t *testing.T, c *clnNode, before, after core.Report,
	gap time.Duration, away, back time.Time, points ...string) {

	t.Helper()
	require.Equal(t, before.MonitoringSince, after.MonitoringSince)
	require.Equal(t, before.UnmonitoredSeconds, after.UnmonitoredSeconds,
		"a gap lightningd ran through is filled")
	require.Len(t, after.FilledFromNode, len(before.FilledFromNode)+1)
	f := after.FilledFromNode[len(after.FilledFromNode)-1]
	require.False(t, f.Backfill)
	require.GreaterOrEqual(t, f.Seconds, int64(gap/time.Second)-1)
	recs := c.netRecords()
	for _, cp := range points {
		b, a := chanOf(t, before, cp), chanOf(t, after, cp)
		require.Equal(t, b.OpenedAt, a.OpenedAt, cp)
		require.GreaterOrEqual(t, a.LifetimeSeconds,
			b.LifetimeSeconds+int64(gap/time.Second)-1, cp)
		require.Equal(t, peerOf(before, b.PeerID).FlapCount+
			transitions(recs, b.PeerID, away, back),
			peerOf(after, a.PeerID).FlapCount, cp)
	}
}

// saveReport writes r to the file CHANFITNESS_SAVE_REPORT names, if any.
func saveReport(t *testing.T, r core.Report) {
	t.Helper()
	path := os.Getenv("CHANFITNESS_SAVE_REPORT")
	if path == "" {
		return
	}
	b, err := json.MarshalIndent(r, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	t.Logf("report written to %s", path)
}
