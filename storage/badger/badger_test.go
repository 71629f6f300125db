package badgerstore_test

import (
	"testing"

	"github.com/chanfitness/chanfitness/core"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	open := func(t *testing.T, dir string) core.Store {
		s, err := badgerstore.Open(dir, badgerstore.Options{})
		require.NoError(t, err)
		return s
	}
	storagetest.Run(t, func(t *testing.T) core.Store {
		s := open(t, t.TempDir())
		t.Cleanup(func() {
			require.NoError(t, s.Close())
		})
		return s
	}, func(t *testing.T, s core.Store) core.Store {
		require.NoError(t, s.Close())
		return open(t, s.(*badgerstore.Store).Dir())
	})
}
