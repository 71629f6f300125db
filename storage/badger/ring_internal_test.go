package badgerstore

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/require"
)

// abandon closes s as a kill would leave it: the recent batches stay in
// the ring, unfolded.
func abandon(t *testing.T, s *Store) {
	t.Helper()
	require.NoError(t, Abandon(s))
}

// writeUnfolded writes n one-event batches and closes the store as a
// kill would, leaving them in the ring.
func writeUnfolded(t *testing.T, dir string, n int) {
	t.Helper()
	s, err := Open(dir, Options{BackupInterval: -1})
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		require.NoError(t, s.Write(context.Background(), &core.Batch{
			Logs: []core.PeerLog{{Peer: peerN(1), Seq: uint64(i),
				Events: []core.LogEvent{eventN(i)}}},
		}))
	}
	abandon(t, s)
}

// ringValue encodes b as recent batch lsn.
func ringValue(lsn uint64, b *core.Batch) []byte {
	e := encoder{b: []byte{recordVersion}}
	e.uvarint(lsn)
	e.batch(b)
	return e.b
}

func TestRecentBatchDamage(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(txn *bdb.Txn) error
		want  string
	}{
		{
			name: "missing",
			spoil: func(txn *bdb.Txn) error {
				return txn.Delete(ringKey(3))
			},
			want: "recent/3: batch 3 missing",
		},
		{
			name: "garbled",
			spoil: func(txn *bdb.Txn) error {
				return txn.Set(ringKey(2), []byte{1, 2, 0xff})
			},
			want: "recent/2",
		},
		{
			name: "another batch's number",
			spoil: func(txn *bdb.Txn) error {
				return txn.Set(ringKey(2),
					ringValue(3, &core.Batch{}))
			},
			want: "recent/2",
		},
		{
			name: "log that does not continue",
			spoil: func(txn *bdb.Txn) error {
				return txn.Set(ringKey(4), ringValue(4,
					&core.Batch{Logs: []core.PeerLog{{
						Peer: peerN(1), Seq: 9,
						Events: []core.LogEvent{
							eventN(9)}}}}))
			},
			want: "recent/4: log of peer",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeUnfolded(t, dir, 5)
			rawUpdate(t, dir, tc.spoil)
			_, err := Open(dir, Options{BackupInterval: -1})
			require.ErrorIs(t, err, base.ErrCorrupt)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestRecentBatchesAfterKill: batches left in the ring are there after a
// restart, and the store goes on after them; a slot reused after its
// batch was folded does not bring the old batch back.
func TestRecentBatchesAfterKill(t *testing.T) {
	dir := t.TempDir()
	writeUnfolded(t, dir, 5)
	s, err := Open(dir, Options{BackupInterval: -1})
	require.NoError(t, err)
	requireEvents(t, s, 5)
	ctx := context.Background()
	for i := 5; i < 5+ringSlots+10; i++ {
		require.NoError(t, s.Write(ctx, &core.Batch{
			Logs: []core.PeerLog{{Peer: peerN(1), Seq: uint64(i),
				Events: []core.LogEvent{eventN(i)}}},
		}))
	}
	abandon(t, s)
	s, err = Open(dir, Options{BackupInterval: -1})
	require.NoError(t, err)
	requireEvents(t, s, 5+ringSlots+10)
	require.NoError(t, s.Close())
}

func requireEvents(t *testing.T, s *Store, n int) {
	t.Helper()
	st, err := s.Load(context.Background())
	require.NoError(t, err)
	require.Len(t, st.Logs, 1)
	require.Len(t, st.Logs[0].Events, n)
	for i, ev := range st.Logs[0].Events {
		require.True(t, ev.Time.Equal(eventN(i).Time), "event %d", i)
	}
}

// TestSchemaUpgrade: a store of the version before opens, is upgraded,
// and a build of that version would refuse it.
func TestSchemaUpgrade(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{BackupInterval: -1})
	require.NoError(t, err)
	writeSample(t, s, 0, 3)
	require.NoError(t, s.Close())
	rawUpdate(t, dir, func(txn *bdb.Txn) error {
		return txn.Set(schemaKey, binary.AppendUvarint(nil,
			SchemaVersion-1))
	})
	s, err = Open(dir, Options{BackupInterval: -1})
	require.NoError(t, err)
	requireSample(t, s, 3)
	require.NoError(t, s.Close())
	rawUpdate(t, dir, func(txn *bdb.Txn) error {
		item, err := txn.Get(schemaKey)
		require.NoError(t, err)
		v, err := item.ValueCopy(nil)
		require.NoError(t, err)
		got, _ := binary.Uvarint(v)
		require.Equal(t, uint64(SchemaVersion), got)
		return nil
	})
}
