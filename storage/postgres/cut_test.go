package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/postgres"
	"github.com/chanfitness/chanfitness/storage/postgres/pgtest"
	"github.com/stretchr/testify/require"
)

// cutBase is the time the samples of these tests count from.
var cutBase = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// ping is a sample of peer p at second sec after cutBase.
func ping(p core.PeerID, sec int) core.PeerSample {
	return core.PeerSample{Peer: p, Time: cutBase.Add(
		time.Duration(sec) * time.Second), Kind: core.SamplePing,
		RTT: time.Duration(sec) * time.Millisecond}
}

// sampleSecs returns the seconds after cutBase of the samples s loads.
func sampleSecs(t *testing.T, s core.Store) []int {
	t.Helper()
	st, err := s.Load(context.Background())
	require.NoError(t, err)
	var secs []int
	for _, x := range st.Samples {
		secs = append(secs, int(x.Time.Sub(cutBase)/time.Second))
	}
	return secs
}

// cutAt writes a batch that cuts the samples before second sec.
func cutAt(t *testing.T, s core.Store, sec int, samples ...core.PeerSample) {
	t.Helper()
	require.NoError(t, s.Write(context.Background(), &core.Batch{
		DeleteSamplesBefore: cutBase.Add(time.Duration(sec) *
			time.Second), Samples: samples}))
}

func addSamples(t *testing.T, s core.Store, samples ...core.PeerSample) {
	t.Helper()
	require.NoError(t, s.Write(context.Background(),
		&core.Batch{Samples: samples}))
}

// TestSampleCutPerNode: two nodes in one database, with samples of the
// same peer. One node's cut, and the cut it keeps, touch only its own
// samples: the other node still gets its old samples, and later ones
// older than the first node's cut, across restarts; a cut of the second
// node behind the first's leaves the first's alone.
func TestSampleCutPerNode(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	p := node(9)
	reopen := func(s *postgres.Store, n byte) *postgres.Store {
		require.NoError(t, s.Close())
		s2, err := postgres.Open(ctx, postgres.Options{DSN: dsn,
			Node: node(n)})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, s2.Close()) })
		return s2
	}
	a, b := open(t, dsn, 1), open(t, dsn, 2)
	addSamples(t, a, ping(p, 1), ping(p, 5), ping(p, 9))
	addSamples(t, b, ping(p, 1), ping(p, 5), ping(p, 9))
	cutAt(t, a, 6)
	require.Equal(t, []int{9}, sampleSecs(t, a))
	require.Equal(t, []int{1, 5, 9}, sampleSecs(t, b))

	// Restarted between the cut and the late samples.
	a, b = reopen(a, 1), reopen(b, 2)
	addSamples(t, a, ping(p, 3), ping(p, 7))
	addSamples(t, b, ping(p, 3))
	require.Equal(t, []int{7, 9}, sampleSecs(t, a))
	require.Equal(t, []int{1, 3, 5, 9}, sampleSecs(t, b))

	cutAt(t, b, 2, ping(p, 0))
	addSamples(t, a, ping(p, 4))
	a, b = reopen(a, 1), reopen(b, 2)
	require.Equal(t, []int{7, 9}, sampleSecs(t, a))
	require.Equal(t, []int{3, 5, 9}, sampleSecs(t, b))
}

// TestSampleCutClockBack: a cut behind the one before (the clock was
// stepped back) holds from then on, also across a restart: what the
// first cut removed stays removed, a later sample between the two cuts
// is kept, one older than both is not; a cut at the same time twice is
// one cut.
func TestSampleCutClockBack(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	p := node(9)
	s := open(t, dsn, 1)
	addSamples(t, s, ping(p, 10), ping(p, 20), ping(p, 30))
	cutAt(t, s, 25)
	require.NoError(t, s.Close())

	s = open(t, dsn, 1)
	cutAt(t, s, 15, ping(p, 14), ping(p, 16))
	require.Equal(t, []int{16, 30}, sampleSecs(t, s))
	require.NoError(t, s.Close())

	s = open(t, dsn, 1)
	addSamples(t, s, ping(p, 12), ping(p, 15), ping(p, 20))
	require.Equal(t, []int{15, 16, 20, 30}, sampleSecs(t, s))
	cutAt(t, s, 15)
	cutAt(t, s, 15, ping(p, 13))
	require.NoError(t, s.Close())
	s = open(t, dsn, 1)
	require.Equal(t, []int{15, 16, 20, 30}, sampleSecs(t, s))
}

// TestImportSampleCut: an import gives the node the history's sample
// cut, replacing one left by a history since emptied, so that every
// imported sample is kept and a later one older than the history's cut
// is not. A history holding a sample older than its cut is refused
// before anything is written.
func TestImportSampleCut(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	p := node(9)
	s := open(t, dsn, 1)
	// A cut with nothing else: the node has no history.
	cutAt(t, s, 1000)

	st := &core.StoredState{Samples: []core.PeerSample{ping(p, 100),
		ping(p, 200)}}
	at := func(sec int) time.Time {
		return cutBase.Add(time.Duration(sec) * time.Second)
	}
	_, err := s.Import(ctx, st, at(150))
	require.ErrorContains(t, err, "older than the history's sample cut")
	require.ErrorContains(t, err, "nothing was copied")
	require.Empty(t, sampleSecs(t, s))

	copied, err := s.Import(ctx, st, at(50))
	require.NoError(t, err)
	require.True(t, copied)
	require.Equal(t, []int{100, 200}, sampleSecs(t, s))
	require.NoError(t, s.Close())

	s = open(t, dsn, 1)
	addSamples(t, s, ping(p, 40), ping(p, 60))
	require.Equal(t, []int{60, 100, 200}, sampleSecs(t, s))
}

// TestUpgradeToSampleCut: a database left by the schema's previous step
// (no sample cut kept), with two nodes' samples, is upgraded at open:
// every sample is still there, the node's next cut is kept from then
// on, the other node's samples are untouched, and the fleet view reads
// the upgraded database.
func TestUpgradeToSampleCut(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	prev := postgres.SchemaVersion - 1
	require.NoError(t, postgres.MigrateTo(ctx, dsn, prev))
	p := node(9)
	for _, n := range []byte{1, 2} {
		id := node(n)
		pgtest.Exec(t, dsn, `INSERT INTO chanfitness_nodes
			(node, since_s, since_ns, heartbeat_s, heartbeat_ns)
			VALUES ($1, $2, 0, $2, 0)`, id[:], cutBase.Unix())
		for i, sec := range []int{10, 20} {
			x := ping(p, sec)
			pgtest.Exec(t, dsn, `INSERT INTO chanfitness_samples
				(node, n, peer, t_s, t_ns, kind, rtt)
				VALUES ($1, $2, $3, $4, 0, $5, $6)`, id[:], i,
				p[:], x.Time.Unix(), int16(x.Kind), int64(x.RTT))
		}
	}

	logs := &recLogger{}
	s, err := postgres.Open(ctx, postgres.Options{DSN: dsn, Node: node(1),
		Logger: logs})
	require.NoError(t, err)
	require.Contains(t, logs.all(), fmt.Sprintf("database schema "+
		"migrated from version %d to %d", prev, postgres.SchemaVersion))
	st, err := s.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, []core.PeerSample{ping(p, 10), ping(p, 20)},
		st.Samples)
	require.True(t, st.Meta.MonitoringSince.Equal(cutBase))

	cutAt(t, s, 15)
	require.NoError(t, s.Close())
	s = open(t, dsn, 1)
	addSamples(t, s, ping(p, 12), ping(p, 30))
	require.Equal(t, []int{20, 30}, sampleSecs(t, s))
	require.Equal(t, []int{10, 20}, sampleSecs(t, open(t, dsn, 2)))

	r, err := postgres.NewFleetReader(dsn, 0)
	require.NoError(t, err)
	defer r.Close()
	nodes, err := r.Read(ctx, cutBase, cutBase.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, nodes, 2)
}

// TestSampleCutNanoseconds: the cut is kept to the nanosecond, before
// 1970 too (whole seconds round down there): a late sample a nanosecond
// older than the cut is dropped, one at it or a nanosecond after is
// kept.
func TestSampleCutNanoseconds(t *testing.T) {
	dsn := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	p := node(9)
	for i, c := range []time.Time{
		time.Date(2026, 3, 1, 0, 0, 10, 500, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC),
	} {
		n := byte(i + 1)
		s := open(t, dsn, n)
		require.NoError(t, s.Write(ctx, &core.Batch{
			DeleteSamplesBefore: c.Add(time.Hour)}))
		require.NoError(t, s.Write(ctx, &core.Batch{
			DeleteSamplesBefore: c}))
		require.NoError(t, s.Close())

		s = open(t, dsn, n)
		var late []core.PeerSample
		for _, d := range []time.Duration{-1, 0, 1, -time.Second,
			time.Second} {
			late = append(late, core.PeerSample{Peer: p,
				Time: c.Add(d), Kind: core.SampleConnectFail})
		}
		require.NoError(t, s.Write(ctx, &core.Batch{Samples: late}))
		st, err := s.Load(ctx)
		require.NoError(t, err)
		var got []time.Duration
		for _, x := range st.Samples {
			got = append(got, x.Time.Sub(c))
		}
		require.Equal(t, []time.Duration{0, 1, time.Second}, got,
			"cut at %v", c)
		require.NoError(t, s.Close())
	}
}
