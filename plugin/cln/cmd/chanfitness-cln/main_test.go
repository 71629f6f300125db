package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
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
