package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/postgres/pgtest"
	"github.com/stretchr/testify/require"
)

func TestRestore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chanfitness")
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	meta := core.Meta{MonitoringSince: time.Unix(1700000000, 0)}
	require.NoError(t, s.Write(context.Background(),
		&core.Batch{Meta: &meta}))
	require.NoError(t, s.Close())

	var out bytes.Buffer
	require.NoError(t, restore([]string{"--datadir=" + dir}, &out))
	require.Contains(t, out.String(), "restored the history in "+dir)
	require.Contains(t, out.String(), "unmonitored")

	s, err = badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	st, err := s.Load(context.Background())
	require.NoError(t, err)
	require.True(t, st.Meta.MonitoringSince.Equal(meta.MonitoringSince))

	// The node (here: the open store) must be stopped.
	err = restore([]string{"--datadir=" + dir}, &out)
	require.ErrorIs(t, err, badgerstore.ErrLocked)
	require.NoError(t, s.Close())

	require.ErrorContains(t, restore(nil, &out), "--datadir=DIR")
	require.ErrorContains(t, restore([]string{"--datadir=" + dir,
		"--from=" + filepath.Join(dir, "nope")}, &out), "nope")
}

func TestMigrate(t *testing.T) {
	dsn := pgtest.Start(t).NewDatabase(t)
	dir := filepath.Join(t.TempDir(), "chanfitness")
	s, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	meta := core.Meta{MonitoringSince: time.Unix(1700000000, 0)}
	require.NoError(t, s.Write(context.Background(),
		&core.Batch{Meta: &meta}))
	require.NoError(t, s.Close())

	node := "03" + strings.Repeat("ab", 32)
	args := []string{"--datadir=" + dir, "--postgres-dsn=" + dsn,
		"--node=" + node}
	var out bytes.Buffer
	ctx := context.Background()
	require.NoError(t, migrate(ctx, args, &out))
	require.Contains(t, out.String(), "copied")
	require.Contains(t, out.String(), node)
	require.NotContains(t, out.String(), pgtest.Password)
	out.Reset()
	require.NoError(t, migrate(ctx, args, &out))
	require.Contains(t, out.String(), "nothing copied")

	require.ErrorContains(t, migrate(ctx, args[:2], &out), "--node=ID")
	require.ErrorContains(t, migrate(ctx, append(args, "--to=badger"),
		&out), `to "badger"`)
	err = migrate(ctx, append(args[:2:2], "--node=02xyz"), &out)
	require.ErrorContains(t, err, "node: ")
}
