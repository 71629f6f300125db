package badgerstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/lightningnetwork/lnd/clock"
	"github.com/stretchr/testify/require"
)

// mountTmpfs mounts a tmpfs of the given size on a new directory, or
// skips the test where mounting is not permitted (except under CI).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		if os.Getenv("CI") == "true" {
			require.NoError(t, err, "mount tmpfs")
		}
		t.Skipf("mounting a tmpfs is not permitted (%v): run as root "+
			"(or with CAP_SYS_ADMIN) to test a full disk", err)
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, syscall.Unmount(dir, 0))
	})
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	return int64(st.Bavail) * int64(st.Bsize)
}

// fill writes a file that leaves about left bytes free on dir's file
// system.
func fill(t *testing.T, dir string, left int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for free := freeBytes(t, dir); free > left; free = freeBytes(t, dir) {
		_, err := f.Write(chunk[:min(int64(len(chunk)), free-left)])
		require.NoError(t, err)
	}
	return path
}

// TestDiskFull fills the store's file system while it runs: Write fails
// with "no space left" naming the directory before the disk is full,
// applies nothing, and takes the same batches again once space is back;
// Open on a full disk fails the same way. Nothing crashes and every
// acknowledged batch is kept.
func TestDiskFull(t *testing.T) {
	disk := mountTmpfs(t, "400m")
	dir := filepath.Join(disk, "store")
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	var b core.Batch
	acked := 0
	for ; acked < 1000; acked++ {
		crashBatch(&b, acked)
		require.NoError(t, s.Write(ctx, &b))
	}

	filler := fill(t, disk, badgerstore.DefaultReserveBytes+(1<<20))
	var werr error
	for i := 0; i < 100_000 && werr == nil; i++ {
		crashBatch(&b, acked)
		if werr = s.Write(ctx, &b); werr == nil {
			acked++
		}
	}
	require.ErrorIs(t, werr, storage.ErrNoSpace)
	require.ErrorContains(t, werr, "no space left")
	require.ErrorContains(t, werr, dir)
	require.Positive(t, freeBytes(t, disk), "the disk is not full")

	// The store still answers and still refuses.
	st, err := s.Load(ctx)
	require.NoError(t, err)
	requireCrashState(t, st, acked)
	require.ErrorIs(t, s.Write(ctx, &b), storage.ErrNoSpace)
	require.NoError(t, s.Sync())

	// Space is back: the same batch goes in, and the next ones.
	require.NoError(t, os.Remove(filler))
	for end := acked + 100; acked < end; acked++ {
		crashBatch(&b, acked)
		require.NoError(t, s.Write(ctx, &b))
	}
	require.NoError(t, s.Close())

	// A full disk at Open.
	filler = fill(t, disk, badgerstore.DefaultReserveBytes/2)
	_, err = badgerstore.Open(dir, badgerstore.Options{})
	require.ErrorIs(t, err, storage.ErrNoSpace)
	require.ErrorContains(t, err, "no space left")
	require.ErrorContains(t, err, dir)
	require.NoError(t, os.Remove(filler))

	s = openStore(t, dir, badgerstore.Options{})
	st, err = s.Load(ctx)
	require.NoError(t, err)
	requireCrashState(t, st, acked)
}

// TestDiskFilledByOthers: the disk fills up without the store writing
// (another program): the store looks at the free space again a second
// later, and refuses the next Write.
func TestDiskFilledByOthers(t *testing.T) {
	disk := mountTmpfs(t, "400m")
	clk := clock.NewTestClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := badgerstore.Open(filepath.Join(disk, "store"),
		badgerstore.Options{Clock: clk, BackupInterval: -1})
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	ctx := context.Background()
	var b core.Batch
	crashBatch(&b, 0)
	require.NoError(t, s.Write(ctx, &b))

	fill(t, disk, badgerstore.DefaultReserveBytes/2)
	clk.SetTime(clk.Now().Add(time.Second))
	crashBatch(&b, 1)
	err = s.Write(ctx, &b)
	require.ErrorIs(t, err, storage.ErrNoSpace)
	require.ErrorContains(t, err, "no space left")
}

// TestRestoreDiskFull restores a store whose disk is nearly full: Restore
// fails with "no space left" naming the directory, before it builds
// anything, and the store is as it was once space is back.
func TestRestoreDiskFull(t *testing.T) {
	disk := mountTmpfs(t, "400m")
	dir := filepath.Join(disk, "store")
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	ctx := context.Background()
	var b core.Batch
	for i := 0; i < 1000; i++ {
		crashBatch(&b, i)
		require.NoError(t, s.Write(ctx, &b))
	}
	require.NoError(t, s.Close())

	for _, left := range []int64{badgerstore.DefaultReserveBytes / 2,
		1 << 20} {

		filler := fill(t, disk, left)
		_, err = storage.Restore(dir, "")
		require.ErrorIs(t, err, storage.ErrNoSpace, "%d bytes free",
			left)
		require.ErrorContains(t, err, "no space left")
		require.ErrorContains(t, err, dir)
		for _, name := range []string{"db.damaged", "db.restore"} {
			_, err = os.Lstat(filepath.Join(dir, name))
			require.ErrorIs(t, err, os.ErrNotExist, name)
		}
		require.NoError(t, os.Remove(filler))
	}

	s = openStore(t, dir, badgerstore.Options{})
	st, err := s.Load(ctx)
	require.NoError(t, err)
	requireCrashState(t, st, 1000)
}
