package daemon

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

func TestRestoreCommand(t *testing.T) {
	dataDir := t.TempDir()
	s, err := badgerstore.Open(filepath.Join(dataDir, "badger"),
		badgerstore.Options{})
	require.NoError(t, err)
	meta := core.Meta{MonitoringSince: time.Unix(1700000000, 0)}
	require.NoError(t, s.Write(context.Background(),
		&core.Batch{Meta: &meta}))
	require.NoError(t, s.Close())

	var out bytes.Buffer
	err = Run(context.Background(), []string{"--datadir=" + dataDir,
		"restore"}, Env{Stdout: &out})
	require.NoError(t, err)
	require.Contains(t, out.String(), "restored the history in "+
		filepath.Join(dataDir, "badger"))

	err = Run(context.Background(), []string{"--datadir=" + dataDir,
		"restore", "--from=" + filepath.Join(dataDir, "missing")},
		Env{Stdout: &out})
	require.ErrorContains(t, err, "missing")
}

func TestSyncIntervalOption(t *testing.T) {
	cfg, _, err := parse(nil)
	require.NoError(t, err)
	require.Equal(t, core.DefaultSyncInterval,
		time.Duration(cfg.SyncInterval))
	cfg, _, err = parse([]string{"--syncinterval=5m"})
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, time.Duration(cfg.SyncInterval))
	_, _, err = parse([]string{"--syncinterval=0"})
	require.ErrorContains(t, err, "syncinterval 0")
}
