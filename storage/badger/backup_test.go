package badgerstore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// backupNow has the store's loop write a backup on a forced tick and
// returns once it is written: the loop takes the next tick (here a GC
// tick) only after the backup is done. A forced tick alone returns as
// soon as the loop took it, while the backup still runs and may take in
// the Writes that follow.
func backupNow(backups, gc *ticker.Force) {
	backups.Force <- time.Now()
	gc.Force <- time.Now()
}

// TestBackupRestore writes backups at Open, on the backup ticker and at
// Close, keeps the newest two, and restores the one that holds the most
// batches, even when the clock stepped back in between; a damaged backup
// is passed over, and a store restored from a backup holds exactly its
// history and goes on from it.
func TestBackupRestore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	clk := clock.NewTestClock(t0)
	tick, gc := ticker.NewForce(time.Hour), ticker.NewForce(time.Hour)
	s, err := badgerstore.Open(dir, badgerstore.Options{Clock: clk,
		BackupTicker: tick, GCTicker: gc})
	require.NoError(t, err)
	ctx := context.Background()
	var b core.Batch
	for i := 0; i < 500; i++ {
		crashBatch(&b, i)
		require.NoError(t, s.Write(ctx, &b))
	}
	// The clock steps back before the daily backup.
	clk.SetTime(t0.Add(-time.Hour))
	backupNow(tick, gc)
	daily, err := badgerstore.NewestBackup(dir)
	require.NoError(t, err)
	at500, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, storagetest.Normalize(at500),
		storagetest.Normalize(daily.State))
	require.Equal(t, t0.Add(-time.Hour), daily.Taken.UTC())

	for i := 500; i < 700; i++ {
		crashBatch(&b, i)
		require.NoError(t, s.Write(ctx, &b))
	}
	clk.SetTime(t0.Add(-2 * time.Hour))
	want, err := s.Load(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	// The backup of Close holds the most, though stamped earliest.
	bk, err := badgerstore.NewestBackup(dir)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "chanfitness.backup"), bk.Path)
	require.Equal(t, storagetest.Normalize(want),
		storagetest.Normalize(bk.State))
	_, err = os.Stat(filepath.Join(dir, "chanfitness.backup.old"))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "chanfitness.backup.tmp"))
	require.ErrorIs(t, err, os.ErrNotExist)

	// Damage the newest: the one before it is restored.
	require.NoError(t, os.Truncate(bk.Path, 100))
	_, err = badgerstore.ReadBackup(bk.Path)
	require.ErrorIs(t, err, storage.ErrCorrupt)
	require.ErrorContains(t, err, bk.Path)
	msg, err := storage.Restore(dir, "")
	require.NoError(t, err)
	require.Contains(t, msg, "chanfitness.backup.old")
	require.Contains(t, msg, "unmonitored")
	s = openStore(t, dir, badgerstore.Options{BackupInterval: -1})
	got, err := s.Load(ctx)
	require.NoError(t, err)
	requireCrashState(t, got, 500)
	require.Equal(t, storagetest.Normalize(at500),
		storagetest.Normalize(got))
	_, err = os.Stat(filepath.Join(dir, "db.damaged"))
	require.NoError(t, err)

	// The store goes on from the restored history.
	crashBatch(&b, 500)
	require.NoError(t, s.Write(ctx, &b))
}

// TestBackupSamples: a backup holds the samples and filled spans, and a
// store restored from it has them back, the sample cut applied.
func TestBackupSamples(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	var p core.PeerID
	p[0] = 2
	ping := func(sec int) core.PeerSample {
		return core.PeerSample{Peer: p, Time: t0.Add(time.Duration(sec) *
			time.Second), Kind: core.SamplePing, RTT: time.Millisecond}
	}
	require.NoError(t, s.Write(ctx, &core.Batch{
		Samples: []core.PeerSample{ping(1), ping(2), ping(3)},
		Filled: []core.FilledSpan{{Start: t0.Add(-time.Hour), End: t0,
			Backfill: true}},
	}))
	require.NoError(t, s.Write(ctx, &core.Batch{
		DeleteSamplesBefore: t0.Add(2 * time.Second)}))
	want, err := s.Load(ctx)
	require.NoError(t, err)
	require.Len(t, want.Samples, 2)
	require.NoError(t, s.Close())

	bk, err := badgerstore.NewestBackup(dir)
	require.NoError(t, err)
	require.Equal(t, storagetest.Normalize(want),
		storagetest.Normalize(bk.State))
	_, err = storage.Restore(dir, "")
	require.NoError(t, err)
	s = openStore(t, dir, badgerstore.Options{BackupInterval: -1})
	got, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, storagetest.Normalize(want), storagetest.Normalize(got))
	require.NoError(t, s.Write(ctx, &core.Batch{
		Samples: []core.PeerSample{ping(2)}}))
	got, err = s.Load(ctx)
	require.NoError(t, err)
	require.Len(t, got.Samples, 3)
}
