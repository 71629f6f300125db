package badgerstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/chanfitness/chanfitness/core"
	"github.com/chanfitness/chanfitness/storage/internal/base"
	bdb "github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/require"
)

var t1 = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)

func peerN(n int) core.PeerID {
	var p core.PeerID
	p[0] = 0x02
	p[1] = byte(n >> 8)
	p[2] = byte(n)
	return p
}

func eventN(seq int) core.LogEvent {
	return core.LogEvent{Time: t1.Add(time.Duration(seq) * time.Second),
		State: core.State(seq % 3)}
}

// rawUpdate changes the badger database of the closed store in dir.
func rawUpdate(t *testing.T, dir string, fn func(txn *bdb.Txn) error) {
	t.Helper()
	db, err := bdb.Open(badgerOptions(filepath.Join(dir, dbDirName),
		discardLogger{}))
	require.NoError(t, err)
	require.NoError(t, db.Update(fn))
	require.NoError(t, db.Close())
}

// writeSample writes n batches: batch i appends gap i and event i of peer
// 1's log.
func writeSample(t *testing.T, s *Store, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		ev := eventN(i)
		require.NoError(t, s.Write(context.Background(), &core.Batch{
			Gaps: []core.Gap{{Start: ev.Time, End: ev.Time}},
			Logs: []core.PeerLog{{Peer: peerN(1), Seq: uint64(i),
				Events: []core.LogEvent{ev}}},
		}))
		// Each event gets a log segment of its own, as a batch
		// written to its records' keys at once does.
		s.mu.Lock()
		require.NoError(t, s.fold())
		s.mu.Unlock()
	}
}

// requireSample checks that the store holds exactly batches 0 to n-1 of
// writeSample.
func requireSample(t *testing.T, s *Store, n int) {
	t.Helper()
	st, err := s.Load(context.Background())
	require.NoError(t, err)
	require.Len(t, st.Gaps, n)
	if n == 0 {
		require.Empty(t, st.Logs)
		return
	}
	require.Len(t, st.Logs, 1)
	require.Len(t, st.Logs[0].Events, n)
	for i := 0; i < n; i++ {
		want := eventN(i)
		require.True(t, st.Gaps[i].Start.Equal(want.Time), "gap %d", i)
		got := st.Logs[0].Events[i]
		require.True(t, got.Time.Equal(want.Time), "event %d", i)
		require.Equal(t, want.State, got.State, "event %d", i)
	}
}
func TestSchema(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, dir string)
		want  string
	}{
		{
			name: "newer version",
			spoil: func(t *testing.T, dir string) {
				rawUpdate(t, dir, func(txn *bdb.Txn) error {
					return txn.Set(schemaKey, []byte{99})
				})
			},
			want: "schema version 99, this build reads version 2",
		},
		{
			name: "no version key",
			spoil: func(t *testing.T, dir string) {
				rawUpdate(t, dir, func(txn *bdb.Txn) error {
					return txn.Delete(schemaKey)
				})
			},
			want: "without a schema version key",
		},
		{
			name: "unreadable version",
			spoil: func(t *testing.T, dir string) {
				rawUpdate(t, dir, func(txn *bdb.Txn) error {
					return txn.Set(schemaKey, []byte{0xff})
				})
			},
			want: "schema: malformed record",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{})
			require.NoError(t, err)
			writeSample(t, s, 0, 3)
			require.NoError(t, s.Close())
			tc.spoil(t, dir)

			_, err = Open(dir, Options{})
			require.ErrorIs(t, err, ErrSchema)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), dir)

			// The failed open released the directory.
			_, err = Open(dir, Options{})
			require.ErrorIs(t, err, ErrSchema)
		})
	}
}

func TestCorruptValue(t *testing.T) {
	cp := core.ChannelPoint{Index: 7}
	cp.Txid[0] = 0xab
	tests := []struct {
		name string
		key  []byte
		val  []byte

		// atOpen is set when Open (which reads log segment headers)
		// fails rather than Load.
		atOpen bool
		want   string
	}{
		{name: "meta", key: metaKey, val: []byte{1, 2},
			want: "meta"},
		{name: "gap", key: gapKey(0), val: []byte{},
			want: "gap/0"},
		{name: "peer", key: peerKey(peerN(1)), val: []byte{1, 0, 0x80},
			want: "peer/" + peerN(1).String()},
		{name: "peer version", key: peerKey(peerN(1)),
			val: []byte{7}, want: "record version 7"},
		{name: "channel", key: channelKey(cp),
			val:  []byte{1, 1, 0, 0},
			want: "channel/" + cp.String()},
		{name: "channel trailing bytes", key: channelKey(cp),
			val: func() []byte {
				var e encoder
				e.channel(&core.ChannelRecord{})
				return append(e.b, 0)
			}(),
			want: "trailing bytes"},
		// Three segments of one event: one that claims two makes
		// the next one's start wrong.
		{name: "log body", key: logKey(peerN(1), 0),
			val: []byte{1, 2, 0, 0x80, 0x80}, atOpen: true,
			want: "log/" + peerN(1).String() + "/1"},
		{name: "log nanoseconds", key: logKey(peerN(1), 0),
			val:  []byte{1, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xf, 0},
			want: "nanoseconds"},
		{name: "log header", key: logKey(peerN(1), 0),
			val: []byte{1, 100}, atOpen: true,
			want: "log/" + peerN(1).String() + "/0"},
		{name: "log hole", key: logKey(peerN(1), 5),
			val: func() []byte {
				var e encoder
				e.segment([]core.LogEvent{eventN(5)})
				return e.b
			}(), atOpen: true,
			want: "starts at 5, log holds 3"},
		{name: "applied", key: appliedKey, val: []byte{},
			atOpen: true, want: "applied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{})
			require.NoError(t, err)
			meta := core.Meta{MonitoringSince: t1}
			writeSample(t, s, 0, 3)
			require.NoError(t, s.Write(context.Background(),
				&core.Batch{
					Meta: &meta,
					Peers: []core.PeerRecord{{
						Peer:         peerN(1),
						TrackedSince: t1,
					}},
					Channels: []core.ChannelRecord{{
						Point: cp,
						Peer:  peerN(1),
					}},
				}))
			require.NoError(t, s.Close())
			rawUpdate(t, dir, func(txn *bdb.Txn) error {
				return txn.Set(tc.key, tc.val)
			})

			s, err = Open(dir, Options{})
			if tc.atOpen {
				require.ErrorIs(t, err, base.ErrCorrupt)
				require.Contains(t, err.Error(), tc.want)
				return
			}
			require.NoError(t, err)
			defer func() { require.NoError(t, s.Close()) }()
			_, err = s.Load(context.Background())
			require.ErrorIs(t, err, base.ErrCorrupt)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), dir)
		})
	}
}

// TestPacking checks that a log written one event per move into badger is
// kept in full chunks and a few loose segments, across reopens.
func TestPacking(t *testing.T) {
	dir := t.TempDir()
	opts := Options{}
	s, err := Open(dir, opts)
	require.NoError(t, err)
	const n = 2200
	for i := 0; i < n; i++ {
		if i == n/2 {
			require.NoError(t, s.Close())
			s, err = Open(dir, opts)
			require.NoError(t, err)
		}
		writeSample(t, s, i, i+1)
		require.NoError(t, s.Sync())
	}
	requireSample(t, s, n)

	full, loose := logSegments(t, s)
	require.Equal(t, n/chunkEvents, full)
	require.LessOrEqual(t, loose, maxLoose+1)
	require.Positive(t, loose)
	st := s.logs[peerN(1)]
	require.Equal(t, uint64(n), st.count)
	require.Equal(t, uint64(n/chunkEvents*chunkEvents), st.sealed)

	require.NoError(t, s.Close())
	s, err = Open(dir, Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	require.Equal(t, st, s.logs[peerN(1)])
	requireSample(t, s, n)
}

// TestPackingLargeRun packs a run larger than one packing step.
func TestPackingLargeRun(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()

	const n = 2*packStepEvents + 5000
	evs := make([]core.LogEvent, n)
	for i := range evs {
		evs[i] = eventN(i)
	}
	require.NoError(t, s.Write(context.Background(), &core.Batch{
		Logs: []core.PeerLog{{Peer: peerN(1), Events: evs}},
	}))
	require.NoError(t, s.Sync())
	full, loose := logSegments(t, s)
	require.Equal(t, n/chunkEvents, full)
	require.Equal(t, 1, loose)

	st, err := s.Load(context.Background())
	require.NoError(t, err)
	require.Len(t, st.Logs, 1)
	require.Len(t, st.Logs[0].Events, n)
	for i, ev := range st.Logs[0].Events {
		require.True(t, ev.Time.Equal(evs[i].Time), "event %d", i)
	}
}

// logSegments counts the full chunks and the other segments in badger.
func logSegments(t *testing.T, s *Store) (full, loose int) {
	t.Helper()
	err := s.db.View(func(txn *bdb.Txn) error {
		return iterate(txn, logPrefix, func(item *bdb.Item) error {
			return decodeValue(item, func(d *decoder) {
				if d.segmentLen() == chunkEvents {
					full++
				} else {
					loose++
				}
				d.off = len(d.b)
			})
		})
	})
	require.NoError(t, err)
	return full, loose
}

// FuzzDecodeValue feeds arbitrary bytes to every record decoder.
func FuzzDecodeValue(f *testing.F) {
	var e encoder
	e.peer(&core.PeerRecord{Staged: &core.LogEvent{}})
	f.Add(e.b)
	e.b = nil
	e.channel(&core.ChannelRecord{Frozen: map[string]core.WindowNumbers{
		"x": {}}})
	f.Add(e.b)
	e.b = nil
	e.segment([]core.LogEvent{eventN(1), eventN(2)})
	f.Add(e.b)
	f.Fuzz(func(t *testing.T, v []byte) {
		decoders := []func(d *decoder){
			func(d *decoder) { d.meta() },
			func(d *decoder) { d.gap() },
			func(d *decoder) { d.peer(core.PeerID{}) },
			func(d *decoder) { d.channel(core.ChannelPoint{}) },
			func(d *decoder) { d.segment(nil) },
			func(d *decoder) { d.segmentLen() },
		}
		for _, dec := range decoders {
			d := decoder{b: v}
			dec(&d)
			_ = d.end()
		}
	})
}
