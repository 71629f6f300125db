package memory_test

import (
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/stretchr/testify/require"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) core.Store {
		s := memory.New()
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	}, nil)
}
