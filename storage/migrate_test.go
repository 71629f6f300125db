package storage_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage"
	badgerstore "github.com/chanfitness/chanfitness/storage/badger"
	"github.com/chanfitness/chanfitness/storage/postgres"
	"github.com/chanfitness/chanfitness/storage/postgres/pgtest"
	"github.com/chanfitness/chanfitness/storage/storagetest"
	"github.com/stretchr/testify/require"
)

// history writes a small history of every kind of record into s.
func history(t *testing.T, s core.Store) {
	ctx := context.Background()
	meta := core.Meta{MonitoringSince: testTime,
		Heartbeat: testTime.Add(time.Hour)}
	var b core.Batch
	b.Meta = &meta
	b.Gaps = []core.Gap{{Start: testTime.Add(time.Minute),
		End: testTime.Add(2 * time.Minute)}}
	for i := 0; i < 20; i++ {
		var p core.PeerID
		p[0], p[1] = 0x02, byte(i)
		var cp core.ChannelPoint
		cp.Txid[0], cp.Index = byte(i), uint32(i)
		b.Peers = append(b.Peers, core.PeerRecord{Peer: p,
			TrackedSince: testTime, FlapCount: i})
		evs := make([]core.LogEvent, i+1)
		for j := range evs {
			evs[j] = core.LogEvent{Time: testTime.Add(
				time.Duration(j) * time.Second),
				State: core.State(j % 3)}
		}
		b.Logs = append(b.Logs, core.PeerLog{Peer: p, Events: evs})
		b.Channels = append(b.Channels, core.ChannelRecord{Point: cp,
			Peer: p, OpenedAt: testTime, ShortChannelID: "1x2x3"})
	}
	b.Alerts = []core.AlertRecord{{Key: "k", Body: []byte("{}"),
		CreatedAt: testTime, Pending: []string{"webhook"}}}
	for i := 0; i < 6; i++ {
		b.Samples = append(b.Samples, sample(i))
	}
	require.NoError(t, s.Write(ctx, &b))
	require.NoError(t, s.Write(ctx, &core.Batch{
		DeleteSamplesBefore: sample(3).Time}))
}

// sample is a ping of peer 0 at second sec after testTime.
func sample(sec int) core.PeerSample {
	var p core.PeerID
	p[0] = 0x02
	return core.PeerSample{Peer: p, Kind: core.SamplePing,
		Time: testTime.Add(time.Duration(sec) * time.Second),
		RTT:  time.Millisecond}
}

func TestMigrateBadgerToPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)
	dir := filepath.Join(t.TempDir(), "badger")
	src, err := badgerstore.Open(dir, badgerstore.Options{})
	require.NoError(t, err)
	history(t, src)
	want, err := src.Load(context.Background())
	require.NoError(t, err)
	require.NoError(t, src.Close())

	var node core.PeerID
	node[0] = 0x03
	opts := storage.Options{DSN: dsn, Node: node}
	ctx := context.Background()
	msg, err := storage.Migrate(ctx, dir, opts)
	require.NoError(t, err)
	require.Contains(t, msg, "copied")
	require.Contains(t, msg, "20 channels, 20 peers, 210 events")
	require.Contains(t, msg, "3 samples")
	require.NotContains(t, msg, pgtest.Password)

	// Safe to run twice: the second run finds the history there.
	msg, err = storage.Migrate(ctx, dir, opts)
	require.NoError(t, err)
	require.Contains(t, msg, "nothing copied")

	dst, err := postgres.Open(ctx, postgres.Options{DSN: dsn, Node: node})
	require.NoError(t, err)
	got, err := dst.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, storagetest.Normalize(want),
		storagetest.Normalize(got))

	// The badger store's sample cut came along: a sample older than it,
	// written after the copy, is not returned.
	require.NoError(t, dst.Write(ctx, &core.Batch{Samples: []core.PeerSample{
		sample(1), sample(7)}}))
	got, err = dst.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, storagetest.Normalize(&core.StoredState{
		Samples: append(want.Samples, sample(7))}).Samples,
		storagetest.Normalize(got).Samples)

	// Once the monitor has added to it, the history is another one:
	// refused, nothing written.
	require.NoError(t, dst.Write(ctx, &core.Batch{Gaps: []core.Gap{{
		Start: testTime, End: testTime}}}))
	// The node's lock is taken while its store is open.
	_, err = storage.Migrate(ctx, dir, opts)
	require.ErrorIs(t, err, postgres.ErrLocked)
	require.NoError(t, dst.Close())
	_, err = storage.Migrate(ctx, dir, opts)
	require.ErrorIs(t, err, postgres.ErrOtherHistory)
	require.ErrorContains(t, err, "nothing was copied")

	// A missing store, a missing DSN or node, other kinds.
	_, err = storage.Migrate(ctx, filepath.Join(t.TempDir(), "none"),
		opts)
	require.ErrorContains(t, err, "no badger store")
	_, err = storage.Migrate(ctx, dir, storage.Options{Node: node})
	require.ErrorContains(t, err, "DSN")
	_, err = storage.Migrate(ctx, dir, storage.Options{DSN: dsn})
	require.ErrorContains(t, err, "node public key")
	require.NoError(t, storage.MigrateKinds("badger", "postgres"))
	require.ErrorContains(t, storage.MigrateKinds("postgres", "badger"),
		`migrate from "postgres" to "badger"`)
}
