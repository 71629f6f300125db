package daemon

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/alert"
	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/plugin/lnd/lndtest"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// TestDaemonExportAndAlertCommand: with --exportdir (relative to
// --datadir) the files are kept; with --alertcommand a peer offline for
// --alertofflineafter runs the command with the alert on stdin.
func TestDaemonExportAndAlertCommand(t *testing.T) {
	srv := lndtest.New(t)
	p1 := lndtest.PeerKey(1)
	srv.OpenChannel(lndtest.ChanPoint(1), p1, 0)
	srv.SetOnline(p1, true)

	out := filepath.Join(t.TempDir(), "alerts")
	clk := clock.NewTestClock(t0)
	args := append(lndArgs(srv, srv.Macaroon(t, "info:read",
		"offchain:read", "peers:read")), "--store=memory",
		"--exportdir=export", "--alertofflineafter=1m",
		"--alertcommand=cat >> "+out)
	d := startDaemon(t, clk, args...)
	d.waitConnected()
	srv.WaitSubscribed(t, 1)

	dir := filepath.Join(d.dataDir, "export")
	require.Eventually(t, func() bool {
		raw, err := os.ReadFile(filepath.Join(dir, "report.json"))
		var r core.Report
		return err == nil && json.Unmarshal(raw, &r) == nil &&
			len(r.Channels) == 1
	}, lndtest.WaitTimeout, time.Millisecond)
	for _, f := range []string{"unreliable-peers.txt",
		"watch-peers.txt"} {

		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(b), "# chanfitness"))
	}

	srv.SetOnline(p1, false)
	d.eventually("p1 offline", func(r core.Report) bool {
		return len(r.Peers) == 1 && !r.Peers[0].Online
	})
	clk.SetTime(clk.Now().Add(2 * time.Minute))
	// A change makes the alerts look again.
	srv.OpenChannel(lndtest.ChanPoint(2), lndtest.PeerKey(2), 0)
	var a alert.Alert
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(out)
		return err == nil && json.Unmarshal(b, &a) == nil
	}, lndtest.WaitTimeout, time.Millisecond)
	require.Equal(t, alert.KindOffline, a.Kind)
	require.Equal(t, p1, a.PeerID)
}
