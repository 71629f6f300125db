package memory_test

import (
	"testing"

	"github.com/chanfitness/chanfitness/storage/memory"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/stretchr/testify/require"
)

// BenchmarkWrite: one peer record and one log event per batch.
func BenchmarkWrite(b *testing.B) {
	s := memory.New()
	defer func() { require.NoError(b, s.Close()) }()
	storagetest.BenchmarkWrite(b, s, 0)
}
