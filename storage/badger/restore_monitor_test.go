package badgerstore_test

import (
	"context"
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

// TestMonitorRestoreGap runs a monitor on badger, takes the daily backup
// ten hours in, records five more hours and restores the store from that
// backup: the report holds the history up to the backup and nothing after
// it, and counts the time since the backup as unmonitored, not as the
// peer's.
func TestMonitorRestoreGap(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	clk := clock.NewTestClock(monitorT0)
	tick := ticker.NewForce(time.Hour)
	st, err := badgerstore.Open(dir, badgerstore.Options{Clock: clk,
		BackupTicker: tick})
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
	// The daily backup; a second send waits until the first is done.
	tick.Force <- time.Now()
	tick.Force <- time.Now()

	// Lost with the store: an outage after the backup.
	at(12*time.Hour, core.PeerOffline)
	at(15*time.Hour, core.PeerOnline)
	require.NoError(t, m.Stop())
	require.NoError(t, st.Close())

	// Close wrote the newest backup; the daily one is now the older.
	bk, err := badgerstore.Restore(dir,
		filepath.Join(dir, "chanfitness.backup.old"))
	require.NoError(t, err)
	require.Equal(t, monitorT0.Add(10*time.Hour), bk.Taken.UTC())

	clk.SetTime(monitorT0.Add(20 * time.Hour))
	st = openStore(t, dir, badgerstore.Options{Clock: clk,
		BackupInterval: -1})
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
