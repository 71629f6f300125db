package badgerstore_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
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

// TestBackupSamplesAlerts: a backup holds the samples, filled spans, the
// sample cut and the alert records, and a store restored from it has them
// back, the sample cut holding on: an alert sent before the backup is still marked sent, a
// pending one still pending, a deleted one stays deleted.
func TestBackupSamplesAlerts(t *testing.T) {
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
	pending := core.AlertRecord{Key: "offline/\x00\xff/é",
		Body: []byte(`{"kind":"peer_offline"}`), CreatedAt: t0,
		Pending: []string{"webhook", "command"}, Attempts: 3,
		NextAttempt: t0.Add(time.Minute)}
	sent := core.AlertRecord{Key: "online/2", Body: []byte(`{}`),
		CreatedAt: t0.Add(time.Second)}
	require.NoError(t, s.Write(ctx, &core.Batch{
		Samples: []core.PeerSample{ping(1), ping(2), ping(3)},
		Filled: []core.FilledSpan{{Start: t0.Add(-time.Hour), End: t0,
			Backfill: true}},
		Alerts: []core.AlertRecord{pending, sent,
			{Key: "gone", Body: []byte(`{}`)}},
	}))
	require.NoError(t, s.Write(ctx, &core.Batch{
		DeleteSamplesBefore: t0.Add(2 * time.Second),
		DeleteAlerts:        []string{"gone"}}))
	want, err := s.Load(ctx)
	require.NoError(t, err)
	require.Len(t, want.Samples, 2)
	require.Len(t, want.Alerts, 2)
	require.NoError(t, s.Close())

	bk, err := badgerstore.NewestBackup(dir)
	require.NoError(t, err)
	require.Equal(t, storagetest.Normalize(want),
		storagetest.Normalize(bk.State))
	require.Equal(t, t0.Add(2*time.Second), bk.SampleCut)
	_, err = storage.Restore(dir, "")
	require.NoError(t, err)
	s = openStore(t, dir, badgerstore.Options{BackupInterval: -1})
	got, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, storagetest.Normalize(want), storagetest.Normalize(got))
	cut, err := s.SampleCut()
	require.NoError(t, err)
	require.Equal(t, t0.Add(2*time.Second), cut)
	require.Equal(t, []string{"webhook", "command"}, got.Alerts[0].Pending)
	require.Empty(t, got.Alerts[1].Pending)

	// The restored records are the store's own: replaced and deleted
	// by key.
	delivered := pending
	delivered.Pending = nil
	require.NoError(t, s.Write(ctx, &core.Batch{
		Samples:      []core.PeerSample{ping(2)},
		Alerts:       []core.AlertRecord{delivered},
		DeleteAlerts: []string{sent.Key}}))
	got, err = s.Load(ctx)
	require.NoError(t, err)
	require.Len(t, got.Samples, 3)
	// The cut holds after the restore: a late sample older than it is
	// not returned.
	require.NoError(t, s.Write(ctx, &core.Batch{
		Samples: []core.PeerSample{ping(1)}}))
	got, err = s.Load(ctx)
	require.NoError(t, err)
	require.Len(t, got.Samples, 3)
	require.Equal(t, storagetest.Normalize(&core.StoredState{
		Alerts: []core.AlertRecord{delivered}}).Alerts,
		storagetest.Normalize(got).Alerts)
}

// TestBackupVersion1 restores a backup written by a build whose backups
// held no alert records (testdata/v1.backup: 120 batches of crashBatch,
// then one with the meta record, a sample, a filled span and an alert
// the backup left out). It reads and restores as it did, without alerts,
// and the store goes on from it.
func TestBackupVersion1(t *testing.T) {
	bk, err := badgerstore.ReadBackup(filepath.Join("testdata",
		"v1.backup"))
	require.NoError(t, err)
	requireCrashState(t, bk.State, 120)
	require.Empty(t, bk.State.Alerts)
	require.Zero(t, bk.SampleCut)
	require.Len(t, bk.State.Samples, 1)
	require.Len(t, bk.State.Filled, 1)
	require.True(t, bk.State.Meta.Heartbeat.Equal(t0))

	dir := filepath.Join(t.TempDir(), "store")
	_, err = badgerstore.Restore(dir, bk.Path)
	require.NoError(t, err)
	s := openStore(t, dir, badgerstore.Options{BackupInterval: -1})
	ctx := context.Background()
	got, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, storagetest.Normalize(bk.State),
		storagetest.Normalize(got))
	var b core.Batch
	crashBatch(&b, 120)
	require.NoError(t, s.Write(ctx, &b))
}

// TestRestoreOlderBackup restores a backup older than the two beside the
// store: the store goes on from it, and its next backup counts as the
// newest although the backup it rotated to .old holds more batches, so
// a second restore (or the hint of a corrupt store) takes the history the
// first restore chose. Neither restore removes a replaced database.
func TestRestoreOlderBackup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	clk := clock.NewTestClock(t0)
	open := func() (*badgerstore.Store, *ticker.Force) {
		tick, gc := ticker.NewForce(time.Hour),
			ticker.NewForce(time.Hour)
		s, err := badgerstore.Open(dir, badgerstore.Options{Clock: clk,
			BackupTicker: tick, GCTicker: gc})
		require.NoError(t, err)
		// The backup of Open is written before the loop takes a
		// tick.
		gc.Force <- time.Now()
		return s, tick
	}
	s, _ := open()
	ctx := context.Background()
	var b core.Batch
	for i := 0; i < 100; i++ {
		crashBatch(&b, i)
		require.NoError(t, s.Write(ctx, &b))
	}
	at100, err := s.Load(ctx)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	saved := filepath.Join(t.TempDir(), "at100.backup")
	data, err := os.ReadFile(filepath.Join(dir, "chanfitness.backup"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(saved, data, 0o600))

	s, _ = open()
	for i := 100; i < 300; i++ {
		crashBatch(&b, i)
		require.NoError(t, s.Write(ctx, &b))
	}
	require.NoError(t, s.Close())

	_, err = badgerstore.Restore(dir, saved)
	require.NoError(t, err)
	clk.SetTime(t0.Add(time.Hour))
	s, _ = open()
	// Beside the store: the backup of this Open (100 batches) and
	// the one of the last Close (300 batches).
	bk, err := badgerstore.NewestBackup(dir)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "chanfitness.backup"), bk.Path)
	require.Equal(t, storagetest.Normalize(at100),
		storagetest.Normalize(bk.State))
	crashBatch(&b, 100)
	require.NoError(t, s.Write(ctx, &b))
	require.NoError(t, s.Close())

	bk, err = badgerstore.Restore(dir, "")
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "chanfitness.backup"), bk.Path)
	requireCrashState(t, bk.State, 101)
	for _, name := range []string{"db.damaged", "db.damaged.2"} {
		info, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		require.True(t, info.IsDir(), name)
	}
	s = openStore(t, dir, badgerstore.Options{BackupInterval: -1})
	got, err := s.Load(ctx)
	require.NoError(t, err)
	requireCrashState(t, got, 101)
	crashBatch(&b, 101)
	require.NoError(t, s.Write(ctx, &b))
}

// TestRestoreBadInput gives Restore what an operator may give it by
// mistake: a directory that does not exist or holds no backup, a device,
// a pipe, a directory or another file as the backup, a backup that is a
// symbolic link, and a store that is open. Each fails with an error
// naming what is wrong, promptly, and creates and changes nothing.
func TestRestoreBadInput(t *testing.T) {
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "typo")
	_, err := badgerstore.Restore(missing, "")
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, missing)
	_, err = os.Lstat(missing)
	require.ErrorIs(t, err, os.ErrNotExist, "Restore created it")

	empty := filepath.Join(tmp, "empty")
	require.NoError(t, os.Mkdir(empty, 0o700))
	_, err = badgerstore.Restore(empty, "")
	require.ErrorContains(t, err, "no backup in "+empty)
	entries, err := os.ReadDir(empty)
	require.NoError(t, err)
	require.Empty(t, entries)

	dir := filepath.Join(tmp, "store")
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	var b core.Batch
	crashBatch(&b, 0)
	require.NoError(t, s.Write(context.Background(), &b))
	require.NoError(t, s.Close())
	before := snapshot(t, dir)

	fifo := filepath.Join(tmp, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	text := filepath.Join(tmp, "notes.txt")
	require.NoError(t, os.WriteFile(text, []byte("not a backup, "+
		"but longer than a backup's header"), 0o600))
	for from, want := range map[string]string{
		"/dev/zero":                "not a regular file",
		fifo:                       "not a regular file",
		tmp:                        "not a regular file",
		text:                       "not a chanfitness backup",
		filepath.Join(tmp, "nope"): "no such file",
	} {
		_, err := badgerstore.Restore(dir, from)
		require.ErrorContains(t, err, want, from)
		require.ErrorContains(t, err, from)
	}
	require.Equal(t, before, snapshot(t, dir))

	// The store's own backup as a symbolic link is passed over.
	cur := filepath.Join(dir, "chanfitness.backup")
	moved := filepath.Join(tmp, "moved.backup")
	require.NoError(t, os.Rename(cur, moved))
	require.NoError(t, os.Symlink(moved, cur))
	bk, err := badgerstore.NewestBackup(dir)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "chanfitness.backup.old"),
		bk.Path)
	require.NoError(t, os.Rename(filepath.Join(dir,
		"chanfitness.backup.old"), filepath.Join(tmp, "old.backup")))
	_, err = badgerstore.Restore(dir, "")
	require.ErrorContains(t, err, cur+": a symbolic link")
	require.NoError(t, os.Remove(cur))
	require.NoError(t, os.Rename(moved, cur))
	require.NoError(t, os.Rename(filepath.Join(tmp, "old.backup"),
		filepath.Join(dir, "chanfitness.backup.old")))

	// The store is open: nothing changes, the store goes on.
	s = openStore(t, dir, badgerstore.Options{BackupInterval: -1})
	before = snapshot(t, filepath.Join(dir, "chanfitness.backup"),
		filepath.Join(dir, "chanfitness.backup.old"))
	_, err = badgerstore.Restore(dir, "")
	require.ErrorIs(t, err, badgerstore.ErrLocked)
	_, err = badgerstore.Restore(dir, moved)
	require.ErrorIs(t, err, badgerstore.ErrLocked)
	require.Equal(t, before, snapshot(t,
		filepath.Join(dir, "chanfitness.backup"),
		filepath.Join(dir, "chanfitness.backup.old")))
	for _, name := range []string{"db.damaged", "db.restore"} {
		_, err = os.Lstat(filepath.Join(dir, name))
		require.ErrorIs(t, err, os.ErrNotExist, name)
	}
	crashBatch(&b, 1)
	require.NoError(t, s.Write(context.Background(), &b))
}

// TestRestoreOtherStore restores the backup of another node's store,
// whose history began at the same time: it is refused, naming both
// backups and how to restore it all the same, and the store is as it was;
// with the store's backups moved away, it is restored, and the store is
// then the other one: its backups are restored without a word, those of
// the store it replaced are refused.
func TestRestoreOtherStore(t *testing.T) {
	ctx := context.Background()
	// Backups at Open and Close only.
	opts := func() badgerstore.Options {
		return badgerstore.Options{
			BackupTicker: ticker.NewForce(time.Hour)}
	}
	write := func(dir string, n int) {
		s, err := badgerstore.Open(dir, opts())
		require.NoError(t, err)
		meta := core.Meta{MonitoringSince: t0, Heartbeat: t0}
		require.NoError(t, s.Write(ctx, &core.Batch{Meta: &meta}))
		var b core.Batch
		for i := 0; i < n; i++ {
			crashBatch(&b, i)
			require.NoError(t, s.Write(ctx, &b))
		}
		require.NoError(t, s.Close())
	}
	keep := func(path string) string {
		saved := filepath.Join(t.TempDir(), "saved.backup")
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(saved, data, 0o600))
		return saved
	}
	mine := filepath.Join(t.TempDir(), "store")
	other := filepath.Join(t.TempDir(), "store")
	write(mine, 50)
	write(other, 80)
	from := keep(filepath.Join(other, "chanfitness.backup"))
	before := snapshot(t, mine)

	_, err := storage.Restore(mine, from)
	require.ErrorIs(t, err, badgerstore.ErrOtherStore)
	require.ErrorContains(t, err, from)
	require.ErrorContains(t, err, filepath.Join(mine, "chanfitness.backup"))
	require.ErrorContains(t, err, "move chanfitness.backup and "+
		"chanfitness.backup.old out of "+mine)
	require.Equal(t, before, snapshot(t, mine))

	// A backup of the store's own, kept elsewhere, is restored.
	saved := keep(filepath.Join(mine, "chanfitness.backup"))
	_, err = storage.Restore(mine, saved)
	require.NoError(t, err)

	away := t.TempDir()
	for _, name := range []string{"chanfitness.backup",
		"chanfitness.backup.old"} {

		require.NoError(t, os.Rename(filepath.Join(mine, name),
			filepath.Join(away, name)))
	}
	_, err = storage.Restore(mine, from)
	require.NoError(t, err)
	s, err := badgerstore.Open(mine, opts())
	require.NoError(t, err)
	got, err := s.Load(ctx)
	require.NoError(t, err)
	requireCrashState(t, got, 80)
	require.NoError(t, s.Close())

	_, err = storage.Restore(mine, from)
	require.NoError(t, err)
	_, err = storage.Restore(mine, saved)
	require.ErrorIs(t, err, badgerstore.ErrOtherStore)
}
