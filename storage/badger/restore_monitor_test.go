package badgerstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/core/coretest"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// TestMonitorRestoreGap runs a monitor on badger for ten hours, restarts it
// (the store's Close writes a backup), records five more hours and restores
// the store from the backup of that Close: the report holds the history up
// to the backup and nothing after it, and counts the time since the backup
// as unmonitored, not as the peer's.
func TestMonitorRestoreGap(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	clk := clock.NewTestClock(monitorT0)
	// Backups at Open and Close only: the daily ticker never fires.
	opts := func() badgerstore.Options {
		return badgerstore.Options{Clock: clk,
			BackupTicker: ticker.NewForce(24 * time.Hour)}
	}
	st, err := badgerstore.Open(dir, opts())
	require.NoError(t, err)
	m := coretest.StartMonitor(t, core.Config{Store: st, Clock: clk})

	p, ch := monitorPeer(1), monitorChan(1)
	at := func(d time.Duration, typ core.EventType) {
		clk.SetTime(monitorT0.Add(d))
		ev := core.Event{Type: typ, Peer: p, Time: monitorT0.Add(d)}
		if typ == core.ChannelOpened {
			ev.Channel = ch
		}
		require.NoError(t, m.Apply(ctx, ev))
	}
	at(0, core.ChannelOpened)
	at(4*time.Hour, core.PeerOffline)
	at(5*time.Hour, core.PeerOnline)
	at(10*time.Hour, core.PeerOnline)
	require.NoError(t, m.Stop())
	require.NoError(t, st.Close())
	// Later backups (the next Open's, written in the background, and
	// Close's) replace the two beside the store: keep this one.
	saved := filepath.Join(t.TempDir(), "ten-hours.backup")
	data, err := os.ReadFile(filepath.Join(dir, "chanfitness.backup"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(saved, data, 0o600))
	st, err = badgerstore.Open(dir, opts())
	require.NoError(t, err)
	m = coretest.StartMonitor(t, core.Config{Store: st, Clock: clk})

	// Lost with the store: an outage after the backup.
	at(12*time.Hour, core.PeerOffline)
	at(15*time.Hour, core.PeerOnline)
	require.NoError(t, m.Stop())
	require.NoError(t, st.Close())

	bk, err := badgerstore.Restore(dir, saved)
	require.NoError(t, err)
	require.Equal(t, monitorT0.Add(10*time.Hour), bk.Taken.UTC())

	clk.SetTime(monitorT0.Add(20 * time.Hour))
	st = openStore(t, dir, opts())
	m = coretest.StartMonitor(t, core.Config{Store: st, Clock: clk})
	r, err := m.Report(ctx, core.ReportQuery{})
	require.NoError(t, err)

	require.EqualValues(t, (10 * time.Hour).Seconds(),
		r.UnmonitoredSeconds, "the time after the backup")
	c, ok := coretest.Channel(r, ch.String())
	require.True(t, ok)
	require.EqualValues(t, (20 * time.Hour).Seconds(), c.AgeSeconds)
	require.EqualValues(t, (10 * time.Hour).Seconds(),
		c.LifetimeSeconds)
	require.EqualValues(t, (9 * time.Hour).Seconds(), c.UptimeSeconds)
	pr, ok := coretest.Peer(r, p.String())
	require.True(t, ok)
	for _, ev := range pr.RecentEvents {
		require.False(t, ev.Time.After(monitorT0.Add(10*time.Hour)),
			"event at %v came after the backup", ev.Time)
	}
	require.Equal(t, 4, pr.FlapCount,
		"the open's flap and three events before the backup")
}
