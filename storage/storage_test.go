package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/stretchr/testify/require"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(storage.KindBadger, dir, storage.Options{})
	require.NoError(t, err)
	require.IsType(t, &badgerstore.Store{}, st)
	require.Equal(t, dir, st.(*badgerstore.Store).Dir())
	meta := core.Meta{MonitoringSince: testTime}
	require.NoError(t, st.Write(context.Background(),
		&core.Batch{Meta: &meta}))
	require.NoError(t, st.Close())

	st, err = storage.Open(storage.KindMemory, "", storage.Options{})
	require.NoError(t, err)
	require.IsType(t, &memory.Store{}, st)
	require.NoError(t, st.Close())

	for _, kind := range []string{"sqlite", "", "Badger"} {
		st, err := storage.Open(kind, dir, storage.Options{})
		require.Nil(t, st)
		require.ErrorContains(t, err, `store kind "`+kind+
			`": want badger, memory or postgres`)
	}

	// The PostgreSQL store needs its connection string.
	st, err = storage.Open(storage.KindPostgres, "", storage.Options{})
	require.Nil(t, st)
	require.ErrorContains(t, err, "no connection string")
}

var testTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
