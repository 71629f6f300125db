package badgerstore_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/lightningnetwork/lnd/ticker"
	"github.com/stretchr/testify/require"
)

// fileState is a file's or directory's mode and content, or a link's
// target.
type fileState struct {
	mode    fs.FileMode
	content string
}

// snapshot records every file, directory and link under the paths.
func snapshot(t *testing.T, paths ...string) map[string]fileState {
	t.Helper()
	got := make(map[string]fileState)
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry,
			err error) error {

			require.NoError(t, err)
			info, err := os.Lstat(path)
			require.NoError(t, err)
			st := fileState{mode: info.Mode()}
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				st.content, err = os.Readlink(path)
				require.NoError(t, err)
			case info.Mode().IsRegular():
				b, err := os.ReadFile(path)
				require.NoError(t, err)
				st.content = string(b)
			}
			got[path] = st
			return nil
		})
		require.NoError(t, err)
	}
	return got
}

func writeFileMode(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), mode))
	require.NoError(t, os.Chmod(path, mode))
}

// TestForeignDirectory opens a node's directory that holds no store: Open
// refuses it, names it and changes nothing in it.
func TestForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	writeFileMode(t, filepath.Join(dir, "hsm_secret"), "secret", 0o400)
	writeFileMode(t, filepath.Join(dir, "lightningd.sqlite3"), "db", 0o644)
	writeFileMode(t, filepath.Join(dir, "plugins", "myplugin.py"),
		"#!/usr/bin/env python3\n", 0o755)
	before := snapshot(t, dir)

	_, err := badgerstore.Open(dir, badgerstore.Options{})
	require.ErrorIs(t, err, badgerstore.ErrNotStore)
	require.ErrorContains(t, err, dir)
	require.ErrorContains(t, err, "hsm_secret")
	_, err = badgerstore.Restore(dir, "")
	require.ErrorIs(t, err, badgerstore.ErrNotStore)
	require.Equal(t, before, snapshot(t, dir))
}

// TestForeignFiles puts foreign files, directories and symbolic links
// (to files outside) in a store's directory: their modes, contents and
// targets are the same after Open, writes, GC, backups and Close.
func TestForeignFiles(t *testing.T) {
	outside := t.TempDir()
	target := filepath.Join(outside, "elsewhere.conf")
	writeFileMode(t, target, "keep me", 0o644)
	targetDir := filepath.Join(outside, "disk")
	writeFileMode(t, filepath.Join(targetDir, "data"), "other", 0o755)

	dir := filepath.Join(t.TempDir(), "store")
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o700), info.Mode().Perm(),
		"a directory the store creates is private")
	require.NoError(t, s.Close())

	writeFileMode(t, filepath.Join(dir, "notes.txt"), "mine", 0o644)
	writeFileMode(t, filepath.Join(dir, "tools", "run.sh"), "#!/bin/sh",
		0o755)
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "link")))
	require.NoError(t, os.Symlink(targetDir, filepath.Join(dir, "dirlink")))
	require.NoError(t, os.Symlink(target,
		filepath.Join(dir, "db", "000999.link")))
	require.NoError(t, os.Chmod(filepath.Join(dir, "db"), 0o750))
	foreign := []string{filepath.Join(dir, "notes.txt"),
		filepath.Join(dir, "tools"), filepath.Join(dir, "link"),
		filepath.Join(dir, "dirlink"),
		filepath.Join(dir, "db", "000999.link"), outside}
	before := snapshot(t, foreign...)
	dbMode := fs.FileMode(0o750) | fs.ModeDir

	gc := ticker.NewForce(time.Hour)
	backups := ticker.NewForce(time.Hour)
	s, err = badgerstore.Open(dir, badgerstore.Options{GCTicker: gc,
		BackupTicker: backups})
	require.NoError(t, err)
	ctx := context.Background()
	var b core.Batch
	for i := 0; i < 3000; i++ {
		eventBatch(&b, i%10, uint64(i/10))
		require.NoError(t, s.Write(ctx, &b))
	}
	require.NoError(t, s.Sync())
	// The second tick is taken only after the first is done.
	for i := 0; i < 2; i++ {
		gc.Force <- time.Now()
		backups.Force <- time.Now()
	}
	require.NoError(t, s.Close())

	require.Equal(t, before, snapshot(t, foreign...))
	info, err = os.Lstat(filepath.Join(dir, "db"))
	require.NoError(t, err)
	require.Equal(t, dbMode, info.Mode())
}

// TestSymlinkedFiles replaces the store's own files by symbolic links to
// files outside: Open refuses to follow them and the targets stay as
// they were.
func TestSymlinkedFiles(t *testing.T) {
	for _, name := range []string{"db", "chanfitness.ack",
		"chanfitness.lock"} {

		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			s, err := badgerstore.Open(dir, badgerstore.Options{})
			require.NoError(t, err)
			require.NoError(t, s.Close())

			moved := filepath.Join(t.TempDir(), name)
			require.NoError(t, os.Rename(filepath.Join(dir, name),
				moved))
			require.NoError(t, os.Symlink(moved,
				filepath.Join(dir, name)))
			before := snapshot(t, moved)

			_, err = badgerstore.Open(dir, badgerstore.Options{})
			require.Error(t, err)
			require.ErrorContains(t, err, name)
			require.Equal(t, before, snapshot(t, moved))
		})
	}
}

// TestLinkedBackupFiles puts links to files outside in place of the
// store's backup files (symbolic links, and a hard link for the temporary
// file, which the store would otherwise truncate and write through): the
// store writes its backups all the same and the files outside stay as
// they were.
func TestLinkedBackupFiles(t *testing.T) {
	for _, c := range []struct {
		name string
		hard bool
	}{
		{"chanfitness.backup", false},
		{"chanfitness.backup.old", false},
		{"chanfitness.backup.tmp", false},
		{"chanfitness.backup.tmp", true},
	} {
		name := fmt.Sprintf("%s hard=%v", c.name, c.hard)
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			s, err := badgerstore.Open(dir, badgerstore.Options{
				BackupInterval: -1})
			require.NoError(t, err)
			require.NoError(t, s.Close())
			target := filepath.Join(t.TempDir(), "elsewhere.conf")
			writeFileMode(t, target, "keep me", 0o644)
			link := filepath.Join(dir, c.name)
			if c.hard {
				require.NoError(t, os.Link(target, link))
			} else {
				require.NoError(t, os.Symlink(target, link))
			}
			before := snapshot(t, target)

			tick, gc := ticker.NewForce(time.Hour),
				ticker.NewForce(time.Hour)
			s, err = badgerstore.Open(dir, badgerstore.Options{
				BackupTicker: tick, GCTicker: gc})
			require.NoError(t, err)
			ctx := context.Background()
			var b core.Batch
			eventBatch(&b, 1, 0)
			require.NoError(t, s.Write(ctx, &b))
			tick.Force <- time.Now()
			gc.Force <- time.Now()
			want, err := s.Load(ctx)
			require.NoError(t, err)
			bk, err := badgerstore.ReadBackup(filepath.Join(dir,
				"chanfitness.backup"))
			require.NoError(t, err)
			require.Equal(t, storagetest.Normalize(want),
				storagetest.Normalize(bk.State))
			require.NoError(t, s.Close())
			require.Equal(t, before, snapshot(t, target))
		})
	}
}
